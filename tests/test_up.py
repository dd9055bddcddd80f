"""`rpc-cluster up`: starts everything, serves the portal, stops cleanly on SIGTERM."""

import contextlib
import os
import re
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from helpers.processes import ROOT
from helpers.waiting import wait_until

from rpc_cluster import RegistryClient


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def kill_up(proc: subprocess.Popen) -> None:
    """Whatever happened, leave no `up` and none of its children behind."""
    kids = children_of(proc.pid)  # before `up` dies: then they belong to init, and cannot be found this way
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    for pid in kids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait()


def up_argv(data: Path, *flags: str) -> list[str]:
    """`rpc-cluster up` with its data in ``data``, on port 0 everywhere, plus ``flags``."""
    ports = [f"--{name}-port" for name in ("registry", "log", "grading", "portal")]
    if "--ha" in flags:
        ports.append("--registry2-port")
    return [
        sys.executable,
        "-m",
        "rpc_cluster",
        "up",
        *flags,
        "--data",
        str(data),
        *(arg for port in ports for arg in (port, "0")),
    ]


def start_up(tmp_path: Path, *flags: str) -> subprocess.Popen:
    """`up` on port 0 everywhere with its data in tmp_path/data and its output in tmp_path/up.log, plus ``flags``."""
    # The child holds its own copy of the descriptor: ours is closed at once.
    with open(tmp_path / "up.log", "wb") as log:
        return subprocess.Popen(
            up_argv(tmp_path / "data", *flags),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )


def test_up_starts_serves_and_stops_cleanly(tmp_path):
    proc = start_up(tmp_path)
    try:
        output = lambda: (tmp_path / "up.log").read_text()  # noqa: E731
        match = wait_until(lambda: re.search(r"portal\s+(http://\S+/)", output()), 30, message="the URLs")
        text = output()
        listing = text[text.index("  portal") :]
        assert listing.index("portal") < listing.index("registry") < listing.index("grading")
        with urllib.request.urlopen(match.group(1) + "students", timeout=5) as response:
            assert response.status == 200 and b"Carter, Nick" in response.read()
        assert re.search(r"^grading +\| .*GradingService registered", text, re.M)  # prefixed output
        kids = children_of(proc.pid)
        assert len(kids) == 4
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        time.sleep(0.2)
        assert [pid for pid in kids if alive(pid)] == []
        assert "up: stopped" in output() and "Traceback" not in output()
        assert (tmp_path / "data" / "grades.db").exists() and (tmp_path / "data" / "distributed.log").exists()
    finally:
        kill_up(proc)


def test_up_exits_non_zero_when_a_service_dies_while_starting(tmp_path):
    data = tmp_path / "data"
    (data / "grades.db").mkdir(parents=True)  # grading cannot open a folder as its database
    result = subprocess.run(
        up_argv(data),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 1
    assert "up: grading exited with code 1 while starting; stopping the others" in result.stdout
    assert "cannot open the store" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_up_ha_runs_etcd_and_two_registries_and_survives_losing_one(tmp_path):
    from helpers.required import etcd_or_skip

    etcd_or_skip()
    from rpc_cluster import RegistryClient

    proc = start_up(tmp_path, "--ha")
    try:
        output = lambda: (tmp_path / "up.log").read_text()  # noqa: E731
        wait_until(lambda: "Ctrl-C stops them all" in output(), 60, message="the cluster")
        text = output()
        registries = re.findall(r"^  registry2? +(http://\S+/rpc)", text, re.M)
        assert len(registries) == 2 and "etcd       etcd://" in text
        portal = re.search(r"portal\s+(http://\S+/)", text).group(1)
        both = RegistryClient(",".join(registries))
        wait_until(
            lambda: (
                {r["service_name"] for r in both.Registry.services()}
                >= {"LogService", "GradingService", "PortalService"}
            ),
            20,
            message="every service registered",
        )
        commands = {pid: Path(f"/proc/{pid}/cmdline").read_text().split("\0") for pid in children_of(proc.pid)}
        etcd_members = [pid for pid, argv in commands.items() if argv[0].endswith("etcd")]
        assert len(etcd_members) == 3
        # Lose the first registry: the other answers, and the portal keeps serving.
        first_port = registries[0].rsplit(":", 1)[1].split("/")[0]
        first = next(pid for pid, argv in commands.items() if "registry" in argv and first_port in argv)
        os.kill(first, signal.SIGKILL)
        assert {r["service_name"] for r in both.Registry.services()} >= {"GradingService", "PortalService"}
        with urllib.request.urlopen(portal + "students", timeout=5) as response:
            assert b"Carter, Nick" in response.read()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        time.sleep(0.2)
        assert [pid for pid in etcd_members if alive(pid)] == []
        assert "Traceback" not in output()
    finally:
        kill_up(proc)


def test_up_ha_without_etcd_says_how_to_install_it(tmp_path):
    env = dict(os.environ, PATH="/nonexistent")
    result = subprocess.run(
        up_argv(tmp_path / "d", "--ha"),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
        env=env,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "rpc-cluster up: error: --ha needs etcd. etcd is not installed: apt-get install etcd-server "
        "(Debian, Ubuntu), or see etcd.io"
    ]


def test_up_tls_serves_everything_on_https_with_a_local_ca(tmp_path):
    data = tmp_path / "data"
    proc = start_up(tmp_path, "--tls")
    try:
        output = lambda: (tmp_path / "up.log").read_text()  # noqa: E731
        portal = wait_until(lambda: re.search(r"portal\s+(https://\S+/)", output()), 40, message="the URLs").group(1)
        registry = re.search(r"registry\s+(https://\S+/rpc)", output()).group(1)
        ca = data / "tls" / "ca.pem"
        assert oct((data / "tls" / "ca-key.pem").stat().st_mode & 0o777) == "0o600"
        context = ssl.create_default_context(cafile=str(ca))
        with urllib.request.urlopen(portal + "students", timeout=5, context=context) as response:
            assert response.status == 200 and b"Carter, Nick" in response.read()
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            urllib.request.urlopen(portal + "students", timeout=5, context=ssl.create_default_context())
        rows = RegistryClient(registry, tls_ca=str(ca)).call("Registry.services")
        assert len(rows) == 3 and all(r["service_url"].startswith("https://") for r in rows)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert "Traceback" not in output()
    finally:
        kill_up(proc)
    # A second start keeps the CA, so a browser told to trust it once goes on trusting the portal.
    from rpc_cluster.tools.local_ca import LocalCA

    before = ca.read_bytes()
    LocalCA(data / "tls")
    assert ca.read_bytes() == before


def test_up_adds_admin_on_a_fresh_data_and_later_says_where_the_password_is(tmp_path):
    from rpc_cluster import Client

    kept = tmp_path / "data" / "admin-password"
    proc = start_up(tmp_path)
    try:
        output = lambda: (tmp_path / "up.log").read_text()  # noqa: E731
        wait_until(lambda: "Ctrl-C stops them all" in output(), 30, message="the URLs")
        text = output()
        match = re.search(r"^  Sign in at (http://\S+/) as admin with password: (\S+)   \(kept in (\S+)\)$", text, re.M)
        assert match, text
        portal, password = match.group(1), match.group(2)
        assert re.search(rf"^  portal +{re.escape(portal)} ", text, re.M)  # beside the portal's URL
        assert Path(match.group(3)) == kept.resolve() and kept.read_text() == password + "\n"
        assert oct(kept.stat().st_mode & 0o777) == "0o600"
        assert text.count(password) == 1  # printed once, nowhere else
        grading = re.search(r"^  grading +(http://\S+/rpc)", text, re.M).group(1)
        signed_in = Client(grading).Sessions.sign_in("admin", password, "up-test", 60, 60)
        assert signed_in["user"] == {
            "username": "admin",
            "display_name": "Administrator",
            "role": "admin",
            "disabled": False,
        }
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        kill_up(proc)
    again = start_up(tmp_path)
    try:
        wait_until(lambda: "Ctrl-C stops them all" in output(), 30, message="the URLs, again")
        text = output()
        assert re.search(
            rf"^  Sign in at http://\S+/ as admin with the password kept in {re.escape(str(kept.resolve()))}$",
            text,
            re.M,
        ), text
        assert password not in text and kept.read_text() == password + "\n"
        again.send_signal(signal.SIGTERM)
        assert again.wait(30) == 0
    finally:
        kill_up(again)


class FakeGrading:
    """Answers Users.add as grading would, or with the error it is given."""

    def __init__(self, error=None):
        self.error = error
        self.calls = []

    def call(self, method, **params):
        self.calls.append((method, params))
        if self.error is not None:
            raise self.error
        return {"username": params["username"], "display_name": params["display_name"], "role": "admin"}


def test_the_admin_password_file_is_made_private_as_it_is_created_even_under_umask_0(tmp_path, monkeypatch):
    from rpc_cluster.tools import first_admin

    def no_chmod(*args, **kwargs):
        raise AssertionError("the file must be created with its mode, not changed after")

    monkeypatch.setattr(os, "chmod", no_chmod)
    monkeypatch.setattr(Path, "chmod", no_chmod)
    previous = os.umask(0)
    try:
        grading = FakeGrading()
        line = first_admin.sign_in_line(grading, tmp_path, "http://portal.example/")
    finally:
        os.umask(previous)
    password = grading.calls[0][1]["password"]
    assert grading.calls == [
        ("Users.add", {"username": "admin", "role": "admin", "password": password, "display_name": "Administrator"})
    ]
    assert len(password) == 24
    assert (
        line
        == f"Sign in at http://portal.example/ as admin with password: {password}   (kept in {tmp_path}/admin-password)"
    )
    assert oct((tmp_path / "admin-password").stat().st_mode & 0o777) == "0o600"
    # Kept: a later start neither asks grading nor shows the password.
    again = FakeGrading()
    assert first_admin.sign_in_line(again, tmp_path, "http://portal.example/") == (
        f"Sign in at http://portal.example/ as admin with the password kept in {tmp_path}/admin-password"
    )
    assert again.calls == []


def test_without_the_file_an_existing_admin_is_not_given_a_new_password(tmp_path):
    from rpc_cluster import Conflict, TransportError
    from rpc_cluster.tools import first_admin

    line = first_admin.sign_in_line(FakeGrading(Conflict("a user named admin exists")), tmp_path, "http://p/")
    gone = f"({tmp_path}/admin-password is gone; `rpc-cluster user passwd admin` sets a new password)"
    assert line == f"Sign in at http://p/ as admin {gone}"
    assert not (tmp_path / "admin-password").exists()
    line = first_admin.sign_in_line(FakeGrading(TransportError("connection refused")), tmp_path, "http://p/")
    assert line == "up: could not add the user admin: [-32000] connection refused"
    assert not (tmp_path / "admin-password").exists()
