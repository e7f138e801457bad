"""Console login, sessions, cookie + CSRF, rate limits, presence."""

from __future__ import annotations

from datetime import timedelta

import pytest


async def test_login_returns_token_agent_and_sets_a_strict_httponly_cookie(console):
    await console.add_agent("anna", cities="Уфа,Москва", departments="subscriber", password="pw-anna")
    response = await console.client.post("/api/agent/login", json={"login": "anna", "password": "pw-anna"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token"] and body["csrf_token"] and body["expires_in"] == 120 * 60
    assert body["agent"] == {
        "login": "anna", "name": "anna", "cities": ["Уфа", "Москва"], "departments": ["subscriber"], "supervisor": False,
    }
    cookie = response.headers["set-cookie"]
    assert "isp_console=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http and CONSOLE_COOKIE_SECURE unset


async def test_cookie_is_secure_over_https(console):
    await console.add_agent("anna", password="pw")
    response = await console.client.post("https://testserver/api/agent/login", json={"login": "anna", "password": "pw"})
    assert "Secure" in response.headers["set-cookie"]


async def test_wrong_password_and_unknown_login_get_the_same_answer(console):
    await console.add_agent("anna", password="right")
    wrong = await console.client.post("/api/agent/login", json={"login": "anna", "password": "wrong"})
    unknown = await console.client.post("/api/agent/login", json={"login": "nobody", "password": "wrong"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert "set-cookie" not in wrong.headers


@pytest.mark.parametrize("login", ["anna", "nobody"])
async def test_repeated_failures_lock_the_login_with_retry_after(console, login):
    await console.add_agent("anna", password="right")
    answers = [
        (await console.client.post("/api/agent/login", json={"login": login, "password": "bad"})).status_code
        for _ in range(5)
    ]
    assert answers == [401, 401, 401, 401, 429]
    locked = await console.client.post("/api/agent/login", json={"login": login, "password": "right"})
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert locked.json()["error"]["code"] == "too_many_attempts"


async def test_me_logout_and_unknown_token(console):
    anna = await console.agent("anna")
    me = await anna.get("/me")
    assert me.status_code == 200
    body = me.json()
    assert body["agent"]["login"] == "anna" and body["presence"] == "online" and "token" not in body
    assert body["csrf_token"] == anna.csrf and body["expires_in"] == 120 * 60
    assert (await anna.post("/logout")).status_code == 204
    assert (await anna.get("/me")).status_code == 401
    bogus = await console.client.get("/api/agent/queue", headers={"Authorization": "Bearer nope"})
    assert bogus.status_code == 401 and bogus.json()["error"]["code"] == "unauthorized"
    assert (await console.client.get("/api/agent/queue")).status_code == 401


async def test_idle_session_expires(console):
    anna = await console.agent("anna")
    console.clock.advance(minutes=119)
    assert (await anna.get("/me")).status_code == 200  # using it keeps it alive
    console.clock.advance(minutes=119)
    assert (await anna.get("/me")).status_code == 200
    console.clock.advance(minutes=121)
    assert (await anna.get("/me")).status_code == 401
    assert (await anna.get("/me")).status_code == 401  # and it stays gone


async def test_cookie_auth_needs_the_csrf_header_for_posts(console):
    await console.add_agent("anna", password="pw")
    login = await console.client.post("/api/agent/login", json={"login": "anna", "password": "pw"})
    csrf = login.json()["csrf_token"]
    assert (await console.client.get("/api/agent/queue")).status_code == 200  # GET by cookie alone
    refused = await console.client.post("/api/agent/presence", json={"status": "away"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf"
    forged = await console.client.post("/api/agent/presence", json={"status": "away"}, headers={"X-CSRF-Token": "x" * 43})
    assert forged.status_code == 403
    ok = await console.client.post("/api/agent/presence", json={"status": "away"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200
    assert (await console.client.get("/api/agent/me")).json()["presence"] == "away"


async def test_disabled_agent_cannot_log_in_and_loses_sessions(console):
    anna = await console.agent("anna")
    await console.service.agents.disable("anna")
    assert (await anna.get("/me")).status_code == 401
    again = await console.client.post("/api/agent/login", json={"login": "anna", "password": "secret-pass"})
    assert again.status_code == 401


async def test_presence_goes_offline_when_the_console_is_silent(console):
    anna = await console.agent("anna")
    assert (await anna.post("/presence", {"status": "online"})).json() == {"presence": "online"}
    assert len(await console.service.agents.online()) == 1
    console.clock.advance(seconds=91)
    assert await console.service.agents.online() == []
    assert (await anna.post("/presence", {"status": "bogus"})).status_code == 422


async def test_demo_agent_exists_in_demo_mode(console):
    demo = await console.agent("demo", password="demo")
    me = (await demo.get("/me")).json()["agent"]
    assert me["supervisor"] is True and me["cities"] == ["all"] and me["departments"] == ["all"]
