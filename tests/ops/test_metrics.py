"""/metrics (Prometheus text format) counts what the service does."""

from __future__ import annotations

import re

from prometheus_client.parser import text_string_to_metric_families

from tests.webchat.helpers import make_settings, running_app


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample; 0 when absent (counters start when first used)."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


async def test_turns_messages_and_latency_are_counted_per_channel(sqlite_url, tmp_path):
    async with running_app(make_settings(sqlite_url, tmp_path)) as (_, client):
        before = (await client.get("/metrics")).text
        session = (await client.post("/api/webchat/sessions")).json()
        headers = {"Authorization": f"Bearer {session['token']}"}
        for text in ("Здравствуйте", "как оплатить"):
            assert (await client.post("/api/webchat/messages", json={"text": text}, headers=headers)).status_code == 200
        response = await client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    after = response.text
    assert sample(after, "isp_turns_total", channel="webchat", outcome="answered") - sample(
        before, "isp_turns_total", channel="webchat", outcome="answered"
    ) == 2
    assert sample(after, "isp_messages_total", channel="webchat", via="typed") - sample(
        before, "isp_messages_total", channel="webchat", via="typed"
    ) == 2
    assert sample(after, "isp_turn_seconds_count", channel="webchat") - sample(
        before, "isp_turn_seconds_count", channel="webchat"
    ) == 2
    assert sample(after, "isp_http_requests_total", route="/api/webchat/messages", method="POST", status="200") >= 2
    assert sample(after, "isp_intents_total", intent="payment_methods") - sample(
        before, "isp_intents_total", intent="payment_methods"
    ) == 1


async def test_http_routes_are_labelled_by_template_not_by_raw_path(sqlite_url, tmp_path):
    async with running_app(make_settings(sqlite_url, tmp_path)) as (_, client):
        await client.get("/webchat/static/widget.js")
        await client.get("/webchat/static/nope-123.js")
        await client.get("/no/such/path/42")
        text = (await client.get("/metrics")).text
    assert sample(text, "isp_http_requests_total", route="/webchat/static/{name}", method="GET", status="200") >= 1
    assert sample(text, "isp_http_requests_total", route="unmatched", method="GET", status="404") >= 1
    assert not re.search(r'route="[^"]*(nope-123|/42)"', text)


async def test_webhook_rejections_are_counted_by_reason(sqlite_url, tmp_path):
    settings = make_settings(
        sqlite_url, tmp_path, telegram_bot_token="123:ABC", telegram_api_base="http://127.0.0.1:9",
        telegram_webhook_secret="right-secret",
    )
    async with running_app(settings) as (_, client):
        before = (await client.get("/metrics")).text
        wrong = await client.post("/webhooks/telegram", content=b"{}", headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})
        malformed = await client.post(
            "/webhooks/telegram", content=b"{not json", headers={"X-Telegram-Bot-Api-Secret-Token": "right-secret"}
        )
        after = (await client.get("/metrics")).text
    assert (wrong.status_code, malformed.status_code) == (403, 400)
    for reason in ("bad_signature", "malformed"):
        delta = sample(after, "isp_webhook_rejections_total", route="/webhooks/telegram", reason=reason) - sample(
            before, "isp_webhook_rejections_total", route="/webhooks/telegram", reason=reason
        )
        assert delta == 1, reason


async def test_queue_lengths_oldest_wait_and_callback_outcomes(sqlite_url, tmp_path):
    from datetime import datetime, timezone

    async with running_app(make_settings(sqlite_url, tmp_path, metrics_queue_refresh_seconds=0)) as (app, client):
        container = app.state.container
        # Asked on a Wednesday at noon (within the department's hours), still waiting now.
        asked = datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc)
        await container.callbacks.request("Уфа", "tech", "+79000000002", topic="нет интернета", now=asked)
        await app.state.queue_gauges.refresh()
        text = (await client.get("/metrics")).text
    assert sample(text, "isp_queue_waiting", city="Уфа", department="tech") == 1
    assert sample(text, "isp_queue_waiting", city="Москва", department="tech") == 0
    waited = (container.clock() - asked).total_seconds()
    assert abs(sample(text, "isp_queue_oldest_wait_seconds", city="Уфа", department="tech") - waited) < 60
    assert sample(text, "isp_callbacks_today", city="Уфа", department="tech", outcome="done") == 0


async def test_requests_rejected_before_routing_are_counted_too(sqlite_url, tmp_path):
    """The one HTTP layer (app.asgi.HttpEdge) answers an oversize Content-Length with
    413 before any route runs; the request still shows in the counts."""
    async with running_app(make_settings(sqlite_url, tmp_path, max_body_bytes=100)) as (_, client):
        before = (await client.get("/metrics")).text
        response = await client.post("/api/webchat/messages", content=b"x" * 101, headers={"Content-Type": "application/json"})
        assert response.status_code == 413 and response.json()["error"]["code"] == "body_too_large"
        after = (await client.get("/metrics")).text
    labels = {"route": "unmatched", "method": "POST", "status": "413"}
    assert sample(after, "isp_http_requests_total", **labels) - sample(before, "isp_http_requests_total", **labels) == 1


async def test_the_startup_heap_is_frozen_while_serving_and_thawed_after(sqlite_url, tmp_path):
    """Full garbage collections walked the NLU model and the directory on every run (up
    to 324 ms each under load: the web chat's p99); frozen, they are left alone."""
    import gc

    import httpx

    from app.asgi import create_app

    app = create_app(make_settings(sqlite_url, tmp_path), freeze_heap=True)  # as app/server.py builds it
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
            assert (await client.get("/healthz")).status_code == 200
        assert gc.get_freeze_count() > 10_000
    assert gc.get_freeze_count() == 0
    async with running_app(make_settings(sqlite_url, tmp_path)) as (_, client):  # tests' apps: not frozen
        assert (await client.get("/healthz")).status_code == 200
        assert gc.get_freeze_count() == 0
