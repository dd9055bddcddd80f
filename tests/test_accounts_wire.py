"""``Users.*`` and ``Sessions.*`` on the wire of a real grading process: who may call them, one answer for
every refused sign-in, the lockout, and no password, session id or CSRF token in any answer's error or
in anything the process logs (at DEBUG)."""

from __future__ import annotations

import json
import urllib.request
from types import SimpleNamespace

import pytest
from helpers.processes import Processes

PASSWORD = "correct horse battery"


def call(url: str, method: str, params, acting: str | None = None) -> dict:
    """The whole answer object to one JSON-RPC call, with X-Acting-User when ``acting`` is given."""
    headers = {"Content-Type": "application/json"}
    if acting is not None:
        headers["X-Acting-User"] = acting
    body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1}).encode()
    with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=30) as answer:
        return json.loads(answer.read())


def result(answer: dict):
    assert "error" not in answer, answer
    return answer["result"]


@pytest.fixture(scope="module")
def grading(tmp_path_factory):
    folder = tmp_path_factory.mktemp("accounts-wire")
    manager = Processes(folder)
    try:
        proc = manager.start(
            "cmd/gradingservice/main.py",
            "--port",
            "0",
            "--registry",
            "http://127.0.0.1:9/rpc",
            "--db",
            str(folder / "grades.db"),
            "--log-level",
            "DEBUG",
        )
        url = proc.url()
        result(call(url, "Users.add", ["root", "admin", PASSWORD]))
        result(call(url, "Users.add", {"username": "tess", "role": "teacher", "password": PASSWORD}))
        yield SimpleNamespace(url=url, proc=proc)
    finally:
        manager.cleanup()


def test_users_methods_answer_the_service_and_admins_and_refuse_teachers_and_strangers(grading):
    url = grading.url
    assert result(call(url, "Users.list", [])) == result(call(url, "Users.list", [], acting="root"))
    for method, params in (
        ("Users.add", ["x1", "teacher", PASSWORD]),
        ("Users.set_password", ["root", PASSWORD]),
        ("Users.disable", ["root"]),
        ("Users.update", {"username": "tess", "role": "admin"}),
        ("Users.list", []),
    ):
        answer = call(url, method, params, acting="tess")
        assert answer["error"] == {"code": 403, "message": f"{method} is for admins", "data": {"method": method}}
        assert call(url, method, params, acting="nobody")["error"]["data"] == {"user": "nobody"}
    assert result(call(url, "Users.update", {"username": "tess", "display_name": "Tess"}, acting="root"))["role"] == (
        "teacher"
    )


def test_sessions_methods_refuse_any_acting_user(grading):
    started = result(call(grading.url, "Sessions.sign_in", ["root", PASSWORD, "127.0.0.1", 600, 600]))
    for method, params in (
        ("Sessions.sign_in", ["root", PASSWORD, "127.0.0.1", 600, 600]),
        ("Sessions.check", [started["session"]]),
        ("Sessions.end", [started["session"]]),
    ):
        for acting in ("root", "tess", "nobody"):
            assert call(grading.url, method, params, acting=acting)["error"]["data"] == {"method": method}
    assert result(call(grading.url, "Sessions.check", [started["session"]]))["user"]["username"] == "root"


def test_an_unknown_user_and_a_wrong_password_get_the_very_same_answer(grading):
    unknown = call(grading.url, "Sessions.sign_in", ["nosuchuser", PASSWORD, "198.51.100.1", 600, 600])
    wrong = call(grading.url, "Sessions.sign_in", ["tess", PASSWORD + "?", "198.51.100.1", 600, 600])
    assert unknown == wrong
    assert unknown["error"] == {"code": 403, "message": "wrong username or password", "data": {"reason": "sign_in"}}


def test_a_locked_username_answers_429_with_when_to_try_again(grading):
    result(call(grading.url, "Users.add", ["locked", "teacher", PASSWORD]))
    for _ in range(5):
        assert call(grading.url, "Sessions.sign_in", ["locked", "not it at all", "c1", 60, 60])["error"]["code"] == 403
    answer = call(grading.url, "Sessions.sign_in", ["locked", PASSWORD, "c2", 60, 60])
    assert answer["error"]["code"] == 429 and answer["error"]["message"] == "too many failed sign-ins"
    assert 890 <= answer["error"]["data"]["retry_after"] <= 900


def test_discovery_lists_the_new_methods(grading):
    described = {m["name"]: m for m in result(call(grading.url, "rpc.discover", []))["methods"]}
    for name in ("Users.add", "Users.set_password", "Users.disable", "Users.update", "Users.list"):
        assert name in described
    for name in ("Sessions.sign_in", "Sessions.check", "Sessions.end"):
        assert name in described
    assert [p["name"] for p in described["Sessions.sign_in"]["params"]] == [
        "username",
        "password",
        "client",
        "idle_seconds",
        "absolute_seconds",
    ]
    assert described["Users.list"]["result"]["schema"] == {"type": "array"}


def test_no_answer_and_no_log_line_holds_a_password_a_session_id_or_a_csrf_token(grading):
    url = grading.url
    secrets = ["a password that is short", "tiny pass", "the password in the name box", "misnamed password here"]
    answers = [
        call(url, "Users.add", ["amy", "teacher", "tiny pass"]),
        call(url, "Users.add", {"username": "amy", "role": "teacher", "passwd": "misnamed password here"}),
        call(url, "Users.set_password", ["nobody", "a password that is short"]),
        call(url, "Sessions.sign_in", ["the password in the name box", PASSWORD, "192.0.2.1", 60, 60]),
        call(url, "Sessions.sign_in", ["root", "a password that is short", "192.0.2.1", 60, 60]),
    ]
    started = result(call(url, "Sessions.sign_in", ["root", PASSWORD, "192.0.2.1", 60, 60]))
    secrets += [PASSWORD, started["session"], started["csrf"]]
    answers += [
        call(url, "Sessions.check", [started["session"]]),
        call(url, "Sessions.end", [started["session"]]),
        call(url, "Sessions.check", [started["session"]]),
        call(url, "Sessions.check", [started["session"] * 5]),
    ]
    assert [a.get("error", {}).get("code") for a in answers] == [-32602, -32602, 404, 403, 403, None, None, 403, -32602]
    # The check answers the session's CSRF token, as it must; no error carries any secret.
    errors = json.dumps([a["error"] for a in answers if "error" in a])
    assert [secret for secret in secrets if secret in errors] == []
    output = grading.proc.output()
    assert "sign-in: root from 192.0.2.1 succeeded" in output
    assert "sign-in: (an unknown username) from 192.0.2.1 failed" in output
    assert [secret for secret in secrets if secret in output] == []


def test_call_as_checks_the_session_then_calls_for_its_user_only(grading):
    url = grading.url
    result(call(url, "Grades.add_class", ["Root's class", "root"]))
    mine = result(call(url, "Sessions.sign_in", ["tess", PASSWORD, "192.0.2.7", 600, 600]))
    root = result(call(url, "Sessions.sign_in", ["root", PASSWORD, "192.0.2.7", 600, 600]))
    answer = result(call(url, "Sessions.call_as", [mine["session"], "Grades.list_classes", []]))
    assert answer["user"]["username"] == "tess" and answer["csrf"] == mine["csrf"] and answer["result"] == []
    assert set(answer) == {"user", "csrf", "expires_at", "result"}
    as_root = result(call(url, "Sessions.call_as", {"session": root["session"], "read": "Grades.list_classes"}))
    assert "Root's class" in [c["name"] for c in as_root["result"]]
    # An admin's get_student answers its cached JSON text: the same student inside call_as's answer.
    student = result(call(url, "Grades.add_student", ["Ada", "Lovelace"]))
    read = result(call(url, "Sessions.call_as", [root["session"], "Grades.get_student", [student["id"]]]))
    assert read["result"] == result(call(url, "Grades.get_student", [student["id"]])) and read["csrf"] == root["csrf"]
    assert call(url, "Sessions.call_as", [mine["session"], "Grades.get_student", [student["id"]]])["error"]["data"] == {
        "student_id": student["id"]
    }
    # The teacher's own refusals, as if the call had named tess in X-Acting-User.
    refused = call(url, "Sessions.call_as", [mine["session"], "Users.list", []])["error"]
    assert refused == call(url, "Users.list", [], acting="tess")["error"]
    assert refused["data"] == {"method": "Users.list"}


def test_call_as_refuses_an_acting_user_an_ended_session_writes_and_methods_outside_grades_and_users(grading):
    url = grading.url
    started = result(call(url, "Sessions.sign_in", ["root", PASSWORD, "192.0.2.8", 600, 600]))
    params = [started["session"], "Grades.count_students", []]
    for acting in ("root", "tess"):
        assert call(url, "Sessions.call_as", params, acting=acting)["error"]["data"] == {"method": "Sessions.call_as"}
    for method in ("Sessions.end", "Sessions.call_as", "Service.heartbeat", "rpc.discover", "Grades.add_student"):
        error = call(url, "Sessions.call_as", [started["session"], method, [started["session"]]])["error"]
        assert (error["code"], error["data"]) == (-32601, method)
    assert result(call(url, "Sessions.check", [started["session"]]))["user"]["username"] == "root"
    result(call(url, "Sessions.end", [started["session"]]))
    assert call(url, "Sessions.call_as", params)["error"] == {
        "code": 403,
        "message": "no such session, or it has ended",
        "data": {"reason": "session"},
    }


def test_call_as_says_which_of_its_own_params_is_wrong_and_passes_on_the_methods_errors(grading):
    url = grading.url
    started = result(call(url, "Sessions.sign_in", ["root", PASSWORD, "192.0.2.9", 600, 600]))
    session = started["session"]
    assert call(url, "Sessions.call_as", [session, 7, []])["error"]["data"]["field"] == "read"
    assert call(url, "Sessions.call_as", [session, "Grades.count_students", "x"])["error"]["data"]["field"] == "params"
    unbound = call(url, "Sessions.call_as", [session, "Grades.get_student", {"nope": 1}])["error"]
    assert unbound == call(url, "Grades.get_student", {"nope": 1})["error"]
    assert call(url, "Sessions.call_as", [session, "Grades.get_student", [10**6]])["error"]["code"] == 404
    assert session not in grading.proc.output()
