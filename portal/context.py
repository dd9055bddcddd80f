"""The ``Portal`` context: one app's clients and settings, which every page finds with ``context()``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any, Protocol

import bottle

from .cluster_stats import ClusterWatch
from .page_metrics import PageMetrics

_CONTEXT_KEY = "portal.context"


class Caller(Protocol):
    """A client of one service (``rpc_cluster.Client``, ``RegistryClient`` or ``Service.connect``'s)."""

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """The method's result: whatever JSON the service answers."""


@dataclass(frozen=True)
class Portal:
    """One app's clients and settings, stored in its ``app.config``.

    ``grading``: a client for GradingService (``grading.Grades.get_student(1)``);
    ``registry`` and ``logs``: clients for the /cluster page (optional);
    ``csrf_secret``: the key that signs the sign-in form's CSRF token and the
    flash messages; random for each app unless given (portals behind one
    balancer must share it); ``session_idle`` and ``session_max``: the seconds
    a session made here lasts unused, and at most.
    """

    grading: Caller
    registry: Caller | None = None
    logs: Caller | None = None
    secure_cookies: bool = False
    #: Each instance's last minute from its /metrics, for /cluster.
    watch: ClusterWatch | None = None
    #: Where each page is counted and timed, if anywhere.
    pages: PageMetrics | None = None
    csrf_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    session_idle: float = 3600.0
    session_max: float = 43200.0

    def sign(self, text: str, purpose: bytes) -> str:
        """The HMAC of ``text`` for ``purpose`` with ``csrf_secret``, URL-safe base64 (43 characters)."""
        digest = hmac.new(self.csrf_secret, purpose + b"\0" + text.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def attach(self, app: bottle.Bottle) -> None:
        app.config[_CONTEXT_KEY] = self


def context() -> Portal:
    """The ``Portal`` of the app serving the current request."""
    portal: Portal = bottle.request.app.config[_CONTEXT_KEY]  # set by attach(); bottle is untyped
    return portal
