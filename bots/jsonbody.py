"""Parse a webhook body that anyone on the internet may have written: ``parse_json``.

``json.loads`` raises more than ``ValueError``: a deeply nested document (a thousand
``[`` are enough) exhausts the C parser's recursion guard and raises
``RecursionError`` — which used to escape as a 500. Here every way a body can fail
to be JSON is one :class:`MalformedJson` (→ 400), and documents nested deeper than
``MAX_DEPTH`` are refused before parsing, so a reader never walks them either
(pydantic, jsonable_encoder and our own code recurse too).
"""

from __future__ import annotations

import json
from typing import Any, Callable, Coroutine

from fastapi import Request, Response
from fastapi.routing import APIRoute

# Real payloads (Telegram Update, Viber callback, the web chat) nest < 10 levels.
MAX_DEPTH = 64


class MalformedJson(json.JSONDecodeError):
    """The body is not JSON we are willing to read (invalid, not UTF-8, or too deep).

    A ``JSONDecodeError`` (so a ``ValueError``): FastAPI's body parsing turns it into
    its ``json_invalid`` validation error, which the app answers with 400."""

    def __init__(self, message: str, body: bytes | str = "") -> None:
        doc = body if isinstance(body, str) else body[:200].decode("utf-8", "replace")
        super().__init__(message, doc[:200], 0)


def nesting_depth(body: bytes | str) -> int:
    """The deepest nesting of ``[``/``{`` in ``body``, ignoring brackets in strings."""
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def too_deep(body: bytes | str, max_depth: int = MAX_DEPTH) -> bool:
    # Cheap pre-check: a body with fewer brackets than the limit cannot be too deep.
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    if data.count(b"[") + data.count(b"{") <= max_depth:
        return False
    return nesting_depth(data) > max_depth


def parse_json(body: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of ``body``; :class:`MalformedJson` for anything unreadable."""
    if too_deep(body, max_depth):
        raise MalformedJson(f"JSON nested deeper than {max_depth} levels", body)
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise MalformedJson(str(error)[:200], body) from None


class _SafeJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body())
        return self._json


class SafeJsonRoute(APIRoute):
    """An ``APIRouter(route_class=SafeJsonRoute)`` parses JSON bodies with
    :func:`parse_json` (FastAPI's documented custom-request hook), so a too-deep body
    is the app's ordinary 400 ``malformed_json`` before any model sees it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def parse_safely(request: Request) -> Response:
            return await handler(_SafeJsonRequest(request.scope, request.receive))

        return parse_safely
