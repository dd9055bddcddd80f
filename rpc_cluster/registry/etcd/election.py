"""Which registry checks and pushes: leadership as a key under an etcd lease.

After etcd's ``client/v3/concurrency``: a candidate holds a lease, kept alive
in the background, and leads while the leader key exists under that lease.
The key is created only if absent, so one registry leads at a time. Losing
the lease *is* losing leadership, with no second source of truth: a leader
that cannot refresh its lease stops leading before etcd could let another
take over, and when a leader dies its key expires with its lease, within
one TTL, and the next candidate's ``step()`` takes it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from .gateway import Etcd, EtcdUnavailable, encode

log = logging.getLogger("rpc_cluster.registry.etcd.election")


class Election:
    """One candidate for leadership of ``key``; ``step()`` every ttl/3 or so."""

    def __init__(self, etcd: Etcd, key: str, value: str, ttl: int, *, clock: Callable[[], float] = time.monotonic):
        self.etcd = etcd
        self.key = key
        #: What the key holds while we lead (our URL): who checks, for everyone to read.
        self.value = value
        self.ttl = ttl
        self._clock = clock
        self._lease: int | None = None
        self._holding = False
        # Until when, on our clock, we surely still hold the key: the start of our last
        # successful refresh plus the TTL, less a margin for clock rates.
        self._valid_until = 0.0

    @property
    def leading(self) -> bool:
        """Whether this candidate holds the key now (and may act as the leader)."""
        return self._holding and self._clock() < self._valid_until

    def step(self) -> bool:
        """Keep our lease alive and try for the key if we do not hold it; whether we lead."""
        started = self._clock()
        try:
            if self._lease is not None and not self.etcd.keep_alive(self._lease):
                log.warning("lost the lease behind %s: no longer leading", self.key)
                self._lease, self._holding = None, False
            if self._lease is None:
                self._lease = self.etcd.grant(self.ttl)
            if not self._holding:
                self._holding = self._take()
                if self._holding:
                    log.warning("leading: %s = %s", self.key, self.value)
        except EtcdUnavailable as exc:
            # Not refreshed: we lead only until the last refresh runs out.
            log.warning("election step failed (%s)", exc)
            return self.leading
        if self._holding:
            self._valid_until = started + self.ttl * 0.8
        return self.leading

    def _take(self) -> bool:
        """Create the key under our lease if nobody holds it; True too if our lease already holds it.

        The second case is real: a transaction whose answer was lost is sent again
        to another member (gateway.py), and the repeat finds the key its first run made.
        """
        key = encode(self.key)
        answer = self.etcd.txn_answer(
            compare=[{"key": key, "result": "EQUAL", "target": "CREATE", "create_revision": 0}],
            success=[{"request_put": {"key": key, "value": encode(self.value), "lease": self._lease}}],
            failure=[{"request_range": {"key": key}}],
        )
        if answer.get("succeeded"):
            return True
        for response in answer.get("responses", []):
            for kv in response.get("response_range", {}).get("kvs", []):
                if int(kv.get("lease", 0)) == self._lease:
                    return True
        return False

    def resign(self) -> None:
        """Give leadership up at once (revoking the lease deletes the key): for a clean stop."""
        lease, self._lease, self._holding = self._lease, None, False
        if lease is not None:
            try:
                self.etcd.revoke(lease)
            except EtcdUnavailable as exc:
                log.warning("could not revoke the lease (%s); it expires within %d s", exc, self.ttl)
