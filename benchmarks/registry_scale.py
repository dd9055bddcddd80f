"""Registry failure detection and fan-out at 300 and 2,000 services.

N-1 fake services (one process, ``fleet.py``) register as requiring
``VictimService``; one real ``VictimService`` process registers too and is
killed with SIGKILL at a random moment of the heartbeat cycle. We measure:

- detection: from the kill until ``Registry.lookup`` no longer lists it;
- fan-out: from then until the last of the N-1 dependents received its
  ``Service.update(removed=...)``.

Goals: 300 services at a 1 s interval: detection <= 2.5 s, fan-out <= 1 s;
2,000 at 3 s: detection <= 2.5 intervals, fan-out <= 3 s.
Run: ``python -m benchmarks.registry_scale [--quick]``.
"""

from __future__ import annotations

import json
import random
import time
import urllib.request

from rpc_cluster import Client

from .common import Proc, bench_main, fmt, median

SCENARIOS = [  # (services, interval s, detection goal in intervals, fan-out goal s)
    (300, 1.0, 2.5, 1.0),
    (2000, 3.0, 2.5, 3.0),
]


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


def scenario(services: int, interval: float, reps: int) -> dict:
    registry = Proc("cmd/registryservice/main.py", "--port", "0", "--heartbeat-interval", str(interval),
                    "--deregister-after", "600")
    fleet = Proc("-m", "benchmarks.fleet")
    victims: list[Proc] = []
    try:
        registry_url = registry.url()
        fleet_url = fleet.wait_for(r"fleet serving at (\S+)").group(1)
        client = Client(registry_url, timeout=30)
        with client.batch() as batch:
            for n in range(services - 1):
                batch.call("Registry.register", "FakeService", f"{fleet_url}/svc/{n}/rpc", ["VictimService"])
        detections, fanouts, totals = [], [], []
        for _ in range(reps):
            victim = Proc("-m", "benchmarks.victim", "--registry", registry_url, "--port", "0")
            victims.append(victim)
            victim_url = victim.url()
            ok = _wait(lambda: len(_told(fleet_url, victim_url, "added")) >= services - 1, 30, 0.2)
            if not ok:
                raise RuntimeError("the fleet was not told about the victim")
            time.sleep(2 * interval + random.uniform(0, interval))  # steady state, random phase
            killed_at = time.time()
            victim.kill()
            if not _wait(lambda: victim_url not in client.call("Registry.lookup", "VictimService"),
                         20 * interval):
                raise RuntimeError("the registry never noticed the kill")
            detected_at = time.time()
            told = _wait(lambda: (lambda t: t if len(t) >= services - 1 else None)(
                _told(fleet_url, victim_url, "removed")), 30, 0.05)
            if not told:
                raise RuntimeError("not every dependent was told of the removal")
            detections.append(detected_at - killed_at)
            fanouts.append(max(max(told) - detected_at, 0.0))
            totals.append(max(told) - killed_at)
        return {"services": services, "interval": interval, "detection": median(detections),
                "detection_max": max(detections), "fanout": median(fanouts), "fanout_max": max(fanouts),
                "total": median(totals), "reps": reps}
    finally:
        for proc in victims + [fleet, registry]:
            proc.stop()


def run(quick: bool = False) -> list[dict]:
    reps = 2 if quick else 5
    return [dict(scenario(n, interval, reps), detection_goal=goal * interval, fanout_goal=fan_goal)
            for n, interval, goal, fan_goal in SCENARIOS]


def table(rows: list[dict]) -> str:
    lines = ["| services | interval | detection, median (max) | in intervals | goal | fan-out to all dependents, median (max) | goal | met |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        met = r["detection_max"] <= r["detection_goal"] and r["fanout_max"] <= r["fanout_goal"]
        lines.append(
            f"| {r['services']:,} | {r['interval']:g} s | {fmt(r['detection'], 2)} s ({fmt(r['detection_max'], 2)} s) "
            f"| {r['detection'] / r['interval']:.2f} | ≤ {r['detection_goal'] / r['interval']:g} intervals "
            f"| {fmt(r['fanout'], 2)} s ({fmt(r['fanout_max'], 2)} s) | ≤ {r['fanout_goal']:g} s "
            f"| {'yes' if met else 'NO'} |")
    return "\n".join(lines)


def main() -> None:
    bench_main(__doc__, run, table)


if __name__ == "__main__":
    main()
