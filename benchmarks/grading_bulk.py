"""Grading's import and listing at 10,000 students x 20 grades, on SQLite and on PostgreSQL.

Side by side in one run, one client calling sequentially, against each store:

- 10,000 grades in one CSV through ``Grades.import_grades``, and the same
  grades through ``Grades.add_grade``, one call each. The add_grade loop
  stops after 10,000 calls or ``ADD_SECONDS``, whichever comes first; its
  time for 10,000 is its mean call time x 10,000. Goal: the import ≤ 2 s.
- ``Grades.list_students``: the first page (50) by name, the first page by
  ``-average``, and a search (a random surname: about ten students each),
  taken in turn with ``Grades.count_students`` (the floor: what the cheapest
  call costs through the same stack), at most ``LIST_CALLS`` rounds or
  ``LIST_SECONDS``. Goal: p50 ≤ 1.5 ms.

The class has names like a school's (``school_name``), not ``First<n> Last<n>``.

Run: ``python -m benchmarks.grading_bulk [--quick]``.
"""

from __future__ import annotations

import random
import time

from rpc_cluster import Client

from .common import bench_main, median
from .grading import STUDENTS, TYPES, LoadedPostgres, LoadedSqlite, grading_proc

# Names like a school's: 50 first names, 1,000 surnames (about ten students each), so a
# search meets the trigram spread of real names rather than "First<n> Last<n>".
FIRST = (
    "Ada",
    "Alan",
    "Alice",
    "Amir",
    "Anna",
    "Ben",
    "Carla",
    "Chen",
    "Chloe",
    "Dan",
    "Dana",
    "Eli",
    "Emma",
    "Eva",
    "Farah",
    "Finn",
    "Grace",
    "Hana",
    "Hugo",
    "Ines",
    "Ivan",
    "Jack",
    "Jana",
    "Jonas",
    "Kai",
    "Kim",
    "Lea",
    "Leo",
    "Lina",
    "Luca",
    "Maya",
    "Mia",
    "Nick",
    "Nina",
    "Noah",
    "Omar",
    "Paul",
    "Priya",
    "Rosa",
    "Sam",
    "Sara",
    "Sofia",
    "Tara",
    "Theo",
    "Tom",
    "Uma",
    "Vera",
    "Wei",
    "Yara",
    "Zoe",
)
STEMS = (
    "Ander",
    "Ash",
    "Bal",
    "Brad",
    "Bur",
    "Car",
    "Cole",
    "Crom",
    "Dal",
    "Dun",
    "Ed",
    "Eller",
    "Fair",
    "Fitz",
    "Ford",
    "Gar",
    "Gold",
    "Grey",
    "Har",
    "Hol",
    "Ing",
    "Jo",
    "Kel",
    "Kirk",
    "Lang",
    "Lind",
    "Mar",
    "Mc",
    "Nor",
    "Old",
    "Pen",
    "Quin",
    "Ros",
    "Stan",
    "Thorn",
    "Up",
    "Val",
    "Wex",
    "York",
    "Zim",
)
ENDINGS = (
    "son",
    "man",
    "ley",
    "ton",
    "well",
    "field",
    "ford",
    "berg",
    "stein",
    "wood",
    "by",
    "more",
    "er",
    "sen",
    "ski",
    "ez",
    "ini",
    "ova",
    "dale",
    "hurst",
    "worth",
    "ridge",
    "combe",
    "ham",
    "ing",
)
SURNAMES = tuple(stem + ending for stem in STEMS for ending in ENDINGS)


def school_name(n: int) -> tuple[str, str]:
    """Student n's (first, last) name, the same on every run."""
    return FIRST[(n * 7 + n // len(SURNAMES)) % len(FIRST)], SURNAMES[n * 7919 % len(SURNAMES)]


IMPORT_ROWS = 10_000
ADD_SECONDS, LIST_CALLS, LIST_SECONDS = 20.0, 2_000, 15.0
IMPORT_GOAL_S, LIST_GOAL_MS = 2.0, 1.5


def _csv(rng: random.Random, rep: int) -> tuple[str, list[tuple]]:
    rows = [
        (rng.randint(1, STUDENTS), f"Import {rep}-{n}", TYPES[n % 4], float(rng.randint(0, 100)))
        for n in range(IMPORT_ROWS)
    ]
    return "student_id,title,type,score\n" + "".join(f"{s},{t},{k},{v}\n" for s, t, k, v in rows), rows


def _timed(call, count: int, seconds: float) -> list[float]:
    """Milliseconds of each of up to ``count`` calls, made for at most ``seconds``."""
    times: list[float] = []
    deadline = time.monotonic() + seconds
    while len(times) < count and time.monotonic() < deadline:
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def _store(
    url: str, reps: int, add_calls: int, add_seconds: float, list_calls: int, list_seconds: float
) -> dict[str, list]:
    client = Client(url, timeout=60)
    rng = random.Random(13)
    for _ in range(20):  # warm the connection and the server's caches
        client.Grades.list_students(limit=50)
    samples: dict[str, list] = {}
    for rep in range(reps):
        text, rows = _csv(rng, rep)
        start = time.perf_counter()
        assert client.Grades.import_grades(text) == {"imported": IMPORT_ROWS}
        samples.setdefault("import", []).append(time.perf_counter() - start)
        feed = iter(rows)
        times = _timed(lambda feed=feed: client.Grades.add_grade(*next(feed)), add_calls, add_seconds)
        samples.setdefault("add_grade", []).append(times)
        calls = {
            "count_students (the floor: the cheapest call)": client.Grades.count_students,
            "list_students, first page by name": lambda: client.Grades.list_students(limit=50),
            "list_students, first page by -average": lambda: client.Grades.list_students(limit=50, sort="-average"),
            "list_students, search (a surname)": lambda: client.Grades.list_students(
                limit=50, query=rng.choice(SURNAMES)
            ),
        }
        for name, times in _round_robin(calls, list_calls, list_seconds).items():
            samples.setdefault(name, []).append(times)
    return samples


def _round_robin(calls: dict, count: int, seconds: float) -> dict[str, list[float]]:
    """Milliseconds of up to ``count`` calls of each, taken in turn for at most ``seconds``.

    In turn, so that whatever else loads the machine weighs on each the same.
    """
    times: dict[str, list[float]] = {name: [] for name in calls}
    deadline = time.monotonic() + seconds
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append((time.perf_counter() - start) * 1000)
    return times


def run(quick: bool = False) -> dict[str, dict[str, list]]:
    reps, add_calls, add_seconds = (1, 2_000, 5.0) if quick else (3, IMPORT_ROWS, ADD_SECONDS)
    list_calls, list_seconds = (500, 3.0) if quick else (LIST_CALLS, LIST_SECONDS)
    results: dict[str, dict[str, list]] = {}

    def served(db: str) -> dict[str, list]:
        proc = grading_proc(db)
        try:
            return _store(proc.url(), reps, add_calls, add_seconds, list_calls, list_seconds)
        finally:
            proc.stop()

    sqlite = LoadedSqlite(school_name)
    try:
        results["SQLite"] = served(str(sqlite.path))
    finally:
        sqlite.cleanup()
    try:
        postgres = LoadedPostgres(school_name)
    except Exception as exc:  # no server here: report SQLite alone
        print(f"grading_bulk: PostgreSQL skipped: {exc}")
        return results
    try:
        results["PostgreSQL"] = served(postgres.url)
    finally:
        postgres.cleanup()
    return results


def _percentile(times: list[float], share: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def table(results: dict[str, dict[str, list]]) -> str:
    lines = [f"| store | {IMPORT_ROWS:,} grades | time | per grade | vs import |", "|---|---|---|---|---|"]
    verdicts = []
    for store, samples in results.items():
        imported = median(samples["import"])
        per_call = [sum(times) / len(times) for times in samples["add_grade"]]
        calls = sum(len(times) for times in samples["add_grade"])
        added = median(per_call) * IMPORT_ROWS / 1000
        lines.append(
            f"| {store} | one import_grades (CSV) | {imported:.2f} s | {1e6 * imported / IMPORT_ROWS:.0f} µs | 1x |"
        )
        lines.append(
            f"| {store} | add_grade, one call each ({calls:,} calls made) | {added:.1f} s | "
            f"{1000 * median(per_call):.0f} µs | {added / imported:.0f}x |"
        )
        verdicts.append(f"{store} {imported:.2f} s ({'met' if imported <= IMPORT_GOAL_S else 'NOT met'})")
    lines += [
        "",
        f"Goal: importing {IMPORT_ROWS:,} grades ≤ {IMPORT_GOAL_S:g} s. Measured: "
        + "; ".join(verdicts)
        + ". The add_grade time for 10,000 is its mean call time x 10,000 (medians of runs).",
        "",
        f"| store | call at {STUDENTS:,} students, one client | calls | p50 | p99 |",
        "|---|---|---|---|---|",
    ]
    verdicts = []
    for store, samples in results.items():
        for name, runs in samples.items():
            if name in ("import", "add_grade"):
                continue
            times = [t for run in runs for t in run]
            p50 = median([median(run) for run in runs])
            lines.append(f"| {store} | {name} | {len(times):,} | {p50:.2f} ms | {_percentile(times, 0.99):.2f} ms |")
            if name.startswith("list_students"):
                verdicts.append(
                    f"{store} {name.split(', ', 1)[1]} {p50:.2f} ms ({'met' if p50 <= LIST_GOAL_MS else 'NOT met'})"
                )
    lines += [
        "",
        f"Goal: list_students p50 ≤ {LIST_GOAL_MS:g} ms, measured around `Client.call` (our client, "
        "keep-alive; the calls taken in turn). Measured: " + "; ".join(verdicts) + ".",
    ]
    return "\n".join(lines)


def main() -> None:
    bench_main(__doc__, run, table)


if __name__ == "__main__":
    main()
