"""A small etcd cluster on this machine: for ``rpc-cluster up --ha``, the tests and the benchmarks.

Members listen on explicit free loopback ports, each with its own data
folder. Port 0 cannot be used: etcd's gateway must be told the addresses its
members advertise. ``stop()`` kills every member; ``remove_data=True`` also
deletes their data (the tests' choice; ``up --ha`` keeps it in ``--data``).
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import IO

from ..client.transport import Transport
from ..core.errors import TransportError
from .children import die_with_parent


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


INSTALL_HINT = "etcd is not installed: apt-get install etcd-server (Debian, Ubuntu), or see etcd.io"


def member_arguments(name: str, data: Path, client_url: str, peer_url: str, initial: str, token: str) -> list[str]:
    """The command-line arguments (after the binary) of one member of a new cluster.

    ``client_url``/``peer_url``: where it listens and what it advertises;
    ``initial``: every member as ``NAME=PEER_URL,...``; ``token``: the cluster's own.
    """
    return [
        "--name",
        name,
        "--data-dir",
        str(data),
        "--listen-client-urls",
        client_url,
        "--advertise-client-urls",
        client_url,
        "--listen-peer-urls",
        peer_url,
        "--initial-advertise-peer-urls",
        peer_url,
        "--initial-cluster",
        initial,
        "--initial-cluster-state",
        "new",
        "--initial-cluster-token",
        token,
        "--heartbeat-interval",
        "50",
        "--election-timeout",
        "500",
        "--logger",
        "zap",
        "--log-level",
        "warn",
        # Keep history bounded (the registry writes a little every round), and tell quiet
        # watches they are alive well within the registry's watch read timeout.
        "--auto-compaction-mode",
        "periodic",
        "--auto-compaction-retention",
        "10m",
        "--experimental-watch-progress-notify-interval",
        "2s",
    ]


class EtcdCluster:
    """``members`` etcd processes forming one cluster, started by ``start()``."""

    def __init__(self, folder: Path, members: int = 3, binary: str = "etcd", *, remove_data: bool = True):
        self.folder = Path(folder)
        self.binary = binary
        self.remove_data = remove_data
        ports = free_ports(2 * members)
        self.client_ports, self.peer_ports = ports[:members], ports[members:]
        self.names = [f"m{n}" for n in range(members)]
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._token = uuid.uuid4().hex[:12]
        # Carries the health checks (the registries talk to etcd through etcd3gw, not this).
        self._transport = Transport()

    @property
    def url(self) -> str:
        """The registry's --store value for this cluster (all members)."""
        return "etcd://" + ",".join(f"127.0.0.1:{port}" for port in self.client_ports)

    def store(self, prefix: str | None = None) -> str:
        """A --store URL with a key prefix of its own, so tests sharing the cluster never meet."""
        return f"{self.url}/{prefix or 'test-' + uuid.uuid4().hex[:10]}"

    def start(self) -> EtcdCluster:
        initial = ",".join(
            f"{name}=http://127.0.0.1:{port}" for name, port in zip(self.names, self.peer_ports, strict=True)
        )
        for index in range(len(self.names)):
            self._start_member(index, initial)
        deadline = time.monotonic() + 30
        for port in self.client_ports:
            while not self._healthy(port):
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"etcd did not become healthy:\n{self.output()}")
                time.sleep(0.1)
        return self

    def _start_member(self, index: int, initial: str) -> None:
        name = self.names[index]
        data = self.folder / name
        data.mkdir(parents=True, exist_ok=True)
        client, peer = self.client_ports[index], self.peer_ports[index]
        with open(self.folder / f"{name}.log", "ab") as log:
            self.procs[name] = self._popen(name, data, client, peer, initial, log)

    def _popen(
        self, name: str, data: Path, client: int, peer: int, initial: str, log: IO[bytes]
    ) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                self.binary,
                *member_arguments(
                    name, data, f"http://127.0.0.1:{client}", f"http://127.0.0.1:{peer}", initial, self._token
                ),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )

    def _healthy(self, port: int) -> bool:
        try:
            status, body = self._transport.get(f"http://127.0.0.1:{port}/health", timeout=1)
            answer = json.loads(body)
        except (TransportError, ValueError):
            return False
        return status == 200 and isinstance(answer, dict) and answer.get("health") == "true"

    def kill(self, index: int) -> None:
        """kill -9 one member."""
        proc = self.procs.pop(self.names[index])
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def output(self) -> str:
        return "\n".join(path.read_text(errors="replace")[-2000:] for path in self.folder.glob("*.log"))

    def stop(self) -> None:
        for proc in self.procs.values():
            try:
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        self.procs.clear()
        self._transport.close()
        if self.remove_data:
            shutil.rmtree(self.folder, ignore_errors=True)
