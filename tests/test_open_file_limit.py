"""The one rule for the open-file limit (serving/server.py), as the HTTP server and the health check use it.

``getrlimit``/``setrlimit`` are replaced so each kind of limit can be shown, the unlimited ones
included, without changing this process's own.
"""

import resource

import pytest

from rpc_cluster.registry.health_check import MAX_IN_FLIGHT, HealthChecker
from rpc_cluster.registry.table import RegistryTable
from rpc_cluster.serving.server import UNLIMITED_FILES, raise_open_file_limit

INFINITY = resource.RLIM_INFINITY


@pytest.fixture
def limits(monkeypatch):
    """The process's (soft, hard) limit as the code sees it, and every setrlimit call it makes."""
    state = {"now": (1024, 4096), "set": []}

    def getrlimit(which):
        assert which == resource.RLIMIT_NOFILE
        return state["now"]

    def setrlimit(which, value):
        assert which == resource.RLIMIT_NOFILE
        state["set"].append(value)
        state["now"] = value

    monkeypatch.setattr(resource, "getrlimit", getrlimit)
    monkeypatch.setattr(resource, "setrlimit", setrlimit)
    return state


def test_a_finite_soft_limit_is_raised_to_the_hard_one(limits):
    assert raise_open_file_limit() == 4096
    assert limits["set"] == [(4096, 4096)]


def test_an_unlimited_soft_limit_counts_as_a_large_finite_number(limits):
    limits["now"] = (INFINITY, INFINITY)
    assert raise_open_file_limit() == UNLIMITED_FILES > 0
    assert limits["set"] == []


def test_under_an_unlimited_hard_limit_the_soft_one_is_raised(limits):
    limits["now"] = (1024, INFINITY)
    assert raise_open_file_limit() == 1 << 16
    assert limits["set"] == [(1 << 16, INFINITY)]


def test_a_refused_raise_leaves_the_soft_limit(limits, monkeypatch):
    def refuse(which, value):
        raise ValueError("not allowed")

    monkeypatch.setattr(resource, "setrlimit", refuse)
    assert raise_open_file_limit() == 1024


def test_the_health_check_sizes_its_sockets_by_the_same_rule(limits):
    # A soft limit of 1,024 under an unlimited hard one: the rule raises it, so the
    # check keeps its full number of attempts in flight rather than a quarter of 1,024.
    limits["now"] = (1024, INFINITY)
    checker = HealthChecker(RegistryTable(deregister_after=60), interval=60)
    checker.start()
    try:
        assert limits["set"] == [(1 << 16, INFINITY)]
        assert checker.max_in_flight == MAX_IN_FLIGHT
    finally:
        checker.stop()
