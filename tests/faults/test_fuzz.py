"""No request gets a 500: schemathesis over the app's own /openapi.json and a fuzz of each
messenger webhook with correct signatures (tests/faults/fuzz.py). A bounded number of
cases here; ``benchmarks/fuzz.py`` runs thousands (README, Durability)."""

from __future__ import annotations

import httpx
import pytest

from .fuzz import fuzz_openapi, fuzz_target, fuzz_telegram, fuzz_viber, fuzz_whatsapp

OPENAPI_EXAMPLES_PER_OPERATION = 20
WEBHOOK_EXAMPLES = 100


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    with fuzz_target(tmp_path_factory.mktemp("fuzz")) as running:
        yield running
        print(f"\nfuzz: statuses\n{running.summary()}")


def test_openapi_operations_never_answer_500(target):
    fuzz_openapi(target, OPENAPI_EXAMPLES_PER_OPERATION)
    assert target.server_errors == []


def test_telegram_webhook_never_answers_500(target):
    fuzz_telegram(target, WEBHOOK_EXAMPLES)
    assert target.server_errors == []


def test_whatsapp_webhook_never_answers_500(target):
    fuzz_whatsapp(target, WEBHOOK_EXAMPLES)
    assert target.server_errors == []


def test_viber_webhook_never_answers_500(target):
    fuzz_viber(target, WEBHOOK_EXAMPLES)
    assert target.server_errors == []


def test_agent_id_beyond_the_key_range_is_a_422_not_a_500(target):
    with httpx.Client(base_url=target.base_url, timeout=30) as client:
        token = client.post("/api/agent/login", json={"login": "demo", "password": "demo"}).json()["token"]
        response = client.post(
            f"/api/agent/conversations/{2**63}/transfer", json={"department": "tech"}, headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 422
