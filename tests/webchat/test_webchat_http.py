"""The web chat HTTP API and the shared HTTP hardening of the app, with a stand-in engine.

(The real engine is exercised in test_webchat_e2e.py.)
"""

from __future__ import annotations

import logging

import pytest

from bots.webchat.tokens import SessionSigner

from .helpers import SECRET, EchoEngine, bearer, make_settings, running_app


@pytest.fixture(autouse=True)
def no_error_logs(caplog):
    """Bad input is an answer, never an internal error: nothing below logs at ERROR."""
    caplog.set_level(logging.WARNING)
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert isinstance(error["message"], str) and error["message"]
    assert "Traceback" not in response.text
    if code:
        assert error["code"] == code
    return error


# -- sessions and tokens -----------------------------------------------------------------------
async def test_session_is_created_with_a_token_that_signs_its_id(client):
    response = await client.post("/api/webchat/sessions")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"session_id", "token"}
    assert SessionSigner(SECRET.encode()).session_id_of(body["token"]) == body["session_id"]


async def test_message_without_token_is_401(client, echo_engine):
    response = await client.post("/api/webchat/messages", json={"text": "привет"})
    assert_error(response, 401, "missing_token")
    assert response.headers["www-authenticate"] == "Bearer"
    assert echo_engine.seen == []


@pytest.mark.parametrize(
    "authorization",
    ["Bearer garbage", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer a.b.c", "garbage"],
)
async def test_message_with_garbage_token_is_401(client, echo_engine, authorization):
    response = await client.post("/api/webchat/messages", json={"text": "привет"}, headers={"Authorization": authorization})
    assert_error(response, 401)
    assert echo_engine.seen == []


async def test_message_with_wrong_signature_is_401(client, session, echo_engine):
    forged = session["token"][:-4] + ("AAAA" if not session["token"].endswith("AAAA") else "BBBB")
    response = await client.post("/api/webchat/messages", json={"text": "привет"}, headers={"Authorization": f"Bearer {forged}"})
    assert_error(response, 401, "invalid_token")
    other_secret = SessionSigner(b"another-secret-of-enough-length-000000").new_session().token
    response = await client.post("/api/webchat/messages", json={"text": "привет"}, headers={"Authorization": f"Bearer {other_secret}"})
    assert_error(response, 401, "invalid_token")
    assert echo_engine.seen == []


async def test_token_survives_a_restart_with_the_key_file(sqlite_url, tmp_path):
    settings = make_settings(sqlite_url, tmp_path, secret_key=None)
    async with running_app(settings, engine=EchoEngine()) as (_, client):
        session = (await client.post("/api/webchat/sessions")).json()
    assert (tmp_path / "secret").exists()
    async with running_app(settings, engine=EchoEngine()) as (_, client):
        response = await client.post("/api/webchat/messages", json={"text": "снова я"}, headers=bearer(session))
    assert response.status_code == 200


# -- messages -----------------------------------------------------------------------------------
async def test_text_message_reaches_the_engine_and_replies_come_back(client, session, echo_engine):
    response = await client.post(
        "/api/webchat/messages", json={"text": "привет", "client_message_id": "m-1"}, headers=bearer(session)
    )
    assert response.status_code == 200
    body = response.json()
    assert body.pop("at").endswith("Z")  # when the server answered, UTC
    assert body == {
        "replies": [
            {
                "text": "Вы написали: привет",
                "buttons": [{"title": "Баланс", "payload": "balance"}, {"title": "Оплата", "payload": "pay"}],
                "ask_phone": False,
            },
            {"text": "Ваш телефон?", "buttons": [], "ask_phone": True},
        ],
        "held_by_agent": False,
        "inbound_was_secret": False,
    }
    (inbound,) = echo_engine.seen
    assert inbound.channel == "webchat"
    assert inbound.user_id == session["session_id"]
    assert inbound.text == "привет" and inbound.payload is None
    assert inbound.message_id == f"{session['session_id']}:m-1"
    assert inbound.vouched_phone is None  # a web page can vouch for nothing


async def test_payload_message(client, session, echo_engine):
    response = await client.post("/api/webchat/messages", json={"payload": "balance"}, headers=bearer(session))
    assert response.status_code == 200
    assert response.json()["replies"][0]["text"] == "Кнопка: balance"
    (inbound,) = echo_engine.seen
    assert inbound.payload == "balance" and inbound.text is None


async def test_message_ids_are_scoped_to_the_session_and_absent_without_a_client_id(client, echo_engine):
    first = (await client.post("/api/webchat/sessions")).json()
    second = (await client.post("/api/webchat/sessions")).json()
    for session in (first, second, first):
        await client.post("/api/webchat/messages", json={"text": "a"}, headers=bearer(session))
    await client.post("/api/webchat/messages", json={"text": "a", "client_message_id": "1"}, headers=bearer(first))
    await client.post("/api/webchat/messages", json={"text": "a", "client_message_id": "1"}, headers=bearer(second))
    ids = [i.message_id for i in echo_engine.seen]
    # Without a client id nobody can send the message again: no id, nothing to de-duplicate.
    assert ids[:3] == [None, None, None]
    # The same client id in two sessions: two conversations, two ids.
    assert ids[3:] == [f"{first['session_id']}:1", f"{second['session_id']}:1"]


async def test_held_by_agent_has_no_replies_and_the_flag(client, session):
    response = await client.post("/api/webchat/messages", json={"text": "agent"}, headers=bearer(session))
    assert response.status_code == 200
    body = response.json()
    assert body.pop("at")
    assert body == {"replies": [], "held_by_agent": True, "inbound_was_secret": False}


async def test_secret_flag_is_passed_on(client, session):
    response = await client.post("/api/webchat/messages", json={"text": "secret"}, headers=bearer(session))
    assert response.json()["inbound_was_secret"] is True


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"text": "a", "payload": "b"},
        {"text": "   "},
        {"text": ""},
        {"payload": ""},
        {"text": "x" * 2001},
        {"text": 5},
        {"text": None, "payload": None},
        {"text": "a", "unknown": 1},
        {"text": "a", "client_message_id": "has spaces"},
        {"text": "a", "client_message_id": "x" * 101},
        ["text", "a"],
        "привет",
    ],
)
async def test_invalid_message_bodies_are_422(client, session, echo_engine, body):
    response = await client.post("/api/webchat/messages", json=body, headers=bearer(session))
    error = assert_error(response, 422, "validation_error")
    assert error["details"]
    assert echo_engine.seen == []


async def test_longest_allowed_text_is_accepted(client, session):
    response = await client.post("/api/webchat/messages", json={"text": "я" * 2000}, headers=bearer(session))
    assert response.status_code == 200


@pytest.mark.parametrize("raw", [b"{bad json", b'{"text": "a"', b"\xff\xfe", b"{'text': 'a'}"])
async def test_malformed_json_is_400(client, session, echo_engine, raw):
    headers = {**bearer(session), "Content-Type": "application/json"}
    response = await client.post("/api/webchat/messages", content=raw, headers=headers)
    assert_error(response, 400, "malformed_json")
    assert echo_engine.seen == []


async def test_non_json_content_type_is_422(client, session):
    headers = {**bearer(session), "Content-Type": "text/plain"}
    response = await client.post("/api/webchat/messages", content=b"hello", headers=headers)
    assert_error(response, 422)


# -- body size -----------------------------------------------------------------------------------
async def test_oversize_content_length_is_413_before_reading(client, session, echo_engine):
    body = b'{"text": "' + b"a" * 5000 + b'"}'  # limit in these tests: 4096 bytes
    response = await client.post(
        "/api/webchat/messages", content=body, headers={**bearer(session), "Content-Type": "application/json"}
    )
    assert_error(response, 413, "body_too_large")
    assert echo_engine.seen == []


async def test_oversize_chunked_body_is_413(client, session, echo_engine):
    async def chunks():
        yield b'{"text": "'
        for _ in range(10):
            yield b"a" * 1000
        yield b'"}'

    headers = {**bearer(session), "Content-Type": "application/json"}
    response = await client.post("/api/webchat/messages", content=chunks(), headers=headers)
    assert "content-length" not in response.request.headers  # really streamed
    assert_error(response, 413, "body_too_large")
    assert echo_engine.seen == []


async def test_chunked_body_under_the_limit_is_fine(client, session):
    async def chunks():
        yield b'{"text": '
        yield b'"small"}'

    headers = {**bearer(session), "Content-Type": "application/json"}
    response = await client.post("/api/webchat/messages", content=chunks(), headers=headers)
    assert response.status_code == 200


async def test_invalid_content_length_is_400(client, session):
    headers = {**bearer(session), "Content-Type": "application/json", "Content-Length": "abc"}
    response = await client.post("/api/webchat/messages", content=b'{"text": "a"}', headers=headers)
    assert_error(response, 400)


# -- generic errors ------------------------------------------------------------------------------
async def test_unknown_route_is_404_json(client):
    assert_error(await client.get("/api/nope"), 404, "not_found")
    assert_error(await client.post("/no/such/thing", json={}), 404, "not_found")


async def test_wrong_method_is_405_json(client):
    response = await client.get("/api/webchat/messages")
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["allow"]


async def test_unexpected_error_is_logged_and_answered_500_without_a_trace(sqlite_url, tmp_path, caplog):
    settings = make_settings(sqlite_url, tmp_path)
    async with running_app(settings, engine=EchoEngine(), raise_app_exceptions=False) as (_, client):
        session = (await client.post("/api/webchat/sessions")).json()
        response = await client.post("/api/webchat/messages", json={"text": "boom"}, headers=bearer(session))
    assert_error(response, 500, "internal_error")
    assert "engine exploded" not in response.text
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(logged) == 1 and "engine exploded" in str(logged[0].exc_info[1])
    caplog.clear()  # expected here: the autouse check is for the other tests


# -- the widget and API description -----------------------------------------------------------------
async def test_widget_files_and_demo_page_are_served(client):
    page = await client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="/widget.js"' in page.text and "Зелёная точка" in page.text
    script = await client.get("/widget.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "/api/webchat/messages" in script.text
    css = await client.get("/widget.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    static = await client.get("/webchat/static/widget.js")
    assert static.status_code == 200
    assert_error(await client.get("/webchat/static/nope.js"), 404)


async def test_openapi_describes_the_web_chat(client):
    spec = (await client.get("/openapi.json")).json()
    assert spec["info"]["title"] == "isp-support" and spec["info"]["description"]
    assert {"/api/webchat/sessions", "/api/webchat/messages", "/api/webchat/history", "/healthz"} <= set(spec["paths"])
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


# -- the express lane (bots/express.py) ------------------------------------------------------------
async def test_a_message_is_served_by_the_edge_without_the_router_and_errors_keep_their_shape(
    sqlite_url, tmp_path, echo_engine
):
    async with running_app(make_settings(sqlite_url, tmp_path), engine=echo_engine) as (app, client):
        routed: list[str] = []
        router_stack = app.router.middleware_stack

        async def spy(scope, receive, send):
            routed.append(scope["path"])
            await router_stack(scope, receive, send)

        app.router.middleware_stack = spy
        session = (await client.post("/api/webchat/sessions")).json()
        assert routed == ["/api/webchat/sessions"]  # an ordinary route goes through the router
        ok = await client.post("/api/webchat/messages", json={"text": "привет"}, headers=bearer(session))
        assert ok.status_code == 200 and ok.json()["replies"]
        # The app's own exception handlers answer what the endpoint raises, as through the router.
        assert_error(await client.post("/api/webchat/messages", json={"text": "привет"}), 401, "missing_token")
        bad = await client.post("/api/webchat/messages", json={"text": 5}, headers=bearer(session))
        assert_error(bad, 422, "validation_error")
        assert routed == ["/api/webchat/sessions"]  # none of the messages walked the router
        # Another method on the same path still goes to the router (405, as before).
        assert_error(await client.get("/api/webchat/messages"), 405)
        assert routed == ["/api/webchat/sessions", "/api/webchat/messages"]
