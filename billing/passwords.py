"""Argon2id password hashing profiles.

Constants rather than settings on purpose: the parameters are encoded into every
hash, so a hash made with any profile verifies with any hasher, and
``SqlBilling.check_password`` re-hashes a password with its own (stronger) profile
after the first successful login. That makes a cheaper profile safe to use for a
bulk import of 100k subscribers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


@dataclass(frozen=True)
class HashProfile:
    time_cost: int
    memory_cost: int  # KiB
    parallelism: int

    @cached_property
    def hasher(self) -> PasswordHasher:
        return PasswordHasher(
            time_cost=self.time_cost, memory_cost=self.memory_cost, parallelism=self.parallelism
        )


# argon2-cffi's default (RFC 9106 "low memory" profile): ~0.2 s per hash on 2 cores.
STANDARD = HashProfile(time_cost=3, memory_cost=64 * 1024, parallelism=4)
# OWASP's minimum for argon2id (19 MiB, 2 passes): ~5x cheaper, for bulk imports.
BULK = HashProfile(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Sub-millisecond and NOT safe for real passwords: tests and throwaway demo databases.
INSECURE_FAST = HashProfile(time_cost=1, memory_cost=1024, parallelism=1)


def hash_password(password: str, profile: HashProfile = STANDARD) -> str:
    return profile.hasher.hash(password)


def verify_password(password_hash: str, password: str, profile: HashProfile = STANDARD) -> bool:
    """True when ``password`` matches; False for a mismatch or a malformed hash."""
    try:
        return profile.hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str, profile: HashProfile) -> bool:
    try:
        return profile.hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
