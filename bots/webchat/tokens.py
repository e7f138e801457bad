"""Web chat session tokens: stateless, signed, and valid across restarts.

A token is ``<session_id>.<signature>`` where the signature is
HMAC-SHA256(secret, "webchat-session:" + session_id), base64url without padding.
The session id needs no storage: whoever holds a token we signed owns that session,
so the Bearer token alone identifies the conversation (no second header).
The "webchat-session:" prefix keeps these signatures from ever being valid for any
other use of the same secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

_SESSION_ID = re.compile(r"^[0-9a-f]{32}$")
_DOMAIN = b"webchat-session:"
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


class SessionSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def new_session(self) -> WebchatSession:
        session_id = uuid.uuid4().hex
        return WebchatSession(session_id=session_id, token=f"{session_id}.{self._sign(session_id)}")

    def session_id_of(self, token: str | None) -> str | None:
        """The session a token belongs to, or None for anything we did not sign."""
        if not token or len(token) > 200:
            return None
        session_id, dot, signature = token.partition(".")
        if not dot or not _SESSION_ID.match(session_id):
            return None
        if not hmac.compare_digest(signature.encode(), self._sign(session_id).encode()):
            return None
        return session_id

    def _sign(self, session_id: str) -> str:
        digest = hmac.new(self._secret, _DOMAIN + session_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
