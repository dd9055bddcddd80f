"""The dispatch core over plain Python: no JSON, no XML, no sockets."""

import logging

import pytest

from rpc_cluster.core import errors
from rpc_cluster.core.dispatch import BadParams, Dispatcher, UnknownMethod
from rpc_cluster.core.methods import MethodTable


def shapes():
    table = MethodTable()
    table.add("subtract", lambda minuend, subtrahend: minuend - subtrahend)
    table.add("add", lambda a, b=2: a + b)
    table.add("star", lambda *args: list(args))
    table.add("kwonly", lambda a, *, b, c=3: [a, b, c])
    table.add("mixed", lambda a, *rest, c=1, **kw: [a, list(rest), c, kw])
    table.add("posonly", lambda a, /, b: [a, b])
    return table


CORE = Dispatcher(shapes())


@pytest.mark.parametrize(
    "name, params, result",
    [
        ("subtract", [42, 23], 19),
        ("subtract", (42, 23), 19),
        ("subtract", {"subtrahend": 23, "minuend": 42}, 19),
        ("subtract", [42], None),
        ("add", [1], 3),
        ("add", [1, 5], 6),
        ("add", {"a": 1, "b": 4}, 5),
        ("star", [], []),
        ("star", [1, 2, 3], [1, 2, 3]),
        ("kwonly", {"a": 1, "b": 2}, [1, 2, 3]),
        ("mixed", [1, 2, 3], [1, [2, 3], 1, {}]),
        ("mixed", {"a": 1, "c": 2, "z": 3}, [1, [], 2, {"z": 3}]),
        ("posonly", [1, 2], [1, 2]),
    ],
)
def test_positional_and_named_params(name, params, result):
    if result is None:
        with pytest.raises(BadParams):
            CORE.call(name, params)
    else:
        assert CORE.call(name, params) == result


def test_params_default_to_none_given():
    assert Dispatcher(shapes()).call("star") == []


def test_unknown_method_is_method_not_found_naming_it():
    with pytest.raises(UnknownMethod) as info:
        CORE.call("nope", [])
    assert isinstance(info.value, errors.MethodNotFound)
    assert (info.value.code, info.value.message, info.value.data) == (-32601, "Method not found", "nope")


@pytest.mark.parametrize(
    "name, params, text",
    [
        ("subtract", [1], "missing a required argument: 'subtrahend'"),
        ("subtract", [1, 2, 3], "too many positional arguments"),
        ("subtract", {"minuend": 1, "subtrahend": 2, "x": 3}, "got an unexpected keyword argument 'x'"),
        ("add", {"b": 1}, "missing a required argument: 'a'"),
        ("star", {"args": 1}, "got an unexpected keyword argument 'args'"),
        ("kwonly", [1], "missing a required argument: 'b'"),
        ("kwonly", [1, 2], "too many positional arguments"),
        ("posonly", {"a": 1, "b": 2}, "'a' parameter is positional only, but was passed as a keyword"),
        # The standard text names the class whose bind() received "self" (kept from before the core).
        ("add", {"self": 1, "a": 2}, "_QuickSignature.bind() got multiple values for argument 'self'"),
    ],
)
def test_bind_failure_is_invalid_params_with_the_standard_text(name, params, text):
    with pytest.raises(BadParams) as info:
        CORE.call(name, params)
    assert isinstance(info.value, errors.InvalidParams)
    assert (info.value.code, info.value.message, info.value.data) == (-32602, "Invalid params", text)


def test_rpc_errors_from_the_method_pass_through_unchanged():
    raised = errors.NotFound("No student 7", {"student_id": 7})
    table = MethodTable()

    def find(student_id):
        raise raised

    table.add("find", find)
    with pytest.raises(errors.NotFound) as info:
        Dispatcher(table).call("find", [7])
    assert info.value is raised


def test_method_raising_invalid_params_is_not_a_bind_failure():
    table = MethodTable()

    def grade(score):
        raise errors.InvalidParams.field("score", "must be 0-100")

    table.add("grade", grade)
    with pytest.raises(errors.InvalidParams) as info:
        Dispatcher(table).call("grade", [150])
    assert not isinstance(info.value, BadParams)
    assert info.value.data == {"field": "score", "problem": "must be 0-100"}


def test_internal_error_hides_the_detail_and_logs_it(caplog):
    table = MethodTable()

    def broken():
        raise RuntimeError("secret internal detail")

    table.add("broken", broken)
    with (
        caplog.at_level(logging.ERROR, logger="rpc_cluster.core.dispatch"),
        pytest.raises(errors.InternalError) as info,
    ):
        Dispatcher(table).call("broken")
    assert (info.value.code, info.value.message, info.value.data) == (-32603, "Internal error", None)
    assert "secret" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    (record,) = caplog.records
    assert record.getMessage() == "rpc: method broken raised"
    assert record.exc_info and "secret internal detail" in caplog.text


def test_type_error_inside_the_method_is_internal_not_invalid_params():
    table = MethodTable()
    table.add("typo", lambda: len(5))
    with pytest.raises(errors.InternalError):
        Dispatcher(table).call("typo", [])


def test_extra_methods_are_answered_by_this_dispatcher_only():
    table = shapes()
    with_extra = Dispatcher(table, {"rpc.discover": lambda: {"openrpc": "1.2.6"}})
    assert with_extra.call("rpc.discover") == {"openrpc": "1.2.6"}
    assert "rpc.discover" in with_extra and "rpc.discover" not in Dispatcher(table)
    with pytest.raises(ValueError, match="already in the method table"):
        Dispatcher(table, {"add": lambda: None})


def test_signature_and_doc_for_method_help():
    table = MethodTable()

    def echo(text: str) -> str:
        """Return text unchanged."""
        return text

    table.add("echo", echo)
    core = Dispatcher(table)
    assert str(core.signature("echo")) == "(text: str) -> str"
    assert core.doc("echo") == "Return text unchanged."
    assert "echo" in core and "nope" not in core
