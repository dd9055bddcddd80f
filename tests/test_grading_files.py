"""The grading service's SQLite file and its -wal and -shm files are private (0600), like the log."""

import os
import stat

import pytest

from rpc_cluster import Client
from rpc_cluster.grading.service import GradingService
from rpc_cluster.grading.storage.sqlite import SqliteStore

NOWHERE = "http://127.0.0.1:9/rpc"


@pytest.fixture
def usual_umask():
    """The umask most shells give (0022: files readable by all unless created otherwise)."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_grades_file_and_its_wal_and_shm_are_readable_by_their_owner_only(tmp_path, usual_umask):
    db = tmp_path / "data" / "grades.db"
    with GradingService(port=0, registry=NOWHERE, db=str(db)) as service:
        Client(service.url).Grades.add_student("Ada", "Lovelace")  # a write: the -wal and -shm exist now
        files = [db, db.with_name("grades.db-wal"), db.with_name("grades.db-shm")]
        assert all(path.exists() for path in files), sorted(os.listdir(db.parent))
        assert {str(path): oct(mode(path)) for path in files} == {str(path): "0o600" for path in files}


def test_an_existing_grades_file_keeps_its_mode_and_its_data(tmp_path, usual_umask):
    db = tmp_path / "grades.db"
    store = SqliteStore(db)
    store.add_student("Ada", "Lovelace")
    store.close()
    os.chmod(db, 0o640)  # the owner's choice, e.g. a backup group that reads it
    store = SqliteStore(db)
    try:
        assert mode(db) == 0o640
        assert store.list_students(0, 10, "lovelace", "name")["total"] == 1
    finally:
        store.close()
