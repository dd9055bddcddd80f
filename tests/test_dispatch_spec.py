"""The JSON-RPC 2.0 specification's examples (its section 7), as plain strings."""

import json

import pytest

from rpc_cluster.core.jsonrpc import dispatch
from rpc_cluster.core.methods import MethodTable


def spec_methods() -> MethodTable:
    table = MethodTable()
    table.add("subtract", lambda minuend, subtrahend: minuend - subtrahend)
    table.add("sum", lambda *numbers: sum(numbers))
    table.add("update", lambda *values: None)
    table.add("notify_hello", lambda *values: None)
    table.add("get_data", lambda: ["hello", 5])
    return table


METHODS = spec_methods()


def call(text: str):
    answer = dispatch(METHODS, text)
    return json.loads(answer) if answer else None


def by_id(responses):
    return {json.dumps(r["id"]): r for r in responses}


@pytest.mark.parametrize(
    "params, result, request_id",
    [
        ([42, 23], 19, 1),
        ([23, 42], -19, 2),
        ({"subtrahend": 23, "minuend": 42}, 19, 3),
        ({"minuend": 42, "subtrahend": 23}, 19, 4),
    ],
)
def test_call_with_positional_and_named_params(params, result, request_id):
    answer = call(json.dumps({"jsonrpc": "2.0", "method": "subtract", "params": params, "id": request_id}))
    assert answer == {"jsonrpc": "2.0", "result": result, "id": request_id}


def test_notifications_get_no_answer():
    assert dispatch(METHODS, '{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}') == ""
    assert dispatch(METHODS, '{"jsonrpc": "2.0", "method": "foobar"}') == ""


def test_non_existent_method():
    answer = call('{"jsonrpc": "2.0", "method": "foobar", "id": "1"}')
    assert answer["error"]["code"] == -32601 and answer["id"] == "1"


def test_invalid_json():
    answer = call('{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]')
    assert answer["error"]["code"] == -32700 and answer["id"] is None


def test_invalid_request_object():
    answer = call('{"jsonrpc": "2.0", "method": 1, "params": "bar"}')
    assert answer["error"]["code"] == -32600 and answer["id"] is None


def test_batch_invalid_json():
    answer = call('[ {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"}, {"jsonrpc": "2.0", "method" ]')
    assert answer["error"]["code"] == -32700 and answer["id"] is None


def test_empty_array_is_one_invalid_request():
    answer = call("[]")
    assert isinstance(answer, dict)
    assert answer["error"]["code"] == -32600 and answer["id"] is None


def test_invalid_batch_but_not_empty():
    answer = call("[1]")
    assert [a["error"]["code"] for a in answer] == [-32600]


def test_invalid_batch():
    answer = call("[1,2,3]")
    assert len(answer) == 3
    assert all(a["error"]["code"] == -32600 and a["id"] is None for a in answer)


def test_mixed_batch():
    answer = call("""[
        {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
        {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
        {"foo": "boo"},
        {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
        {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
    ]""")
    assert len(answer) == 5
    responses = by_id(r for r in answer if r["id"] is not None)
    assert responses['"1"']["result"] == 7
    assert responses['"2"']["result"] == 19
    assert responses['"5"']["error"]["code"] == -32601
    assert responses['"9"']["result"] == ["hello", 5]
    (invalid,) = [r for r in answer if r["id"] is None]
    assert invalid["error"]["code"] == -32600


def test_batch_of_notifications_returns_nothing():
    assert (
        dispatch(
            METHODS,
            """[
        {"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}
    ]""",
        )
        == ""
    )


@pytest.mark.parametrize(
    "request_text, code",
    [
        ('{"jsonrpc": "2.0", "method": "subtract", "params": [1], "id": 1}', -32602),
        ('{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 1, "x": 2}, "id": 1}', -32602),
        ('{"jsonrpc": "1.0", "method": "get_data", "id": 1}', -32600),
        ('{"jsonrpc": "2.0", "method": "get_data", "params": 5, "id": 1}', -32600),
        ('{"jsonrpc": "2.0", "method": "get_data", "id": [1]}', -32600),
        ('{"jsonrpc": "2.0", "method": "get_data", "id": true}', -32600),
        ('"just a string"', -32600),
        ("", -32700),
        (b"\xff\xfe", -32700),
    ],
)
def test_more_invalid_requests(request_text, code):
    answer = json.loads(dispatch(METHODS, request_text))
    assert answer["error"]["code"] == code


def test_internal_error_hides_the_traceback(caplog):
    table = MethodTable()

    def broken():
        raise RuntimeError("secret internal detail")

    table.add("broken", broken)
    answer = json.loads(dispatch(table, '{"jsonrpc": "2.0", "method": "broken", "id": 1}'))
    assert answer["error"] == {"code": -32603, "message": "Internal error"}
    assert "secret internal detail" in caplog.text  # it went to the log instead


def test_application_errors_keep_their_code_and_data():
    from rpc_cluster.core.errors import InvalidParams, NotFound

    table = MethodTable()

    def find(student_id):
        raise NotFound(f"No student {student_id}", {"student_id": student_id})

    def grade(score):
        raise InvalidParams.field("score", "must be between 0 and 100")

    table.add("find", find)
    table.add("grade", grade)
    found = json.loads(dispatch(table, '{"jsonrpc": "2.0", "method": "find", "params": [7], "id": 1}'))
    assert found["error"] == {"code": 404, "message": "No student 7", "data": {"student_id": 7}}
    graded = json.loads(dispatch(table, '{"jsonrpc": "2.0", "method": "grade", "params": [150], "id": 2}'))
    assert graded["error"]["code"] == -32602
    assert graded["error"]["data"] == {"field": "score", "problem": "must be between 0 and 100"}


def test_unserializable_result_is_an_internal_error():
    table = MethodTable()
    table.add("obj", lambda: object())
    answer = json.loads(dispatch(table, '{"jsonrpc": "2.0", "method": "obj", "id": 1}'))
    assert answer["error"]["code"] == -32603 and answer["id"] == 1


def test_method_table_refuses_objects_without_exposed_methods():
    class Plain:
        def method(self):
            pass

    with pytest.raises(ValueError, match="hint: mark the methods"):
        MethodTable().add_object("Plain", Plain())
