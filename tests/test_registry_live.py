"""A live registry with real service processes: start order, kill -9, restarts, shutdown."""

import signal
import threading
import time

import pytest
from helpers.ports import free_port
from helpers.waiting import wait_until

from rpc_cluster import Client


def statuses(registry: Client) -> dict[str, str]:
    try:
        return {row["service_url"]: row["status"] for row in registry.call("Registry.services")}
    except ConnectionError:
        return {}


def test_services_started_before_the_registry_register_when_it_comes_up(processes):
    port = free_port()
    registry_url = f"http://127.0.0.1:{port}/rpc"
    portal = processes.echo(registry_url, "--name", "PortalService", "--requires", "GradingService")
    grading = processes.echo(registry_url, "--name", "GradingService")
    portal_url, grading_url = portal.url(), grading.url()
    portal.wait_for("not reachable")  # it is retrying, not giving up
    processes.registry(port=port)
    registry = Client(registry_url)
    wait_until(lambda: set(statuses(registry)) == {portal_url, grading_url}, 15, message="both registered")
    # The portal learned where grading is, whichever registered first.
    wait_until(
        lambda: Client(portal_url).Echo.providers().get("GradingService") == [grading_url],
        10,
        message="the portal to know grading",
    )


def test_killed_service_turns_critical_dependents_are_told_then_it_is_dropped(processes):
    registry_proc = processes.registry("--deregister-after", "1.5", interval=0.3)
    registry_url = registry_proc.url()
    registry = Client(registry_url)
    portal = processes.echo(registry_url, "--name", "PortalService", "--requires", "GradingService")
    grading_a = processes.echo(registry_url, "--name", "GradingService")
    grading_b = processes.echo(registry_url, "--name", "GradingService")
    portal_client = Client(portal.url())
    urls = {grading_a.url(), grading_b.url()}
    wait_until(
        lambda: set(portal_client.Echo.providers().get("GradingService", [])) == urls,
        10,
        message="the portal to know both grading instances",
    )

    grading_a.signal(signal.SIGKILL)
    wait_until(lambda: statuses(registry).get(grading_a.url()) == "critical", 5, message="critical")
    assert registry.Registry.lookup("GradingService") == [grading_b.url()]
    wait_until(
        lambda: portal_client.Echo.providers()["GradingService"] == [grading_b.url()],
        5,
        message="the portal to be told of the removal",
    )
    wait_until(lambda: grading_a.url() not in statuses(registry), 5, message="the dead one to be dropped")
    assert statuses(registry)[grading_b.url()] == "passing"


def test_recovered_service_turns_passing_and_dependents_hear_of_it(processes):
    registry_proc = processes.registry(interval=0.3)
    registry = Client(registry_proc.url())
    portal = processes.echo(registry_proc.url(), "--name", "PortalService", "--requires", "GradingService")
    grading = processes.echo(registry_proc.url(), "--name", "GradingService")
    grading_url = grading.url()
    portal_client = Client(portal.url())
    wait_until(
        lambda: portal_client.Echo.providers().get("GradingService") == [grading_url],
        10,
        message="the portal to know grading",
    )
    grading.signal(signal.SIGSTOP)  # alive but not answering
    try:
        wait_until(lambda: statuses(registry).get(grading_url) == "critical", 5, message="critical")
        wait_until(lambda: portal_client.Echo.providers()["GradingService"] == [], 5, message="removal")
    finally:
        grading.signal(signal.SIGCONT)
    wait_until(lambda: statuses(registry).get(grading_url) == "passing", 5, message="passing again")
    wait_until(lambda: portal_client.Echo.providers()["GradingService"] == [grading_url], 5, message="added")


def test_restarted_registry_is_repopulated_by_the_services_themselves(processes):
    port = free_port()
    first = processes.registry(port=port, interval=0.3)
    registry_url = first.url()
    registry = Client(registry_url)
    portal = processes.echo(registry_url, "--name", "PortalService", "--requires", "GradingService")
    grading = processes.echo(registry_url, "--name", "GradingService")
    expected = {portal.url(), grading.url()}
    wait_until(lambda: set(statuses(registry)) == expected, 10, message="registration")
    first.signal(signal.SIGKILL)
    first.wait()
    second = processes.registry(port=port, interval=0.3)
    assert second.url() == registry_url
    wait_until(lambda: set(statuses(registry)) == expected, 10, message="re-registration after the restart")
    assert grading.output().count("registered again") >= 1
    wait_until(
        lambda: Client(portal.url()).Echo.providers().get("GradingService") == [grading.url()],
        5,
        message="providers after the restart",
    )


def test_sigterm_deregisters_and_drains_in_flight_calls(processes):
    registry_proc = processes.registry(interval=0.3)
    registry = Client(registry_proc.url())
    echo = processes.echo(registry_proc.url())
    url = echo.url()
    wait_until(lambda: url in statuses(registry), 10, message="registration")
    result = {}

    def slow_call():
        try:
            result["value"] = Client(url).Echo.sleep(1.0)
        except Exception as exc:  # recorded for the assertion below
            result["error"] = exc

    caller = threading.Thread(target=slow_call)
    caller.start()
    time.sleep(0.3)  # let the call reach the service before the signal
    echo.signal(signal.SIGTERM)
    caller.join(10)
    assert result == {"value": 1.0}, result
    assert echo.wait(10) == 0
    assert url not in statuses(registry)
    assert "deregistered" in echo.output()
    assert "Traceback" not in echo.output()


def test_a_cluster_with_a_token_works_and_refuses_strangers(processes):
    import urllib.error
    import urllib.request

    env = {"RPC_CLUSTER_TOKEN": "cluster-secret"}
    registry_proc = processes.registry(interval=0.3, env=env)
    portal = processes.echo(registry_proc.url(), "--name", "PortalService", "--requires", "GradingService", env=env)
    grading = processes.echo(registry_proc.url(), "--name", "GradingService", env=env)
    registry = Client(registry_proc.url(), token="cluster-secret")
    wait_until(
        lambda: set(statuses(registry).values()) == {"passing"} and len(statuses(registry)) == 2,
        10,
        message="both registered",
    )
    time.sleep(1.0)  # several heartbeat rounds: they carry the token too, or these would turn critical
    assert set(statuses(registry).values()) == {"passing"}
    assert Client(portal.url(), token="cluster-secret").Echo.providers()["GradingService"] == [grading.url()]
    for url in (registry_proc.url(), grading.url()):
        request = urllib.request.Request(url, data=b'{"jsonrpc": "2.0", "method": "Registry.services", "id": 1}')
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, timeout=5)
        assert info.value.code == 401


def test_a_burst_of_signals_stops_a_service_cleanly(processes):
    """SIGTERM and SIGINT, many at once, as a supervisor and an impatient operator send them: exit 0, promptly."""
    import signal as signals

    echo = processes.echo("http://127.0.0.1:9/rpc")
    echo.url()
    for n in range(40):
        echo.signal(signals.SIGTERM if n % 2 else signals.SIGINT)
    assert echo.wait(15) == 0
    assert "Traceback" not in echo.output()
