"""A small tmpfs of a test's own, to fill and free: a full disk under a service.

Mounting needs root and a kernel that allows it; ``why_unavailable()`` says
why not, so the fixture can skip with that reason (or fail where CI requires it).
"""

from __future__ import annotations

import os
import subprocess
import warnings
from pathlib import Path


def why_unavailable() -> str | None:
    """None where a tmpfs can be mounted here, else the reason."""
    if os.geteuid() != 0:
        return "mounting a small tmpfs needs root"
    if not Path("/bin/mount").exists() and not Path("/usr/bin/mount").exists():
        return "no mount command"
    return None


class SmallDisk:
    """A tmpfs of ``size_bytes`` mounted on ``path``; ``fill()`` takes what is left, ``free()`` returns it."""

    def __init__(self, path: Path, size_bytes: int):
        self.path = path
        self.size_bytes = size_bytes
        self._ballast = path / ".ballast"

    def mount(self) -> SmallDisk:
        self.path.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={self.size_bytes},mode=0700", "tmpfs", str(self.path)],
            check=True,
            capture_output=True,
            timeout=10,
        )
        return self

    def fill(self) -> None:
        """Write ballast until the disk is full (ENOSPC), leaving no byte free."""
        with open(self._ballast, "ab", buffering=0) as ballast:
            # Big chunks first, then whatever part of one still fits.
            for size in (65536, 4096, 1):
                chunk = b"\0" * size
                try:
                    while True:
                        ballast.write(chunk)
                except OSError:
                    pass

    def free(self) -> None:
        self._ballast.unlink(missing_ok=True)

    def unmount(self) -> None:
        """Unmount; a disk still busy (a process of the test left running) is detached lazily, with a warning."""
        done = subprocess.run(["umount", str(self.path)], capture_output=True, timeout=10)
        if done.returncode != 0:
            warnings.warn(
                f"tmpfs {self.path} busy at unmount ({done.stderr.decode().strip()}): detached lazily", stacklevel=2
            )
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True, timeout=10, check=True)
