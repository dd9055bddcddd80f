"""etcd, for the registry's shared state: the one module that talks to it.

Through ``etcd3gw`` (etcd's JSON gateway over ``requests``: no grpc, no
protobuf). etcd3gw takes one endpoint per client, so moving on to another
member of the cluster when one fails is done here, in ``Etcd.request``, and
every etcd error leaves this module as ``EtcdUnavailable``.

The watch is our own small loop over the gateway's streaming ``/watch``:
it remembers the last revision it delivered and, when the stream breaks
(a member killed), starts again on the next member from the revision after
it, so no event is missed or seen twice across a reconnect.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

import etcd3gw
import requests
from etcd3gw import exceptions as etcd_errors

from ...client import retry
from ...net import urls

log = logging.getLogger("rpc_cluster.registry.etcd.gateway")

#: One request or answer of the gateway, as JSON: etcd's own shapes, read field by field.
Json = dict[str, Any]

# An answer from a live member takes milliseconds; one that takes this long is a dead or cut-off member.
REQUEST_TIMEOUT = 2.0
# A watch stream that says nothing for this long is reconnected (see _stream).
WATCH_IDLE = 10.0


class EtcdUnavailable(Exception):
    """No member of the etcd cluster answered (or etcd refused the request)."""


class Compacted(EtcdUnavailable):
    """A watch asked for a revision etcd has compacted away: load a fresh snapshot."""


def parse_url(url: str) -> tuple[list[tuple[str, int]], str]:
    """``etcd://HOST:PORT[,HOST:PORT...][/PREFIX]`` -> (members, key prefix, default "rpc-cluster")."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "etcd" or not parts.netloc:
        raise ValueError(f"{url!r} is not an etcd://HOST:PORT[,HOST:PORT...][/PREFIX] URL")
    members = []
    for member in parts.netloc.split(","):
        host, _, port = member.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{member!r} in {url!r} is not HOST:PORT")
        try:
            # Each member is reached over http://HOST:PORT: the URL rule says now, not at the first request.
            urls.parse(f"http://{member}/")
        except urls.BadUrl as exc:
            raise ValueError(f"{member!r} in {url!r} is not HOST:PORT: {exc}") from None
        members.append((host.strip("[]"), int(port)))
    prefix = parts.path.strip("/") or "rpc-cluster"
    return members, f"/{prefix}/"


def encode(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def decode(text: str | None) -> str:
    return base64.b64decode(text or "").decode()


def prefix_end(prefix: str) -> str:
    """The end of the key range that starts with ``prefix``."""
    raw = prefix.encode()
    return (raw[:-1] + bytes([raw[-1] + 1])).decode()


class Etcd:
    """A client for an etcd cluster that moves to the next member when one fails."""

    def __init__(self, members: Iterable[tuple[str, int]], *, timeout: float = REQUEST_TIMEOUT):
        self.members = list(members)
        if not self.members:
            raise ValueError("etcd: no members given")
        self.timeout = timeout
        self._clients = [
            etcd3gw.client(host=host, port=port, timeout=timeout, api_path="/v3/") for host, port in self.members
        ]
        self._current = 0
        self._lock = threading.Lock()

    def request(self, path: str, payload: Json) -> Json:
        """POST one gateway request (``/kv/range``, ``/kv/txn``, ``/lease/grant`` ...) to any live member."""
        problems = []
        for _ in range(len(self._clients)):
            with self._lock:
                index = self._current
            client = self._clients[index]
            try:
                answer: Json = client.post(client.get_url(path), json=payload)
                return answer
            except (
                etcd_errors.ConnectionFailedError,
                etcd_errors.ConnectionTimeoutError,
                etcd_errors.InternalServerError,
            ) as exc:
                problems.append(f"{client.host}:{client.port}: {type(exc).__name__}")
                with self._lock:
                    if self._current == index:
                        self._current = (index + 1) % len(self._clients)
            except (etcd_errors.Etcd3Exception, requests.RequestException, ValueError) as exc:
                raise EtcdUnavailable(f"etcd: {path}: {exc}") from None
        raise EtcdUnavailable(f"etcd: no member answered {path} ({'; '.join(problems)})")

    def quick_request(self, path: str, payload: Json, timeout: float) -> Json:
        """One try, on the current member, within ``timeout``: for reads that have a fallback."""
        with self._lock:
            client = self._clients[self._current]
        try:
            response = client.session.post(client.get_url(path), json=payload, timeout=timeout)
            response.raise_for_status()
            answer: Json = response.json()
            return answer
        except (requests.RequestException, ValueError) as exc:
            raise EtcdUnavailable(f"etcd: {path}: {type(exc).__name__}") from None

    # -- the few operations the registry needs ----------------------------------------------

    def range(self, prefix: str) -> tuple[int, list[tuple[str, str, int]]]:
        """(revision, [(key, value, mod_revision)]) of every key under ``prefix``."""
        answer = self.request("/kv/range", {"key": encode(prefix), "range_end": encode(prefix_end(prefix))})
        rows = [(decode(kv["key"]), decode(kv.get("value")), int(kv["mod_revision"])) for kv in answer.get("kvs", [])]
        return int(answer["header"]["revision"]), rows

    def txn(self, compare: list[Json], success: list[Json], failure: list[Json] | None = None) -> tuple[bool, int]:
        """One transaction: (whether ``compare`` held, the revision after it)."""
        answer = self.txn_answer(compare, success, failure)
        return bool(answer.get("succeeded", False)), int(answer["header"]["revision"])

    def txn_answer(self, compare: list[Json], success: list[Json], failure: list[Json] | None = None) -> Json:
        """One transaction's whole answer (for a failure branch's reads).

        Mind that ``request`` sends it again to the next member when one fails
        mid-request: a transaction must be written so that running it twice is
        harmless, or read its outcome back (election.py does).
        """
        return self.request("/kv/txn", {"compare": compare, "success": success, "failure": failure or []})

    def grant(self, ttl: int) -> int:
        """A new lease of ``ttl`` seconds; its id."""
        return int(self.request("/lease/grant", {"TTL": ttl, "ID": 0})["ID"])

    def keep_alive(self, lease: int) -> bool:
        """Refresh a lease; False when it has already expired."""
        answer = self.request("/lease/keepalive", {"ID": lease})
        return int(answer.get("result", {}).get("TTL", -1)) > 0

    def revoke(self, lease: int) -> None:
        self.request("/kv/lease/revoke", {"ID": lease})

    # -- watch ---------------------------------------------------------------------------------

    def watch(
        self, prefix: str, start_revision: int, deliver: Callable[[list[Json], int], None], stopping: threading.Event
    ) -> None:
        """Deliver every change under ``prefix`` from ``start_revision`` on, until ``stopping``.

        ``deliver(events, revision)`` gets each batch of events (decoded ``kv``
        and ``prev_kv``, ``type`` "PUT" or "DELETE") with its revision, in order.
        Reconnects to the next member on a broken stream, from the revision
        after the last one delivered; raises Compacted when that is gone.
        """
        position = [start_revision]  # the next revision to ask for; _stream moves it as it delivers
        failures = 0
        while not stopping.is_set():
            with self._lock:
                client = self._clients[self._current]
            try:
                self._stream(client, prefix, position, deliver, stopping)
                failures = 0
            except Compacted:
                raise
            except Exception as exc:  # requests, urllib3 and http.client each raise their own on a cut stream
                if stopping.is_set():
                    return
                failures += 1
                log.warning(
                    "etcd watch on %s:%s broke (%s); resuming at revision %d on the next member",
                    client.host,
                    client.port,
                    type(exc).__name__,
                    position[0],
                )
                with self._lock:
                    self._current = (self._current + 1) % len(self._clients)
                stopping.wait(retry.REGISTRATION.delay(failures) if failures > len(self._clients) else 0.05)

    def _stream(
        self,
        client: Any,
        prefix: str,
        position: list[int],
        deliver: Callable[[list[Json], int], None],
        stopping: threading.Event,
    ) -> None:
        start = position[0]
        body = {
            "create_request": {
                "key": encode(prefix),
                "range_end": encode(prefix_end(prefix)),
                "start_revision": start,
                "prev_kv": True,
                "progress_notify": True,
            }
        }
        # A read timeout turns a member gone silent (no FIN, no RST: a cut link) into a
        # reconnect; on a quiet but live stream it costs one reconnect per WATCH_IDLE
        # seconds, less where etcd sends progress notifications more often (local_etcd.py).
        with client.session.post(
            client.get_url("/watch"), json=body, stream=True, timeout=(self.timeout, WATCH_IDLE)
        ) as response:
            response.raise_for_status()
            watching = threading.Thread(target=self._close_when_stopping, args=(response, stopping), daemon=True)
            watching.start()
            for line in response.iter_lines():
                if stopping.is_set():
                    break
                if not line.strip():
                    continue
                result = json.loads(line).get("result", {})
                if result.get("compact_revision") and int(result["compact_revision"]) > 0:
                    raise Compacted(f"etcd: revision {start} was compacted (now {result['compact_revision']})")
                if result.get("canceled"):
                    raise ValueError(f"etcd watch canceled: {result.get('cancel_reason', '')}")
                events = result.get("events")
                if events:
                    # The header's revision is the store's now; the events' own say how far we are.
                    revision = max(int(event["kv"]["mod_revision"]) for event in events)
                    for event in events:
                        for side in ("kv", "prev_kv"):
                            if side in event:
                                event[side]["key"] = decode(event[side]["key"])
                                event[side]["value"] = decode(event[side].get("value"))
                        event.setdefault("type", "PUT")
                    deliver(events, revision)
                    position[0] = revision + 1
        if not stopping.is_set():
            raise ValueError("etcd watch stream ended")

    @staticmethod
    def _close_when_stopping(response: requests.Response, stopping: threading.Event) -> None:
        # iter_lines blocks on the socket: closing the response is how a stop gets through.
        # This thread must also end with its stream (a broken one is replaced by a new stream
        # and a new thread), and nothing can wait on two Events at once: ``stopping`` is the
        # caller's, shared by every stream. So it polls: a stop closes the stream within
        # 0.2 s, and an ended stream's thread is gone within 0.2 s.
        while not stopping.wait(0.2):
            if response.raw is None or response.raw.closed:
                return
        response.close()
