"""Canned replies (provider data), statistics, and the static console route."""

from __future__ import annotations

import shutil
from pathlib import Path

from dispatcher.console.api import STATIC_DIR
from reference.directory import DEFAULT_DIR, Directory


async def test_canned_replies_per_department_with_the_agent_name(console):
    anna = await console.agent("anna", departments="tech")
    replies = (await anna.get("/canned", params={"department": "tech"})).json()["replies"]
    assert {"id", "title", "text"} == set(replies[0])
    assert replies[0]["id"] == "greeting" and "Меня зовут anna" in replies[0]["text"]
    assert any(r["id"] == "reboot" for r in replies)
    assert (await anna.get("/canned", params={"department": "subscriber"})).json() == {"replies": []}
    assert (await anna.get("/canned", params={"department": "sales"})).status_code == 422


def test_a_providers_own_canned_replies_file_is_read(tmp_path):
    for name in Path(DEFAULT_DIR).glob("*.toml"):
        shutil.copy(name, tmp_path / name.name)
    (tmp_path / "canned_replies.toml").write_text(
        '[[tech]]\nid = "x"\ntitle = "Своё"\ntext = "Наш текст"\n', "utf-8"
    )
    directory = Directory(tmp_path)
    assert [(r.id, r.title, r.text) for r in directory.canned_replies["tech"]] == [("x", "Своё", "Наш текст")]
    assert "subscriber" not in directory.canned_replies
    (tmp_path / "canned_replies.toml").unlink()
    assert Directory(tmp_path).canned_replies == {}


async def test_stats_for_supervisors(console):
    chat, handoff_id = await console.queued_chat("Москва")
    await console.container.callbacks.request("Москва", "subscriber", "+79000000071")
    anna = await console.agent("anna")
    chief = await console.agent("chief", supervisor=True)
    assert (await anna.get("/stats")).status_code == 404
    console.clock.advance(minutes=2)
    await anna.post(f"/conversations/{handoff_id}/takeover")
    console.clock.advance(minutes=5)
    await anna.post(f"/conversations/{handoff_id}/release")
    await console.container.callbacks.request("Москва", "subscriber", "+79000000072")
    console.clock.advance(minutes=1)
    body = (await chief.get("/stats")).json()
    assert body["agents_online"] == 2
    assert len(body["queues"]) == len(console.container.directory.cities) * 2
    moscow = next(q for q in body["queues"] if q["city"] == "Москва" and q["department"] == "subscriber")
    assert moscow["waiting"] == 2 and moscow["oldest_seconds"] == 8 * 60
    assert moscow["avg_wait_seconds"] == 120 and moscow["avg_handle_seconds"] == 300
    assert moscow["callbacks_done_today"] == 0 and moscow["callbacks_failed_today"] == 0
    assert set(moscow) == {"city", "department", "waiting", "oldest_seconds", "avg_wait_seconds",
                           "avg_handle_seconds", "callbacks_done_today", "callbacks_failed_today"}


async def test_console_page_is_served_with_a_strict_csp(console, monkeypatch, tmp_path):
    monkeypatch.setattr("dispatcher.console.api.STATIC_DIR", tmp_path)
    assert (await console.client.get("/console")).status_code == 404  # no UI installed
    (tmp_path / "index.html").write_text("<!doctype html><title>Консоль</title>", "utf-8")
    (tmp_path / "console.js").write_text("console.log(1)", "utf-8")
    page = await console.client.get("/console")
    assert page.status_code == 200 and "Консоль" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    script = await console.client.get("/console/static/console.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert script.headers["content-security-policy"] == csp
    for bad in ("/console/static/..%2Fsecret", "/console/static/.hidden", "/console/static/missing.js"):
        assert (await console.client.get(bad)).status_code == 404
    assert STATIC_DIR.name == "static"


async def test_every_endpoint_is_in_the_openapi_document(console):
    paths = (await console.client.get("/openapi.json")).json()["paths"]
    for path in ("/api/agent/login", "/api/agent/me", "/api/agent/logout", "/api/agent/presence", "/api/agent/queue",
                 "/api/agent/conversations/{handoff_id}", "/api/agent/conversations/{handoff_id}/takeover",
                 "/api/agent/conversations/{handoff_id}/messages", "/api/agent/conversations/{handoff_id}/notes",
                 "/api/agent/conversations/{handoff_id}/release", "/api/agent/conversations/{handoff_id}/transfer",
                 "/api/agent/conversations/{handoff_id}/viewing", "/api/agent/callbacks/next",
                 "/api/agent/callbacks/{request_id}/viewing",
                 "/api/agent/callbacks/{request_id}/result", "/api/agent/canned", "/api/agent/stats", "/api/agent/audit"):
        assert path in paths, path
