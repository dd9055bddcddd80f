"""TLS: services serve HTTPS only with --tls-cert/--tls-key, and every caller verifies them (--tls-ca)."""

import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request

import pytest
from helpers.http_browser import HttpBrowser
from helpers.processes import ROOT
from helpers.signed_in import make_user, sign_in
from helpers.waiting import wait_until

from rpc_cluster import Client, RegistryClient, TlsFiles, TransportError, connect
from rpc_cluster.grading.service import GradingService

TOKEN = "tls-test-token"


def cli(*args, env=None, timeout=30):
    return subprocess.run(
        [sys.executable, "-m", "rpc_cluster.tools.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )


@pytest.fixture
def no_ca_in_env(monkeypatch):
    monkeypatch.delenv("RPC_CLUSTER_TLS_CA", raising=False)


@pytest.fixture
def tls_grading(tmp_path, certificates, no_ca_in_env):
    """A grading service on HTTPS, in this process, with no registry to talk to."""
    service = GradingService(
        db=str(tmp_path / "grades.db"),
        tls=TlsFiles(cert=certificates.cert, key=certificates.key),
        registry="http://127.0.0.1:9/rpc",
    )
    service.start()
    try:
        yield service
    finally:
        service.stop()


def test_a_service_with_a_certificate_serves_https_and_says_so_in_its_url(tls_grading, certificates):
    assert tls_grading.url.startswith("https://127.0.0.1:")
    client = Client(tls_grading.url, tls_ca=certificates.ca)
    assert client.Grades.get_student(1)["first_name"] == "Nick"
    context = ssl.create_default_context(cafile=certificates.ca)
    with urllib.request.urlopen(tls_grading.url.replace("/rpc", "/health"), context=context, timeout=5) as answer:
        assert json.loads(answer.read()) == {"status": "ok", "service": "GradingService"}


def test_a_client_without_the_ca_refuses_the_server_with_one_clear_line(tls_grading):
    with pytest.raises(TransportError) as refused:
        Client(tls_grading.url, timeout=5).call("Grades.get_student", 1)
    message = str(refused.value)
    assert "certificate" in message and "--tls-ca" in message and "\n" not in message
    assert refused.value.sent is False  # the handshake failed: nothing reached the server

    result = cli("call", tls_grading.url, "Grades.get_student", "[1]")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "certificate" in result.stderr and "Traceback" not in result.stderr


def test_the_command_line_verifies_with_tls_ca(tls_grading, certificates):
    result = cli("call", tls_grading.url, "Grades.get_student", "[1]", "--tls-ca", certificates.ca)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["last_name"] == "Carter"


def test_plain_http_to_a_tls_port_fails_cleanly_and_the_service_keeps_serving(tls_grading, certificates):
    plain = tls_grading.url.replace("https://", "http://")
    with pytest.raises(TransportError) as failed:
        Client(plain, timeout=5).call("Grades.get_student", 1)
    assert "\n" not in str(failed.value)
    host, port = "127.0.0.1", tls_grading.server.port
    with socket.create_connection((host, port), timeout=5) as raw:
        raw.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        raw.settimeout(5)
        try:
            answer = raw.recv(100)
        except ConnectionResetError:
            answer = b""
        assert not answer.startswith(b"HTTP/1.1 200")  # never answered in clear text
    assert Client(tls_grading.url, tls_ca=certificates.ca).Grades.get_student(2)["first_name"] == "Roberto"


def test_an_https_client_to_a_plain_port_fails_cleanly(tmp_path, certificates, no_ca_in_env):
    with (
        GradingService(db=str(tmp_path / "grades.db"), registry="http://127.0.0.1:9/rpc") as plain,
        pytest.raises(TransportError) as failed,
    ):
        Client(plain.url.replace("http://", "https://"), tls_ca=certificates.ca, timeout=5).call(
            "Grades.get_student", 1
        )
    assert "TLS" in str(failed.value) and "\n" not in str(failed.value)


def test_a_ca_file_that_cannot_be_read_is_a_clear_error(tls_grading, tmp_path):
    with pytest.raises(TransportError, match="cannot use the TLS CA file"):
        Client(tls_grading.url, tls_ca=str(tmp_path / "missing.pem")).call("Grades.get_student", 1)


@pytest.mark.parametrize(
    "flags, expected",
    [
        (["--tls-cert", "{cert}"], "--tls-cert and --tls-key go together"),
        (["--tls-cert", "{missing}", "--tls-key", "{key}"], "does not exist"),
        (["--tls-cert", "{cert}", "--tls-key", "{ca}"], "cannot use --tls-cert"),
        (["--tls-ca", "{missing}"], "cannot use the TLS CA file"),
    ],
)
def test_bad_tls_flags_are_one_line_errors_with_exit_code_2(certificates, tmp_path, flags, expected):
    values = {
        "cert": certificates.cert,
        "key": certificates.key,
        "ca": certificates.ca,
        "missing": str(tmp_path / "missing.pem"),
    }
    result = cli(
        "grading", "--port", "0", "--db", str(tmp_path / "g.db"), *[flag.format(**values) for flag in flags], timeout=20
    )
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr and result.stderr.count("\n") == 1


def test_a_tls_service_will_not_advertise_a_plain_url(certificates, tmp_path):
    result = cli(
        "grading",
        "--port",
        "0",
        "--db",
        str(tmp_path / "g.db"),
        *certificates.flags(),
        "--advertise",
        "http://127.0.0.1:6000/rpc",
        timeout=20,
    )
    assert result.returncode == 1
    assert "must be an https:// URL" in result.stderr and "Traceback" not in result.stderr


def test_a_whole_cluster_on_tls_with_a_token(processes, certificates, tmp_path):
    """Registry, log, grading and portal on HTTPS: registered as https://, checked over TLS, the portal served."""
    env = {"RPC_CLUSTER_TOKEN": TOKEN}
    registry = processes.registry(*certificates.flags(), env=env).url()
    assert registry.startswith("https://")
    for script, extra in (
        ("cmd/logservice/main.py", ["--log-file", str(tmp_path / "d.log")]),
        ("cmd/gradingservice/main.py", ["--db", str(tmp_path / "g.db")]),
        ("cmd/teacherportal/main.py", []),
    ):
        processes.start(script, "--port", "0", "--registry", registry, *certificates.flags(), *extra, env=env)
    lookup = RegistryClient(registry, token=TOKEN, tls_ca=certificates.ca)

    def all_passing():
        rows = lookup.call("Registry.services")
        return len(rows) == 3 and all(r["status"] == "passing" and r["last_checked"] for r in rows) and rows

    rows = wait_until(all_passing, 20, message="three https services passing")
    assert all(row["service_url"].startswith("https://") for row in rows)

    grading = connect("GradingService", registry, token=TOKEN, tls_ca=certificates.ca)
    assert grading.Grades.get_student(1)["first_name"] == "Nick"
    with pytest.raises(Exception, match="requires the cluster token"):
        connect("GradingService", registry, token=None, tls_ca=certificates.ca).Grades.get_student(1)

    portal = next(r["service_url"] for r in rows if r["service_name"] == "PortalService").rsplit("/rpc", 1)[0]
    browser = HttpBrowser(portal, ca=certificates.ca)
    signed = sign_in(browser, make_user(grading, "admin"), wait=15)
    cookies = [value for name, value in signed.headers if name.lower() == "set-cookie"]
    assert any(c.startswith("portal_session=") and "; Secure" in c and "HttpOnly" in c for c in cookies), cookies
    page = browser.get("/students")
    assert page.status == 200 and "Carter, Nick" in page.text

    result = cli(
        "services", "--registry", registry, "--tls-ca", certificates.ca, env=dict(os.environ, RPC_CLUSTER_TOKEN=TOKEN)
    )
    assert result.returncode == 0, result.stderr
    assert len([line for line in result.stdout.splitlines() if "https://" in line and "passing" in line]) == 3


def test_silent_and_stalled_handshakes_do_not_stop_health_checks(tls_grading, certificates):
    """Hostile clients on a TLS port: connections that never start, or stop halfway through, their handshake."""
    port = tls_grading.server.port
    silent = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(200)]
    stalled = socket.create_connection(("127.0.0.1", port), timeout=20)
    try:
        stalled.sendall(b"\x16\x03\x01\x00\xff")  # a ClientHello's record header, and nothing after it
        context = ssl.create_default_context(cafile=certificates.ca)
        started = time.monotonic()
        with urllib.request.urlopen(tls_grading.url.replace("/rpc", "/health"), context=context, timeout=5) as answer:
            assert answer.status == 200
        assert time.monotonic() - started < 2
        # The server gives up on an unfinished handshake (Granian's 10 s), so such sockets do not pile up.
        assert stalled.recv(10) == b""
        assert time.monotonic() - started < 16
    finally:
        stalled.close()
        for sock in silent:
            sock.close()
