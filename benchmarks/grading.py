"""Grading at 10,000 students x 20 grades, on SQLite and on PostgreSQL.

Side by side in one run: ``Grades.get_student`` (a random student each call)
and ``Grades.get_students(limit=50)`` (a random page) with 16 keep-alive
clients and with 1, against each store; and the same server stack returning
a constant from an empty method (the limit). Goal: ``get_student`` reaches at
least 70% of the constant method's rate. Run: ``python -m benchmarks.grading``.
"""

from __future__ import annotations

import os
import random
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from .common import Proc, bench_main, fmt, median, wrk

STUDENTS, GRADES_EACH = 10_000, 20
POSTGRES_URL = os.environ.get("RPC_CLUSTER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
TYPES = ("Quiz", "Test", "Exam", "Homework")


def _rows(rng: random.Random, names: Callable[[int], tuple[str, str]] | None = None):
    students = [names(n) if names else (f"First{n}", f"Last{n}") for n in range(STUDENTS)]
    grades = [
        (sid, f"Grade {g}", TYPES[g % 4], float(rng.randint(0, 100)))
        for sid in range(1, STUDENTS + 1)
        for g in range(GRADES_EACH)
    ]
    return students, grades


def load_sqlite(path: Path, names: Callable[[int], tuple[str, str]] | None = None) -> None:
    import sqlite3

    from rpc_cluster.grading.storage.sqlite import SqliteStore

    SqliteStore(path).close()  # schema and the 5 seed students
    students, grades = _rows(random.Random(1), names)
    with sqlite3.connect(path) as conn:
        for table in ("grades", "enrolments", "classes", "students", "sqlite_sequence"):
            conn.execute(f"DELETE FROM {table}")
        conn.executemany("INSERT INTO students (first_name, last_name) VALUES (?, ?)", students)
        conn.executemany("INSERT INTO grades (student_id, title, type, score) VALUES (?, ?, ?, ?)", grades)


class LoadedSqlite:
    """A temporary SQLite file holding the benchmark's class; ``.path``, ``cleanup()``.

    ``names(n)``: student n's (first, last) name; default First<n> Last<n>.
    """

    def __init__(self, names: Callable[[int], tuple[str, str]] | None = None) -> None:
        self._folder = tempfile.TemporaryDirectory()
        self.path = Path(self._folder.name) / "grades.db"
        load_sqlite(self.path, names)

    def cleanup(self) -> None:
        self._folder.cleanup()


def load_postgres(url: str, names: Callable[[int], tuple[str, str]] | None = None) -> None:
    import psycopg

    from rpc_cluster.grading.storage.postgres import PostgresStore

    PostgresStore(url).close()
    students, grades = _rows(random.Random(1), names)
    with psycopg.connect(url) as conn:
        conn.execute("TRUNCATE grades, student_totals, enrolments, assignments, classes, students RESTART IDENTITY")
        with conn.cursor().copy("COPY students (first_name, last_name) FROM STDIN") as copy:
            for row in students:
                copy.write_row(row)
        with conn.cursor().copy("COPY grades (student_id, title, type, score) FROM STDIN") as copy:
            for row in grades:
                copy.write_row(row)
    # As autovacuum would after a load: drop the dead row versions that filling in the
    # totals left, so the tables are the size a running store's would be.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


class LoadedPostgres:
    """A fresh schema of the PostgreSQL server holding the benchmark's class; ``.url``, ``cleanup()``.

    Raises when no server answers at RPC_CLUSTER_TEST_POSTGRES_URL. ``names`` as for LoadedSqlite.
    """

    def __init__(self, names: Callable[[int], tuple[str, str]] | None = None) -> None:
        import psycopg

        self._admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
        self._schema = f"rpc_bench_{uuid.uuid4().hex[:8]}"
        self._admin.execute(f"CREATE SCHEMA {self._schema}")
        self.url = f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options=-csearch_path%3D{self._schema}"
        try:
            load_postgres(self.url, names)
        except BaseException:
            self.cleanup()
            raise

    def cleanup(self) -> None:
        self._admin.execute(f"DROP SCHEMA {self._schema} CASCADE")
        self._admin.close()


def _lua(method: str) -> str:
    params = (
        f'"[" .. math.random(1, {STUDENTS}) .. "]"'
        if method == "get_student"
        else f'"{{\\"offset\\": " .. math.random(0, {STUDENTS - 50}) .. ", \\"limit\\": 50}}"'
    )
    return (
        f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"request = function()\n  return wrk.format(nil, nil, nil, "
        f'\'{{"jsonrpc": "2.0", "method": "Grades.{method}", "id": 1, "params": \' .. {params} .. "}}")\nend\n'
    )


def grading_proc(db: str) -> Proc:
    """A grading service on a free port over ``db``, registering nowhere."""
    return Proc("cmd/gradingservice/main.py", "--port", "0", "--registry", "http://127.0.0.1:9/rpc", "--db", db)


CONSTANT = b'{"jsonrpc": "2.0", "method": "Bench.ping", "id": 1}'


def run(quick: bool = False) -> list[dict]:
    reps, seconds = (1, 3) if quick else (3, 5)
    folder = LoadedSqlite()
    sqlite_path = folder.path
    procs = {}
    postgres = None
    try:
        procs["constant (empty method, same stack)"] = Proc("-m", "benchmarks.servers", "cluster")
        procs["SQLite"] = grading_proc(str(sqlite_path))
        try:
            postgres = LoadedPostgres()
            procs["PostgreSQL"] = grading_proc(postgres.url)
        except Exception as exc:  # no server here: report SQLite alone
            print(f"grading: PostgreSQL skipped: {exc}")
        urls = {name: proc.url() for name, proc in procs.items()}
        cases = [("constant (empty method, same stack)", "constant", None)]
        for store in ("SQLite", "PostgreSQL"):
            if store in urls:
                cases += [
                    (store, "get_student", _lua("get_student")),
                    (store, "get_students(limit=50)", _lua("get_students")),
                ]
        samples: dict[tuple, list] = {}
        for _ in range(reps):
            for store, method, lua in cases:
                for clients in (16, 1):
                    result = (
                        wrk(urls[store], body=CONSTANT, connections=clients, seconds=seconds)
                        if lua is None
                        else wrk(urls[store], lua=lua, connections=clients, seconds=seconds)
                    )
                    samples.setdefault((store, method, clients), []).append(result)
    finally:
        for proc in procs.values():
            proc.stop()
        if postgres is not None:
            postgres.cleanup()
        folder.cleanup()
    return [
        {
            "store": store,
            "method": method,
            "clients": clients,
            "rps": median([r["rps"] for r in runs]),
            "p50_ms": median([r.get("p50_ms", 0) for r in runs]),
            "p99_ms": median([r.get("p99_ms", 0) for r in runs]),
            "errors": sum(r["errors"] for r in runs),
        }
        for (store, method, clients), runs in samples.items()
    ]


def table(rows: list[dict]) -> str:
    limit = next(r["rps"] for r in rows if r["method"] == "constant" and r["clients"] == 16)
    lines = [
        f"| store | call ({STUDENTS:,} students x {GRADES_EACH} grades) "
        "| clients | calls/s | p50 | p99 | vs constant |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['store']} | {r['method']} | {r['clients']} | {fmt(r['rps'])} | {r['p50_ms']:.2f} ms "
            f"| {r['p99_ms']:.2f} ms | {100 * r['rps'] / limit if r['clients'] == 16 else float('nan'):.0f}% |".replace(
                "| nan% |", "| |"
            )
            + (f" ({r['errors']} errors)" if r["errors"] else "")
        )
    verdicts = []
    for r in rows:
        if r["method"] == "get_student" and r["clients"] == 16:
            share = r["rps"] / limit
            verdicts.append(f"{r['store']} {100 * share:.0f}% ({'met' if share >= 0.7 else 'NOT met'})")
    lines += [
        "",
        "Goal: `Grades.get_student` at 16 clients ≥ 70% of the constant method. Measured: " + "; ".join(verdicts) + ".",
    ]
    return "\n".join(lines)


def main() -> None:
    bench_main(__doc__, run, table)


if __name__ == "__main__":
    main()
