"""Test hosts: network namespaces joined by a bridge, with no way out to the machine's network.

Each host is a namespace with one veth link (``eth0``) and one address in
192.0.2.0/24 (TEST-NET-1, reserved for documentation: it exists nowhere but
here). The other ends of the links hang on a bridge inside one more
namespace of the network's own. Nothing is created in the machine's own
namespace and no host has a default route, so no packet can leave.

``cut(host)`` takes the host's link down at the bridge: its packets vanish
(timeouts, not refusals), as on a pulled cable. ``inside(host)`` runs a
function on a thread that lives in the host's namespace, so a test reaches
the hosts with the project's own client. ``close()`` kills every process
started on a host and removes every namespace; ``sweep()`` removes those
left by a test run that was killed before it could.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

SUBNET = "192.0.2"
PREFIX = "rpct"  # namespaces named rpct<pid>x<id>-<host>, so sweep() knows whose they are
CLONE_NEWNET = 0x40000000


class Unavailable(Exception):
    """Network namespaces cannot be made here; the message says why."""


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)
    if check and result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result


def why_unavailable() -> str | None:
    """None when this machine can build test hosts, else the reason."""
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed (apt-get install iproute2)"
    if os.geteuid() != 0:
        return "network namespaces need root"
    probe = f"{PREFIX}{os.getpid()}xprobe{uuid.uuid4().hex[:4]}"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"`ip netns add` failed: {made.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


def sweep() -> None:
    """Remove the namespaces of test runs whose process is gone."""
    listing = _ip("netns", "list", check=False).stdout.split()
    for name in listing:
        if not name.startswith(PREFIX):
            continue
        pid = name[len(PREFIX) :].split("x", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            _kill_all_in(name)
            _ip("netns", "del", name, check=False)


def _kill_all_in(namespace: str) -> None:
    pids = _ip("netns", "pids", namespace, check=False).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)


class Host:
    def __init__(self, network: TestNetwork, name: str, index: int):
        self.network = network
        self.name = name
        #: Its one address; nothing else can be reached from it but the other hosts.
        self.address = f"{SUBNET}.{10 + index}"
        self.namespace = f"{network.id}-{name}"
        #: This host's end of the bridge (inside the bridge's namespace).
        self.port = f"v{index}"

    def url(self, port: int, scheme: str = "http") -> str:
        return f"{scheme}://{self.address}:{port}/rpc"


class TestNetwork:
    """Hosts named by ``names``, each with its own namespace and address, on one bridge."""

    __test__ = False  # not a test class, whatever pytest thinks of its name

    def __init__(self, names: list[str], folder: Path):
        self.id = f"{PREFIX}{os.getpid()}x{uuid.uuid4().hex[:6]}"
        self.folder = folder
        self.bridge = f"{self.id}-br"
        self.hosts = {name: Host(self, name, index) for index, name in enumerate(names)}
        self.procs: list[Any] = []
        self._made: list[str] = []

    def build(self) -> TestNetwork:
        try:
            self._add_namespace(self.bridge)
            _ip("-n", self.bridge, "link", "add", "br0", "type", "bridge")
            _ip("-n", self.bridge, "link", "set", "br0", "up")
            for host in self.hosts.values():
                self._add_namespace(host.namespace)
                _ip(
                    "-n",
                    self.bridge,
                    "link",
                    "add",
                    host.port,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    "eth0",
                    "netns",
                    host.namespace,
                )
                _ip("-n", self.bridge, "link", "set", host.port, "master", "br0", "up")
                _ip("-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", "eth0")
                _ip("-n", host.namespace, "link", "set", "eth0", "up")
                _ip("-n", host.namespace, "link", "set", "lo", "up")
        except BaseException:
            self.close()
            raise
        return self

    def _add_namespace(self, name: str) -> None:
        _ip("netns", "add", name)
        self._made.append(name)
        _ip("-n", name, "link", "set", "lo", "up")

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]

    def routes(self, host: str) -> str:
        return _ip("-n", self.hosts[host].namespace, "route", "show", "table", "all").stdout

    # -- partitions --------------------------------------------------------------------------

    def cut(self, host: str) -> None:
        """Pull the host's cable: its link goes down at the bridge, and its packets are lost."""
        _ip("-n", self.bridge, "link", "set", self.hosts[host].port, "down")

    def heal(self, host: str) -> None:
        _ip("-n", self.bridge, "link", "set", self.hosts[host].port, "up")

    # -- running things on a host -----------------------------------------------------------

    def start(self, host: str, command: list[str], env: dict[str, str], log_name: str) -> Any:
        """``command`` run on ``host`` (``ip netns exec``), killed by ``close()``; a conftest ``Proc``."""
        from helpers.processes import Proc

        proc = Proc(["ip", "netns", "exec", self.hosts[host].namespace, *command], self.folder / f"{log_name}.log", env)
        self.procs.append(proc)
        return proc

    def inside(self, host: str, function: Callable[[], Any], timeout: float = 60.0) -> Any:
        """``function()`` run on a thread in ``host``'s namespace (its sockets are the host's); its result."""
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                fd = os.open(f"/var/run/netns/{self.hosts[host].namespace}", os.O_RDONLY)
                try:
                    libc = ctypes.CDLL(None, use_errno=True)
                    if libc.setns(fd, CLONE_NEWNET) != 0:
                        raise OSError(ctypes.get_errno(), "setns failed")
                finally:
                    os.close(fd)
                outcome["value"] = function()
            except BaseException as exc:  # handed to the caller's thread
                outcome["error"] = exc

        thread = threading.Thread(target=run, name=f"inside-{host}", daemon=True)
        thread.start()
        thread.join(timeout)
        if thread.is_alive():
            raise TimeoutError(f"{function} inside {host} did not finish within {timeout} s")
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("value")

    # -- cleanup -----------------------------------------------------------------------------

    def close(self) -> None:
        """Kill every process on the hosts, then remove every namespace; safe to call twice."""
        for proc in self.procs:
            proc.kill()
        for name in reversed(self._made):
            _kill_all_in(name)
            _ip("netns", "del", name, check=False)
        self._made.clear()
        deadline = time.monotonic() + 5
        while any(name.startswith(self.id) for name in _ip("netns", "list", check=False).stdout.split()):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
