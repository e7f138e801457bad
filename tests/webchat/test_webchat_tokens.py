"""Session tokens and the key that signs them."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor

import pytest

from bots.webchat.tokens import SessionSigner, WeakSecretError, load_secret_key

KEY = b"k" * 40


def test_configured_secret_wins_and_no_file_is_written(tmp_path):
    path = tmp_path / "secret"
    assert load_secret_key("s" * 40, path) == b"s" * 40
    assert not path.exists()


def test_short_configured_secret_is_refused(tmp_path):
    with pytest.raises(WeakSecretError):
        load_secret_key("short", tmp_path / "secret")


def test_key_file_is_created_once_private_and_reused(tmp_path):
    path = tmp_path / "sub" / "secret"
    first = load_secret_key(None, path)
    assert len(first) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret_key(None, path) == first  # a restart signs with the same key
    assert [p.name for p in path.parent.iterdir()] == ["secret"]  # no temp files left


def test_processes_starting_at_once_agree_on_one_key(tmp_path):
    path = tmp_path / "secret"
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: load_secret_key(None, path), range(16)))
    assert len(keys) == 1


def test_truncated_key_file_is_an_error_not_a_weak_key(tmp_path):
    path = tmp_path / "secret"
    path.write_text("abc\n")
    with pytest.raises(WeakSecretError):
        load_secret_key(None, path)


def test_token_round_trip():
    signer = SessionSigner(KEY)
    session = signer.new_session()
    assert session.token.startswith(session.session_id + ".")
    assert signer.session_id_of(session.token) == session.session_id
    assert SessionSigner(KEY).session_id_of(session.token) == session.session_id  # stateless
    assert signer.new_session().session_id != session.session_id


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # wrong signature
        lambda t: t.split(".")[0],  # no signature
        lambda t: "0" * 32 + "." + t.split(".")[1],  # someone else's session id
        lambda t: t.upper(),
        lambda t: "",
        lambda t: "garbage",
        lambda t: t + "." + t,
        lambda t: t + "x" * 300,
        lambda t: "ё" * 32 + "." + t.split(".")[1],
    ],
)
def test_tampered_tokens_are_refused(mangle):
    signer = SessionSigner(KEY)
    token = signer.new_session().token
    assert signer.session_id_of(mangle(token)) is None


def test_token_of_another_secret_is_refused():
    token = SessionSigner(b"x" * 40).new_session().token
    assert SessionSigner(KEY).session_id_of(token) is None
    assert SessionSigner(KEY).session_id_of(None) is None
