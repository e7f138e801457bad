"""Prometheus metrics (prometheus-client) and the ``/metrics`` endpoint.

Counted at the composition root, around the parts (the engine, the senders, every
HTTP request), so no skill or channel carries metrics code. Several processes
(``serve --workers N``) use prometheus-client's multi-process mode: the parent gives
every worker one directory (``PROMETHEUS_MULTIPROC_DIR``, set by ``app.server``
before anything imports prometheus_client) and ``/metrics`` on any worker adds up all
of them.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dialogs.delivery import DeliveryResult, Sender
from dialogs.messages import Inbound, Reply, TurnResult

TURN_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

MESSAGES = Counter("isp_messages_total", "Subscriber messages handled by the dialog engine", ["channel", "via"])
TURNS = Counter("isp_turns_total", "Engine turns by outcome", ["channel", "outcome"])
TURN_SECONDS = Histogram("isp_turn_seconds", "Time to answer one subscriber message", ["channel"], buckets=TURN_BUCKETS)
INTENTS = Counter("isp_intents_total", "What subscribers asked, as the engine understood it", ["intent"])
HTTP_REQUESTS = Counter("isp_http_requests_total", "HTTP requests by route and status", ["route", "method", "status"])
HTTP_SECONDS = Histogram("isp_http_request_seconds", "HTTP request latency by route", ["route"], buckets=TURN_BUCKETS)
WEBHOOK_REJECTIONS = Counter(
    "isp_webhook_rejections_total", "Webhook requests answered with 4xx, by route and reason", ["route", "reason"]
)
DELIVERIES = Counter("isp_deliveries_total", "Outbound messages by channel and result", ["channel", "status"])
QUEUE_WAITING = Gauge(
    "isp_queue_waiting", "Items waiting per queue", ["kind", "city", "department"], multiprocess_mode="mostrecent"
)
QUEUE_OLDEST_SECONDS = Gauge(
    "isp_queue_oldest_wait_seconds", "Wait of the oldest item per queue", ["kind", "city", "department"],
    multiprocess_mode="mostrecent",
)
CALLBACK_OUTCOMES = Counter("isp_callback_outcomes_total", "Callback results recorded by agents", ["outcome"])

_REASONS = {400: "malformed", 401: "unauthorized", 403: "bad_signature", 404: "not_found", 413: "too_large",
            415: "unsupported_media_type", 422: "invalid", 429: "rate_limited"}


class MeteredEngine:
    """The engine with its turns counted and timed per channel."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    def __getattr__(self, name: str) -> Any:  # services, texts, ... stay reachable
        return getattr(self._engine, name)

    async def handle(self, inbound: Inbound, **kwargs: Any) -> TurnResult:
        started = time.perf_counter()
        result = await self._engine.handle(inbound, **kwargs)
        TURN_SECONDS.labels(inbound.channel).observe(time.perf_counter() - started)
        MESSAGES.labels(inbound.channel, inbound.via or "typed").inc()
        outcome = "duplicate" if result.duplicate else "held_by_agent" if result.held_by_agent else "answered"
        TURNS.labels(inbound.channel, outcome).inc()
        intent = getattr(result, "intent", None)
        if intent and not result.duplicate:
            INTENTS.labels(intent).inc()
        return result


class MeteredSender:
    """A channel's sender with each delivery's result counted."""

    def __init__(self, sender: Sender) -> None:
        self._sender = sender
        self.channel = sender.channel

    async def send(self, user_id: str, replies: Sequence[Reply]) -> DeliveryResult:
        result = await self._sender.send(user_id, replies)
        DELIVERIES.labels(self.channel, result.status).inc()
        return result


class HttpMetrics:
    """Counts and times every HTTP request by its route template (never the raw path:
    ids in paths would make a label per conversation)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            route = _route_of(scope)
            HTTP_REQUESTS.labels(route, scope.get("method", ""), str(status)).inc()
            HTTP_SECONDS.labels(route).observe(time.perf_counter() - started)
            if route.startswith("/webhooks/") and 400 <= status < 500:
                WEBHOOK_REJECTIONS.labels(route, _REASONS.get(status, str(status))).inc()


def _route_of(scope: Scope) -> str:
    """The template of the route that served the request (the router leaves it in the
    scope); "unmatched" for a 404 no route claimed."""
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


metrics_router = APIRouter(tags=["operations"])


@metrics_router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Every worker's metrics added up (multi-process mode), in Prometheus' text format."""
    if request.app.state.metrics_multiprocess:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY

        body = generate_latest(REGISTRY)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
