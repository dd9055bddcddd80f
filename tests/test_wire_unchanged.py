"""Every service answers a fixed list of tricky requests exactly as recorded in tests/data/wire_answers.json.

The net under any restructuring of the package: the services are started the way
an operator starts them (``python -m rpc_cluster <service>``, ports 0), the
requests are raw bytes on a socket, and the answers (status, headers, body) must
match the recording byte for byte once ``normalise`` has replaced what varies
from run to run.

Record again, after a change to the wire that is meant::

    RPC_CLUSTER_RECORD_WIRE=1 pytest tests/test_wire_unchanged.py
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import sys
from pathlib import Path

import pytest
from helpers.processes import Processes

from rpc_cluster import __version__

RECORDING = Path(__file__).resolve().parent / "data" / "wire_answers.json"
RECORD = bool(os.environ.get("RPC_CLUSTER_RECORD_WIRE"))
#: Nothing listens there: the log and grading services serve without registering,
#: so the registry's table holds only what the requests below put in it.
NOWHERE = "http://127.0.0.1:9/rpc"
TOKEN = "wire-secret"
MAX_BATCH = 3
#: How many differences a failure prints in full.
SHOWN = 5

# -- the services ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    """{"registry"|"log"|"grading"|"guarded": "127.0.0.1:PORT"}, each a real process."""
    folder = tmp_path_factory.mktemp("wire")
    manager = Processes(folder)
    cli = ("-m", "rpc_cluster")
    common = ("--port", "0", "--max-batch", str(MAX_BATCH))
    try:
        # A long interval: nothing the registry checks may change status while the requests run.
        started = {
            "registry": manager.start(*cli, "registry", *common, "--heartbeat-interval", "600"),
            "log": manager.start(
                *cli, "log", *common, "--registry", NOWHERE, "--log-file", str(folder / "distributed.log")
            ),
            "grading": manager.start(
                *cli, "grading", *common, "--registry", NOWHERE, "--db", str(folder / "grades.db")
            ),
            "guarded": manager.start(*cli, "registry", *common, "--heartbeat-interval", "600", "--token", TOKEN),
        }
        yield {name: _address(proc.url()) for name, proc in started.items()}
    finally:
        manager.cleanup()


def _address(url: str) -> str:
    return re.match(r"https?://([^/]+)", url).group(1)


# -- raw HTTP --------------------------------------------------------------------------------------


def exchange(
    address: str,
    method: str,
    path: str,
    body: bytes = b"",
    headers: tuple = (),
    content_type: str | None = "application/json",
) -> tuple[int, list, bytes]:
    """Send one request as exact bytes; returns (status, [(name, value), ...], body)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {address}", "Connection: close"]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    lines.extend(f"{name}: {value}" for name, value in headers)
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        # A server may answer (413) and close before reading all of a body it refuses.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return _parse(received, head_only=method == "HEAD")


def _parse(raw: bytes, head_only: bool) -> tuple[int, list, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers = [(name.strip().lower(), value.strip()) for name, value in (line.split(":", 1) for line in header_lines)]
    if dict(headers).get("transfer-encoding", "").lower() == "chunked":
        body = _unchunk(body)
    elif "content-length" in dict(headers) and not head_only:
        assert len(body) == int(dict(headers)["content-length"]), f"Content-Length does not match:\n{raw!r}"
    return status, headers, body


def _unchunk(data: bytes) -> bytes:
    out = b""
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return out
        out, data = out + data[:size], data[size + 2 :]


# -- what varies ------------------------------------------------------------------------------------

_TRACE_HEADERS = {"x-trace-id": "<trace-id>", "traceparent": "<traceparent>"}
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")


def normalise(
    answer: tuple[int, list, bytes],
    addresses: dict[str, str],
    whole_body: bool = True,
    sent_trace: tuple[str, ...] = (),
) -> dict:
    """The answer as recorded: what legitimately differs between runs is replaced, nothing else.

    - Date header: dropped (the clock). X-Trace-Id and traceparent: kept as present,
      the value replaced unless it comes from what the caller sent (``sent_trace``):
      otherwise it is a fresh random id each time.
    - Each service's own 127.0.0.1:PORT (ports are 0 = any free one) becomes <NAME>.
    - ISO timestamps in bodies (registered_at, last_checked, log entries) become
      <timestamp>; the package version in the OpenRPC document becomes <version>.
    - Content-Length is kept only when none of that touched the body (else it
      would follow the port's digit count); with ``whole_body`` False (/metrics,
      whose values change) only the status and Content-Type are kept.
    """
    status, headers, body = answer
    text = body.decode("utf-8", errors="backslashreplace")
    changed = text
    for name, address in sorted(addresses.items()):
        changed = changed.replace(address, f"<{name}>")
    changed = _TIMESTAMP.sub("<timestamp>", changed).replace(f'"{__version__}"', '"<version>"')
    kept = []
    for name, value in headers:
        if name == "date":
            continue
        if name in _TRACE_HEADERS and not any(value in sent for sent in sent_trace):
            value = _TRACE_HEADERS[name]
        elif name == "content-length" and changed != text:
            value = "<normalised>"
        if whole_body or name == "content-type":
            kept.append(f"{name}: {value}")
    recorded = {"status": status, "headers": sorted(kept)}
    if whole_body:
        recorded["body"] = changed
    return recorded


# -- the requests ------------------------------------------------------------------------------------


def rpc(method, params=None, id=1) -> bytes:
    call = {"jsonrpc": "2.0", "method": method, "id": id}
    if params is not None:
        call["params"] = params
    return json.dumps(call).encode()


def xml_call(method: str, *params: str) -> bytes:
    values = "".join(f"<param><value>{p}</value></param>" for p in params)
    return (
        f"<?xml version='1.0'?><methodCall><methodName>{method}</methodName><params>{values}</params></methodCall>"
    ).encode()


def case(
    name: str,
    service: str,
    body: bytes = b"",
    *,
    method: str = "POST",
    path: str = "/rpc",
    headers: tuple = (),
    content_type: str | None = "application/json",
    whole_body: bool = True,
) -> dict:
    return {
        "name": name,
        "service": service,
        "method": method,
        "path": path,
        "body": body,
        "headers": headers,
        "content_type": content_type,
        "whole_body": whole_body,
    }


#: What the services other than the registry are also sent: the rest is the same code path.
SHORT_JSON_RPC = {
    "not json",
    "NaN",
    "deep nesting",
    "jsonrpc 1.0",
    "method number",
    "id object",
    "params string",
    "unknown method",
    "notification",
    "empty batch",
    "batch notifications only",
    "batch mixed",
    "batch over max",
}
SHORT_HTTP = {
    "GET /rpc (OpenRPC)",
    "rpc.discover",
    "GET /health",
    "GET /metrics",
    "413",
    "PUT /rpc",
    "PUT /RPC2",
    "PUT /health",
    "PUT /metrics",
    "POST /health",
    "GET /RPC2",
    "GET /nope",
    "POST /nope",
    "Content-Type None",
    "Content-Type text/plain",
}
SHORT_XMLRPC = {
    "system.listMethods",
    "system.methodHelp good",
    "system.methodHelp unknown",
    "good call",
    "unknown method",
    "bad xml",
}


def _short(cases: list[dict], kept: set[str], full: bool) -> list[dict]:
    """All of ``cases`` when ``full``, else those whose label (the name after the prefix) is in ``kept``."""
    return [
        c for c in cases if full or any(c["name"].endswith(" " + label) or f" {label}:" in c["name"] for label in kept)
    ]


def json_rpc_cases(service: str, method: str) -> list[dict]:
    """Parse errors, invalid requests and batches, sent to ``service`` with ``method`` as the good call."""
    good = rpc(method, [])
    deep = b"[" * 5000 + b"]" * 5000
    deep_params = (
        b'{"jsonrpc": "2.0", "method": "'
        + method.encode()
        + b'", "params": '
        + b"[" * 3000
        + b"]" * 3000
        + b', "id": 1}'
    )
    bodies = {
        "empty body": b"",
        "whitespace": b"  \n ",
        "truncated": good[:-3],
        "not json": b"hello",
        "trailing garbage": good + b"xyz",
        "single quotes": b"{'jsonrpc': '2.0', 'method': 'x', 'id': 1}",
        "NaN": b'{"jsonrpc": "2.0", "method": "' + method.encode() + b'", "params": [NaN], "id": 1}',
        "Infinity": b'{"jsonrpc": "2.0", "method": "' + method.encode() + b'", "params": [Infinity], "id": 1}',
        "-Infinity id": b'{"jsonrpc": "2.0", "method": "' + method.encode() + b'", "id": -Infinity}',
        "1e400": b'{"jsonrpc": "2.0", "method": "' + method.encode() + b'", "params": [1e400], "id": 1}',
        "deep nesting": deep,
        "deep params": deep_params,
        "invalid utf-8": b'{"jsonrpc": "2.0", "method": "\xff\xfe", "id": 1}',
        "utf-8 bom": b"\xef\xbb\xbf" + good,
        "lone surrogate": b'{"jsonrpc": "2.0", "method": "\\ud800", "id": 1}',
        "duplicate keys": b'{"jsonrpc": "2.0", "method": "nope", "method": "' + method.encode() + b'", "id": 1}',
        "null": b"null",
        "number": b"42",
        "string": b'"x"',
        "true": b"true",
        "jsonrpc 1.0": b'{"jsonrpc": "1.0", "method": "' + method.encode() + b'", "id": 1}',
        "jsonrpc number": b'{"jsonrpc": 2.0, "method": "' + method.encode() + b'", "id": 1}',
        "jsonrpc missing": b'{"method": "' + method.encode() + b'", "id": 1}',
        "method missing": b'{"jsonrpc": "2.0", "id": 1}',
        "method number": b'{"jsonrpc": "2.0", "method": 42, "id": 1}',
        "method null": b'{"jsonrpc": "2.0", "method": null, "id": 1}',
        "method empty": b'{"jsonrpc": "2.0", "method": "", "id": 1}',
        "method rpc.other": b'{"jsonrpc": "2.0", "method": "rpc.other", "id": 1}',
        "id string": b'{"jsonrpc": "2.0", "method": "' + method.encode() + b'", "id": "abc"}',
        "id null": b'{"jsonrpc": "2.0", "method": "' + method.encode() + b'", "id": null}',
        "id float": b'{"jsonrpc": "2.0", "method": "' + method.encode() + b'", "id": 1.5}',
        "id object": b'{"jsonrpc": "2.0", "method": "' + method.encode() + b'", "id": {"a": 1}}',
        "id array": b'{"jsonrpc": "2.0", "method": "' + method.encode() + b'", "id": [1]}',
        "id true": b'{"jsonrpc": "2.0", "method": "' + method.encode() + b'", "id": true}',
        "id huge": b'{"jsonrpc": "2.0", "method": "' + method.encode() + b'", "id": 123456789012345678901234567890}',
        "params string": b'{"jsonrpc": "2.0", "method": "' + method.encode() + b'", "params": "x", "id": 1}',
        "params null": b'{"jsonrpc": "2.0", "method": "' + method.encode() + b'", "params": null, "id": 1}',
        "params number": b'{"jsonrpc": "2.0", "method": "' + method.encode() + b'", "params": 3, "id": 1}',
        "extra member": b'{"jsonrpc": "2.0", "method": "' + method.encode() + b'", "id": 1, "x": 2}',
        "unknown method": rpc("Nope.nope"),
        "unknown namespace method": rpc(method.split(".")[0] + ".nope"),
        "private method": rpc(method.split(".")[0] + "._private"),
        "dunder method": rpc(method.split(".")[0] + ".__init__"),
        "notification unknown": b'{"jsonrpc": "2.0", "method": "Nope.nope"}',
        "notification": b'{"jsonrpc": "2.0", "method": "' + method.encode() + b'", "params": []}',
        "empty batch": b"[]",
        "batch of garbage": b"[1, 2]",
        "batch of one": b"[" + good + b"]",
        "batch notifications only": b"["
        + b",".join([b'{"jsonrpc": "2.0", "method": "' + method.encode() + b'"}'] * 2)
        + b"]",
        "batch mixed": b"["
        + b",".join(
            [
                rpc(method, [], 1),
                b'{"jsonrpc": "2.0", "method": "Nope.nope"}',
                b'{"jsonrpc": "1.0", "method": "x", "id": 2}',
            ]
        )
        + b"]",
        "batch errors": b"[" + b",".join([rpc("Nope.x", None, 3), b"5", rpc(method, {"no_such_param": 1}, 4)]) + b"]",
        "batch at max": b"[" + b",".join([rpc(method, [], i) for i in range(MAX_BATCH)]) + b"]",
        "batch over max": b"[" + b",".join([rpc(method, [], i) for i in range(MAX_BATCH + 1)]) + b"]",
        "batch nested": b"[[" + good + b"]]",
        "batch with duplicate ids": b"[" + rpc(method, [], 5) + b"," + rpc(method, [], 5) + b"]",
    }
    return [case(f"{service} json-rpc {label}", service, body) for label, body in bodies.items()]


def http_cases(service: str) -> list[dict]:
    """Paths, HTTP methods, Content-Types and sizes; the same for every service."""
    good = rpc("Service.heartbeat")
    cases = [
        case(f"{service} GET /rpc (OpenRPC)", service, method="GET", content_type=None),
        case(f"{service} rpc.discover", service, rpc("rpc.discover")),
        case(f"{service} GET /health", service, method="GET", path="/health", content_type=None),
        case(f"{service} GET /metrics", service, method="GET", path="/metrics", content_type=None, whole_body=False),
        case(f"{service} GET /rpc with a query", service, method="GET", path="/rpc?x=1", content_type=None),
        case(f"{service} HEAD /health", service, method="HEAD", path="/health", content_type=None),
        case(f"{service} 413: body over 1 MiB", service, b" " * ((1 << 20) + 1))
        if service != "grading"
        else case(f"{service} 413: body over 8 MiB", service, b" " * ((8 << 20) + 1)),
    ]
    for path in ("/rpc", "/RPC2", "/health", "/metrics"):
        for verb in ("PUT", "DELETE", "OPTIONS"):
            cases.append(case(f"{service} {verb} {path}", service, method=verb, path=path))
    cases += [
        case(f"{service} POST /health", service, good, path="/health"),
        case(f"{service} POST /metrics", service, good, path="/metrics"),
        case(f"{service} GET /RPC2", service, method="GET", path="/RPC2", content_type=None),
    ]
    for path in ("/", "/nope", "/rpc/", "/RPC2/x", "/health/x", "/rpc2", "/RPC", "//rpc", "/%72pc"):
        cases.append(case(f"{service} GET {path}", service, method="GET", path=path, content_type=None))
        cases.append(case(f"{service} POST {path}", service, good, path=path))
    for content_type in (
        None,
        "text/plain",
        "application/json; charset=utf-8",
        "application/json-rpc",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "APPLICATION/JSON",
        "text/xml",
    ):
        cases.append(case(f"{service} Content-Type {content_type}", service, good, content_type=content_type))
    return cases


def xmlrpc_cases(service: str, good: str) -> list[dict]:
    """XML-RPC at /RPC2: ``good`` is a method that takes no params."""

    def xml(label, body, content_type="text/xml"):
        return case(f"{service} xml-rpc {label}", service, body, path="/RPC2", content_type=content_type)

    return [
        xml("system.listMethods", xml_call("system.listMethods")),
        xml("system.methodHelp good", xml_call("system.methodHelp", f"<string>{good}</string>")),
        xml("system.methodHelp unknown", xml_call("system.methodHelp", "<string>Nope.nope</string>")),
        xml("system.methodHelp no params", xml_call("system.methodHelp")),
        xml("system.methodHelp int", xml_call("system.methodHelp", "<int>3</int>")),
        xml("good call", xml_call(good)),
        xml("heartbeat", xml_call("Service.heartbeat")),
        xml("unknown method", xml_call("Nope.nope")),
        xml(
            "too many params",
            xml_call(
                good, "<int>1</int>", "<int>2</int>", "<int>3</int>", "<int>4</int>", "<int>5</int>", "<int>6</int>"
            ),
        ),
        xml("nil param", xml_call(good, "<nil/>", "<nil/>", "<nil/>", "<nil/>", "<nil/>", "<nil/>")),
        xml("bad xml", b"<methodCall><methodName>x</methodName"),
        xml("not xml", b"hello"),
        xml("empty", b""),
        xml("no methodName", b"<?xml version='1.0'?><methodCall><params/></methodCall>"),
        xml("methodResponse instead", b"<?xml version='1.0'?><methodResponse><params/></methodResponse>"),
        xml(
            "entity expansion",
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
            b"<methodCall><methodName>&a;</methodName></methodCall>",
        ),
        xml("content-type json", xml_call("system.listMethods"), "application/json"),
    ]


def registry_cases() -> list[dict]:
    r = "registry"
    calls = [
        ("register bad url scheme", rpc("Registry.register", ["S", "ftp://x/rpc"])),
        ("register url no host", rpc("Registry.register", ["S", "http:///rpc"])),
        ("register url bad port", rpc("Registry.register", ["S", "http://127.0.0.1:99999/rpc"])),
        ("register url userinfo", rpc("Registry.register", ["S", "http://u:p@127.0.0.1:1/rpc"])),
        ("register url not a string", rpc("Registry.register", ["S", 5])),
        ("register url empty", rpc("Registry.register", {"service_name": "S", "service_url": ""})),
        ("register url spaces", rpc("Registry.register", ["S", "http://bad host/rpc"])),
        ("register url non-ascii", rpc("Registry.register", ["S", "http://b\u00fccher.example/rpc"])),
        ("register name empty", rpc("Registry.register", ["", "http://127.0.0.1:1/rpc"])),
        ("register name long", rpc("Registry.register", ["x" * 201, "http://127.0.0.1:1/rpc"])),
        ("register name number", rpc("Registry.register", [3, "http://127.0.0.1:1/rpc"])),
        ("register required not a list", rpc("Registry.register", ["S", "http://127.0.0.1:1/rpc", "LogService"])),
        ("register required with a number", rpc("Registry.register", ["S", "http://127.0.0.1:1/rpc", [1]])),
        (
            "register required too many",
            rpc("Registry.register", ["S", "http://127.0.0.1:1/rpc", [f"N{i}" for i in range(65)]]),
        ),
        ("register required name too long", rpc("Registry.register", ["S", "http://127.0.0.1:1/rpc", ["x" * 201]])),
        ("register missing url by name", rpc("Registry.register", {"service_name": "S"})),
        (
            "register unknown param by name",
            rpc("Registry.register", {"service_name": "S", "service_url": "http://127.0.0.1:1/rpc", "x": 1}),
        ),
        ("register too many by position", rpc("Registry.register", ["S", "http://127.0.0.1:1/rpc", [], 4])),
        ("register good", rpc("Registry.register", ["WireTest", "http://127.0.0.1:1/rpc", ["NobodyService"]])),
        (
            "register again (replaces)",
            rpc("Registry.register", {"service_name": "WireTest", "service_url": "http://127.0.0.1:1/rpc"}),
        ),
        ("lookup registered", rpc("Registry.lookup", ["WireTest"])),
        ("lookup unknown", rpc("Registry.lookup", {"service_name": "Nobody"})),
        ("lookup empty name", rpc("Registry.lookup", [""])),
        ("lookup number", rpc("Registry.lookup", [1])),
        ("services", rpc("Registry.services")),
        ("deregister unknown", rpc("Registry.deregister", ["http://127.0.0.1:2/rpc"])),
        ("deregister bad url", rpc("Registry.deregister", ["nope"])),
        ("deregister good", rpc("Registry.deregister", {"service_url": "http://127.0.0.1:1/rpc"})),
        ("deregister twice", rpc("Registry.deregister", {"service_url": "http://127.0.0.1:1/rpc"})),
        ("services after", rpc("Registry.services")),
        ("xml-rpc services (nil)", None),
        ("Service.update on the registry", rpc("Service.update", {"added": [], "removed": []})),
    ]
    traced = [
        ("X-Trace-Id", (("X-Trace-Id", "wire-trace-0001"),)),
        ("traceparent", (("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),)),
        ("bad traceparent", (("traceparent", "00-zz-b7ad6b7169203331-01"),)),
    ]
    return [
        case(f"registry trace {label}", r, rpc("Service.heartbeat"), headers=headers) for label, headers in traced
    ] + [
        case(f"registry {label}", r, body)
        if body is not None
        else case(f"registry {label}", r, xml_call("Registry.services"), path="/RPC2", content_type="text/xml")
        for label, body in calls
    ]


def log_cases() -> list[dict]:
    calls = [
        ("write", rpc("Log.write", ["wire one", "WireTest", "INFO", "trace-wire-1", "2024-01-02T03:04:05Z"])),
        (
            "write by name",
            rpc(
                "Log.write",
                {"message": "wire two", "service_name": "WireTest", "level": "ERROR", "trace_id": "trace-wire-1"},
            ),
        ),
        (
            "write notification",
            b'{"jsonrpc": "2.0", "method": "Log.write", "params": {"message": "wire three", '
            b'"service_name": "WireTest", "trace_id": "trace-wire-1"}}',
        ),
        (
            "write newline",
            rpc("Log.write", {"message": "a\nb\r\nc", "service_name": "WireTest", "trace_id": "trace-wire-2"}),
        ),
        ("write bad level", rpc("Log.write", {"message": "x", "level": "LOUD"})),
        ("write message number", rpc("Log.write", [42])),
        ("write message null", rpc("Log.write", [None])),
        ("write bad timestamp", rpc("Log.write", {"message": "x", "timestamp": "yesterday"})),
        ("write trace id object", rpc("Log.write", {"message": "x", "trace_id": {}})),
        ("write missing message", rpc("Log.write", {"service_name": "WireTest"})),
        ("tail by trace", rpc("Log.tail", {"trace_id": "trace-wire-1"})),
        ("tail by trace, limit 1", rpc("Log.tail", {"trace_id": "trace-wire-1", "limit": 1})),
        ("tail newline", rpc("Log.tail", {"trace_id": "trace-wire-2"})),
        ("tail by service and level", rpc("Log.tail", {"service_name": "WireTest", "level": "ERROR"})),
        ("tail unknown service", rpc("Log.tail", [10, "Nobody"])),
        ("tail limit negative", rpc("Log.tail", {"limit": -1, "service_name": "WireTest"})),
        ("tail limit zero", rpc("Log.tail", {"limit": 0, "service_name": "WireTest"})),
        ("tail limit string", rpc("Log.tail", {"limit": "5"})),
        ("tail limit huge", rpc("Log.tail", {"limit": 10**12, "service_name": "Nobody"})),
        ("tail bad level", rpc("Log.tail", {"level": "LOUD"})),
    ]
    return [case(f"log {label}", "log", body) for label, body in calls]


def grading_cases() -> list[dict]:
    calls = [
        ("get_student 1", rpc("Grades.get_student", [1])),
        ("get_student unknown", rpc("Grades.get_student", [999])),
        ("get_student by name unknown", rpc("Grades.get_student", {"student_id": 12345})),
        ("get_student string", rpc("Grades.get_student", ["1"])),
        ("get_student float", rpc("Grades.get_student", [1.5])),
        ("get_student bool", rpc("Grades.get_student", [True])),
        ("get_student negative", rpc("Grades.get_student", [-1])),
        ("get_students", rpc("Grades.get_students")),
        ("get_students paged", rpc("Grades.get_students", {"offset": 1, "limit": 2})),
        ("get_students bad offset", rpc("Grades.get_students", {"offset": -1})),
        ("get_students bad limit", rpc("Grades.get_students", {"limit": "x"})),
        ("count_students", rpc("Grades.count_students")),
        ("add_grade score 150", rpc("Grades.add_grade", [1, "Quiz 9", "Quiz", 150])),
        ("add_grade score negative", rpc("Grades.add_grade", [1, "Quiz 9", "Quiz", -1])),
        ("add_grade score string", rpc("Grades.add_grade", [1, "Quiz 9", "Quiz", "90"])),
        ("add_grade score NaN-like", rpc("Grades.add_grade", [1, "Quiz 9", "Quiz", None])),
        ("add_grade empty title", rpc("Grades.add_grade", {"student_id": 1, "title": "", "type": "Quiz", "score": 5})),
        ("add_grade long title", rpc("Grades.add_grade", [1, "t" * 201, "Quiz", 5])),
        ("add_grade bad type", rpc("Grades.add_grade", [1, "Quiz 9", "Essay", 5])),
        ("add_grade unknown student", rpc("Grades.add_grade", [999, "Quiz 9", "Quiz", 5])),
        (
            "add_grade bad request_id",
            rpc(
                "Grades.add_grade", {"student_id": 1, "title": "Q", "type": "Quiz", "score": 5, "request_id": "bad id!"}
            ),
        ),
        (
            "add_grade good",
            rpc(
                "Grades.add_grade",
                {"student_id": 1, "title": "Wire quiz", "type": "Quiz", "score": 91, "request_id": "wire-1"},
            ),
        ),
        (
            "add_grade same request_id",
            rpc(
                "Grades.add_grade",
                {"student_id": 1, "title": "Wire quiz", "type": "Quiz", "score": 91, "request_id": "wire-1"},
            ),
        ),
        (
            "add_grade request_id reused otherwise",
            rpc(
                "Grades.add_grade",
                {"student_id": 2, "title": "Other", "type": "Test", "score": 50, "request_id": "wire-1"},
            ),
        ),
        (
            "add_student good",
            rpc("Grades.add_student", {"first_name": "Ada", "last_name": "Wire", "request_id": "wire-2"}),
        ),
        (
            "add_student reused request_id",
            rpc("Grades.add_student", {"first_name": "Bob", "last_name": "Wire", "request_id": "wire-2"}),
        ),
        ("add_student empty name", rpc("Grades.add_student", ["", "X"])),
        ("add_student number", rpc("Grades.add_student", [1, 2])),
        ("update_grade unknown", rpc("Grades.update_grade", {"grade_id": 99999, "score": 5})),
        ("update_grade bad score", rpc("Grades.update_grade", {"grade_id": 1, "score": 101})),
        ("update_grade bad type", rpc("Grades.update_grade", {"grade_id": 1, "type": "Essay"})),
        ("update_grade good", rpc("Grades.update_grade", {"grade_id": 1, "score": 77})),
        ("update_grade stale", rpc("Grades.update_grade", {"grade_id": 1, "score": 78, "expected": {"score": 1}})),
        ("delete_grade unknown", rpc("Grades.delete_grade", [99999])),
        ("delete_grade string", rpc("Grades.delete_grade", ["x"])),
        ("list_students", rpc("Grades.list_students")),
        ("list_students query", rpc("Grades.list_students", {"query": "WIRE", "sort": "-average"})),
        ("list_students bad sort", rpc("Grades.list_students", {"sort": "age"})),
        ("list_students bad limit", rpc("Grades.list_students", {"limit": 0})),
        ("import_grades bad header", rpc("Grades.import_grades", ["a,b\n1,2\n"])),
        (
            "import_grades bad row",
            rpc("Grades.import_grades", ["student_id,title,type,score\n1,Q,Quiz,5\nx,Q,Quiz,5\n"]),
        ),
        ("import_grades bad score", rpc("Grades.import_grades", ["student_id,title,type,score\n1,Q,Quiz,500\n"])),
        ("import_grades unknown student", rpc("Grades.import_grades", ["student_id,title,type,score\n999,Q,Quiz,5\n"])),
        ("import_grades empty", rpc("Grades.import_grades", [""])),
        ("import_grades not text", rpc("Grades.import_grades", [5])),
        ("statistics", rpc("Grades.statistics")),
        ("xml-rpc fault 404", None, xml_call("Grades.get_student", "<int>999</int>")),
        (
            "xml-rpc fault -32602",
            None,
            xml_call(
                "Grades.add_grade", "<int>1</int>", "<string>Q</string>", "<string>Quiz</string>", "<int>150</int>"
            ),
        ),
        ("xml-rpc nil query", None, xml_call("Grades.list_students", "<int>0</int>", "<int>2</int>", "<nil/>")),
        ("delete_grade good", rpc("Grades.delete_grade", {"grade_id": 1})),
        ("delete_grade twice", rpc("Grades.delete_grade", {"grade_id": 1})),
        ("get_student after", rpc("Grades.get_student", [1])),
    ]
    return [
        case(f"grading {label}", "grading", body[-1], path="/RPC2", content_type="text/xml")
        if body[0] is None
        else case(f"grading {label}", "grading", body[0])
        for label, *body in calls
    ]


def guarded_cases() -> list[dict]:
    """The second registry, started with a token."""
    g = "guarded"
    good = rpc("Registry.services")
    return [
        case("guarded no token", g, good),
        case("guarded wrong token", g, good, headers=(("Authorization", "Bearer nope"),)),
        case("guarded no Bearer", g, good, headers=(("Authorization", TOKEN),)),
        case("guarded basic", g, good, headers=(("Authorization", "Basic d2lyZTpzZWNyZXQ="),)),
        case("guarded lower-case bearer", g, good, headers=(("Authorization", f"bearer {TOKEN}"),)),
        case("guarded right token", g, good, headers=(("Authorization", f"Bearer {TOKEN}"),)),
        case("guarded xml-rpc no token", g, xml_call("system.listMethods"), path="/RPC2", content_type="text/xml"),
        case("guarded GET /rpc no token", g, method="GET", content_type=None),
        case("guarded GET /health no token", g, method="GET", path="/health", content_type=None),
        case("guarded GET /metrics no token", g, method="GET", path="/metrics", content_type=None),
        case(
            "guarded GET /metrics with token",
            g,
            method="GET",
            path="/metrics",
            content_type=None,
            headers=(("Authorization", f"Bearer {TOKEN}"),),
            whole_body=False,
        ),
        case("guarded 413 no token", g, b" " * ((1 << 20) + 1)),
        case("guarded unknown path no token", g, method="GET", path="/nope", content_type=None),
    ]


def invalid_params_cases(documents: dict[str, dict]) -> list[dict]:
    """For every method each service's OpenRPC document lists: too many params, an unknown name, none.

    The Service.* methods every service shares are checked on the registry alone.
    """
    cases = []
    for service, document in sorted(documents.items()):
        for described in document["methods"]:
            name = described["name"]
            if name.startswith("Service.") and service != "registry":
                continue
            params = described.get("params", [])
            cases.append(case(f"{service} {name} too many by position", service, rpc(name, [None] * (len(params) + 1))))
            cases.append(case(f"{service} {name} unknown name", service, rpc(name, {"no_such_param": 1})))
            if any(p.get("required") for p in params):
                cases.append(case(f"{service} {name} nothing", service, rpc(name, [])))
                cases.append(
                    case(f"{service} {name} nulls by name", service, rpc(name, {p["name"]: None for p in params}))
                )
    return cases


def all_cases(documents: dict[str, dict]) -> list[dict]:
    cases = []
    for service, method in (
        ("registry", "Registry.services"),
        ("log", "Service.heartbeat"),
        ("grading", "Grades.count_students"),
    ):
        full = service == "registry"
        cases += _short(json_rpc_cases(service, method), SHORT_JSON_RPC, full)
        cases += _short(http_cases(service), SHORT_HTTP, full)
        cases += _short(xmlrpc_cases(service, method), SHORT_XMLRPC, full)
    cases += registry_cases() + log_cases() + grading_cases() + guarded_cases() + invalid_params_cases(documents)
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "two cases share a name"
    return cases


# -- the test ------------------------------------------------------------------------------------------


def _documents(services: dict[str, str]) -> dict[str, dict]:
    documents = {}
    for service in ("registry", "log", "grading"):
        status, _, body = exchange(services[service], "GET", "/rpc", content_type=None)
        assert status == 200, body
        documents[service] = json.loads(body)
    return documents


def _describe(item: dict, other: dict | None) -> str:
    """``item`` as status line, headers and body; a ``*`` marks each part that differs from ``other``."""
    other = other or {}
    lines = [f"{_mark(item.get('status') != other.get('status'))}status {item['status']}"]
    lines += [f"{_mark(header not in other.get('headers', ()))}{header}" for header in item["headers"]]
    if "body" in item:
        body = item["body"] if len(item["body"]) <= 1500 else item["body"][:1500] + f"... ({len(item['body'])} chars)"
        lines.append(f"{_mark(item['body'] != other.get('body'))}body {body}")
    return "\n".join("    " + line for line in lines)


def _mark(differs: bool) -> str:
    return "* " if differs else "  "


def _request_text(c: dict) -> str:
    body = c["body"]
    shown = body[:300].decode("utf-8", errors="backslashreplace")
    if len(body) > 300:
        shown += f"... ({len(body)} bytes)"
    return (
        f"{c['method']} {c['path']} on {c['service']} (Content-Type {c['content_type']}, "
        f"headers {list(c['headers'])}):\n    {shown}"
    )


def test_every_answer_is_the_recorded_one(services):
    cases = all_cases(_documents(services))
    answers = {}
    for c in cases:
        raw = exchange(services[c["service"]], c["method"], c["path"], c["body"], c["headers"], c["content_type"])
        sent_trace = tuple(value for name, value in c["headers"] if name.lower() in _TRACE_HEADERS)
        answers[c["name"]] = normalise(raw, services, c["whole_body"], sent_trace)

    if RECORD:
        RECORDING.parent.mkdir(exist_ok=True)
        RECORDING.write_text(json.dumps(answers, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
        print(f"recorded {len(answers)} answers in {RECORDING}", file=sys.stderr)
        return

    assert RECORDING.exists(), f"no recording: run RPC_CLUSTER_RECORD_WIRE=1 pytest {Path(__file__).name}"
    recorded = json.loads(RECORDING.read_text())
    by_name = {c["name"]: c for c in cases}
    differences = [name for name in answers if answers[name] != recorded.get(name)]
    missing = sorted(set(recorded) - set(answers))
    report = []
    for name in differences[:SHOWN]:
        report.append(
            f"=== {name}\n--- request: {_request_text(by_name[name])}\n"
            f"--- recorded:\n{_describe(recorded[name], answers[name]) if name in recorded else '(none)'}\n"
            f"--- now:\n{_describe(answers[name], recorded.get(name))}"
        )
    if missing:
        report.append(f"=== recorded cases no longer sent: {missing}")
    assert not differences and not missing, (
        f"{len(differences)} of {len(answers)} answers differ from {RECORDING.name} (first {SHOWN} shown):\n"
        + "\n".join(report)
    )
