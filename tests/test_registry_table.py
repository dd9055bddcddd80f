"""The registry's state transitions, with a fake clock: no threads, no sockets."""

import pytest

from rpc_cluster.core.errors import NotFound
from rpc_cluster.registry.table import CRITICAL, PASSING, RegistryTable

GRADING = "http://127.0.0.1:6000/rpc"
GRADING_2 = "http://127.0.0.1:6001/rpc"
PORTAL = "http://127.0.0.1:5005/rpc"
LOG = "http://127.0.0.1:4000/rpc"


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def table(clock):
    return RegistryTable(deregister_after=60, clock=clock, wall=lambda: 1_800_000_000.0)


def entry(name, url):
    return {"service_name": name, "service_url": url}


def test_register_returns_known_providers_of_requirements(table):
    table.register("LogService", LOG)
    providers, notices = table.register("PortalService", PORTAL, ["GradingService", "LogService"])
    assert providers == {"GradingService": [], "LogService": [LOG]}
    assert notices == []  # nobody requires the portal


def test_dependents_hear_of_a_new_provider(table):
    table.register("PortalService", PORTAL, ["GradingService"])
    _, notices = table.register("GradingService", GRADING)
    assert [(n.recipient, n.added, n.removed) for n in notices] == [(PORTAL, [entry("GradingService", GRADING)], [])]


def test_re_registering_replaces_and_does_not_duplicate(table):
    table.register("GradingService", GRADING)
    _, notices = table.register("GradingService", GRADING, ["LogService"])
    assert notices == []
    assert table.lookup("GradingService") == [GRADING]
    (only,) = table.services()
    assert only["required_services"] == ["LogService"]


def test_re_registering_under_another_name_moves_the_url(table):
    table.register("PortalService", PORTAL, ["A", "B"])
    table.register("A", GRADING)
    _, notices = table.register("B", GRADING)
    assert {(n.recipient, bool(n.added), bool(n.removed)) for n in notices} == {
        (PORTAL, False, True),
        (PORTAL, True, False),
    }
    assert table.lookup("A") == [] and table.lookup("B") == [GRADING]


def test_deregister_tells_dependents_and_unknown_is_404(table):
    table.register("PortalService", PORTAL, ["GradingService"])
    table.register("GradingService", GRADING)
    notices = table.deregister(GRADING)
    assert [(n.recipient, n.removed) for n in notices] == [(PORTAL, [entry("GradingService", GRADING)])]
    with pytest.raises(NotFound) as info:
        table.deregister(GRADING)
    assert info.value.code == 404 and info.value.data == {"service_url": GRADING}


def test_failure_turns_critical_once_and_success_turns_passing(table):
    table.register("PortalService", PORTAL, ["GradingService"])
    table.register("GradingService", GRADING)
    table.register("GradingService", GRADING_2)
    notices = table.record_failure(GRADING)
    assert [(n.recipient, n.removed) for n in notices] == [(PORTAL, [entry("GradingService", GRADING)])]
    assert table.get(GRADING).status == CRITICAL and table.get(GRADING).failures == 1
    assert table.lookup("GradingService") == [GRADING_2]
    assert table.record_failure(GRADING) == []  # already critical: no second notice
    assert table.get(GRADING).failures == 2
    notices = table.record_success(GRADING)
    assert [(n.recipient, n.added) for n in notices] == [(PORTAL, [entry("GradingService", GRADING)])]
    assert table.get(GRADING).status == PASSING and table.get(GRADING).failures == 0
    assert table.record_success(GRADING) == []


def test_critical_registration_that_registers_again_is_passing_and_announced(table):
    table.register("PortalService", PORTAL, ["GradingService"])
    table.register("GradingService", GRADING)
    table.record_failure(GRADING)
    _, notices = table.register("GradingService", GRADING)
    assert table.get(GRADING).status == PASSING
    assert [n.added for n in notices] == [[entry("GradingService", GRADING)]]


def test_dropped_after_deregister_after_seconds_critical(table, clock):
    table.register("GradingService", GRADING)
    table.register("LogService", LOG)
    table.record_failure(GRADING)
    clock.advance(59)
    assert table.drop_expired() == []
    table.record_failure(GRADING)  # still failing: the clock runs from the first failure
    clock.advance(2)
    assert table.drop_expired() == [GRADING]
    assert table.get(GRADING) is None and table.get(LOG) is not None


def test_recovery_resets_the_deregister_clock(table, clock):
    table.register("GradingService", GRADING)
    table.record_failure(GRADING)
    clock.advance(50)
    table.record_success(GRADING)
    clock.advance(50)
    table.record_failure(GRADING)
    clock.advance(30)
    assert table.drop_expired() == []


def test_services_lists_every_field(table):
    table.register("GradingService", GRADING, ["LogService"])
    table.record_success(GRADING)
    (row,) = table.services()
    assert row == {
        "service_name": "GradingService",
        "service_url": GRADING,
        "required_services": ["LogService"],
        "status": "passing",
        "registered_at": "2027-01-15T08:00:00.000Z",
        "last_checked": "2027-01-15T08:00:00.000Z",
        "failures": 0,
    }


def test_a_service_is_not_told_about_itself(table):
    _, notices = table.register("Peer", GRADING, ["Peer"])
    assert notices == []


def test_a_new_url_beyond_max_registrations_is_refused_and_a_known_one_is_not(clock):
    from rpc_cluster.core.errors import ServiceUnavailable

    table = RegistryTable(max_registrations=2, clock=clock)
    table.register("GradingService", GRADING)
    table.register("GradingService", GRADING_2)
    with pytest.raises(ServiceUnavailable) as info:
        table.register("PortalService", PORTAL)
    assert info.value.code == 503 and info.value.data == {"max_registrations": 2, "service_url": PORTAL}
    table.register("GradingService", GRADING, ["LogService"])  # re-registering is never refused
    table.deregister(GRADING_2)
    table.register("PortalService", PORTAL)
    assert sorted(table.urls()) == sorted([GRADING, PORTAL])


def test_notify_gets_each_change_s_notices_in_the_order_of_the_changes(clock):
    told = []
    table = RegistryTable(
        clock=clock,
        notify=lambda notices: told.append([(n.recipient, "added" if n.added else "removed") for n in notices]),
    )
    table.register("PortalService", PORTAL, ["GradingService"])
    table.register("GradingService", GRADING)
    table.record_failure(GRADING)
    table.record_failure(GRADING)  # no change, nothing to tell
    table.register("GradingService", GRADING)
    table.deregister(GRADING)
    assert told == [[(PORTAL, "added")], [(PORTAL, "removed")], [(PORTAL, "added")], [(PORTAL, "removed")]]


def test_passing_services_are_checked_before_critical_ones(table):
    table.register("GradingService", GRADING)
    table.register("GradingService", GRADING_2)
    table.register("LogService", LOG)
    table.record_failure(GRADING)
    assert table.check_order() == [GRADING_2, LOG, GRADING]
