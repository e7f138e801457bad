"""The console's HTTP API (``/api/agent/...``), its live WebSocket, and the static UI
(``/console``). See README "Agent console" for the contract.

The routes find the running :class:`Console` in ``request.app.state.console``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from fastapi import Path as FastApiPath, APIRouter, Depends, HTTPException, Query, Request, Response, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field

from dispatcher.agents import ConsoleSession
from dispatcher.console.auth import COOKIE, CSRF_HEADER, SAFE_METHODS, csrf_ok
from dispatcher.console.runtime import Console
from dispatcher.console.service import QUEUE_MAX, QUEUE_PAGE, Conflict, ConsoleService, Hidden
from dispatcher.live import Scope
from reference.directory import DEPARTMENTS

# Ids are the tables' INTEGER keys (32-bit on PostgreSQL): a larger number names nothing,
# and must be a 422 rather than reach the database and overflow there.
ItemId = Annotated[int, FastApiPath(ge=1, le=2**31 - 1)]

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
_WS_QUEUE = 500


def _console(request: Request) -> Console:
    console = getattr(request.app.state, "console", None)
    if console is None:
        raise HTTPException(503, detail={"code": "unavailable", "message": "The console is not running."})
    return console


def _error(status: int, code: str, message: str) -> HTTPException:
    return HTTPException(status, detail={"code": code, "message": message})


NOT_FOUND = "Не найдено."


async def current_session(request: Request) -> ConsoleSession:
    """The caller's session: ``Authorization: Bearer`` or the cookie (then a POST must
    carry ``X-CSRF-Token``)."""
    console = _console(request)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    by_cookie = False
    if scheme.lower() != "bearer" or not token.strip():
        token = request.cookies.get(COOKIE, "")
        by_cookie = True
    if not token:
        raise _error(401, "unauthorized", "Войдите в консоль.")
    session = await console.service.agents.resolve(token.strip())
    if session is None:
        raise _error(401, "unauthorized", "Сессия истекла: войдите снова.")
    if by_cookie and request.method not in SAFE_METHODS and not csrf_ok(session.csrf_token, request.headers.get(CSRF_HEADER)):
        raise _error(403, "csrf", "Нет CSRF-токена: обновите страницу.")
    return session


def _service(request: Request) -> ConsoleService:
    return _console(request).service


async def _run(call):
    """Map the service's errors to HTTP answers."""
    try:
        return await call
    except Hidden:
        raise _error(404, "not_found", NOT_FOUND) from None
    except Conflict as error:
        raise _error(409, error.code, error.message) from None
    except ValueError as error:
        raise _error(422, "invalid", str(error)) from None


# -- bodies ------------------------------------------------------------------------------------
class LoginBody(BaseModel):
    login: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)


class PresenceBody(BaseModel):
    status: Literal["online", "away", "offline"]


class TextBody(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class TransferBody(BaseModel):
    city: str | None = Field(default=None, max_length=60)
    department: Literal["subscriber", "tech"]


class OutcomeBody(BaseModel):
    outcome: Literal["done", "no_answer", "cancelled"]
    note: str | None = Field(default=None, max_length=500)


router = APIRouter(prefix="/api/agent", tags=["agent console"])
Session = Depends(current_session)


def _json(body: dict) -> Response:
    """Serialized once, straight to bytes: FastAPI's generic encoder walks every value
    again, which costs more than the query for a long queue."""
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(), media_type="application/json")


def _agent_body(session: ConsoleSession) -> dict:
    return session.agent.to_dict()


@router.post("/login", summary="Log in: a Bearer token, and the console cookie",
             responses={401: {"description": "Wrong login or password"}, 429: {"description": "Too many failures"}})
async def login(body: LoginBody, request: Request) -> JSONResponse:
    console = _console(request)
    address = request.client.host if request.client else "?"
    wait = await console.guard.locked_for(body.login, address)
    if wait is not None:
        return _too_many(wait)
    session = await console.service.agents.login(body.login, body.password)
    if session is None:
        await console.guard.failed(body.login, address)
        wait = await console.guard.locked_for(body.login, address)
        if wait is not None:
            return _too_many(wait)
        raise _error(401, "bad_credentials", "Неверный логин или пароль.")
    await console.guard.succeeded(body.login)
    await console.service.events.anything_changed()
    response = JSONResponse(
        {"token": session.token, "csrf_token": session.csrf_token, "expires_in": console.session_seconds,
         "agent": _agent_body(session)}
    )
    response.set_cookie(
        COOKIE, session.token, httponly=True, samesite="strict", path="/",
        secure=console.cookie_secure or request.url.scheme == "https",
    )
    return response


def _too_many(seconds: int) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": "too_many_attempts", "message": f"Слишком много неудачных попыток. Повторите через {seconds} с."}},
        status_code=429, headers={"Retry-After": str(seconds)},
    )


@router.get("/me", summary="The logged-in agent")
async def me(request: Request, session: ConsoleSession = Session) -> dict:
    service = _service(request)
    fresh = await service.agents.get(session.agent.login)
    return {
        "csrf_token": session.csrf_token,
        "expires_in": _console(request).session_seconds,
        "agent": _agent_body(session),
        "presence": service.agents.effective_presence(fresh or session.agent, service.clock()),
        "scope": service.scope(fresh or session.agent),
    }


@router.post("/logout", status_code=204, summary="End the session")
async def logout(request: Request, session: ConsoleSession = Session) -> Response:
    await _service(request).agents.logout(session.token)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.post("/presence", summary="online / away / offline")
async def presence(body: PresenceBody, request: Request, session: ConsoleSession = Session) -> dict:
    service = _service(request)
    await service.agents.set_presence(session.agent.id, body.status)
    await service.events.anything_changed()
    return {"presence": body.status}


@router.get("/queue", summary="Callbacks and conversations of the agent's queues, oldest first")
async def queue(
    request: Request,
    limit: int = Query(QUEUE_PAGE, ge=1, le=QUEUE_MAX, description="the oldest this many items"),
    session: ConsoleSession = Session,
) -> Response:
    """``items``: the oldest ``limit`` open items; ``total``: how many there are in all."""
    items, total = await _service(request).queue(session.agent, limit)
    return _json({"items": items, "total": total})


@router.get("/conversations/{handoff_id}", summary="Transcript, notes and the subscriber card",
            responses={404: {"description": "No such conversation, or not the agent's city/department"}})
async def conversation(handoff_id: ItemId, request: Request, session: ConsoleSession = Session) -> dict:
    return await _run(_service(request).conversation(session.agent, handoff_id))


@router.post("/conversations/{handoff_id}/takeover", summary="Take the conversation (exactly one agent wins)",
             responses={409: {"description": "Another agent took it first"}})
async def takeover(handoff_id: ItemId, request: Request, session: ConsoleSession = Session) -> dict:
    return await _run(_service(request).takeover(session.agent, handoff_id))


@router.post("/conversations/{handoff_id}/messages", summary="Send a message through the subscriber's channel",
             responses={409: {"description": "The agent does not hold the conversation"}})
async def message(handoff_id: ItemId, body: TextBody, request: Request, session: ConsoleSession = Session) -> dict:
    result = await _run(_service(request).message(session.agent, handoff_id, body.text))
    return {"delivery": {"status": result.status, "reason": result.reason}}


@router.post("/conversations/{handoff_id}/notes", status_code=201, summary="A private note (never sent)")
async def note(handoff_id: ItemId, body: TextBody, request: Request, session: ConsoleSession = Session) -> dict:
    return await _run(_service(request).add_note(session.agent, handoff_id, body.text))


@router.post("/conversations/{handoff_id}/release", summary="Give the conversation back to the bot")
async def release(handoff_id: ItemId, request: Request, session: ConsoleSession = Session) -> dict:
    return await _run(_service(request).release(session.agent, handoff_id))


@router.post("/conversations/{handoff_id}/transfer", summary="Move to another city or department")
async def transfer(handoff_id: ItemId, body: TransferBody, request: Request, session: ConsoleSession = Session) -> dict:
    return await _run(_service(request).transfer(session.agent, handoff_id, body.city, body.department))


@router.post("/conversations/{handoff_id}/viewing", status_code=204, summary="I am looking at it (30 s)")
async def viewing(handoff_id: ItemId, request: Request, session: ConsoleSession = Session) -> Response:
    await _run(_service(request).viewing(session.agent, handoff_id))
    return Response(status_code=204)


@router.post("/callbacks/next", summary="Claim the next due callback of the agent's queues",
             responses={204: {"description": "Nothing due"}})
async def next_callback(request: Request, session: ConsoleSession = Session):
    claimed = await _service(request).next_callback(session.agent)
    return claimed if claimed is not None else Response(status_code=204)


@router.post("/callbacks/{request_id}/viewing", status_code=204, summary="I am looking at this callback (30 s)",
             responses={404: {"description": "No such callback, or not the agent's city/department"}})
async def viewing_callback(request_id: ItemId, request: Request, session: ConsoleSession = Session) -> Response:
    await _run(_service(request).viewing_callback(session.agent, request_id))
    return Response(status_code=204)


@router.post("/callbacks/{request_id}/result", summary="Record the call's outcome")
async def callback_result(request_id: ItemId, body: OutcomeBody, request: Request, session: ConsoleSession = Session) -> dict:
    return await _run(_service(request).callback_result(session.agent, request_id, body.outcome, body.note))


@router.get("/canned", summary="Canned replies of a department")
async def canned(request: Request, department: str = Query(...), session: ConsoleSession = Session) -> dict:
    if department not in DEPARTMENTS:
        raise _error(422, "invalid", f"department must be one of {DEPARTMENTS}")
    return {"replies": _service(request).canned(session.agent, department)}


@router.get("/stats", summary="Queue statistics (supervisors)")
async def stats(request: Request, session: ConsoleSession = Session) -> dict:
    if not session.agent.supervisor:
        raise _error(404, "not_found", NOT_FOUND)
    return await _service(request).stats()


@router.get("/ratings", summary="Subscribers' ratings of conversations (supervisors)")
async def ratings(request: Request, limit: int = Query(50, ge=1, le=500), session: ConsoleSession = Session) -> dict:
    if not session.agent.supervisor:
        raise _error(404, "not_found", NOT_FOUND)
    return await request.app.state.support_desk.summary(limit)  # dispatcher.ratings.Ratings


@router.get("/audit", summary="The audit log (supervisors)")
async def audit(request: Request, limit: int = Query(100, ge=1, le=1000), session: ConsoleSession = Session) -> dict:
    if not session.agent.supervisor:
        raise _error(404, "not_found", NOT_FOUND)
    return {"entries": [entry.to_dict() for entry in await _service(request).audit.latest(limit)]}


# -- live -----------------------------------------------------------------------------------------
@router.websocket("/ws")
async def live(websocket: WebSocket) -> None:
    console = getattr(websocket.app.state, "console", None)
    await websocket.accept()
    if console is None:
        await websocket.close(code=1011)
        return
    service = console.service
    session = None
    cookie = websocket.cookies.get(COOKIE)
    if cookie and _same_origin(websocket):
        session = await service.agents.resolve(cookie)
    try:
        if session is None:
            session = await _first_frame_auth(websocket, service)
            if session is None:
                await websocket.close(code=4401)
                return
        await _serve(websocket, service, session)
    except WebSocketDisconnect:
        return


def _same_origin(websocket: WebSocket) -> bool:
    """A cookie is honoured only from our own pages (no cross-site WebSocket hijacking)."""
    origin = websocket.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == websocket.headers.get("host")


async def _first_frame_auth(websocket: WebSocket, service: ConsoleService):
    try:
        raw = await asyncio.wait_for(websocket.receive_text(), 10)
        frame = json.loads(raw)
    except (asyncio.TimeoutError, ValueError):
        return None
    if not isinstance(frame, dict) or frame.get("type") != "auth" or not isinstance(frame.get("token"), str):
        return None
    return await service.agents.resolve(frame["token"])


async def _serve(websocket: WebSocket, service: ConsoleService, session: ConsoleSession) -> None:
    agent = session.agent
    outbox: asyncio.Queue[dict] = asyncio.Queue(_WS_QUEUE)

    def listener(frame: dict, scope: Scope) -> None:
        if scope.department is not None and not agent.sees(scope.city, scope.department):
            return
        if outbox.full():
            outbox.get_nowait()  # a slow console loses its oldest event, it refetches anyway
        outbox.put_nowait(frame)

    async def pump() -> None:
        while True:
            await websocket.send_json(await outbox.get())

    service.hub.add(listener)
    # Said only once the listener is registered: the console loads its snapshot after
    # this frame, so no event can fall between the snapshot and the live stream.
    outbox.put_nowait({"type": "ready"})
    sender = asyncio.create_task(pump())
    try:
        while True:
            raw = await websocket.receive_text()
            try:
                frame = json.loads(raw)
            except ValueError:
                continue
            if isinstance(frame, dict) and frame.get("type") == "ping":
                await service.agents.touch(agent.id, None, service.clock())
                await websocket.send_json({"type": "pong"})
    finally:
        service.hub.remove(listener)
        sender.cancel()


# -- the static UI -----------------------------------------------------------------------------------
pages = APIRouter(include_in_schema=False)


def _static(path: Path, media_type: str | None = None) -> FileResponse:
    if not path.is_file():
        raise _error(404, "not_found", "The console UI is not installed.")
    return FileResponse(path, media_type=media_type, headers={
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    })


@pages.get("/console")
async def console_page() -> FileResponse:
    return _static(STATIC_DIR / "index.html", "text/html; charset=utf-8")


@pages.get("/console/static/{name}")
async def console_static(name: str) -> FileResponse:
    # One flat folder: a name with a separator or a dot-dot never leaves it.
    if "/" in name or "\\" in name or name.startswith("."):
        raise _error(404, "not_found", NOT_FOUND)
    return _static(STATIC_DIR / name)


routers = (router, pages)
