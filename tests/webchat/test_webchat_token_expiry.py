"""Web chat tokens expire (issue 10): idle (sliding) and absolute windows, 401 token_expired."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bots.webchat.tokens import SessionSigner

from .helpers import bearer, make_settings, running_app

KEY = b"k" * 40
IDLE = timedelta(minutes=60)
ABSOLUTE = timedelta(hours=10)


class Clock:
    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta).total_seconds()


def signer(clock) -> SessionSigner:
    return SessionSigner(KEY, idle=IDLE, absolute=ABSOLUTE, clock=clock)


def test_a_token_carries_its_times_and_is_signed_over_them():
    clock = Clock()
    token = signer(clock).new_session().token
    session_id, started, issued, _ = token.split(".")
    assert started == issued and int(issued, 36) == int(clock.now)
    forged = ".".join([session_id, started, format(int(clock.now) + 10**6, "x"), token.split(".")[3]])
    assert signer(clock).check(forged).problem == "invalid"


def test_idle_expiry_and_the_sliding_renewal():
    clock = Clock()
    tokens = signer(clock)
    token = tokens.new_session().token
    clock.advance(minutes=10)
    assert tokens.check(token).fresh_token is None  # young: nothing to renew
    clock.advance(minutes=10)
    check = tokens.check(token)
    assert check.session_id and check.fresh_token  # older than idle/4: renewed
    clock.advance(minutes=50)  # 70 minutes after the first token, 50 after the renewal
    assert tokens.check(token).problem == "expired"
    renewed = tokens.check(check.fresh_token)
    assert renewed.session_id == check.session_id


def test_absolute_expiry_even_when_always_renewed():
    clock = Clock()
    tokens = signer(clock)
    token = tokens.new_session().token
    for _ in range(19):  # every 30 minutes for 9.5 hours
        clock.advance(minutes=30)
        check = tokens.check(token)
        assert check.session_id is not None
        token = check.fresh_token or token
    clock.advance(minutes=30)
    assert tokens.check(token).problem == "expired"


def test_the_old_timeless_format_is_refused():
    assert signer(Clock()).check("0" * 32 + ".c2lnbmF0dXJl").problem == "invalid"


async def test_an_expired_token_is_401_token_expired_and_a_renewed_token_is_sent(sqlite_url, tmp_path, echo_engine):
    settings = make_settings(sqlite_url, tmp_path, webchat_token_ttl_idle_minutes=60, webchat_token_ttl_absolute_hours=10)
    async with running_app(settings, engine=echo_engine) as (app, client):
        clock = Clock()
        channel = app.state.channels["webchat"]
        channel.signer._clock = clock  # the test's clock (the signer reads time through it)
        session = (await client.post("/api/webchat/sessions")).json()
        clock.advance(minutes=20)
        response = await client.get("/api/webchat/history", headers=bearer(session))
        assert response.status_code == 200
        renewed = response.headers["X-Webchat-Token"]
        clock.advance(minutes=50)
        expired = await client.get("/api/webchat/history", headers=bearer(session))
        assert expired.status_code == 401
        assert expired.json()["error"]["code"] == "token_expired"
        assert expired.headers["WWW-Authenticate"] == "Bearer"
        still = await client.post("/api/webchat/messages", json={"text": "привет"}, headers=bearer({"token": renewed}))
        assert still.status_code == 200


def test_settings_validate_the_windows():
    from pydantic import ValidationError

    from app.settings import Settings

    with pytest.raises(ValidationError):
        Settings(webchat_token_ttl_idle_minutes=0)
