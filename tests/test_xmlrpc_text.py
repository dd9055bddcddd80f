"""XML-RPC answers are well-formed XML whatever text a result or a fault holds.

XML 1.0 cannot carry C0 controls other than tab, LF and CR, U+FFFE, U+FFFF or
lone surrogates, all of which JSON carries. The codec sends each as U+FFFD
instead of writing a document no reader can parse (or, for a lone surrogate,
failing to encode it at all); a result it cannot marshal is a -32603 Fault.
"""

from __future__ import annotations

import urllib.request
import xmlrpc.client

import pytest

from rpc_cluster import Client
from rpc_cluster.core import errors
from rpc_cluster.core.dispatch import RawJSON
from rpc_cluster.core.methods import MethodTable
from rpc_cluster.core.xmlrpc import XmlRpcCodec
from rpc_cluster.logs.service import LogService

NOWHERE = "http://127.0.0.1:9/rpc"

# What a result holds -> what an xmlrpc.client reader gets.
NOT_XML = [
    ("a\x01b", "a\ufffdb"),
    ("a\x1bb", "a\ufffdb"),
    ("\x00", "\ufffd"),
    ("a\x0bb\x0cc\x7fd", "a\ufffdb\ufffdc\x7fd"),  # DEL is an XML character
    ("a\uffffb", "a\ufffdb"),
    ("a\ufffeb", "a\ufffdb"),
    ("a\ud800b", "a\ufffdb"),
    ("a\udfffb", "a\ufffdb"),
    ("tab\tand\nnew line", "tab\tand\nnew line"),
    ("é € 😀 \ufffd", "é € 😀 \ufffd"),
]


def codec_answering(result) -> XmlRpcCodec:
    table = MethodTable()
    table.add("answer", lambda: result)
    return XmlRpcCodec(table)


def call(codec: XmlRpcCodec, name: str = "answer") -> object:
    """The one value of the codec's methodResponse, parsed as a client would (a Fault raises)."""
    (value,), _ = xmlrpc.client.loads(codec.handle(xmlrpc.client.dumps((), name).encode()))
    return value


@pytest.mark.parametrize("text, expected", NOT_XML)
def test_a_string_result_is_sent_as_xml_can_hold_it(text, expected):
    assert call(codec_answering(text)) == expected


def test_strings_inside_structs_and_arrays_and_member_names_are_replaced_too():
    result = {"k\x01": ["v\x02", {"deep\uffff": "x\ud800y"}], "ok": None}
    assert call(codec_answering(result)) == {"k\ufffd": ["v\ufffd", {"deep\ufffd": "x\ufffdy"}], "ok": None}


def test_a_json_text_result_with_escaped_controls_is_replaced_too():
    assert call(codec_answering(RawJSON('{"m": "a\\u0001b\\ud800"}'))) == {"m": "a\ufffdb\ufffd"}


def test_a_fault_string_is_sent_as_xml_can_hold_it():
    table = MethodTable()

    def refuse():
        raise errors.NotFound("no such \x01 thing \ud800")

    table.add("refuse", refuse)
    with pytest.raises(xmlrpc.client.Fault) as info:
        call(XmlRpcCodec(table), "refuse")
    assert info.value.faultCode == errors.NOT_FOUND
    assert info.value.faultString == "no such \ufffd thing \ufffd"


@pytest.mark.parametrize(
    "result",
    [RawJSON("{not json"), {1: "an int member name"}, {"a set"}, 2**40],
    ids=["bad json text", "int key", "set", "int over 32 bits"],
)
def test_a_result_that_cannot_be_marshalled_is_an_internal_error_fault(result):
    with pytest.raises(xmlrpc.client.Fault) as info:
        call(codec_answering(result))
    assert info.value.faultCode == errors.INTERNAL_ERROR
    assert "cannot be sent as XML-RPC" in info.value.faultString


# -- over HTTP, read by the stdlib client ------------------------------------------------------------


@pytest.fixture
def log_service(tmp_path):
    service = LogService(port=0, registry=NOWHERE, log_file=tmp_path / "distributed.log")
    with service:
        yield service


def test_log_entries_with_control_characters_can_be_tailed_over_xmlrpc(log_service):
    writer = Client(log_service.url)
    for text in ("a\x01b", "a\x1bb", "a\uffffb", "plain"):
        assert writer.Log.write(text, "odd-text") is True
    proxy = xmlrpc.client.ServerProxy(log_service.url.replace("/rpc", "/RPC2"), allow_none=True)
    entries = proxy.Log.tail(100, "odd-text")
    assert [e["message"] for e in entries] == ["a\ufffdb", "a\ufffdb", "a\ufffdb", "plain"]
    # JSON-RPC still carries the text as it was written.
    assert [e["message"] for e in writer.Log.tail(service_name="odd-text")] == ["a\x01b", "a\x1bb", "a\uffffb", "plain"]


def test_a_lone_surrogate_in_a_result_is_a_well_formed_answer_not_a_500():
    from rpc_cluster.core.dispatch import Dispatcher
    from rpc_cluster.serving.rpc_app import RpcApp
    from rpc_cluster.serving.server import HttpServer

    table = MethodTable()
    table.add("lone", lambda: "x\ud800y")
    app = RpcApp("Lone", Dispatcher(table), openrpc=dict)
    with HttpServer(app, threads=1) as server:
        request = urllib.request.Request(
            f"{server.url}/RPC2", data=xmlrpc.client.dumps((), "lone").encode(), headers={"Content-Type": "text/xml"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            status, body = response.status, response.read()
        proxy = xmlrpc.client.ServerProxy(f"{server.url}/RPC2")
        assert proxy.lone() == "x\ufffdy"
    assert status == 200
    assert xmlrpc.client.loads(body) == (("x\ufffdy",), None)
