"""The acting user travels like the trace id: the client sends ``X-Acting-User`` inside ``acting_as``, the server
puts a request's header into the context of the call, and grading resolves it to an ``Actor``."""

from __future__ import annotations

import json
import urllib.request

import pytest

from rpc_cluster import Client, Forbidden, Service, rpc_method
from rpc_cluster.client import acting
from rpc_cluster.grading import access


class Who:
    @rpc_method
    def acting(self) -> str | None:
        """The acting user of this call, as the server sees it."""
        return acting.current()


class WhoService(Service):
    name = "WhoService"

    def expose(self, methods):
        methods.add_object("Who", Who())


@pytest.fixture
def who():
    service = WhoService(port=0, registry="http://127.0.0.1:9/rpc")
    service.start()
    try:
        yield service
    finally:
        service.stop()


def raw_call(url: str, headers: dict[str, str]) -> dict:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "Who.acting", "params": []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json", **headers})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def test_a_call_inside_acting_as_carries_the_user_and_one_outside_carries_none(who):
    client = Client(who.url)
    assert client.call("Who.acting") is None
    with acting.acting_as("alice"):
        assert client.call("Who.acting") == "alice"
        with acting.acting_as(None):
            assert client.call("Who.acting") is None
    assert client.call("Who.acting") is None


def test_the_server_takes_the_header_as_sent_and_forgets_it_after_the_call(who):
    assert raw_call(who.url, {"X-Acting-User": "bob"})["result"] == "bob"
    assert raw_call(who.url, {})["result"] is None


def test_the_header_needs_the_cluster_token_when_one_is_set():
    service = WhoService(port=0, registry="http://127.0.0.1:9/rpc", token="s3cret")
    service.start()
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            raw_call(service.url, {"X-Acting-User": "bob"})
        assert refused.value.code == 401
        assert raw_call(service.url, {"X-Acting-User": "bob", "Authorization": "Bearer s3cret"})["result"] == "bob"
    finally:
        service.stop()


USERS = {"ann": (1, "admin", False), "tom": (2, "teacher", False), "old": (3, "teacher", True)}


def test_no_header_is_the_services_own_authority():
    actor = access.resolve(None, USERS.get)
    assert actor is access.SERVICE and actor.sees_all and actor.user_id is None


def test_an_admin_sees_all_and_a_teacher_does_not():
    assert access.resolve("ann", USERS.get) == access.Actor("ann", "admin", 1)
    assert access.resolve("ann", USERS.get).sees_all
    teacher = access.resolve("tom", USERS.get)
    assert teacher == access.Actor("tom", "teacher", 2) and not teacher.sees_all
    with pytest.raises(Forbidden) as refused:
        access.require_admin(teacher, "Users.add")
    assert refused.value.data == {"method": "Users.add"}
    access.require_admin(access.resolve("ann", USERS.get), "Users.add")


@pytest.mark.parametrize("name", ["nobody", "old", "Tom", "", "a" * 65, "tom\n", "tom'--"])
def test_an_unknown_disabled_or_malformed_user_is_refused_alike(name):
    looked_up = []

    def find(username):
        looked_up.append(username)
        return USERS.get(username)

    with pytest.raises(Forbidden) as refused:
        access.resolve(name, find)
    assert refused.value.code == 403
    assert refused.value.data == {"user": name[:64]}
    assert all(access.USERNAME.fullmatch(name) for name in looked_up)  # a malformed name is never looked up
