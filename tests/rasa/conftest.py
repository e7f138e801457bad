"""The rasa-sdk action server, served through its ASGI interface (lifespan included),
with a real container on a SQLite file database and the demo subscribers."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from contextlib import asynccontextmanager

import httpx
import pytest
from sanic import Sanic

from app.container import build_container
from app.settings import Settings
from bots.rasa import create_action_server

RASA_VERSION = "3.6.21"

_ids = itertools.count(1)


def make_settings(tmp_path, **overrides) -> Settings:
    values = dict(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'rasa.db'}",
        demo=True,
        password_hash_profile="insecure-fast",
        secret_key="x" * 40,
        _env_file=None,
    )
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def lifespan(app):
    """Drive the ASGI lifespan as a server would: startup runs Sanic's
    before_server_start listeners (the container is built there), shutdown the
    after_server_stop ones."""
    inbox: asyncio.Queue = asyncio.Queue()
    outbox: asyncio.Queue = asyncio.Queue()
    task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    started = await asyncio.wait_for(outbox.get(), 30)
    assert started["type"] == "lifespan.startup.complete", started
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        stopped = await asyncio.wait_for(outbox.get(), 30)
        await task
        assert stopped["type"] == "lifespan.shutdown.complete", stopped


@pytest.fixture(autouse=True)
def sanic_test_mode(monkeypatch):
    # rasa-sdk names every app "rasa_sdk"; Sanic refuses a second app of one name
    # in a process unless in test mode.
    monkeypatch.setattr(Sanic, "test_mode", True)


@asynccontextmanager
async def served(settings: Settings, *, token: str | None = None):
    app = create_action_server(settings, build_container, token=token)
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://actions.test") as client:
            yield client, app


@pytest.fixture
async def actions(tmp_path):
    async with served(make_settings(tmp_path)) as (client, _app):
        yield client


class RasaConversation:
    """Builds Rasa's action-call JSON the way Rasa 3 posts it to the action server:
    the tracker state with ``latest_message`` (parse data), the events so far, slots,
    and the domain."""

    def __init__(self, sender_id: str | None = None) -> None:
        self.sender_id = sender_id or f"rasa-user-{uuid.uuid4().hex[:8]}"
        self.slots: dict = {"isp_verified_account": None}
        self.events: list[dict] = [
            {"event": "action", "timestamp": 1717000000.0, "name": "action_session_start", "policy": None,
             "confidence": 1.0, "action_text": None, "hide_rule_turn": False},
            {"event": "session_started", "timestamp": 1717000000.1},
            {"event": "action", "timestamp": 1717000000.2, "name": "action_listen", "policy": None,
             "confidence": None, "action_text": None, "hide_rule_turn": False},
        ]

    def user_says(self, text: str, intent: str, confidence: float = 0.93, entities: dict | None = None) -> dict:
        """A user message as Rasa's NLU parsed it; returns ``latest_message``."""
        message_id = uuid.uuid4().hex
        entity_list = []
        for name, value in (entities or {}).items():
            start = text.find(value) if isinstance(value, str) else -1
            entity_list.append({
                "entity": name, "start": max(start, 0), "end": max(start, 0) + len(str(value)),
                "confidence_entity": 0.99, "value": value, "extractor": "DIETClassifier",
            })
        parse_data = {
            "intent": {"name": intent, "confidence": confidence},
            "entities": entity_list,
            "text": text,
            "message_id": message_id,
            "metadata": {},
            "intent_ranking": [{"name": intent, "confidence": confidence}],
            "response_selector": {"all_retrieval_intents": [], "default": {"response": {}, "ranking": []}},
        }
        self.events.append({
            "event": "user", "timestamp": 1717000000.0 + next(_ids), "metadata": {}, "text": text,
            "parse_data": parse_data, "input_channel": "rest", "message_id": message_id,
        })
        self.latest_message = parse_data
        return parse_data

    def action_call(self, action: str) -> dict:
        return {
            "next_action": action,
            "sender_id": self.sender_id,
            "tracker": {
                "sender_id": self.sender_id,
                "slots": dict(self.slots),
                "latest_message": self.latest_message,
                "latest_event_time": self.events[-1]["timestamp"],
                "followup_action": None,
                "paused": False,
                "stack": [],
                "events": list(self.events),
                "latest_input_channel": "rest",
                "active_loop": {},
                "latest_action": {"action_name": "action_listen"},
                "latest_action_name": "action_listen",
            },
            "domain": DOMAIN,
            "version": RASA_VERSION,
        }

    def apply(self, action: str, result: dict) -> None:
        """What Rasa does with our answer: record the action, its events, the bot
        utterances; slots follow SlotSet."""
        self.events.append({"event": "action", "timestamp": 1717000000.0 + next(_ids), "name": action,
                            "policy": "RulePolicy", "confidence": 1.0})
        for event in result["events"]:
            self.events.append(event)
            if event["event"] == "slot":
                self.slots[event["name"]] = event["value"]
        for response in result["responses"]:
            self.events.append({"event": "bot", "timestamp": 1717000000.0 + next(_ids), "text": response["text"],
                                "data": {"buttons": response["buttons"]}, "metadata": {}})

    async def run(self, client: httpx.AsyncClient, action: str) -> dict:
        answer = await client.post("/webhook", json=self.action_call(action))
        assert answer.status_code == 200, answer.text
        result = answer.json()
        self.apply(action, result)
        return result


DOMAIN = {
    "version": "3.1",
    "session_config": {"session_expiration_time": 60, "carry_over_slots_to_new_session": True},
    "intents": ["greet", "help", "verify", "balance", "payment_methods", "office_hours", "trust_payment",
                "callback", "operator", "tech_issue", "logout", "password_reset", "inform", "menu", "cancel", "skip"],
    "entities": ["city", "department", "payment_method", "account", "phone"],
    "slots": {"isp_verified_account": {"type": "any", "initial_value": None, "influence_conversation": False,
                                       "mappings": [{"type": "custom"}]}},
    "responses": {},
    "actions": ["action_isp_balance", "action_isp_payment_methods", "action_isp_office_hours",
                "action_isp_trust_payment", "action_isp_callback", "action_isp_operator", "action_isp_verify",
                "action_isp_logout", "action_isp_password_reset", "action_isp_tech_issue", "action_isp_help",
                "action_isp_continue"],
    "forms": {},
    "e2e_actions": [],
}
