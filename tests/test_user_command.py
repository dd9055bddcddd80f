"""``rpc-cluster user``, run as a real command against a real grading service: found through the registry
or at --url, the password from standard input or typed on a terminal (a pty) and never from an argument,
and every error one line with a non-zero exit."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import select
import subprocess
import sys
import termios
import time
from types import SimpleNamespace

import pytest
from helpers.processes import ROOT, Processes
from helpers.waiting import wait_until

from rpc_cluster import Client, Forbidden

PASSWORD = "correct horse battery"


def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rpc_cluster.tools.cli", "user", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def one_line_error(result: subprocess.CompletedProcess, code: int = 1) -> str:
    assert result.returncode == code, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def grading(tmp_path_factory):
    """A registry and a grading service that registered with it, shared by the module's tests."""
    folder = tmp_path_factory.mktemp("users")
    manager = Processes(folder)
    try:
        registry = manager.registry().url()
        service = manager.start(
            "cmd/gradingservice/main.py", "--port", "0", "--registry", registry, "--db", str(folder / "grades.db")
        )
        url = service.url()
        wait_until(lambda: Client(registry).Registry.lookup("GradingService"), 20, message="grading registered")
        yield SimpleNamespace(url=url, registry=registry, client=Client(url))
    finally:
        manager.cleanup()


def signs_in(grading, username: str, password: str) -> bool:
    try:
        grading.client.Sessions.sign_in(username, password, "cli-test", 60, 60)
    except Forbidden:
        return False
    return True


def test_user_add_list_passwd_disable_enable_through_the_registry(grading):
    found = ["--registry", grading.registry]
    added = run("add", "amy", "--role", "teacher", "--name", "Amy Pond", "--password-stdin", *found, stdin=PASSWORD)
    assert added.returncode == 0, added.stderr
    assert added.stdout == "added amy (teacher, enabled): Amy Pond\n"
    assert signs_in(grading, "amy", PASSWORD)
    session = grading.client.Sessions.sign_in("amy", PASSWORD, "cli-test", 600, 600)["session"]

    listing = run("list", *found)
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].split() == ["USERNAME", "ROLE", "STATUS", "NAME"]
    assert ["amy", "teacher", "enabled", "Amy", "Pond"] in [line.split() for line in lines]
    as_json = json.loads(run("list", "--json", *found).stdout)
    assert {"username": "amy", "display_name": "Amy Pond", "role": "teacher", "disabled": False} in as_json

    changed = run("passwd", "amy", "--password-stdin", *found, stdin="a new password for amy\n")
    assert changed.returncode == 0, changed.stderr
    assert "password of amy changed" in changed.stdout
    assert not signs_in(grading, "amy", PASSWORD) and signs_in(grading, "amy", "a new password for amy")
    with pytest.raises(Forbidden):
        grading.client.Sessions.check(session)

    disabled = run("disable", "amy", *found)
    assert disabled.returncode == 0 and disabled.stdout.startswith("disabled amy (teacher, disabled)")
    assert not signs_in(grading, "amy", "a new password for amy")
    assert ["amy", "teacher", "disabled", "Amy", "Pond"] in [
        line.split() for line in run("list", *found).stdout.splitlines()
    ]
    enabled = run("enable", "amy", *found)
    assert enabled.returncode == 0 and enabled.stdout.startswith("enabled amy (teacher, enabled)")
    assert signs_in(grading, "amy", "a new password for amy")


def test_user_at_a_url_and_a_password_kept_exactly_as_typed(grading):
    base = grading.url.removesuffix("/rpc")
    password = "  spaces and ünïcode count  "
    added = run("add", "rob", "--role", "admin", "--password-stdin", "--url", base, stdin=password + "\r\n")
    assert added.returncode == 0, added.stderr
    assert added.stdout == "added rob (admin, enabled): rob\n"
    assert signs_in(grading, "rob", password) and not signs_in(grading, "rob", password.strip())


def test_a_password_flag_is_refused_and_its_value_is_not_shown(grading):
    for flags in (["--password", "hunter2hunter2"], ["--password=hunter2hunter2"], ["hunter2hunter2"]):
        result = run("add", "eve", "--role", "teacher", "--url", grading.url, *flags)
        line = one_line_error(result, 2)
        assert "hunter2" not in result.stderr + result.stdout
        assert "--password is refused" in line or "not repeated: one may be a password" in line
    assert "eve" not in run("list", "--url", grading.url).stdout


def test_errors_are_one_line_and_never_repeat_the_password(grading):
    assert (
        run("add", "kim", "--role", "teacher", "--password-stdin", "--url", grading.url, stdin=PASSWORD).returncode == 0
    )
    taken = one_line_error(
        run("add", "kim", "--role", "admin", "--password-stdin", "--url", grading.url, stdin=PASSWORD)
    )
    assert taken.startswith("rpc-cluster user add: error: [409]") and PASSWORD not in taken
    short = run("add", "lee", "--role", "teacher", "--password-stdin", "--url", grading.url, stdin="tiny secret")
    assert "password must be 12-128 characters" in one_line_error(short) and "tiny secret" not in short.stderr
    unknown = one_line_error(run("passwd", "nobody", "--password-stdin", "--url", grading.url, stdin=PASSWORD))
    assert unknown.startswith("rpc-cluster user passwd: error: [404]")
    bad_name = one_line_error(run("disable", "Not Valid", "--url", grading.url))
    assert "username must be 1-64 characters" in bad_name
    empty = one_line_error(run("passwd", "kim", "--password-stdin", "--url", grading.url, stdin=""))
    assert "standard input is empty" in empty
    nothing_there = one_line_error(run("list", "--url", "http://127.0.0.1:9/rpc"))
    assert "refused" in nothing_there
    no_registry = one_line_error(run("list", "--registry", "http://127.0.0.1:9/rpc"))
    assert no_registry.startswith("rpc-cluster user list: error:")
    assert one_line_error(run("add", "x", "--url", grading.url), 2).endswith(
        "the following arguments are required: --role"
    )
    assert one_line_error(run("list", "--url", "ftp://x"), 2).startswith("rpc-cluster user list: error: argument --url")


def test_without_a_terminal_or_password_stdin_the_command_says_how(grading):
    # No controlling terminal in a new session: getpass would fall back to reading stdin with echo on.
    result = subprocess.run(
        [sys.executable, "-m", "rpc_cluster", "user", "add", "ned", "--role", "teacher", "--url", grading.url],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        start_new_session=True,
    )
    assert one_line_error(result) == (
        "rpc-cluster user add: error: no terminal to type the password on: give it with --password-stdin"
    )
    assert "ned" not in run("list", "--url", grading.url).stdout


class Terminal:
    """The command on a pty of its own (its controlling terminal, where getpass asks)."""

    def __init__(self, *args: str):
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rpc_cluster.tools.cli", "user", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=ROOT,
            start_new_session=True,
            # In the new session, make the pty the controlling terminal: /dev/tty is where getpass reads.
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        os.close(slave)
        self.seen = b""

    def _read(self, deadline: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 4096)
        except OSError:  # EIO: the command closed the terminal
            return False
        self.seen += chunk
        return bool(chunk)

    def answer(self, prompt: bytes, line: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while prompt not in self.seen:
            assert time.monotonic() < deadline and self._read(deadline), self.seen
        self.seen = self.seen.replace(prompt, b"", 1) + b"<" + prompt + b">"
        os.write(self.master, line.encode() + b"\n")

    def finish(self, timeout: float = 30) -> tuple[int, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._read(deadline):
            pass
        return self.proc.wait(timeout), self.seen.decode()

    def kill(self) -> None:
        """Whatever happened: no command left running, no descriptor left open."""
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        self.proc.wait()
        with contextlib.suppress(OSError):
            os.close(self.master)


def test_a_password_typed_twice_on_the_terminal_without_echo(grading):
    terminal = Terminal("add", "tom", "--role", "teacher", "--url", grading.url)
    try:
        terminal.answer(b"New password for tom: ", "typed on the terminal")
        terminal.answer(b"The same again: ", "typed on the terminal")
        code, seen = terminal.finish()
    finally:
        terminal.kill()
    assert code == 0, seen
    assert "added tom (teacher, enabled): tom" in seen
    assert "typed on the terminal" not in seen  # not echoed
    assert signs_in(grading, "tom", "typed on the terminal")


def test_two_different_passwords_on_the_terminal_change_nothing(grading):
    assert (
        run("add", "una", "--role", "teacher", "--password-stdin", "--url", grading.url, stdin=PASSWORD).returncode == 0
    )
    terminal = Terminal("passwd", "una", "--url", grading.url)
    try:
        terminal.answer(b"New password for una: ", "first try at this")
        terminal.answer(b"The same again: ", "second try at this")
        code, seen = terminal.finish()
    finally:
        terminal.kill()
    assert code == 1
    assert "rpc-cluster user passwd: error: the two passwords differ; nothing changed" in seen
    assert "try at this" not in seen
    assert signs_in(grading, "una", PASSWORD)


def test_user_sends_the_cluster_token(processes, tmp_path):
    token = "user-command-token"
    service = processes.start(
        "cmd/gradingservice/main.py",
        "--port",
        "0",
        "--registry",
        "http://127.0.0.1:9/rpc",
        "--db",
        str(tmp_path / "grades.db"),
        env={"RPC_CLUSTER_TOKEN": token},
    )
    url = service.url()
    refused = one_line_error(run("list", "--url", url))
    assert refused.startswith("rpc-cluster user list: error: [401]")
    added = run("add", "val", "--role", "admin", "--password-stdin", "--url", url, "--token", token, stdin=PASSWORD)
    assert added.returncode == 0, added.stderr
    listed = run("list", "--url", url, env={"RPC_CLUSTER_TOKEN": token})
    assert listed.returncode == 0 and "val" in listed.stdout
