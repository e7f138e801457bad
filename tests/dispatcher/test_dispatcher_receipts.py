"""Delivery receipts keep the furthest status of a message, on both databases."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from dispatcher.receipts import Receipts

NOW = datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def receipts(db_sessions):
    return Receipts(db_sessions, clock=lambda: NOW)


async def test_a_receipt_is_recorded_and_read_back(receipts):
    await receipts.record("whatsapp", "SM1", "sent", conversation_key="whatsapp:+79000000001")
    receipt = await receipts.get("whatsapp", "SM1")
    assert (receipt.status, receipt.conversation_key, receipt.updated_at) == ("sent", "whatsapp:+79000000001", NOW)
    assert await receipts.get("whatsapp", "SM2") is None
    assert await receipts.get("viber", "SM1") is None


async def test_a_late_earlier_status_does_not_undo_a_later_one(receipts):
    await receipts.record("whatsapp", "SM1", "read")
    await receipts.record("whatsapp", "SM1", "delivered")
    assert (await receipts.get("whatsapp", "SM1")).status == "read"


async def test_a_failure_keeps_its_code_and_reason(receipts):
    await receipts.record("whatsapp", "SM1", "sent")
    await receipts.record("whatsapp", "SM1", "failed", error_code="63016", error_message="outside the 24h window")
    receipt = await receipts.get("whatsapp", "SM1")
    assert (receipt.status, receipt.error_code, receipt.error_message) == ("failed", "63016", "outside the 24h window")
