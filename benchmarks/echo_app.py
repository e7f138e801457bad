"""The bare endpoint the web chat is compared with: FastAPI on uvicorn answering a JSON
POST with a JSON echo, nothing else (no database, no state, no middleware). Same
framework, server and event loop as the app, so the ratio of the two throughputs is
the share of a request's cost that is the project's own work.

``uvicorn benchmarks.echo_app:app`` (or under gunicorn with uvicorn workers).
"""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


class Message(BaseModel):
    text: str | None = None
    payload: str | None = None


@app.post("/echo")
async def echo(message: Message) -> dict:
    return {"replies": [{"text": message.text or message.payload or ""}]}


@app.get("/healthz")
async def healthz() -> dict:
    return {"status": "ok"}
