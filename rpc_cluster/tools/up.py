"""``rpc-cluster up``: the whole cluster on this machine, in one command.

Starts the registry, the log service, the grading service and the portal as
child processes (each tolerates any start order), waits until all four are
healthy, prints their URLs (the portal's first), streams their output with
each line prefixed by its service's name, and on Ctrl-C or SIGTERM stops
them all (portal first, registry last). Exits non-zero if one dies while
starting. On a fresh ``--data`` it adds the user ``admin`` with a random
password, printed once beside the portal's URL and kept in
``--data``/admin-password (``first_admin.py``).

``rpc-cluster up --ha`` runs the same with no single point of failure in the
registry: a 3-member etcd cluster (Debian's ``etcd`` binary, on free ports,
its data in ``--data``/etcd) and two registries on it, which every service
knows both of.

``rpc-cluster up --tls`` serves everything on HTTPS only, with a local CA kept
in ``--data``/tls (``local_ca.py``): every service verifies the others
against it, and a browser trusts the portal once told to trust ``ca.pem``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import MappingProxyType
from typing import IO

from ..client.client import Client
from ..client.registry_client import DEFAULT_REGISTRY_PORT
from ..client.transport import Transport
from ..core.errors import RpcError, TransportError
from ..net import urls
from ..runtime import flags
from . import first_admin
from .children import die_with_parent
from .local_etcd import INSTALL_HINT, EtcdCluster

# Each service's `rpc-cluster` command and default port, in start order.
SERVICES = MappingProxyType({"registry": DEFAULT_REGISTRY_PORT, "log": 4000, "grading": 6000, "portal": 5005})
# With --ha, a second registry beside the first.
HA_SERVICES = MappingProxyType(
    {
        "registry": DEFAULT_REGISTRY_PORT,
        "registry2": DEFAULT_REGISTRY_PORT + 1,
        "log": 4000,
        "grading": 6000,
        "portal": 5005,
    }
)
STOP_ORDER = ("portal", "grading", "log", "registry2", "registry")
# What the services register as: `up` is ready once every registry lists them all as passing.
REGISTERED = ("LogService", "GradingService", "PortalService")


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


class Cluster:
    def __init__(
        self,
        host: str,
        ports: dict[str, int],
        data: Path,
        store: str | None = None,
        tls_files: tuple[Path, Path, Path] | None = None,
    ):
        self.host = host
        self.ports = ports
        self.data = data
        #: The registries' --store (etcd://... with --ha), None for the default memory store.
        self.store = store
        #: With --tls: (certificate chain, key, CA) every service serves and verifies with.
        self.tls_files = tls_files
        #: Carries the health checks and the registry calls, on connections kept alive between rounds.
        self.transport = Transport(tls_ca=str(tls_files[2]) if tls_files else None)
        self.env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self._print_lock = threading.Lock()
        #: The signals received (SIGINT, SIGTERM). A list, not an Event: the handler runs on the main
        #: thread between bytecodes and must take no lock (an Event's set() could wait for the very
        #: lock that the main thread's wait() holds: a deadlock seen in a service).
        self.signals: list[int] = []

    def url(self, name: str) -> str:
        return f"{'https' if self.tls_files else 'http'}://{urls.url_host(self.host)}:{self.ports[name]}"

    @property
    def registries(self) -> list[str]:
        return [name for name in self.ports if name.startswith("registry")]

    def command(self, name: str) -> list[str]:
        command = "registry" if name in self.registries else name
        args = [
            sys.executable,
            "-m",
            "rpc_cluster.tools.cli",
            command,
            "--host",
            self.host,
            "--port",
            str(self.ports[name]),
        ]
        if command == "registry":
            if self.store:
                args += ["--store", self.store]
        else:
            args += ["--registry", ",".join(f"{self.url(r)}/rpc" for r in self.registries)]
        if self.tls_files:
            cert, key, ca = self.tls_files
            args += ["--tls-cert", str(cert), "--tls-key", str(key), "--tls-ca", str(ca)]
        if name == "log":
            args += ["--log-file", str(self.data / "distributed.log")]
        if name == "grading":
            args += ["--db", str(self.data / "grades.db")]
        return args

    def say(self, line: str) -> None:
        with self._print_lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def _stream(self, name: str, output: IO[bytes]) -> None:
        width = max(map(len, self.ports))
        for raw in iter(output.readline, b""):
            self.say(f"{name:<{width}} | {raw.decode(errors='replace').rstrip()}")

    def start(self) -> None:
        for name in self.ports:
            proc = subprocess.Popen(
                self.command(name),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
            self.children[name] = proc
            assert proc.stdout is not None  # stdout=PIPE
            threading.Thread(target=self._stream, args=(name, proc.stdout), daemon=True).start()

    def healthy(self, name: str) -> bool:
        try:
            status, _ = self.transport.get(f"{self.url(name)}/health", timeout=1)
        except TransportError:
            return False
        return status == 200

    def registered(self) -> bool:
        """Whether every registry lists every other service as passing (so the portal finds grading)."""
        for name in self.registries:
            try:
                rows = Client(f"{self.url(name)}/rpc", timeout=1, transport=self.transport).call("Registry.services")
            except RpcError:
                return False
            if {r["service_name"] for r in rows if r["status"] == "passing"} != set(REGISTERED):
                return False
        return True

    def wait_healthy(self, timeout: float) -> str | None:
        """None once all are healthy and registered, else what went wrong."""
        deadline = time.monotonic() + timeout
        waiting = [*list(self.ports), "registration"]
        while waiting:
            for name in list(waiting):
                if name == "registration":
                    if waiting == ["registration"] and self.registered():
                        waiting.remove(name)
                    continue
                code = self.children[name].poll()
                if code is not None:
                    return f"{name} exited with code {code} while starting"
                if self.healthy(name):
                    waiting.remove(name)
            if self.signals:
                return "interrupted while starting"
            if time.monotonic() > deadline:
                if waiting == ["registration"]:
                    return f"the registry does not list every service as passing after {timeout:g} s"
                return f"{', '.join(w for w in waiting if w != 'registration')} not healthy after {timeout:g} s"
            time.sleep(0.1)
        return None

    def stop(self, grace: float = 10.0) -> None:
        for name in STOP_ORDER:
            proc = self.children.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.say(f"up: {name} did not stop within {grace:g} s; killing it")
                proc.kill()
                proc.wait()


def main(argv: list[str] | None = None) -> int:
    """Start the whole cluster in the foreground (``rpc-cluster up``)."""
    parser = flags.ArgumentParser(prog="rpc-cluster up", description=__doc__.splitlines()[0])
    flags.add_flag(parser, "--data", "RPC_CLUSTER_DATA", "./data", "folder for the grades database and the log file")
    flags.add_flag(
        parser, "--host", "RPC_CLUSTER_UP_HOST", "127.0.0.1", "address every service listens on", type=flags.listen_host
    )
    for name, port in SERVICES.items():
        flags.add_flag(
            parser,
            f"--{name}-port",
            f"RPC_CLUSTER_UP_{name.upper()}_PORT",
            port,
            f"{name} port; 0 picks a free one",
            type=flags.port_number,
        )
    flags.add_flag(
        parser,
        "--registry2-port",
        "RPC_CLUSTER_UP_REGISTRY2_PORT",
        HA_SERVICES["registry2"],
        "with --ha, the second registry's port; 0 picks a free one",
        type=flags.port_number,
    )
    flags.add_flag(
        parser,
        "--start-timeout",
        "RPC_CLUSTER_UP_START_TIMEOUT",
        30.0,
        "seconds to wait for every service to be healthy",
        type=flags.positive_seconds,
    )
    parser.add_argument(
        "--ha",
        action="store_true",
        help="no single registry: a 3-member local etcd (in --data/etcd) and two registries on it",
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="HTTPS only, with a local CA kept in --data/tls (trust its ca.pem in your browser)",
    )
    args = parser.parse_args(argv)
    services = HA_SERVICES if args.ha else SERVICES
    ports = {name: getattr(args, f"{name}_port") or _free_port(args.host) for name in services}
    data = Path(args.data)
    try:
        data.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"rpc-cluster up: error: cannot use --data {data}: {exc.strerror}", file=sys.stderr)
        return 2
    taken = [f"{name} ({port})" for name, port in ports.items() if _in_use(args.host, port)]
    if taken:
        print(
            f"rpc-cluster up: error: ports already in use: {', '.join(taken)} "
            "(is a cluster already running? pick others with --<service>-port)",
            file=sys.stderr,
        )
        return 1
    tls_files = None
    if args.tls:
        tls_files = _local_certificates(data / "tls", args.host)
    etcd = None
    if args.ha:
        binary = shutil.which("etcd")
        if binary is None:
            print(f"rpc-cluster up: error: --ha needs etcd. {INSTALL_HINT}", file=sys.stderr)
            return 1
        # A fresh etcd each time: it holds only registrations, which the services make again.
        shutil.rmtree(data / "etcd", ignore_errors=True)
        try:
            etcd = EtcdCluster(data / "etcd", 3, binary).start()
        except RuntimeError as exc:
            print(f"rpc-cluster up: error: etcd did not start: {str(exc).splitlines()[0]}", file=sys.stderr)
            return 1
    try:
        return _run(
            Cluster(args.host, ports, data.resolve(), etcd.url if etcd else None, tls_files), args.start_timeout, etcd
        )
    finally:
        if etcd is not None:
            etcd.stop()


def _run(cluster: Cluster, start_timeout: float, etcd: EtcdCluster | None) -> int:
    data = cluster.data

    def on_signal(signum: int, frame: object) -> None:
        cluster.signals.append(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    cluster.start()
    problem = cluster.wait_healthy(start_timeout)
    if problem:
        cluster.say(f"up: {problem}; stopping the others")
        cluster.stop()
        return 0 if problem == "interrupted while starting" else 1
    grading = Client(f"{cluster.url('grading')}/rpc", transport=cluster.transport)
    sign_in = first_admin.sign_in_line(grading, data, f"{cluster.url('portal')}/")
    cluster.say("")
    cluster.say(f"  portal     {cluster.url('portal')}/        <- open this in a browser")
    cluster.say(f"  {sign_in}")
    for name in cluster.registries:
        cluster.say(f"  {name:<10} {cluster.url(name)}/rpc")
    if etcd is not None:
        cluster.say(f"  etcd       {etcd.url}     (3 members; registries' --store)")
    if cluster.tls_files:
        cluster.say(f"  TLS        CA {cluster.tls_files[2]}   (callers: --tls-ca or RPC_CLUSTER_TLS_CA)")
    cluster.say(f"  log        {cluster.url('log')}/rpc     (file: {data / 'distributed.log'})")
    cluster.say(f"  grading    {cluster.url('grading')}/rpc     (database: {data / 'grades.db'})")
    cluster.say("")
    cluster.say("  Ctrl-C stops them all.")
    cluster.say("")
    reported: set[str] = set()
    while not cluster.signals:
        time.sleep(0.5)
        for name, proc in cluster.children.items():
            if proc.poll() is not None and name not in reported:
                reported.add(name)
                cluster.say(f"up: {name} exited with code {proc.returncode}; the others keep running")
    cluster.say("up: stopping")
    cluster.stop()
    cluster.say("up: stopped")
    return 0


def _local_certificates(folder: Path, host: str) -> tuple[Path, Path, Path]:
    """(chain, key, CA) for every service on ``host``, from the CA kept in ``folder``."""
    from .local_ca import LocalCA

    ca = LocalCA(folder)
    chain, key = ca.issue("server", [host, "127.0.0.1", "localhost"])
    return chain.resolve(), key.resolve(), ca.ca_file.resolve()


def _in_use(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0
