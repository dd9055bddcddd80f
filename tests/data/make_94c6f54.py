"""Make grades-94c6f54.db and postgres-94c6f54.sql with the release at commit 94c6f54.

The fixtures of tests/test_migrations.py: databases as that release's grading service
left them, so the migrations are tested on what people have today. Nothing here
imports rpc_cluster: the release runs as its own process (its ``rpc-cluster`` from a
venv made in a worktree of that commit) and is driven over plain JSON-RPC, with the
standard library only::

    git worktree add --detach /tmp/old94 94c6f54
    python3 -m venv /tmp/old94/.venv && /tmp/old94/.venv/bin/pip install -e /tmp/old94
    python3 tests/data/make_94c6f54.py /tmp/old94/.venv/bin/rpc-cluster
    git worktree remove --force /tmp/old94

PostgreSQL: the database of ``--postgres`` (default: the tests' one) gets a schema of
its own for the run, dropped afterwards. pg_dump must be on PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SQLITE_FILE = "grades-94c6f54.db"
POSTGRES_FILE = "postgres-94c6f54.sql"
DEFAULT_POSTGRES = os.environ.get("RPC_CLUSTER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SERVING = re.compile(r"GradingService serving at (\S+)")
# Names as people type them: accents (é written decomposed, as some keyboards send it),
# other scripts, and a student who never gets a grade.
STUDENTS = (
    ("Zoë", "Ångström"),
    ("Дмитрий", "Шостакович"),
    ("Jose\u0301", "Nun\u0303ez"),
    ("花子", "山田"),
    ("Ada", "Lovelace"),
)
HEADER = """\
-- Grading's PostgreSQL schema and data as the release at commit 94c6f54 left them,
-- made by tests/data/make_94c6f54.py (see README-94c6f54.md). Loads into the schema
-- that search_path names: no object is schema-qualified. The trigram index names
-- public.gin_trgm_ops: pg_trgm must be installed in schema public first.
"""


class Release:
    """The old release's grading service, started for real and stopped by SIGTERM."""

    def __init__(self, command: str, db: str, logs: Path):
        self._log = logs.open("w+")
        self._process = subprocess.Popen(
            [command, "grading", "--port", "0", "--registry", "http://127.0.0.1:9/rpc", "--db", db],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.url = self._wait_for_url(logs)
        self._calls = 0

    def _wait_for_url(self, logs: Path) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = SERVING.search(logs.read_text())
            if found:
                return found.group(1)
            if self._process.poll() is not None:
                sys.exit(f"the release's grading service exited:\n{logs.read_text()}")
            time.sleep(0.05)
        self._process.kill()
        sys.exit(f"the release's grading service did not start:\n{logs.read_text()}")

    def call(self, method: str, **params: Any) -> Any:
        self._calls += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self._calls, "method": method, "params": params}).encode()
        request = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.load(response)
        if "error" in answer:
            sys.exit(f"{method}{params}: {answer['error']}")
        return answer["result"]

    def stop(self) -> None:
        self._process.send_signal(signal.SIGTERM)
        code = self._process.wait(timeout=30)
        self._log.close()
        if code != 0:
            sys.exit(f"the release's grading service exited with {code}")


def fill(release: Release) -> None:
    """Seeded by the release itself (students 1-5, grades 1-15), then students and grades over its RPC."""
    if release.call("Grades.count_students") != 5:
        sys.exit("expected the release's five seeded students")
    ids = [
        release.call("Grades.add_student", first_name=first, last_name=last, request_id=f"fixture-student-{n}")["id"]
        for n, (first, last) in enumerate(STUDENTS, 1)
    ]
    if ids != [6, 7, 8, 9, 10]:
        sys.exit(f"expected students 6-10, got {ids}")
    zoe, dmitri, jose, hanako, _ada = ids
    grades = [
        release.call("Grades.add_grade", student_id=zoe, title="Essay: Über die Zeit", type="Homework", score=91.5,
                     request_id="fixture-grade-1"),
        release.call("Grades.add_grade", student_id=zoe, title="Quiz 1", type="Quiz", score=78),
        release.call("Grades.add_grade", student_id=dmitri, title="Контрольная работа", type="Test", score=88.25),
        release.call("Grades.add_grade", student_id=jose, title='Exam "final", part 2', type="Exam", score=64),
        release.call("Grades.add_grade", student_id=hanako, title="期末試験", type="Exam", score=99.5),
    ]  # fmt: skip
    if [grade["id"] for grade in grades] != [16, 17, 18, 19, 20]:
        sys.exit(f"expected grades 16-20, got {grades}")
    imported = release.call(
        "Grades.import_grades",
        csv_text=f"student_id,title,type,score\n{dmitri},Домашнее задание,Homework,72\n{jose},Quiz 2,Quiz,80.75\n",
        request_id="fixture-import-1",
    )
    if imported != {"imported": 2}:
        sys.exit(f"expected two grades imported, got {imported}")
    release.call("Grades.update_grade", grade_id=18, title="Контрольная работа (пересдача)", score=93)
    release.call("Grades.update_grade", grade_id=1, type="Test", score=87)
    release.call("Grades.delete_grade", grade_id=17)
    release.call("Grades.delete_grade", grade_id=5)


def make_sqlite(command: str, out: Path, work: Path) -> None:
    db = work / "grades.db"
    release = Release(command, str(db), work / "sqlite.log")
    fill(release)
    release.stop()
    # The release's clean stop checkpoints and removes the WAL; make sure of it.
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for suffix in ("-wal", "-shm"):
        if Path(f"{db}{suffix}").exists():
            sys.exit(f"{db}{suffix} is still there")
    (out / SQLITE_FILE).write_bytes(db.read_bytes())
    print(f"{out / SQLITE_FILE}: {db.stat().st_size} bytes")


def make_postgres(command: str, out: Path, work: Path, url: str) -> None:
    schema = f"fixture_94c6f54_{uuid.uuid4().hex[:8]}"
    psql(url, f"CREATE SCHEMA {schema}")
    try:
        separator = "&" if "?" in url else "?"
        release = Release(command, f"{url}{separator}options=-csearch_path%3D{schema}", work / "postgres.log")
        fill(release)
        release.stop()
        dump = subprocess.run(
            ["pg_dump", "--dbname", url, "--schema", schema, "--no-owner", "--no-privileges", "--inserts"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        psql(url, f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    text = unqualified(dump, schema)
    (out / POSTGRES_FILE).write_text(text)
    print(f"{out / POSTGRES_FILE}: {len(text.encode())} bytes")


def unqualified(dump: str, schema: str) -> str:
    """pg_dump's output loadable into any schema: its comments, psql commands, the CREATE
    SCHEMA, the empty search_path and every ``schema.`` qualifier taken out."""
    kept = []
    for line in dump.splitlines():
        if line.startswith(("--", "\\")) or line == f"CREATE SCHEMA {schema};" or "set_config('search_path'" in line:
            continue
        kept.append(line.replace(f"{schema}.", ""))
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    if schema in text:
        sys.exit(f"the dump still names schema {schema}")
    return f"{HEADER}\n{text}\n"


def psql(url: str, sql: str) -> None:
    quiet = f"SET client_min_messages = warning; {sql}"
    subprocess.run(["psql", "--dbname", url, "--quiet", "--set", "ON_ERROR_STOP=1", "-c", quiet], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", help="the release's rpc-cluster executable")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="a PostgreSQL database to make the dump in")
    parser.add_argument("--out", type=Path, default=HERE, help="where the fixtures go (default: next to this file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        make_sqlite(args.command, args.out, Path(work))
        make_postgres(args.command, args.out, Path(work), args.postgres)


if __name__ == "__main__":
    main()
