"""The first user of a fresh cluster: ``admin``, with a random password that ``rpc-cluster up`` prints once.

The password is kept in ``<data>/admin-password``, created readable by its
owner only (mode 0600 from the start, never changed after: there is no moment
when others could read it). A later start finds the file and says where it is
instead of printing the password again.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from ..client.client import Client
from ..core.errors import Conflict, RpcError

#: The first user's name, and the file in --data that keeps its password.
USERNAME = "admin"
PASSWORD_FILE = "admin-password"


def _keep(path: Path, password: str) -> None:
    """Write ``password`` to a new file at ``path``, mode 0600 as it is created; FileExistsError if it exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")


def sign_in_line(grading: Client, data: Path, portal: str) -> str:
    """What ``up`` prints beside the portal's URL: how to sign in as admin.

    On a fresh ``data`` this makes the admin user with a new random password
    and keeps it; later it only says where the password is kept.
    """
    kept = data / PASSWORD_FILE
    if kept.exists():
        return f"Sign in at {portal} as {USERNAME} with the password kept in {kept}"
    password = secrets.token_urlsafe(18)
    try:
        grading.call("Users.add", username=USERNAME, role="admin", password=password, display_name="Administrator")
    except Conflict:
        return (
            f"Sign in at {portal} as {USERNAME} ({kept} is gone; "
            f"`rpc-cluster user passwd {USERNAME}` sets a new password)"
        )
    except RpcError as exc:
        return f"up: could not add the user {USERNAME}: {exc}"
    try:
        _keep(kept, password)
    except OSError as exc:
        return f"Sign in at {portal} as {USERNAME} with password: {password}   (not kept: {exc.strerror}: {kept})"
    return f"Sign in at {portal} as {USERNAME} with password: {password}   (kept in {kept})"
