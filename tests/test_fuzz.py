"""Bad input sweep: random and malformed values for every RPC method and portal form.

Every answer must be a well-formed JSON-RPC response (an error for bad input)
or a 4xx page; afterwards the service still answers, and a rejected call
stored nothing.
"""

import json
import urllib.error
import urllib.parse
import urllib.request

import pytest
from helpers.signed_in import make_user, portal_client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.app import make_app
from rpc_cluster import Client
from rpc_cluster.grading.service import GradingService
from rpc_cluster.logs.service import LogService
from rpc_cluster.registry.service import RegistryService

NOWHERE = "http://127.0.0.1:9/rpc"
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=300),
    st.sampled_from(["", " ", "Quiz", "Exam", "INFO", "http://127.0.0.1:1/rpc", "1", "-1", "\x00", "a\nb", "1e309"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=8,
)


def params_for(names):
    positional = st.lists(values, max_size=len(names) + 2)
    named = (
        st.dictionaries(st.sampled_from([*names, "bogus"]), values, max_size=len(names) + 1) if names else st.just({})
    )
    return st.one_of(positional, named)


def post(url: str, body: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def check_response(status: int, body: bytes, request_id):
    assert status == 200, (status, body)
    answer = json.loads(body)
    assert answer["jsonrpc"] == "2.0" and answer["id"] == request_id
    assert ("result" in answer) != ("error" in answer)
    if "error" in answer:
        assert isinstance(answer["error"]["code"], int) and isinstance(answer["error"]["message"], str)
        assert "Traceback" not in body.decode()
        assert answer["error"]["code"] != -32603, answer  # bad input is never an internal error
    return answer


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    registry = RegistryService(port=0, heartbeat_interval=60).start()
    logs = LogService(port=0, registry=NOWHERE, log_file=folder / "d.log").start()
    grading = GradingService(port=0, registry=NOWHERE, db=str(folder / "grades.db")).start()
    try:
        yield {"registry": registry, "log": logs, "grading": grading}
    finally:
        for service in (grading, logs, registry):
            service.stop()


def state(services):
    grading = Client(services["grading"].url)
    students = grading.Grades.get_students()
    return (
        len(students),
        sum(len(s["grades"]) for s in students),
        # Entries written through Log.write (the log service's own records aside).
        sum(1 for e in services["log"].store.tail(10_000) if e["service_name"] != "LogService"),
        json.dumps(
            sorted(Client(services["registry"].url).Registry.services(), key=lambda r: r["service_url"]), sort_keys=True
        ),
    )


METHODS = {
    "grading": {
        "Grades.get_students": ["offset", "limit"],
        "Grades.count_students": [],
        "Grades.get_student": ["student_id"],
        "Grades.add_grade": ["student_id", "title", "type", "score"],
        "Grades.add_student": ["first_name", "last_name"],
        "Grades.update_grade": ["grade_id", "title", "type", "score"],
        "Grades.delete_grade": ["grade_id"],
        "Grades.list_students": ["offset", "limit", "query", "sort"],
        "Grades.import_grades": ["csv_text", "request_id"],
        "Grades.statistics": [],
        "Users.add": ["username", "role", "password", "display_name"],
        "Users.set_password": ["username", "password"],
        "Users.disable": ["username", "disabled"],
        "Users.update": ["username", "display_name", "role"],
        "Users.list": [],
        "Sessions.sign_in": ["username", "password", "client", "idle_seconds", "absolute_seconds"],
        "Sessions.check": ["session"],
        "Sessions.end": ["session"],
        "Sessions.call_as": ["session", "read", "params"],
    },
    "log": {
        "Log.write": ["message", "service_name", "level", "trace_id", "timestamp"],
        "Log.tail": ["limit", "service_name", "level", "trace_id", "since"],
        "Log.follow": ["cursor", "limit", "service_name", "level", "trace_id", "since"],
    },
    "registry": {
        "Registry.register": ["service_name", "service_url", "required_services"],
        "Registry.deregister": ["service_url"],
        "Registry.lookup": ["service_name"],
        "Registry.services": [],
    },
}
CALLS = [(service, method, names) for service, methods in METHODS.items() for method, names in methods.items()]


@pytest.mark.parametrize("service, method, names", CALLS, ids=[c[1] for c in CALLS])
def test_every_method_answers_random_params_well(services, service, method, names):
    url = services[service].url

    @SETTINGS
    @given(params=params_for(names), request_id=st.one_of(st.integers(0, 10**6), st.text(max_size=8)))
    def sweep(params, request_id):
        before = state(services)
        call = {"jsonrpc": "2.0", "method": method, "params": params, "id": request_id}
        try:
            body = json.dumps(call, allow_nan=False).encode()
        except ValueError:
            # NaN or Infinity somewhere: Python writes them, but they are not JSON (-32700).
            answer = json.loads(post(url, json.dumps(call).encode())[1])
            assert answer["error"]["code"] == -32700 and answer["id"] is None
            assert state(services) == before
            return
        answer = check_response(*post(url, body), request_id)
        if "error" in answer:
            assert state(services) == before, "a rejected call changed the stored state"

    sweep()
    assert Client(url).call("Service.heartbeat")["status"] == "ok"


@SETTINGS
@given(
    body=st.one_of(
        st.binary(max_size=300), st.text(max_size=300).map(str.encode), values.map(lambda v: json.dumps(v).encode())
    )
)
def test_malformed_bodies_get_parse_or_request_errors(services, body):
    status, data = post(services["grading"].url, body)
    assert status in (200, 204), status
    if status == 200:
        answer = json.loads(data)
        for item in answer if isinstance(answer, list) else [answer]:
            assert item["jsonrpc"] == "2.0" and "error" in item
            assert item["error"]["code"] in (-32700, -32600, -32601, -32602, 404)


form_text = st.one_of(
    st.text(max_size=250),
    st.sampled_from(["", "  ", "50", "150", "-0", "1e3", "nan", "inf", "Quiz", "Homework", "<script>x</script>"]),
)


def test_portal_forms_answer_only_303_or_4xx(services):
    grading = Client(services["grading"].url)
    portal = portal_client(make_app(grading), make_user(grading))

    @SETTINGS
    @given(
        student=st.one_of(st.integers(-3, 12).map(str), st.text(max_size=12)),
        title=form_text,
        kind=form_text,
        score=form_text,
        with_token=st.booleans(),
    )
    def sweep(student, title, kind, score, with_token):
        token = portal.get("/students").csrf()
        form = {"title": title, "type": kind, "score": score}
        if with_token:
            form["csrf_token"] = token
        before = state(services)
        path = "/students/" + urllib.parse.quote(student, safe="") + "/grades"
        response = portal.post(path, form)
        assert response.status in (303, 400, 403, 404), (response.status, student, form)
        assert "Traceback" not in response.text
        if response.status != 303:
            assert state(services) == before

    sweep()

    @SETTINGS
    @given(first=form_text, last=form_text)
    def students(first, last):
        token = portal.get("/students").csrf()
        before = state(services)
        response = portal.post("/students", {"csrf_token": token, "first_name": first, "last_name": last})
        assert response.status in (303, 400), response.status
        if response.status == 400:
            assert state(services) == before

    students()
    assert portal.get("/students").status == 200
