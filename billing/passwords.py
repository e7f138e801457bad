"""Password hashes: argon2id profiles for the hashes we make, and verification of the
formats provider billing systems keep (imported as they are, upgraded at first login).

Constants rather than settings on purpose: the parameters are encoded into every
hash, so a hash made with any profile verifies with any hasher, and
``SqlBilling.check_password`` re-hashes a password with its own (stronger) profile
after the first successful login. That makes a cheaper profile safe to use for a
bulk import of 100k subscribers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import cached_property

import bcrypt
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


# Formats a provider's billing system may hand over in `password_hash` (subscriber import):
#   argon2:  $argon2id$v=19$m=...,t=...,p=...$salt$hash     (argon2-cffi)
#   bcrypt:  $2a$ / $2b$ / $2y$ + cost + 53 characters         (pyca bcrypt)
#   PBKDF2:  pbkdf2_sha256$<iterations>$<salt>$<base64 hash>  (Django's format; sha1/sha512 too)
_BCRYPT = re.compile(r"\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}")
_PBKDF2 = re.compile(r"pbkdf2_(sha1|sha256|sha512)\$(\d{1,7})\$([^$]{1,128})\$([A-Za-z0-9+/=]{16,172})")
_ARGON2 = re.compile(r"\$argon2(id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+")

# Any of the three, in one match (a row of a large import checks this first).
KNOWN_HASH = re.compile("|".join(f"(?:{pattern.pattern})" for pattern in (_ARGON2, _BCRYPT, _PBKDF2)))


def hash_scheme(password_hash: str) -> str | None:
    """"argon2", "bcrypt", "pbkdf2", or None for a format we cannot verify."""
    if _ARGON2.fullmatch(password_hash):
        return "argon2"
    if _BCRYPT.fullmatch(password_hash):
        return "bcrypt"
    if _PBKDF2.fullmatch(password_hash):
        return "pbkdf2"
    return None


def verify_password(password_hash: str, password: str, profile: HashProfile = STANDARD) -> bool:
    """True when ``password`` matches; False for a mismatch or a malformed hash."""
    scheme = hash_scheme(password_hash)
    if scheme == "bcrypt":
        # bcrypt reads at most 72 bytes; longer passwords are refused, not cut.
        secret = password.encode("utf-8")
        return len(secret) <= 72 and bcrypt.checkpw(secret, password_hash.encode("ascii"))
    if scheme == "pbkdf2":
        algorithm, iterations, salt, expected = _PBKDF2.fullmatch(password_hash).groups()
        derived = hashlib.pbkdf2_hmac(algorithm, password.encode("utf-8"), salt.encode("utf-8"), int(iterations))
        return hmac.compare_digest(base64.b64encode(derived).decode("ascii"), expected)
    try:
        return profile.hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str, profile: HashProfile) -> bool:
    """An imported bcrypt/PBKDF2 hash, or argon2 with other parameters, is replaced by
    our own at the next successful login."""
    if hash_scheme(password_hash) != "argon2":
        return True
    try:
        return profile.hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
