"""Web chat session tokens: stateless, signed, valid across restarts, and expiring.

A token is ``<session_id>.<started>.<issued>.<signature>``: ``started`` is when the
session began and ``issued`` when this token was signed (Unix seconds, base 36), and
the signature is HMAC-SHA256(secret, "webchat-session-v2:" + the three fields),
base64url without padding. The session id needs no storage: whoever holds a token we
signed owns that session, so the Bearer token alone identifies the conversation.
The prefix keeps these signatures from ever being valid for any other use of the
same secret (or for the old, timeless token format).

Expiry: a token is refused once it is ``idle`` old (a sliding window: every
authenticated call with a token older than a quarter of ``idle`` gets a fresh one,
with the same ``started``, in the ``X-Webchat-Token`` response header), and every
token of a session is refused ``absolute`` after the session began.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Callable, Literal

log = logging.getLogger(__name__)

_SESSION_ID = re.compile(r"^[0-9a-f]{32}$")
_DOMAIN = b"webchat-session-v2:"
_STAMP = re.compile(r"^[0-9a-z]{1,12}$")
_MIN_SECRET_LEN = 32  # characters of the secret (key files hold 64 hex characters)


class WeakSecretError(ValueError):
    """The configured or stored secret is too short to sign anything safely."""


def load_secret_key(secret_key: str | None, secret_key_file: Path) -> bytes:
    """The key that signs session tokens.

    ``secret_key`` (from settings) wins. Without it, a random key is created once in
    ``secret_key_file`` (mode 0600) and read back on every later start, so tokens
    survive restarts. Two processes starting at once end up with the same key: the
    file appears atomically (hard link of a finished temp file) and the loser reads
    the winner's key.
    """
    if secret_key:
        if len(secret_key) < _MIN_SECRET_LEN:
            raise WeakSecretError(f"secret_key must be at least {_MIN_SECRET_LEN} characters")
        return secret_key.encode()

    path = Path(secret_key_file)
    try:
        return _read_key_file(path)
    except FileNotFoundError:
        pass

    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, path)  # fails if another process won the race
            log.info("created a new secret key in %s", path)
        except FileExistsError:
            pass
    finally:
        temp.unlink(missing_ok=True)
    return _read_key_file(path)


def _read_key_file(path: Path) -> bytes:
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < _MIN_SECRET_LEN:
        raise WeakSecretError(f"{path} holds a key shorter than {_MIN_SECRET_LEN} characters; delete it to make a new one")
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        log.warning("secret key file %s is readable by others (mode %o); run chmod 600", path, mode)
    return key.encode()


@dataclass(frozen=True)
class WebchatSession:
    session_id: str
    token: str


@dataclass(frozen=True)
class TokenCheck:
    """What a presented token is worth: the session, or why not (``invalid``: we never
    signed it; ``expired``: we did, but it is too old)."""

    session_id: str | None
    problem: Literal["invalid", "expired"] | None = None
    fresh_token: str | None = None  # a renewed token to hand back (sliding window)
    seconds_left: float = 0.0  # until the session's absolute expiry (how long to keep a revocation)


class SessionSigner:
    def __init__(
        self,
        secret: bytes,
        *,
        idle: timedelta = timedelta(hours=24),
        absolute: timedelta = timedelta(days=30),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self._idle = int(idle.total_seconds())
        self._absolute = int(absolute.total_seconds())
        self._renew_after = max(1, self._idle // 4)
        self._clock = clock

    def new_session(self) -> WebchatSession:
        session_id = uuid.uuid4().hex
        now = int(self._clock())
        return WebchatSession(session_id=session_id, token=self._token(session_id, now, now))

    def session_id_of(self, token: str | None) -> str | None:
        """The session a token belongs to, or None for anything we did not sign or that expired."""
        return self.check(token).session_id

    def check(self, token: str | None) -> TokenCheck:
        if not token or len(token) > 200:
            return TokenCheck(None, "invalid")
        parts = token.split(".")
        if len(parts) != 4:
            return TokenCheck(None, "invalid")
        session_id, started_text, issued_text, signature = parts
        if not _SESSION_ID.match(session_id) or not _STAMP.match(started_text) or not _STAMP.match(issued_text):
            return TokenCheck(None, "invalid")
        expected = self._sign(f"{session_id}.{started_text}.{issued_text}")
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            return TokenCheck(None, "invalid")
        started, issued, now = int(started_text, 36), int(issued_text, 36), int(self._clock())
        if now - issued >= self._idle or now - started >= self._absolute:
            return TokenCheck(None, "expired")
        fresh = self._token(session_id, started, now) if now - issued >= self._renew_after else None
        return TokenCheck(session_id, None, fresh, seconds_left=started + self._absolute - now)

    def _token(self, session_id: str, started: int, issued: int) -> str:
        fields = f"{session_id}.{_base36(started)}.{_base36(issued)}"
        return f"{fields}.{self._sign(fields)}"

    def _sign(self, fields: str) -> str:
        digest = hmac.new(self._secret, _DOMAIN + fields.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, digit = divmod(number, 36)
        text = digits[digit] + text
        if number == 0:
            return text
