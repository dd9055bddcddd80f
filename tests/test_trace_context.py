"""W3C Trace Context: traceparent and tracestate accepted, joined and sent on every hop."""

import json
import re
import urllib.request

import pytest
from helpers.echo_service import EchoService
from helpers.raw_server import RawServer
from helpers.waiting import wait_until

from rpc_cluster import Client
from rpc_cluster.core import trace_context, tracing

NOWHERE = "http://127.0.0.1:9/rpc"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
SENT = f"00-{TRACE}-{PARENT}-01"
SENT_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])")


# -- parsing and making the headers --------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (SENT, (TRACE, True)),
        (f"00-{TRACE}-{PARENT}-00", (TRACE, False)),
        (f"00-{TRACE}-{PARENT}-03", (TRACE, True)),  # a reserved flag besides sampled
        (f"00-{TRACE}-{PARENT}-02", (TRACE, False)),
        # A later version is read as far as version 00 goes, when a dash follows.
        (f"cc-{TRACE}-{PARENT}-01-what-the-future-holds", (TRACE, True)),
        (f"01-{TRACE}-{PARENT}-00", (TRACE, False)),
    ],
)
def test_a_valid_traceparent_names_its_trace_and_sampling(value, expected):
    assert trace_context.parse_traceparent(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "00",
        f"00-{'0' * 32}-{PARENT}-01",  # all-zero trace id
        f"00-{TRACE}-{'0' * 16}-01",  # all-zero parent id
        f"00-{TRACE.upper()}-{PARENT}-01",  # uppercase hex
        f"00-{TRACE}-{PARENT.upper()}-01",
        f"00-{TRACE}-{PARENT}-0A",
        f"0A-{TRACE}-{PARENT}-01",
        f"ff-{TRACE}-{PARENT}-01",  # version ff is invalid
        f"00-{TRACE[:-1]}-{PARENT}-01",  # wrong lengths
        f"00-{TRACE}0-{PARENT}-01",
        f"00-{TRACE}-{PARENT}0-01",
        f"00-{TRACE}-{PARENT}-1",
        f"000-{TRACE}-{PARENT}-01",
        f"00-{TRACE}-{PARENT}-01-",  # version 00 has nothing after the flags
        f"00-{TRACE}-{PARENT}-01x",
        f"cc-{TRACE}-{PARENT}-01x",  # a later version: a dash must follow
        f"00_{TRACE}_{PARENT}_01",
        f"00-{TRACE[:-2]}zz-{PARENT}-01",
        f" 00-{TRACE}-{PARENT}-01",
    ],
)
def test_an_invalid_traceparent_names_nothing(value):
    assert trace_context.parse_traceparent(value) is None


def test_each_traceparent_sent_has_a_new_non_zero_parent_id_and_the_sampling():
    sent = [trace_context.traceparent(TRACE) for _ in range(200)]
    parsed = [SENT_TRACEPARENT.fullmatch(value).groups() for value in sent]
    assert {trace_id for trace_id, _, _ in parsed} == {TRACE}
    assert len({parent for _, parent, _ in parsed}) == 200 and "0" * 16 not in {p for _, p, _ in parsed}
    assert {flags for _, _, flags in parsed} == {"01"}
    assert trace_context.traceparent(TRACE, sampled=False).endswith("-00")


@pytest.mark.parametrize("trace_id", ["trace-three-hops", TRACE.upper(), "0" * 32, TRACE[:-1], TRACE + "0"])
def test_an_id_that_is_no_w3c_trace_id_gets_no_traceparent(trace_id):
    assert trace_context.traceparent(trace_id) is None


@pytest.mark.parametrize(
    "value, valid",
    [
        ("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", True),
        ("rojo=00f067aa0ba902b7 , ,\tcongo=t61rcWkgMzE", True),  # spaces and empty members are allowed
        ("tenant1@vendor=opaque value", True),
        ("a=1,a=2", False),  # a key twice
        ("Rojo=1", False),  # keys are lowercase
        ("rojo=", False),  # a value has at least one character
        ("rojo=a,b", False),
        ("rojo=a=b", False),
        ("rojo=\x01", False),
        (",".join(f"k{n}=v" for n in range(33)), False),  # more than 32 members
        ("k=" + "v" * 255, True),
        ("k=" + "v" * 257, False),
        (",".join(f"k{n}={'v' * 60}" for n in range(9)), False),  # longer than 512 characters
        ("", False),
    ],
)
def test_tracestate_is_forwarded_only_when_well_formed(value, valid):
    assert trace_context.valid_tracestate(value) == (value if valid else None)


# -- which trace a request joins ---------------------------------------------------------------------


def test_a_traceparent_alone_is_joined_with_its_sampling_and_state():
    joined = tracing.accept(None, f"00-{TRACE}-{PARENT}-00", "congo=t61rcWkgMzE")
    assert joined == tracing.Trace(TRACE, sampled=False, state="congo=t61rcWkgMzE")


def test_x_trace_id_wins_over_a_traceparent_naming_another_trace():
    assert tracing.accept("checkout-42", SENT, "congo=x") == tracing.Trace("checkout-42")
    # The same id in both: the traceparent's sampling and state come along.
    assert tracing.accept(TRACE, f"00-{TRACE}-{PARENT}-00", "congo=x") == tracing.Trace(TRACE, False, "congo=x")
    # An X-Trace-Id we would not take leaves the traceparent in charge.
    assert tracing.accept("bad id!", SENT) == tracing.Trace(TRACE)


def test_an_invalid_traceparent_and_its_state_are_ignored():
    fresh = tracing.accept(None, f"00-{TRACE.upper()}-{PARENT}-01", "congo=x")
    assert trace_context.is_trace_id(fresh.trace_id) and fresh.trace_id != TRACE
    assert fresh == tracing.Trace(fresh.trace_id)
    assert tracing.accept("mine", "garbage", "congo=x") == tracing.Trace("mine")


def test_a_request_sends_both_headers_and_its_state_inside_a_trace_and_nothing_outside():
    assert tracing.outgoing_headers() == {}
    with tracing.trace(TRACE, sampled=False, state="congo=x"):
        headers = tracing.outgoing_headers()
        assert headers[tracing.HEADER] == TRACE and headers["tracestate"] == "congo=x"
        assert SENT_TRACEPARENT.fullmatch(headers["traceparent"]).groups()[::2] == (TRACE, "00")
    with tracing.trace("trace-three-hops", state="congo=x"):
        assert tracing.outgoing_headers() == {tracing.HEADER: "trace-three-hops"}


# -- over HTTP: one service, a hop to a server that records what it received -------------------------


@pytest.fixture(scope="module")
def echo():
    service = EchoService(port=0, registry=NOWHERE)
    with service:
        yield service


@pytest.fixture
def recorder():
    server = RawServer(
        lambda body: (200, json.dumps({"jsonrpc": "2.0", "result": "ok", "id": json.loads(body)["id"]}).encode())
    )
    try:
        yield server
    finally:
        server.close()


def raw_call(url, method, params, headers):
    """POST one call with exactly these headers (besides Content-Type); (response headers, result)."""
    body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **headers})
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.loads(response.read())
        assert "result" in answer, answer
        return response.headers, answer["result"]


def test_a_traceparent_alone_sets_the_trace_id_of_the_call(echo):
    headers, result = raw_call(echo.url, "Echo.whoami", [], {"traceparent": SENT})
    assert result["trace_id"] == TRACE and headers[tracing.HEADER] == TRACE


@pytest.mark.parametrize(
    "sent",
    [
        f"00-{'0' * 32}-{PARENT}-01",
        f"00-{TRACE.upper()}-{PARENT}-01",
        f"ff-{TRACE}-{PARENT}-01",
        f"00-{TRACE}-{PARENT}",
        "not a traceparent",
    ],
)
def test_an_invalid_traceparent_is_no_error_and_starts_a_trace(echo, sent):
    headers, result = raw_call(echo.url, "Echo.whoami", [], {"traceparent": sent})
    assert trace_context.is_trace_id(result["trace_id"]) and result["trace_id"] != TRACE.lower()
    assert headers[tracing.HEADER] == result["trace_id"]


def test_each_hop_sends_the_trace_with_a_new_parent_id_its_sampling_and_state(echo, recorder):
    for flags in ("01", "00"):
        raw_call(
            echo.url,
            "Echo.call",
            [recorder.url, "Any.thing", {}],
            {"traceparent": f"00-{TRACE}-{PARENT}-{flags}", "tracestate": "congo=t61rcWkgMzE"},
        )
        sent = recorder.received[-1]
        trace_id, parent_id, sent_flags = SENT_TRACEPARENT.fullmatch(sent["traceparent"]).groups()
        assert (trace_id, sent_flags) == (TRACE, flags)
        assert parent_id not in (PARENT, "0" * 16)
        assert sent["x-trace-id"] == TRACE and sent["tracestate"] == "congo=t61rcWkgMzE"
    parents = {SENT_TRACEPARENT.fullmatch(h["traceparent"]).group(2) for h in recorder.received}
    assert len(parents) == 2


def test_our_own_trace_ids_travel_in_both_headers(echo, recorder):
    raw_call(echo.url, "Echo.call", [recorder.url, "Any.thing", {}], {})
    (sent,) = recorder.received
    assert SENT_TRACEPARENT.fullmatch(sent["traceparent"]).groups()[::2] == (sent["x-trace-id"], "01")
    assert "tracestate" not in sent


def test_an_id_that_cannot_be_a_w3c_trace_id_is_sent_without_a_traceparent(echo, recorder):
    raw_call(
        echo.url,
        "Echo.call",
        [recorder.url, "Any.thing", {}],
        {tracing.HEADER: "checkout-42", "traceparent": SENT, "tracestate": "congo=x"},
    )
    (sent,) = recorder.received
    assert sent["x-trace-id"] == "checkout-42"
    assert "traceparent" not in sent and "tracestate" not in sent


def test_an_invalid_traceparent_is_not_passed_on(echo, recorder):
    raw_call(
        echo.url,
        "Echo.call",
        [recorder.url, "Any.thing", {}],
        {"traceparent": f"00-{TRACE}-{'0' * 16}-01", "tracestate": "congo=x"},
    )
    (sent,) = recorder.received
    assert sent["x-trace-id"] != TRACE and "tracestate" not in sent
    assert SENT_TRACEPARENT.fullmatch(sent["traceparent"]).group(1) == sent["x-trace-id"]


# -- the whole path: a caller that speaks only W3C Trace Context ---------------------------------------


def w3c_trace_in_the_log(registry_url, trace_id, services):
    logs = Client(Client(registry_url).Registry.lookup("LogService")[0])

    def found():
        entries = logs.Log.tail(trace_id=trace_id)
        return entries if {e["service_name"] for e in entries} >= services else None

    return wait_until(found, 15, message=f"entries of {sorted(services)} for trace {trace_id}")


def test_grading_joins_a_traceparent_and_its_log_lines_carry_the_trace(cluster):
    trace_id = tracing.new_trace_id()
    grading = Client(cluster.registry).Registry.lookup("GradingService")[0]
    headers, student = raw_call(
        grading,
        "Grades.add_student",
        {"first_name": "Ada", "last_name": "W3C"},
        {"traceparent": f"00-{trace_id}-{PARENT}-01"},
    )
    assert headers[tracing.HEADER] == trace_id
    entries = w3c_trace_in_the_log(cluster.registry, trace_id, {"GradingService"})
    assert any(f"student {student['id']} (Ada W3C) added" in e["message"] for e in entries)


def test_a_traceparent_alone_is_followed_through_two_services_into_the_log(cluster, processes):
    front = processes.echo(cluster.registry, "--name", "TraceFront", "--requires", "GradingService")
    front_url = front.url()
    wait_until(lambda: Client(front_url).Echo.providers().get("GradingService"), 15, message="TraceFront knows grading")
    trace_id = tracing.new_trace_id()
    _, student = raw_call(
        front_url,
        "Echo.call",
        ["GradingService", "Grades.add_student", {"first_name": "Grace", "last_name": "Hop"}],
        {"traceparent": f"00-{trace_id}-{PARENT}-01"},
    )
    entries = w3c_trace_in_the_log(cluster.registry, trace_id, {"TraceFront", "GradingService"})
    assert all(e["trace_id"] == trace_id for e in entries)
    assert any("call of Grades.add_student on GradingService at TraceFront" in e["message"] for e in entries)
    assert any(f"student {student['id']} (Grace Hop) added" in e["message"] for e in entries)
