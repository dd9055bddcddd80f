"""A certificate authority of this machine's own, for ``rpc-cluster up --tls`` and the tests.

Made with trustme, which exists to make certificates for local use. The CA
is kept in its folder (``ca.pem``, and ``ca-key.pem`` readable by its owner
only) and used again on the next start, so a browser told once to trust
``ca.pem`` keeps trusting the portal. Server certificates are issued anew for
the hosts asked for.
"""

from __future__ import annotations

import os
from pathlib import Path

import trustme

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"


class LocalCA:
    """The CA in ``folder``: made on first use, read back afterwards."""

    def __init__(self, folder: str | os.PathLike[str]):
        self.folder = Path(folder)
        self._ca = self._load_or_make()

    @property
    def ca_file(self) -> Path:
        """What every caller verifies servers against (``--tls-ca``)."""
        return self.folder / CA_FILE

    def _load_or_make(self) -> trustme.CA:
        cert, key = self.folder / CA_FILE, self.folder / CA_KEY_FILE
        if cert.is_file() and key.is_file():
            return trustme.CA.from_pem(cert.read_bytes(), key.read_bytes())
        self.folder.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA(organization_name="rpc-cluster local CA")
        _write_private(key, ca.private_key_pem.bytes())
        cert.write_bytes(ca.cert_pem.bytes())
        return ca

    def issue(self, name: str, hosts: list[str]) -> tuple[Path, Path]:
        """(certificate chain, private key) files named after ``name``, valid for ``hosts``."""
        leaf = self._ca.issue_cert(*dict.fromkeys(hosts))
        chain, key = self.folder / f"{name}.pem", self.folder / f"{name}-key.pem"
        chain.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        _write_private(key, leaf.private_key_pem.bytes())
        return chain, key


def _write_private(path: Path, data: bytes) -> None:
    # Created 0600 from the start: never readable by others, not even for a moment.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
