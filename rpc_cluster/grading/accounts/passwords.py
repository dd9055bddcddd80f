"""Password hashes: argon2id through argon2-cffi, with the same work whether a user exists or not.

The parameters are chosen by measurement (docs/decisions.md, "Passwords"): one
verify costs about 25 ms of CPU here, under the 50 ms a sign-in may spend on
it. A stored hash made with other parameters still verifies; ``needs_rehash``
says to replace it at the next successful sign-in.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

#: Passes over memory (argon2's t).
TIME_COST = 2
#: Memory per hash, in KiB (argon2's m): 19 MiB.
MEMORY_COST = 19_456
#: Lanes (argon2's p): one, so a verify costs one core and no threads.
PARALLELISM = 1


class Passwords:
    """Hashes passwords and checks them against stored hashes. Thread-safe."""

    def __init__(self, time_cost: int = TIME_COST, memory_cost: int = MEMORY_COST, parallelism: int = PARALLELISM):
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
        # What a sign-in verifies against when there is no hash to verify (an unknown user, one
        # without a password): made with the same parameters, so it costs the same time.
        self._dummy = self._hasher.hash(secrets.token_urlsafe(24))

    def hash(self, password: str) -> str:
        """The argon2id hash of ``password`` (PHC text: algorithm, parameters, salt and hash)."""
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """Whether ``password`` matches ``stored``; with no ``stored`` hash, False after the same work.

        A stored value that is not an argon2 hash matches nothing (the user cannot sign in).
        """
        try:
            return self._hasher.verify(stored if stored is not None else self._dummy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        """True when ``stored`` was made with other parameters than these (replace it on sign-in)."""
        try:
            return self._hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True
