"""Several registries on etcd: failover of checks and pushes, and what the shared store costs.

Everything runs on a real 3-member etcd on loopback (``local_etcd.py``).

Failover: two registry processes share one key prefix; a fleet process
(``fleet.py``) serves the dependents, fake services that answer heartbeats,
require ``VictimService`` and record every ``Service.update``; one real
``VictimService`` registers. Once every dependent has been told it was added
and a random part of an interval has passed, we kill -9 the registry that
checks (``checked_by`` in ``Registry.services()``), then the victim, and
measure from the registry's kill until (a) the surviving registry lists the
victim ``critical`` and (b) the last dependent was told ``removed`` (the
fleet's own clock). The killed registry is started again before the next
repetition, so each one kills the registry that took over last time. At the
end every dependent must have been told each victim's addition and removal
exactly once, across all the failovers.
Goal: another registry checks and pushes within one lease TTL
plus one interval.

Latency: one registry on ``--store memory`` and two on the etcd cluster;
from one client thread (our ``Client``, keep-alive), ``Registry.register``
of new URLs, then of the same URLs again, then ``Registry.lookup``,
alternating between the stores in chunks so both see the same machine.
Then how long a registration made through one etcd registry takes to be
returned by ``lookup`` on the other (it should be the first lookup).

Run: ``python -m benchmarks.registry_ha [--quick]`` (needs etcd).
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

from rpc_cluster import Client
from rpc_cluster.tools.local_etcd import INSTALL_HINT, EtcdCluster

from .common import Proc, bench_main, fmt, median

# The fleet's records and a poll; they belong next to fleet.py and in common.py,
# once the concurrent rewrite of registry_scale.py has landed.
from .registry_scale import _updates, _wait

SCENARIOS = [(1.0, 2), (3.0, 5)]  # (heartbeat interval s, leader lease TTL s); the second is the default
DEPENDENTS = 100
LATENCY_CALLS = 1000
CHUNK = 50  # calls on one store before switching to the other
VISIBILITY_TRIES = 50


def _registry(store: str, interval: float, ttl: int = 5) -> Proc:
    return Proc(
        "cmd/registryservice/main.py",
        "--port",
        "0",
        "--store",
        store,
        "--heartbeat-interval",
        str(interval),
        "--leader-ttl",
        str(ttl),
        "--deregister-after",
        "600",
    )


def _stopping(stack: ExitStack, proc: Proc) -> Proc:
    """``proc``, stopped (killed, its log removed) when ``stack`` closes, also on failure."""
    stack.callback(proc.stop)
    return proc


def _told(fleet_url: str, tag: str, victim_url: str, kind: str) -> dict[str, list[float]]:
    """For each of this scenario's dependents that was told ``kind`` about the victim: when, each time."""
    told: dict[str, list[float]] = {}
    for path, at, added, removed in _updates(fleet_url):
        entries = added if kind == "added" else removed
        if path.startswith(f"/svc/{tag}-") and any(e["service_url"] == victim_url for e in entries):
            told.setdefault(path, []).append(at)
    return told


def _told_all(fleet_url: str, tag: str, victim_url: str, kind: str) -> dict[str, list[float]] | None:
    """``_told``, once every dependent was told; None before."""
    told = _told(fleet_url, tag, victim_url, kind)
    return told if len(told) == DEPENDENTS else None


def _checker(urls: list[str]) -> str | None:
    """The registry of ``urls`` that checks, as the first one says."""
    rows = Client(urls[0]).call("Registry.services")
    checker = rows[0].get("checked_by") if rows else None
    return checker if checker in urls else None


def _after_kill(
    survivor: Client, survivor_url: str, victim_url: str, killed_at: float, limit: float
) -> tuple[float, float]:
    """Seconds from the kill until the survivor (a) says it checks, (b) lists the victim critical."""
    leads = critical = float("inf")
    while critical == float("inf") and time.time() < killed_at + limit:
        try:
            rows = survivor.call("Registry.services")
        except Exception:  # busy taking over: ask again
            rows = []
        now = time.time() - killed_at
        if leads == float("inf") and rows and rows[0].get("checked_by") == survivor_url:
            leads = now
        if any(r["service_url"] == victim_url and r["status"] == "critical" for r in rows):
            critical = now
        time.sleep(0.02)
    return leads, critical


def failover(etcd: EtcdCluster, fleet_url: str, interval: float, ttl: int, reps: int) -> dict:
    """Kill -9 the checking registry, then a service, ``reps`` times: how long until it is handled."""
    tag = uuid.uuid4().hex[:8]
    store = etcd.store(f"bench-ha-{tag}")
    limit = ttl + 10 * interval + 10  # past this a failover counts as never done
    with ExitStack() as stack:
        live = [_stopping(stack, _registry(store, interval, ttl)) for _ in range(2)]
        urls = [proc.url() for proc in live]
        with Client(urls[0], timeout=30).batch() as batch:
            for n in range(DEPENDENTS):
                batch.call("Registry.register", "FakeService", f"{fleet_url}/svc/{tag}-{n}/rpc", ["VictimService"])
        leads, critical, told, victims = [], [], [], []
        for _ in range(reps):
            victim = _stopping(stack, Proc("-m", "benchmarks.victim", "--registry", ",".join(urls), "--port", "0"))
            victim_url = victim.url()
            if victim_url in victims:
                raise RuntimeError(f"{victim_url} came back on a later victim: its records would mix")
            victims.append(victim_url)
            if not _wait(lambda url=victim_url: _told_all(fleet_url, tag, url, "added"), 30, 0.2):
                raise RuntimeError("the dependents were not told about the victim")
            time.sleep(interval + random.uniform(0, interval))  # a random moment of the checks' cycle
            leader = _wait(lambda: _checker(urls), 30, 0.1)
            if not leader:
                raise RuntimeError(f"no registry of {urls} says it checks")
            dead = urls.index(leader)
            killed_at = time.time()
            live[dead].kill()
            victim.kill()
            took_over, marked = _after_kill(
                Client(urls[1 - dead], timeout=5), urls[1 - dead], victim_url, killed_at, limit
            )
            leads.append(took_over)
            critical.append(marked)
            removed = _wait(
                lambda url=victim_url: _told_all(fleet_url, tag, url, "removed"),
                max(1.0, killed_at + limit - time.time()),
                0.05,
            )
            told.append(max(max(times) for times in removed.values()) - killed_at if removed else float("inf"))
            live[dead] = _stopping(stack, _registry(store, interval, ttl))  # back, for the next failover
            urls[dead] = live[dead].url()
        time.sleep(2 * interval)  # a late duplicate would arrive by now
        duplicates = missing = 0
        for victim_url in victims:
            for kind in ("added", "removed"):
                times = _told(fleet_url, tag, victim_url, kind)
                duplicates += sum(len(t) - 1 for t in times.values())
                missing += DEPENDENTS - len(times)
    return {
        "interval": interval,
        "ttl": ttl,
        "reps": reps,
        "leads": median(leads),
        "leads_max": max(leads),
        "critical": median(critical),
        "critical_max": max(critical),
        "told": median(told),
        "told_max": max(told),
        "duplicates": duplicates,
        "missing": missing,
        "notices": 2 * DEPENDENTS * reps,
    }


def _percentiles(times: list[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds."""
    times = sorted(times)
    return 1000 * median(times), 1000 * times[max(0, int(len(times) * 0.99) - 1)]


def latency(etcd: EtcdCluster, fleet_url: str, calls: int) -> dict:
    """register (new, again) and lookup from one thread, memory against etcd; and A -> B visibility."""
    tag = uuid.uuid4().hex[:8]
    store = etcd.store(f"bench-lat-{tag}")
    with ExitStack() as stack:
        # Checks every 60 s: none during the run, so what is measured is the store.
        memory, on_a, on_b = (_stopping(stack, _registry(s, 60.0)) for s in ("memory", store, store))
        clients = {"memory": Client(memory.url()), "etcd": Client(on_a.url())}
        other = Client(on_b.url())
        for client in clients.values():  # warm the connections
            client.call("Registry.lookup", "Nobody")

        def register(client: Client, n: int) -> None:
            client.call("Registry.register", f"Lat{n}", f"{fleet_url}/svc/lat-{n}/rpc?as=Lat{n}", [])

        phases = {
            "register (new URL)": register,
            "register (same URL again)": register,
            "lookup (one instance)": lambda client, n: client.call("Registry.lookup", f"Lat{n}"),
        }
        rows = []
        for phase, call in phases.items():
            times: dict[str, list[float]] = {name: [] for name in clients}
            for start in range(0, calls, CHUNK):
                for name, client in clients.items():
                    for n in range(start, min(start + CHUNK, calls)):
                        began = time.perf_counter()
                        call(client, n)
                        times[name].append(time.perf_counter() - began)
            rows.append(
                {"call": phase, "calls": calls, **{name: _percentiles(values) for name, values in times.items()}}
            )
        waits, first = [], 0
        for n in range(VISIBILITY_TRIES):
            url = f"{fleet_url}/svc/vis-{n}/rpc?as=Vis{n}"
            clients["etcd"].call("Registry.register", f"Vis{n}", url, [])
            registered, lookups = time.perf_counter(), 1
            while url not in other.call("Registry.lookup", f"Vis{n}"):
                lookups += 1
                if time.perf_counter() - registered > 10:
                    raise RuntimeError(f"registry B never returned {url}, registered through A")
            waits.append(time.perf_counter() - registered)
            first += lookups == 1
    p50, _ = _percentiles(waits)
    return {
        "rows": rows,
        "visibility": {"tries": VISIBILITY_TRIES, "first": first, "p50_ms": p50, "max_ms": 1000 * max(waits)},
    }


def run(quick: bool = False) -> dict:
    if not shutil.which("etcd"):
        raise RuntimeError(INSTALL_HINT)
    folder = Path(tempfile.mkdtemp(prefix="bench-etcd-"))
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, folder, ignore_errors=True)
        etcd = EtcdCluster(folder, 3)
        stack.callback(etcd.stop)
        etcd.start()
        fleet = _stopping(stack, Proc("-m", "benchmarks.fleet"))
        fleet_url = fleet.wait_for(r"fleet serving at (\S+)").group(1)
        scenarios = SCENARIOS[:1] if quick else SCENARIOS
        return {
            "failover": [failover(etcd, fleet_url, interval, ttl, 2 if quick else 5) for interval, ttl in scenarios],
            "latency": latency(etcd, fleet_url, 200 if quick else LATENCY_CALLS),
        }


def _seconds(result: dict, key: str) -> str:
    """ "median (max) s, in intervals", or "never" for a failover that did not happen within its limit."""
    value, most, interval = result[key], result[f"{key}_max"], result["interval"]
    if most == float("inf"):
        return f"{fmt(value, 2)} s, max never" if value != float("inf") else "never"
    return f"{fmt(value, 2)} s ({fmt(most, 2)} s) = {value / interval:.2f} ({most / interval:.2f})"


def table(result: dict) -> str:
    lines = [
        "Times from the kill -9 of the checking registry, median (max), then in intervals.",
        "",
        "| interval | lease TTL | kills | other registry checks | victim critical | every dependent told "
        "| goal: TTL + 1 interval | each dependent told once | met |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    for r in result["failover"]:
        goal = r["ttl"] + r["interval"]
        once = r["duplicates"] == 0 and r["missing"] == 0
        met = r["told_max"] <= goal and r["critical_max"] <= goal
        lines.append(
            f"| {r['interval']:g} s | {r['ttl']} s | {r['reps']} | {_seconds(r, 'leads')} | {_seconds(r, 'critical')} "
            f"| {_seconds(r, 'told')} | ≤ {goal:g} s = {goal / r['interval']:.2f} "
            f"| {'yes' if once else 'NO'}: {r['notices']:,} adds and removals, {r['duplicates']} twice, "
            f"{r['missing']} missing | {'yes' if met and once else 'NO'} |"
        )
        verdicts.append(
            f"{'met' if met else 'NOT met'} at {r['interval']:g} s / TTL {r['ttl']} s "
            f"(max {fmt(r['told_max'], 2)} s against {goal:g} s)"
        )
    lines.insert(
        0,
        "Goal: kill -9 the checking registry: another one checks and pushes within one TTL plus one "
        f"interval: {'; '.join(verdicts)}.\n",
    )
    lines += [
        "",
        "| call (one client thread, keep-alive) | calls | memory p50 | p99 | etcd p50 | p99 "
        "| etcd / memory p50 | p99 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["latency"]["rows"]:
        (m50, m99), (e50, e99) = r["memory"], r["etcd"]
        lines.append(
            f"| {r['call']} | {r['calls']:,} | {m50:.2f} ms | {m99:.2f} ms | {e50:.2f} ms | {e99:.2f} ms "
            f"| {e50 / m50:.1f}x | {e99 / m99:.1f}x |"
        )
    v = result["latency"]["visibility"]
    lines.append(
        f"\nA registration through etcd registry A was returned by the first `lookup` on registry B "
        f"{v['first']} times of {v['tries']}; from A's answer to B's: {v['p50_ms']:.2f} ms median, "
        f"{v['max_ms']:.2f} ms max."
    )
    return "\n".join(lines)


def main() -> None:
    bench_main(__doc__, run, table)


if __name__ == "__main__":
    main()
