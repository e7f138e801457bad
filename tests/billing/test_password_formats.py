"""Hashes a provider's billing system keeps are verified as they are, and upgraded."""

from __future__ import annotations

import base64
import hashlib

import bcrypt
import pytest

from billing.passwords import INSECURE_FAST, hash_password, hash_scheme, needs_rehash, verify_password


def django_pbkdf2(password: str, salt: str = "Zx9salt", iterations: int = 1000, algorithm: str = "sha256") -> str:
    digest = hashlib.pbkdf2_hmac(algorithm, password.encode(), salt.encode(), iterations)
    return f"pbkdf2_{algorithm}${iterations}${salt}${base64.b64encode(digest).decode()}"


def bcrypt_hash(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()


@pytest.mark.parametrize(
    "make, scheme",
    [
        (lambda p: hash_password(p, INSECURE_FAST), "argon2"),
        (bcrypt_hash, "bcrypt"),
        (django_pbkdf2, "pbkdf2"),
        (lambda p: django_pbkdf2(p, algorithm="sha1"), "pbkdf2"),
        (lambda p: django_pbkdf2(p, algorithm="sha512"), "pbkdf2"),
    ],
)
def test_each_format_verifies_the_right_password_only(make, scheme):
    stored = make("Пароль-2026")
    assert hash_scheme(stored) == scheme
    assert verify_password(stored, "Пароль-2026", INSECURE_FAST)
    assert not verify_password(stored, "пароль-2026", INSECURE_FAST)
    assert not verify_password(stored, "", INSECURE_FAST)


def test_imported_formats_are_upgraded_at_login_and_ours_are_not():
    assert needs_rehash(bcrypt_hash("x"), INSECURE_FAST)
    assert needs_rehash(django_pbkdf2("x"), INSECURE_FAST)
    assert not needs_rehash(hash_password("x", INSECURE_FAST), INSECURE_FAST)


@pytest.mark.parametrize(
    "stored",
    ["", "plaintext", "md5$abc$def", "$2b$04$short", "pbkdf2_sha256$x$salt$hash", "pbkdf2_md5$1000$s$" + "A" * 44],
)
def test_unknown_or_malformed_hashes_never_verify(stored):
    assert hash_scheme(stored) is None
    assert not verify_password(stored, "anything", INSECURE_FAST)
    assert needs_rehash(stored, INSECURE_FAST)


def test_bcrypt_refuses_passwords_longer_than_it_reads():
    stored = bcrypt_hash("a" * 72)
    assert verify_password(stored, "a" * 72, INSECURE_FAST)
    assert not verify_password(stored, "a" * 73, INSECURE_FAST)
