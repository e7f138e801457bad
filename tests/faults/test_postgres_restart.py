"""PostgreSQL restarted under a running app (issue 10): the pools recover by themselves
(``pool_pre_ping``), no app restart. A private cluster the test makes itself
(private_postgres.py), the app as a real ``serve`` subprocess on it; the cluster is
stopped (``fast``: connections ended; then ``immediate``: a crash) and started again, and
the very next requests — web chat turn, history, agent console — must succeed."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.conftest import SERVICES_REQUIRED

from .private_postgres import PrivatePostgres, missing_reason
from .servers import AppProcess


@pytest.fixture
def private_postgres():
    reason = missing_reason()
    if reason:
        if SERVICES_REQUIRED:
            pytest.fail(f"the PostgreSQL restart test needs a private cluster: {reason}", pytrace=False)
        pytest.skip(f"the PostgreSQL restart test needs a private cluster: {reason}")
    cluster = PrivatePostgres()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


async def _turn(client: httpx.AsyncClient, token: str, text: str) -> httpx.Response:
    return await client.post("/api/webchat/messages", json={"text": text}, headers={"Authorization": f"Bearer {token}"})


async def _history(client: httpx.AsyncClient, token: str) -> list[str]:
    response = await client.get("/api/webchat/history", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return [message["text"] for message in response.json()["messages"]]


async def test_the_app_recovers_when_postgresql_restarts(private_postgres, tmp_path):
    app = AppProcess(tmp_path, private_postgres.url)
    await app.start()
    try:
        async with httpx.AsyncClient(base_url=app.base_url, timeout=30) as client:
            token = (await client.post("/api/webchat/sessions")).json()["token"]
            assert (await _turn(client, token, "Здравствуйте")).status_code == 200
            agent = (await client.post("/api/agent/login", json={"login": "demo", "password": "demo"})).json()["token"]
            console = {"Authorization": f"Bearer {agent}"}
            assert (await client.get("/api/agent/queue", headers=console)).status_code == 200
            # Every pooled connection has been used: each one is now broken by the restart.

            for mode in ("fast", "immediate"):
                private_postgres.stop(mode)
                during = await client.get("/api/webchat/history", headers={"Authorization": f"Bearer {token}"})
                ready = await client.get("/readyz")
                print(f"\npostgres stopped ({mode}): history {during.status_code}, /readyz {ready.status_code}")
                assert during.status_code == 503 and during.headers["Retry-After"]  # away: retry, not a 500
                private_postgres.start()

                started = time.monotonic()
                text = f"Где ближайший офис? ({mode})"
                turn = await _turn(client, token, text)
                assert turn.status_code == 200 and turn.json()["replies"], turn.text
                assert (await client.get("/api/agent/queue", headers=console)).status_code == 200
                assert (await client.get("/readyz")).status_code == 200
                # The turn's transcript lines (durable: committed before the reply) are there.
                assert text in await _history(client, token)
                print(f"postgres restarted ({mode}): first requests answered in {time.monotonic() - started:.2f} s")
    finally:
        app.stop()
        await asyncio.sleep(0)
