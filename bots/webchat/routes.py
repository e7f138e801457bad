"""HTTP and WebSocket endpoints of the web chat (``/api/webchat/...``) and the widget files.

Authentication: every call but ``POST /sessions`` carries ``Authorization: Bearer <token>``.
Any token we did not issue — missing, malformed, or with a wrong signature — gets 401
with ``WWW-Authenticate: Bearer`` (code ``invalid_token``); an expired one gets 401
with code ``token_expired`` (the widget then starts a new session). A response may
carry a renewed token in ``X-Webchat-Token``: keep it instead of the old one. There is no 403: a token either is a session or is
nothing.

WebSocket ``/api/webchat/ws[?after=<event id>]``: the token comes either as the first
frame, ``{"type": "auth", "token": "..."}`` (what the widget does: URLs end up in access
logs, frames do not), or as ``?token=...``. A bad or missing token closes the socket
with code 4401. Frames, server → client: ``{"type": "replies", "id", "at", "replies":
[...]}`` — first the kept events after ``after``, then live ones; ``{"type": "ready"}``
once caught up; ``{"type": "pong"}`` for a client's ``{"type": "ping"}``. Nothing else
is read from the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request, Response, Security, WebSocket, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from fastapi.responses import FileResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.websockets import WebSocketDisconnect, WebSocketState

from bots.channel import running_channel
from bots.express import ExpressRoute
from bots.jsonbody import MalformedJson, SafeJsonRoute, parse_json
from bots.webchat.channel import WebchatChannel
from bots.webchat.live import CHANNEL, topic_for
from bots.webchat.desk import SupportDesk, desk_of
from bots.webchat.tokens import TokenCheck
from bots.webchat.schemas import (
    DeskStatusOut,
    HistoryMessage,
    HistoryOut,
    MessageIn,
    MessagesOut,
    RatingIn,
    RatingOut,
    SessionCreated,
)
from dialogs.messages import Inbound

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
WS_CLOSE_UNAUTHORIZED = 4401
_MAX_CLIENT_FRAME = 1024
TOKEN_HEADER = "X-Webchat-Token"  # a renewed token (see bots/webchat/tokens.py)
HISTORY_LIMIT = 100
AUTH_TIMEOUT = 10.0  # seconds a new WebSocket has to send its auth frame
_bearer = HTTPBearer(auto_error=False, description="The `token` from `POST /api/webchat/sessions`.")


async def _channel(request: Request) -> WebchatChannel:
    return running_channel(request, CHANNEL)


def conversation_key(session_id: str) -> str:
    return Inbound(channel=CHANNEL, user_id=session_id).conversation_key


def _unauthorized(code: str, message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail={"code": code, "message": message},
        headers={"WWW-Authenticate": "Bearer"},
    )


async def _valid_token(
    request: Request,
    response: Response,
    credentials: HTTPAuthorizationCredentials | None = Security(_bearer),
) -> TokenCheck:
    check = await _checked_token(request, None if credentials is None else credentials.credentials)
    if check.fresh_token:
        # The sliding idle window: the client keeps this token instead of its own.
        response.headers[TOKEN_HEADER] = check.fresh_token
    return check


def _bearer_token(request: Request) -> str | None:
    """What ``HTTPBearer(auto_error=False)`` reads, for the route that skips FastAPI's
    dependencies: the token of ``Authorization: Bearer <token>``, else None."""
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


async def _checked_token(request: Request, token: str | None) -> TokenCheck:
    """The session of ``token`` (401 / 503 as HTTPException otherwise)."""
    check = _signed_session(request, token)
    channel: WebchatChannel = running_channel(request, CHANNEL)
    ended = await channel.revocations.is_ended(check.session_id)
    if ended:
        raise _session_ended()
    if ended is None:
        # The store (Redis) is away: reading the history or ending waits until an
        # ended chat can be told apart.
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail={"code": "unavailable", "message": "Retry shortly."},
                            headers={"Retry-After": "5"})
    return check


def _session_ended() -> HTTPException:
    return _unauthorized("session_ended", "The chat was ended; create a new session.")


def _signed_session(request: Request, token: str | None) -> TokenCheck:
    """The session ``token`` was signed for, not yet checked against ended sessions
    (401 as HTTPException otherwise)."""
    channel: WebchatChannel = running_channel(request, CHANNEL)
    if token is None:
        raise _unauthorized("missing_token", "Send 'Authorization: Bearer <token>' from POST /api/webchat/sessions.")
    check = channel.signer.check(token)
    if check.problem == "expired":
        raise _unauthorized("token_expired", "The session has expired; create a new session.")
    if check.session_id is None:
        raise _unauthorized("invalid_token", "The token is not valid; create a new session.")
    return check


async def _session_id(check: TokenCheck = Depends(_valid_token)) -> str:
    return check.session_id  # type: ignore[return-value]  # _valid_token refuses None


# SafeJsonRoute: a body nested a thousand levels deep is a 400, not a RecursionError.
api = APIRouter(prefix="/api/webchat", tags=["web chat"], route_class=SafeJsonRoute)


@api.post("/sessions", status_code=status.HTTP_201_CREATED, response_model=SessionCreated)
async def create_session(channel: WebchatChannel = Depends(_channel)) -> SessionCreated:
    """Start a conversation. Sessions are stateless signed tokens: keep the token for later visits."""
    session = channel.signer.new_session()
    return SessionCreated(session_id=session.session_id, token=session.token)


@api.post(
    "/sessions/end",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={401: {"description": "Missing, invalid or already ended token"}},
)
async def end_session(check: TokenCheck = Depends(_valid_token), channel: WebchatChannel = Depends(_channel)) -> Response:
    """The subscriber ended the chat: every token of this session (renewed ones too) is
    refused from now on (401 `session_ended`), also on the WebSocket. Start a new session to talk again."""
    await channel.revocations.end(check.session_id, seconds_left=check.seconds_left)  # type: ignore[arg-type]
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _is_json(content_type: str | None) -> bool:
    """FastAPI's rule for reading a body as JSON: no content type, ``application/json``
    or ``application/*+json``."""
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def _message_of(request: Request) -> MessageIn:
    """The body as a ``MessageIn``, read as FastAPI reads a body parameter, with
    FastAPI's own ``RequestValidationError`` for what is wrong — so the answers are the
    app's usual 400 ``malformed_json`` and 422 ``validation_error``."""
    body = await request.body()
    data: object = body  # not JSON by its content type: validated as it is (a 422)
    if _is_json(request.headers.get("content-type")):
        if not body:
            raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}])
        # The usual body, read and validated by pydantic-core's own JSON parser in one
        # step (5 µs instead of 8). Anything it refuses — invalid, too deep, not UTF-8,
        # a wrong field — takes the path below, which says why exactly as before; what
        # it accepts, the path below accepts the same.
        try:
            return MessageIn.model_validate_json(body)
        except ValidationError:
            pass
        try:
            data = parse_json(body)
        except MalformedJson as error:
            raise RequestValidationError(
                [{"type": "json_invalid", "loc": ("body", error.pos), "msg": "JSON decode error", "input": {},
                  "ctx": {"error": error.msg}}]
            ) from None  # fmt: skip
    try:
        return MessageIn.model_validate(data)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
        ) from None


def _message_id(session_id: str, client_message_id: str | None) -> str | None:
    """The engine's id of a web chat message: namespaced by the session, since ids are
    chosen by clients and one session's id must never match (and replay the stored
    replies of) another session's. None without ``client_message_id``: nobody can send
    that message again, so the engine keeps no result to replay for it (no
    de-duplication record: a day of ~1 KB in Redis per message, and its CPU) and its
    transcript lines need no turn key."""
    return f"{session_id}:{client_message_id}" if client_message_id else None


async def post_message(request: Request) -> Response:
    """Send what the subscriber typed (`text`) or the button they pressed (`payload`); get the bot's replies.

    While an agent holds the conversation, `replies` is empty, `held_by_agent` is true,
    and the agent's answers arrive over the WebSocket.
    """
    # The hot path of the whole service: no FastAPI dependencies or body parameter —
    # resolving them was 15% of a message's CPU (benchmarks, part 4 profile). The token
    # is checked first, as a dependency would be (401 before 422).
    # An ended session is refused by the engine's gate, in the same Redis step as the
    # conversation's lock and state (``refused_if_set``), not by a read of its own: one
    # round trip a message fewer. The gate checks it before anything else, a stored
    # reply included; with the store away the engine answers its apology.
    check = _signed_session(request, _bearer_token(request))
    message = await _message_of(request)
    channel: WebchatChannel = running_channel(request, CHANNEL)
    session_id: str = check.session_id  # type: ignore[assignment]  # _signed_session refuses None
    inbound = Inbound(
        channel=CHANNEL,
        user_id=session_id,
        message_id=_message_id(session_id, message.client_message_id),
        text=message.text,
        payload=message.payload,
        refused_if_set=channel.revocations.key(session_id),
    )
    result = await channel.engine.handle(inbound)
    if result.refused:
        raise _session_ended()
    # Serialised at once: returning the model would have FastAPI dump it, validate it
    # again against ``response_model`` and encode it (~17 µs more a message), and
    # building the model alone cost ~20 µs; ``response_model`` stays for the OpenAPI
    # schema, and ``MessagesOut.json_of`` writes what the model would.
    response = Response(MessagesOut.json_of(result), media_type="application/json")
    if check.fresh_token:
        response.headers[TOKEN_HEADER] = check.fresh_token  # the sliding idle window (see _valid_token)
    return response


api.add_api_route(
    "/messages",
    post_message,
    methods=["POST"],
    # Served by the app's edge without the router walk (bots/express.py): the hot path.
    route_class_override=ExpressRoute,
    response_model=MessagesOut,
    response_model_exclude_none=True,  # a bot's reply has no "author"
    responses={401: {"description": "Missing or invalid token"}, 413: {"description": "Body too large"}},
    # The body and the token are read in the function (see below); the schema says what
    # FastAPI would have said for a ``MessageIn`` body parameter and the bearer token.
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": MessageIn.model_json_schema()}}},
        "security": [{"HTTPBearer": []}],
    },
)


@api.get("/history", response_model=HistoryOut, responses={401: {"description": "Missing or invalid token"}})
async def get_history(
    session_id: str = Depends(_session_id),
    channel: WebchatChannel = Depends(_channel),
) -> HistoryOut:
    """The last messages of this conversation from the transcript, oldest first
    (texts only: buttons are not kept; secrets appear redacted)."""
    entries = await channel.history.history(conversation_key(session_id), limit=HISTORY_LIMIT)
    # "system" lines are the console's notes for agents (logins, delivery failures): not the subscriber's.
    return HistoryOut(messages=[HistoryMessage.of(entry) for entry in entries if entry.direction != "system"])


@api.get("/status", response_model=DeskStatusOut, responses={401: {"description": "Missing or invalid token"}})
async def desk_status(session_id: str = Depends(_session_id), desk: SupportDesk = Depends(desk_of)) -> DeskStatusOut:
    """Whether an agent of this conversation's queue is online (the widget's header says
    «на связи» only then), and whether an ended conversation with an agent may be rated."""
    status_ = await desk.status(conversation_key(session_id))
    return DeskStatusOut(agents_online=status_.agents_online, can_rate=status_.can_rate, agent_name=status_.agent_name)


@api.post(
    "/rating",
    status_code=status.HTTP_201_CREATED,
    response_model=RatingOut,
    responses={
        401: {"description": "Missing or invalid token"},
        409: {"description": "No ended conversation with an agent, or it is rated already"},
        422: {"description": "Stars outside 1..5 or a comment over 1000 characters"},
    },
)
async def rate_conversation(
    rating: RatingIn, session_id: str = Depends(_session_id), desk: SupportDesk = Depends(desk_of)
) -> RatingOut:
    """Rate the last ended conversation with an agent, once: 1–5 stars and an optional comment."""
    try:
        rating_id = await desk.rate(conversation_key(session_id), rating.stars, rating.comment)
    except LookupError as refused:  # NothingToRate: code "no_conversation" | "already_rated"
        code = getattr(refused, "code", "no_conversation")
        message = "This conversation is rated already." if code == "already_rated" else "No ended conversation with an agent to rate."
        raise HTTPException(status.HTTP_409_CONFLICT, detail={"code": code, "message": message}) from None
    return RatingOut(id=rating_id)


@api.websocket("/ws")
async def live_messages(websocket: WebSocket) -> None:
    try:
        await _serve_live(websocket)
    except WebSocketDisconnect:
        pass  # the client left (at any moment: before auth, during replay, while live)


async def _serve_live(websocket: WebSocket) -> None:
    channel: WebchatChannel = websocket.app.state.channels[CHANNEL]
    await websocket.accept()
    token = websocket.query_params.get("token")
    if token is None:
        token = await _auth_frame(websocket)
    session_id = channel.signer.session_id_of(token)
    if session_id is not None:
        ended = await channel.revocations.is_ended(session_id)
        if ended is None:  # the store (Redis) is away: live messages need it too; reconnect later
            await websocket.close(code=1013, reason="try again later")
            return
        if ended:
            session_id = None  # the subscriber ended this chat
    if session_id is None:
        await websocket.close(code=WS_CLOSE_UNAUTHORIZED, reason="invalid token")
        return
    after = websocket.query_params.get("after")
    send_lock = asyncio.Lock()

    async def send(text: str) -> None:
        async with send_lock:
            await websocket.send_text(text)

    async with channel.store.subscribe(topic_for(session_id)) as live:
        replayed: set[str] = set()
        for event in await channel.mailbox.after(session_id, after):
            await send(json.dumps(event.to_dict(), ensure_ascii=False))
            replayed.add(event.id)
        await send('{"type": "ready"}')
        reader = asyncio.create_task(_answer_pings(websocket, send))
        forwarder = asyncio.create_task(_forward(live, send, replayed))
        done, pending = await asyncio.wait({reader, forwarder}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    for task in done:
        failure = task.exception()
        # A departed client shows up as WebSocketDisconnect, or RuntimeError from a
        # send after the close; anything else (the state store failing) is ours.
        if failure is not None and not isinstance(failure, (WebSocketDisconnect, RuntimeError)):
            log.error("web chat live stream failed for a session", exc_info=failure)
            if websocket.client_state == WebSocketState.CONNECTED:
                with contextlib.suppress(Exception):
                    await websocket.close(code=1011)


async def _auth_frame(websocket: WebSocket) -> str | None:
    """The token from the client's first frame, ``{"type": "auth", "token": ...}``."""
    try:
        message = await asyncio.wait_for(websocket.receive(), AUTH_TIMEOUT)
    except asyncio.TimeoutError:
        return None
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text = message.get("text") or ""
    if len(text) > _MAX_CLIENT_FRAME:
        return None
    try:
        frame = json.loads(text)
    except ValueError:
        return None
    if isinstance(frame, dict) and frame.get("type") == "auth" and isinstance(frame.get("token"), str):
        return frame["token"]
    return None


async def _forward(live, send, replayed: set[str]) -> None:
    async for raw in live:
        event_id = _event_id(raw)
        if event_id in replayed:  # already sent from the mailbox
            replayed.discard(event_id)
            continue
        await send(raw)


def _event_id(raw: str) -> str | None:
    try:
        return json.loads(raw).get("id")
    except (ValueError, AttributeError):
        return None


async def _answer_pings(websocket: WebSocket, send) -> None:
    """Read until the client leaves; answer pings (keeps proxies from closing an idle socket)."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text") or ""
        if len(text) > _MAX_CLIENT_FRAME or message.get("bytes"):
            await websocket.close(code=1009)
            return
        try:
            frame = json.loads(text)
        except ValueError:
            continue
        if isinstance(frame, dict) and frame.get("type") == "ping":
            await send('{"type": "pong"}')


# -- the widget and the demo page -----------------------------------------------------------
files = APIRouter(tags=["web chat widget"])


@files.get("/widget.js", include_in_schema=False)
async def widget_js() -> FileResponse:
    return FileResponse(STATIC_DIR / "widget.js", media_type="text/javascript; charset=utf-8")


@files.get("/widget.css", include_in_schema=False)
async def widget_css() -> FileResponse:
    return FileResponse(STATIC_DIR / "widget.css", media_type="text/css; charset=utf-8")


@files.get("/", include_in_schema=False)
async def demo_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "demo.html", media_type="text/html; charset=utf-8")


_STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".html": "text/html; charset=utf-8"}
_STATIC_FILES = {path.name: path for path in STATIC_DIR.iterdir() if path.suffix in _STATIC_TYPES}


@files.get("/webchat/static/{name}", include_in_schema=False)
async def static_file(name: str) -> FileResponse:
    """The widget's files by name (only the files shipped in static/: no path walking)."""
    path = _STATIC_FILES.get(name)
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"No file {name!r} in the widget's static files.")
    return FileResponse(path, media_type=_STATIC_TYPES[path.suffix])


def webchat_routers() -> list[APIRouter]:
    return [api, files]
