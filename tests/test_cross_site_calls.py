"""A web page of another site cannot call a service: the browser marks such a request (``Sec-Fetch-Site``)
and the service refuses it, while programs, and a person opening the URL, are served as before."""

from __future__ import annotations

import http.server
import json
import threading
import urllib.error
import urllib.request

import pytest
from helpers.echo_service import EchoService

from rpc_cluster import Client
from rpc_cluster.grading.service import GradingService

NOWHERE = "http://127.0.0.1:9/rpc"
CALL = b'{"jsonrpc": "2.0", "method": "Echo.echo", "params": ["hi"], "id": 1}'


@pytest.fixture(scope="module")
def echo():
    with EchoService(port=0, registry=NOWHERE) as service:
        yield service


def post(url: str, headers: dict[str, str]) -> tuple[int, dict]:
    request = urllib.request.Request(url, CALL, {"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_call_from_a_page_of_another_site_is_refused(echo, site):
    for path in ("/rpc", "/RPC2"):
        status, body = post(echo.url.replace("/rpc", path), {"Sec-Fetch-Site": site})
        assert (status, body["error"]) == (403, "forbidden"), path


@pytest.mark.parametrize("headers", [{}, {"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"}])
def test_programs_and_the_services_own_origin_are_served(echo, headers):
    assert post(echo.url, headers) == (200, {"jsonrpc": "2.0", "result": "hi", "id": 1})


def test_the_health_check_is_not_a_call_and_stays_open(echo):
    request = urllib.request.Request(echo.url.replace("/rpc", "/health"), headers={"Sec-Fetch-Site": "cross-site"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 200


class _Attacker(http.server.BaseHTTPRequestHandler):
    """Serves one page that, once loaded, posts a JSON-RPC call to grading as a plain form (no preflight)."""

    target = ""

    def do_GET(self):
        page = f"""<!doctype html><title>prize</title>
<form id="f" method="post" action="{self.target}" enctype="text/plain">
<input name='{{"jsonrpc": "2.0", "id": 1, "method": "Grades.add_student", "params": ["Mallory", "Forged"], "x": "'
 value='"}}'></form><script>document.getElementById("f").submit()</script>"""
        body = page.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_page_on_another_port_cannot_make_chromium_call_grading(page, tmp_path):
    with GradingService(port=0, registry=NOWHERE, db=str(tmp_path / "grades.db")) as grading:
        handler = type("Attacker", (_Attacker,), {"target": grading.url})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            with page.expect_response(grading.url) as sent:
                page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
            assert sent.value.status == 403  # the form did reach grading: it was refused there
        finally:
            server.shutdown()
            server.server_close()
            thread.join(5)
        found = Client(grading.url).call("Grades.list_students", query="Mallory")
        assert found["total"] == 0
