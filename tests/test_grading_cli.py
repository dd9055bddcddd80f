"""``rpc-cluster grading --db``: a value that can name no store is a one-line usage error (exit 2) at once."""

import os
import subprocess
import sys

import pytest

from rpc_cluster.grading.open_store import check_db

BAD = [
    "postgresql://€:1/x",
    "postgresql://user:pw@bad host/x",
    "postgres://db.example:99999/x",
    "postgresql://[zz]:5432/x",
    "postgresql://ok.example,bad_☃/x",
    "",
]


def grading(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rpc_cluster", "grading", "--port", "0", "--registry", "http://127.0.0.1:9/rpc", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("db", BAD)
def test_a_bad_db_flag_is_one_line_and_exit_2(db):
    done = grading("--db", db)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--db" in lines[0], done.stderr


def test_a_bad_db_in_the_environment_is_one_line_and_exit_2():
    done = grading(env={"RPC_CLUSTER_GRADING_DB": "postgresql://€:1/x"})
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "RPC_CLUSTER_GRADING_DB" in lines[0] and "'€'" in lines[0], done.stderr


@pytest.mark.parametrize(
    "db",
    [
        "grades.db",
        "./data/grades db.sqlite",
        "postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dx",
        "postgresql://user:p%40ss@db.example/grades",
        "postgresql://[::1]:5432/x",
        "postgresql://one.example:5432,two.example:5433/x?target_session_attrs=read-write",
        "postgresql:///grades?host=/var/run/postgresql",
        "postgresql://%2Fvar%2Frun%2Fpostgresql/grades",
        "postgresql://:5433/grades",
        "postgres://оценки.example/x",
    ],
)
def test_good_db_values_pass_as_given(db):
    assert check_db(db) == db


@pytest.mark.parametrize("db", BAD)
def test_check_db_says_why_in_one_line(db):
    with pytest.raises(ValueError) as info:
        check_db(db)
    assert "\n" not in str(info.value) and str(info.value)
