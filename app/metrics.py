"""Prometheus metrics (prometheus-client) and the ``/metrics`` endpoint.

Counted at the composition root, around the parts (the engine, the senders, every
HTTP request), so no skill or channel carries metrics code. Several processes
(``serve --workers N``) use prometheus-client's multi-process mode: the parent gives
every worker one directory (``PROMETHEUS_MULTIPROC_DIR``, set by ``app.server``
before anything imports prometheus_client) and ``/metrics`` on any worker adds up all
of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, Awaitable, Callable, Sequence

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess
from starlette.types import Scope

from dialogs.delivery import DeliveryResult, Sender
from dialogs.messages import Inbound, Reply, TurnResult

log = logging.getLogger(__name__)

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
    "isp_queue_waiting", "Callbacks due and conversations waiting per queue", ["city", "department"],
    multiprocess_mode="mostrecent",
)
QUEUE_OLDEST_SECONDS = Gauge(
    "isp_queue_oldest_wait_seconds", "Wait of the oldest item per queue", ["city", "department"],
    multiprocess_mode="mostrecent",
)
CALLBACKS_TODAY = Gauge(
    "isp_callbacks_today", "Callbacks closed today (city's local day) by outcome", ["city", "department", "outcome"],
    multiprocess_mode="mostrecent",
)
AGENTS_ONLINE = Gauge("isp_agents_online", "Agents online", multiprocess_mode="mostrecent")

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
        channel = inbound.channel
        _child(TURN_SECONDS, channel).observe(time.perf_counter() - started)
        _child(MESSAGES, channel, inbound.via or "typed").inc()
        outcome = (
            "refused" if result.refused
            else "duplicate" if result.duplicate
            else "held_by_agent" if result.held_by_agent
            else "answered"
        )  # fmt: skip
        _child(TURNS, channel, outcome).inc()
        intent = getattr(result, "intent", None)
        if intent and not result.duplicate:
            _child(INTENTS, intent).inc()
        return result


_CHILDREN: dict[tuple, Any] = {}


def _child(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, looked up once per process: ``labels()`` takes a lock
    and builds its key on every call (1.5% of a web chat message's CPU for the engine's four).
    The label values are few (channels, outcomes, intents, route templates, statuses)."""
    key = (id(metric), *labels)
    child = _CHILDREN.get(key)
    if child is None:
        child = _CHILDREN[key] = metric.labels(*labels)
    return child


class MeteredSender:
    """A channel's sender with each delivery's result counted."""

    def __init__(self, sender: Sender) -> None:
        self._sender = sender
        self.channel = sender.channel

    async def send(self, user_id: str, replies: Sequence[Reply]) -> DeliveryResult:
        result = await self._sender.send(user_id, replies)
        DELIVERIES.labels(self.channel, result.status).inc()
        return result

    async def advise(self, user_id: str) -> str | None:
        # The optional preflight of dialogs.delivery.AdvisingSender, passed through.
        advise = getattr(self._sender, "advise", None)
        return await advise(user_id) if advise is not None else None


def observe_request(scope: Scope, status: int, seconds: float) -> None:
    """Count and time one HTTP request by its route template (never the raw path: ids
    in paths would make a label per conversation). Called by ``app.asgi.HttpEdge``."""
    route = _route_of(scope)
    _child(HTTP_REQUESTS, route, scope.get("method", ""), str(status)).inc()
    _child(HTTP_SECONDS, route).observe(seconds)
    if route.startswith("/webhooks/") and 400 <= status < 500:
        _child(WEBHOOK_REJECTIONS, route, _REASONS.get(status, str(status))).inc()




def _route_of(scope: Scope) -> str:
    """The template of the route that served the request (the router leaves it in the
    scope); "unmatched" for a 404 no route claimed."""
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


class QueueGauges:
    """Queue lengths, oldest waits and today's callback outcomes per city and department,
    refreshed from the console's statistics every ``every`` seconds by each process (the
    gauges keep the most recent value across workers)."""

    def __init__(self, stats: Callable[[], Awaitable[dict]], every: float = 15.0) -> None:
        self._stats = stats
        self._every = every
        self._task: asyncio.Task | None = None

    async def refresh(self) -> None:
        figures = await self._stats()
        for queue in figures["queues"]:
            labels = (queue["city"] or "?", queue["department"])
            QUEUE_WAITING.labels(*labels).set(queue["waiting"])
            QUEUE_OLDEST_SECONDS.labels(*labels).set(queue["oldest_seconds"])
            CALLBACKS_TODAY.labels(*labels, "done").set(queue["callbacks_done_today"])
            CALLBACKS_TODAY.labels(*labels, "no_answer").set(queue["callbacks_failed_today"])
        AGENTS_ONLINE.set(figures["agents_online"])

    def start(self) -> None:
        if self._task is None and self._every > 0:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="queue-gauges")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:  # noqa: BLE001 - metrics must never take the service down
                log.warning("queue metrics: refresh failed", exc_info=True)
            await asyncio.sleep(self._every)


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
