"""Registry failure detection and fan-out at 300 and 2,000 services.

N-1 fake services (one process, ``fleet.py``) register as requiring
``VictimService``; one real ``VictimService`` process registers too and is
killed with SIGKILL at a random moment of the heartbeat cycle. We measure:

- detection: from the kill until ``Registry.lookup`` no longer lists it;
- fan-out: from then until the last of the N-1 dependents received its
  ``Service.update(removed=...)``.

Goals: 300 services at a 1 s interval: detection <= 2.5 s, fan-out <= 1 s;
2,000 at 3 s: detection <= 2.5 intervals, fan-out <= 3 s.

Silent partition: of the N services, S are real silent sockets on
127.0.0.1 (``silent.py``) that answer until they are cut off all at once;
then nothing answers and nothing refuses. The victim is killed at the same
moment (it refuses at once). We measure the time until the LAST silent one
leaves ``passing``, and the victim's detection meanwhile. Goals: both within
2.5 intervals, at 2,000 services on 3 s with 500 silent and at 1,000 on 1 s
with 250 silent.

Run: ``python -m benchmarks.registry_scale [--quick] [--before DIR] [--only refused|silent]``;
``--before DIR`` runs every scenario with the registry of another tree too
(e.g. ``git archive`` of the commit before a change), in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import time
import urllib.request
from pathlib import Path

from rpc_cluster import Client

from .common import ROOT, Proc, fmt, median

SCENARIOS = [  # (services, interval s, detection goal in intervals, fan-out goal s)
    (300, 1.0, 2.5, 1.0),
    (2000, 3.0, 2.5, 3.0),
]
SILENT_SCENARIOS = [  # (services, interval s, of them silent); goal: 2.5 intervals for both figures
    (2000, 3.0, 500),
    (1000, 1.0, 250),
]
SILENT_GOAL = 2.5


def _updates(fleet_url: str) -> list:
    with urllib.request.urlopen(fleet_url + "/updates", timeout=10) as response:
        return json.loads(response.read())["updates"]


def _told(fleet_url: str, victim_url: str, kind: str) -> list[float]:
    index = 2 if kind == "added" else 3
    return [u[1] for u in _updates(fleet_url) if any(e["service_url"] == victim_url for e in u[index])]


def _wait(predicate, timeout: float, step: float = 0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return None


def start_registry(interval: float, tree: Path = ROOT) -> Proc:
    """A registry process running the code of ``tree`` (this one, or a checkout of an older commit)."""
    return Proc(
        str(tree / "cmd/registryservice/main.py"),
        "--port",
        "0",
        "--heartbeat-interval",
        str(interval),
        "--deregister-after",
        "600",
        env={"PYTHONPATH": str(tree)},
    )


def register_fleet(registry: Proc, fleet: Proc, count: int) -> tuple[Client, str, str]:
    """Register ``count`` of the fleet's URLs as requiring VictimService; (client, registry URL, fleet URL)."""
    registry_url = registry.url()
    fleet_url = fleet.wait_for(r"fleet serving at (\S+)").group(1)
    client = Client(registry_url, timeout=30)
    register_all(client, [("FakeService", f"{fleet_url}/svc/{n}/rpc", ["VictimService"]) for n in range(count)])
    return client, registry_url, fleet_url


def register_all(client: Client, registrations: list[tuple]) -> None:
    """Register many, in batches the server takes (its --max-batch: 1,000 members by default)."""
    for start in range(0, len(registrations), 500):
        with client.batch() as batch:
            for args in registrations[start : start + 500]:
                batch.call("Registry.register", *args)


def scenario(services: int, interval: float, reps: int, tree: Path = ROOT) -> dict:
    registry = start_registry(interval, tree)
    fleet = Proc("-m", "benchmarks.fleet")
    victims: list[Proc] = []
    try:
        client, registry_url, fleet_url = register_fleet(registry, fleet, services - 1)
        detections, fanouts, totals = [], [], []
        for _ in range(reps):
            victim = Proc("-m", "benchmarks.victim", "--registry", registry_url, "--port", "0")
            victims.append(victim)
            victim_url = victim.url()
            ok = _wait(lambda url=victim_url: len(_told(fleet_url, url, "added")) >= services - 1, 30, 0.2)
            if not ok:
                raise RuntimeError("the fleet was not told about the victim")
            time.sleep(2 * interval + random.uniform(0, interval))  # steady state, random phase
            killed_at = time.time()
            victim.kill()
            if not _wait(
                lambda url=victim_url: url not in client.call("Registry.lookup", "VictimService"), 20 * interval
            ):
                raise RuntimeError("the registry never noticed the kill")
            detected_at = time.time()
            told = _wait(
                lambda url=victim_url: (lambda t: t if len(t) >= services - 1 else None)(
                    _told(fleet_url, url, "removed")
                ),
                30,
                0.05,
            )
            if not told:
                raise RuntimeError("not every dependent was told of the removal")
            detections.append(detected_at - killed_at)
            fanouts.append(max(max(told) - detected_at, 0.0))
            totals.append(max(told) - killed_at)
        return {
            "services": services,
            "interval": interval,
            "detection": median(detections),
            "detection_max": max(detections),
            "fanout": median(fanouts),
            "fanout_max": max(fanouts),
            "total": median(totals),
            "reps": reps,
        }
    finally:
        for proc in [*victims, fleet, registry]:
            proc.stop()


def silent_scenario(services: int, interval: float, silent: int, reps: int, tree: Path = ROOT) -> dict:
    """The last of ``silent`` services cut off at once leaves passing after how long; a killed one meanwhile."""
    registry = start_registry(interval, tree)
    fleet = Proc("-m", "benchmarks.fleet")
    started: list[Proc] = []
    try:
        client, registry_url, _fleet_url = register_fleet(registry, fleet, services - silent - 1)
        lasts, victims = [], []
        for _ in range(reps):
            cut = Proc("-m", "benchmarks.silent", str(silent), "--seconds", str(60 + 40 * interval))
            victim = Proc("-m", "benchmarks.victim", "--registry", registry_url, "--port", "0")
            started += [cut, victim]
            ports = cut.wait_for(r"silent ports (\S+)").group(1).split(",")
            silent_urls = {f"http://127.0.0.1:{port}/rpc" for port in ports}
            register_all(client, [("SilentService", url) for url in silent_urls])
            victim_url = victim.url()

            def steady():
                rows = client.call("Registry.services")
                return all(r["status"] == "passing" and r["last_checked"] for r in rows) and len(rows) == services

            if not _wait(steady, 30, 0.2):
                raise RuntimeError("the services never were all passing and checked")
            time.sleep(2 * interval + random.uniform(0, interval))  # steady state, random phase
            cut_at = time.time()
            os.kill(cut.popen.pid, signal.SIGUSR1)
            victim.kill()
            left: dict[str, float] = {}
            victim_left = None
            deadline = time.time() + 20 * interval
            while time.time() < deadline and (len(left) < len(silent_urls) or victim_left is None):
                # lookup, not services(): listing 2,000 rows ten times a second loaded the registry
                # itself, and the measured figures with it.
                passing = set(client.call("Registry.lookup", "SilentService"))
                victim_listed = victim_url in client.call("Registry.lookup", "VictimService")
                now = time.time()
                for url in silent_urls - passing:
                    left.setdefault(url, now)
                if not victim_listed and victim_left is None:
                    victim_left = now
                time.sleep(0.05)
            # Not all of them within 20 intervals: the figure is a lower bound, shown as "> 20".
            lasts.append(max(left.values()) - cut_at if len(left) == len(silent_urls) else float("inf"))
            victims.append(victim_left - cut_at if victim_left is not None else float("inf"))
            for url in silent_urls | {victim_url}:  # the next repetition starts from the fleet alone
                client.call("Registry.deregister", url)
            cut.kill()  # stop() in the end
        return {
            "services": services,
            "interval": interval,
            "silent": silent,
            "last": median(lasts),
            "last_max": max(lasts),
            "victim": median(victims),
            "victim_max": max(victims),
            "reps": reps,
        }
    finally:
        for proc in [*started, fleet, registry]:
            proc.stop()


def run(quick: bool = False, before: Path | None = None, only: str | None = None) -> list[dict]:
    """Every scenario, with this tree's registry, and with the ``before`` tree's first when given."""
    reps = 2 if quick else 5
    silent_reps = 1 if quick else 2
    trees = ([("before", before)] if before else []) + [("after" if before else "", ROOT)]
    rows = []
    for n, interval, goal, fan_goal in SCENARIOS if only != "silent" else []:
        for label, tree in trees:
            rows.append(
                dict(
                    scenario(n, interval, reps, tree), detection_goal=goal * interval, fanout_goal=fan_goal, tree=label
                )
            )
    for n, interval, silent in SILENT_SCENARIOS if only != "refused" else []:
        for label, tree in trees:
            rows.append(dict(silent_scenario(n, interval, silent, silent_reps, tree), tree=label))
    return rows


def _intervals(seconds: float, interval: float) -> str:
    return f"{seconds / interval:.2f}" if seconds != float("inf") else "> 20"


def _seconds(seconds: float) -> str:
    return fmt(seconds, 2) + " s" if seconds != float("inf") else "> 20 intervals"


def table(rows: list[dict]) -> str:
    refused = [r for r in rows if "silent" not in r]
    silent = [r for r in rows if "silent" in r]
    label = any(r.get("tree") for r in rows)
    tables = []
    if refused:
        lines = [
            ("| checker " if label else "") + "| services | interval | detection, median (max) | in intervals "
            "| goal | fan-out to all dependents, median (max) | goal | met |",
            ("|---" if label else "") + "|---|---|---|---|---|---|---|---|",
        ]
        for r in refused:
            met = r["detection_max"] <= r["detection_goal"] and r["fanout_max"] <= r["fanout_goal"]
            lines.append(
                (f"| {r['tree']} " if label else "") + f"| {r['services']:,} | {r['interval']:g} s "
                f"| {fmt(r['detection'], 2)} s ({fmt(r['detection_max'], 2)} s) "
                f"| {r['detection'] / r['interval']:.2f} | ≤ {r['detection_goal'] / r['interval']:g} intervals "
                f"| {fmt(r['fanout'], 2)} s ({fmt(r['fanout_max'], 2)} s) | ≤ {r['fanout_goal']:g} s "
                f"| {'yes' if met else 'NO'} |"
            )
        tables.append("\n".join(lines))
    if silent:
        lines = [
            ("| checker " if label else "") + "| services | interval | silent | last silent one leaves passing, "
            "median (max) | in intervals | killed one detected meanwhile, median (max) | in intervals "
            "| goal | met |",
            ("|---" if label else "") + "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in silent:
            met = max(r["last_max"], r["victim_max"]) <= SILENT_GOAL * r["interval"]
            lines.append(
                (f"| {r['tree']} " if label else "") + f"| {r['services']:,} | {r['interval']:g} s | {r['silent']:,} "
                f"| {_seconds(r['last'])} ({_seconds(r['last_max'])}) | {_intervals(r['last_max'], r['interval'])} "
                f"| {_seconds(r['victim'])} ({_seconds(r['victim_max'])}) "
                f"| {_intervals(r['victim_max'], r['interval'])} | ≤ {SILENT_GOAL:g} intervals "
                f"| {'yes' if met else 'NO'} |"
            )
        tables.append("\n".join(lines))
    return "\n\n".join(tables)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter repetitions")
    parser.add_argument("--before", type=Path, help="also run every scenario with the registry of this tree")
    parser.add_argument("--only", choices=["refused", "silent"], help="one family of scenarios")
    args = parser.parse_args()
    print(table(run(args.quick, args.before.resolve() if args.before else None, args.only)), flush=True)


if __name__ == "__main__":
    main()
