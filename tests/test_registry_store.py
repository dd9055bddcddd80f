"""The registry's stores: one interface (checked by mypy), a table held by each, and the push ledger."""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Callable

import pytest
from helpers.processes import ROOT
from helpers.waiting import wait_until

from rpc_cluster.registry.etcd.gateway import EtcdUnavailable, decode, encode
from rpc_cluster.registry.etcd.push_ledger import PushLedger
from rpc_cluster.registry.etcd.store import EtcdStore
from rpc_cluster.registry.store import MemoryStore, open_store
from rpc_cluster.registry.table import CRITICAL, PASSING, Notice, RegistryTable

# -- both stores hold a table --------------------------------------------------------------------


@pytest.mark.parametrize("url", ["memory", "etcd://127.0.0.1:1/test"])
def test_each_store_holds_its_own_table(url):
    store = open_store(url, deregister_after=60, max_registrations=10, notify=lambda *args, **kwargs: None)
    assert type(store) is (MemoryStore if url == "memory" else EtcdStore)
    # Built only: nothing runs and nothing connects until start().
    assert isinstance(store.table, RegistryTable)
    assert store.table.max_registrations == 10 and store.deregister_after == 60
    assert store.leader is None and store.table.services() == []


def test_the_memory_store_is_its_table_behind_the_interface():
    store = MemoryStore(deregister_after=60)
    store.start("http://127.0.0.1:1/registry")
    store.register("Grading", "http://127.0.0.1:2/rpc")
    store.register("Portal", "http://127.0.0.1:3/rpc", ["Grading"])
    assert store.lookup("Grading") == store.table.lookup("Grading") == ["http://127.0.0.1:2/rpc"]
    assert [row["checked_by"] for row in store.services()] == ["http://127.0.0.1:1/registry"] * 2
    (notice,) = store.record_failure("http://127.0.0.1:2/rpc")
    assert notice.recipient == "http://127.0.0.1:3/rpc" and store.get("http://127.0.0.1:2/rpc").status == CRITICAL


def test_a_store_that_misses_a_method_fails_mypy(tmp_path):
    api = pytest.importorskip("mypy.api")
    source = tmp_path / "half_store.py"
    source.write_text(
        textwrap.dedent(
            """
            from collections.abc import Callable, Iterable
            from typing import Any

            from rpc_cluster.registry.etcd.store import EtcdStore
            from rpc_cluster.registry.store import MemoryStore, RegistryStore
            from rpc_cluster.registry.table import Notice, Registration, RegistryTable


            class HalfStore:
                # A new store written from the interface: all but drop_expired.

                def __init__(self) -> None:
                    self.table = RegistryTable()
                    self.on_leading: Callable[[], None] = lambda: None
                    self.leader: str | None = None
                    self.deregister_after = 60.0

                def register(
                    self, service_name: str, service_url: str, required_services: Iterable[str] = ()
                ) -> tuple[dict[str, list[str]], list[Notice]]:
                    return self.table.register(service_name, service_url, required_services)

                def deregister(self, service_url: str) -> list[Notice]:
                    return self.table.deregister(service_url)

                def lookup(self, service_name: str) -> list[str]:
                    return self.table.lookup(service_name)

                def services(self) -> list[dict[str, Any]]:
                    return self.table.services()

                def get(self, service_url: str) -> Registration | None:
                    return self.table.get(service_url)

                def check_order(self) -> list[str]:
                    return self.table.check_order()

                def record_success(self, service_url: str) -> list[Notice]:
                    return self.table.record_success(service_url)

                def record_failure(self, service_url: str) -> list[Notice]:
                    return self.table.record_failure(service_url)

                def start(self, registry_url: str) -> None:
                    self.leader = registry_url

                def stop(self) -> None:
                    pass


            def use(store: RegistryStore) -> None: ...


            use(MemoryStore())
            def send(notices: Iterable[Notice], on_done: Callable[[], None] | None = None) -> None: ...


            use(EtcdStore("etcd://127.0.0.1:1", notify=send))
            use(HalfStore())
            """
        )
    )
    config = str(ROOT / "pyproject.toml")
    out, _, status = api.run(["--no-incremental", "--follow-imports=silent", "--config-file", config, str(source)])
    errors = [line for line in out.splitlines() if "error:" in line]
    assert status == 1 and len(errors) == 1, out
    assert '"HalfStore"' in errors[0] and '"RegistryStore"' in errors[0], out
    assert "drop_expired" in out, out  # mypy's note names what is missing


# -- the registration time: one rule, in the table -------------------------------------------------


def test_the_registration_time_is_kept_only_by_a_passing_service_registering_again():
    now = [100.0]
    table = RegistryTable(wall=lambda: now[0])
    url = "http://127.0.0.1:2/rpc"
    assert table.registered_at("Grading", url) == 100.0  # new: now
    table.register("Grading", url)
    now[0] = 200.0
    assert table.registered_at("Grading", url) == 100.0  # the same service, passing: kept
    assert table.registered_at("Portal", url) == 200.0  # another service at that URL: now
    table.record_failure(url)
    assert table.registered_at("Grading", url) == 200.0  # back from critical: now
    table.register("Grading", url)
    assert table.get(url).registered_at == 200.0 and table.get(url).status == PASSING


# -- the push ledger ------------------------------------------------------------------------------


class FakeEtcd:
    """Records the ledger's writes; ``down`` makes them fail as an unreachable etcd would."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, str]] = []
        self.refused: list[str] = []
        self.down = False

    def txn(self, compare, success, failure=None):
        put = success[0]["request_put"]
        if self.down:
            self.refused.append(decode(put["key"]))
            raise EtcdUnavailable("etcd: no member answered /kv/txn")
        self.writes.append((put["key"], put["value"]))
        return True, len(self.writes)


class Ledger:
    """A PushLedger on a fake etcd with its pusher thread; deliveries wait until ``deliver()``."""

    def __init__(self) -> None:
        self.etcd = FakeEtcd()
        self.leading = False
        self.sent: list[tuple[str, Callable[[], None]]] = []
        self.woken = 0
        self._lock = threading.Lock()
        self.ledger = PushLedger(
            self.etcd,
            pushed_key="/t/pushed",
            checks_key="/t/checks",
            send=self._send,
            leading=self._leading,
            checks=dict,
        )
        self.thread = threading.Thread(target=self.ledger.run, daemon=True)
        self.thread.start()

    def _leading(self) -> bool:
        with self._lock:
            self.woken += 1
        return self.leading

    def _send(self, notices, on_done):
        with self._lock:
            self.sent += [(notice.recipient, on_done) for notice in notices]

    def recipients(self) -> list[str]:
        with self._lock:
            return [recipient for recipient, _ in self.sent]

    def deliver(self) -> None:
        with self._lock:
            sent, self.sent = self.sent, []
        for _, on_done in sent:
            on_done()

    def pushed(self) -> list[int]:
        return [int(decode(value)) for key, value in self.etcd.writes if key == encode("/t/pushed")]

    def stop(self) -> None:
        self.ledger.stop()
        self.thread.join(5)
        assert not self.thread.is_alive()


@pytest.fixture
def ledger():
    made = Ledger()
    try:
        yield made
    finally:
        made.stop()


def test_the_leader_sends_in_order_and_records_how_far_every_notice_is_delivered(ledger):
    ledger.ledger.add(5, [Notice("http://a/rpc"), Notice("http://b/rpc")])
    ledger.ledger.add(7, [Notice("http://c/rpc")])
    ledger.leading = True
    ledger.ledger.take_over()
    wait_until(lambda: ledger.recipients() == ["http://a/rpc", "http://b/rpc", "http://c/rpc"], 5, message="sends")
    assert all(revision < 5 for revision in ledger.pushed())  # nothing is delivered yet
    ledger.deliver()
    wait_until(lambda: ledger.pushed()[-1:] == [7], 5, message="the record of revision 7")
    ledger.ledger.add(9, [Notice("http://d/rpc")])
    wait_until(lambda: ledger.recipients() == ["http://d/rpc"], 5, message="the next change sent at once")


def test_a_follower_sends_nothing_and_a_new_leader_sends_only_what_was_not_recorded(ledger):
    ledger.ledger.add(5, [Notice("http://a/rpc")])
    ledger.ledger.add(7, [Notice("http://b/rpc")])
    ledger.ledger.saw_pushed(5)  # the old leader delivered up to 5
    ledger.leading = True
    ledger.ledger.take_over()
    # Only b, ever: a follower sent nothing, and the new leader skips what was recorded.
    wait_until(lambda: ledger.recipients() == ["http://b/rpc"], 5, message="the unrecorded notice sent")


def test_an_idle_pusher_sleeps_until_something_happens(ledger):
    ledger.leading = True
    ledger.ledger.take_over()
    wait_until(lambda: ledger.etcd.writes, 5, message="the first summary of the checks")
    woken = ledger.woken
    threading.Event().wait(0.5)  # a window to watch, not a synchronisation: nothing should happen in it
    assert ledger.woken == woken  # a 20 ms poll would have woken it about 25 times
    ledger.ledger.add(3, [Notice("http://a/rpc")])
    wait_until(lambda: ledger.recipients() == ["http://a/rpc"], 5, message="woken by the notice")


def test_a_record_etcd_refused_is_written_once_it_is_back(ledger):
    ledger.etcd.down = True
    ledger.leading = True
    ledger.ledger.add(4, [Notice("http://a/rpc")])
    ledger.ledger.take_over()
    wait_until(lambda: ledger.recipients() == ["http://a/rpc"], 5, message="the send")
    ledger.deliver()
    wait_until(lambda: "/t/pushed" in ledger.etcd.refused, 5, message="a refused record")
    ledger.etcd.down = False
    wait_until(lambda: ledger.pushed() == [4], 5, message="the record, tried again")


def test_a_notify_that_takes_no_on_done_fails_mypy(tmp_path):
    # The etcd store's pusher calls notify(notices, on_done=...): a function without on_done
    # would fail at the first push, so mypy refuses it where the store is opened.
    api = pytest.importorskip("mypy.api")
    source = tmp_path / "bad_notify.py"
    source.write_text(
        textwrap.dedent(
            """
            from rpc_cluster.registry.store import open_store
            from rpc_cluster.registry.table import Notice


            def send(notices: list[Notice]) -> None: ...


            open_store("memory", deregister_after=60, max_registrations=None, notify=send)
            """
        )
    )
    config = str(ROOT / "pyproject.toml")
    out, _, status = api.run(["--no-incremental", "--follow-imports=silent", "--config-file", config, str(source)])
    errors = [line for line in out.splitlines() if "error:" in line]
    assert status == 1 and len(errors) == 1, out
    assert '"notify"' in errors[0] and '"Send"' in errors[0], out
