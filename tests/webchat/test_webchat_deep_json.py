"""Deeply nested JSON is a 400/422, never a 500 (issue 10)."""

from __future__ import annotations

import pytest

from bots.jsonbody import MalformedJson, nesting_depth, parse_json

from .helpers import bearer, make_settings, running_app

DEPTHS = [100, 900, 1000, 3000, 20000]


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


def test_depth_ignores_brackets_inside_strings():
    assert nesting_depth('{"a": "[[[[{{{{", "b": [[1]]}') == 3
    assert nesting_depth('["\\"[[[["]') == 1


@pytest.mark.parametrize("depth", DEPTHS)
def test_parse_json_refuses_deep_documents_with_one_error(depth):
    with pytest.raises(MalformedJson):
        parse_json(nested(depth))


def test_parse_json_reads_ordinary_documents_and_refuses_garbage():
    assert parse_json(b'{"update_id": 1, "message": {"text": "[{"}}') == {"update_id": 1, "message": {"text": "[{"}}
    for garbage in (b"\xff\xfe", b"", b"{", "\ud800"):
        with pytest.raises(MalformedJson):
            parse_json(garbage)


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("where", ["top", "text"])
async def test_web_chat_answers_deep_json_with_a_4xx(sqlite_url, tmp_path, depth, where, echo_engine):
    body = nested(depth) if where == "top" else '{"text": ' + nested(depth) + "}"
    settings = make_settings(sqlite_url, tmp_path, max_body_bytes=100_000)
    async with running_app(settings, engine=echo_engine, raise_app_exceptions=False) as (_, client):
        session = (await client.post("/api/webchat/sessions")).json()
        response = await client.post(
            "/api/webchat/messages", content=body, headers={**bearer(session), "Content-Type": "application/json"}
        )
    assert response.status_code in (400, 422), response.text
    assert response.json()["error"]["code"] == ("malformed_json" if depth > 64 else "validation_error")
    assert echo_engine.seen == []
