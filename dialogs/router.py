"""Routing a turn to a handler, in the manner of aiogram 3.

A ``SkillRouter`` per feature; handlers are registered with filters that read like
sentences (``@router.on(IntentIs("balance"))``); a filter may hand the data it
extracted to the handler as keyword arguments; routers nest. A handler that returns
None passes the turn on to the next match (aiogram's ``SkipHandler``): the engine's
turn policies (dialogs/policies.py) are routers of that kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterable

from dialogs.events import Event
from dialogs.responder import Responder
from dialogs.turn import Turn

FilterResult = bool | dict[str, Any]
Filter = Callable[[Turn], FilterResult]
Handler = Callable[..., Awaitable[list[Event] | None]]


@dataclass(frozen=True)
class IntentIs:
    intents: tuple[str, ...]

    def __init__(self, *intents: str) -> None:
        object.__setattr__(self, "intents", intents)

    def __call__(self, turn: Turn) -> FilterResult:
        return turn.intent in self.intents


@dataclass(frozen=True)
class HasEntity:
    """Passes the entity's value to the handler under the entity's name."""

    name: str

    def __call__(self, turn: Turn) -> FilterResult:
        value = turn.entity(self.name)
        return {self.name: value} if value else False


@dataclass
class _Registered:
    filters: tuple[Filter, ...]
    handler: Handler
    # The only intents any of its ``IntentIs`` filters lets through (None: it has no
    # such filter): a turn of another intent skips it without calling the filters —
    # most of the ~20 handlers a turn walks past (filters have no side effects).
    intents: frozenset[str] | None = field(init=False)

    def __post_init__(self) -> None:
        allowed: frozenset[str] | None = None
        for check in self.filters:
            if isinstance(check, IntentIs):
                allowed = frozenset(check.intents) if allowed is None else allowed & frozenset(check.intents)
        self.intents = allowed

    def match(self, turn: Turn) -> dict[str, Any] | None:
        data: dict[str, Any] = {}
        for check in self.filters:
            result = check(turn)
            if result is False:
                return None
            if isinstance(result, dict):
                data.update(result)
        return data


# Bumped by every registration anywhere: a router's flattened handler list (walked on
# every turn) is rebuilt only after the tree changed, which in practice is at import.
_tree_version = 0


class SkillRouter:
    def __init__(self, name: str) -> None:
        self.name = name
        self._handlers: list[_Registered] = []
        self._children: list[SkillRouter] = []
        self._flat: tuple[_Registered, ...] = ()
        self._flat_version = -1

    def on(self, *filters: Filter) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            global _tree_version
            self._handlers.append(_Registered(filters, handler))
            _tree_version += 1
            return handler

        return register

    def include(self, *routers: "SkillRouter") -> None:
        global _tree_version
        self._children.extend(routers)
        _tree_version += 1

    def handlers(self) -> Iterable[_Registered]:
        """This router's handlers, then its children's, depth first."""
        if self._flat_version != _tree_version:
            flat = list(self._handlers)
            for child in self._children:
                flat.extend(child.handlers())
            self._flat, self._flat_version = tuple(flat), _tree_version
        return self._flat

    async def dispatch(self, turn: Turn, say: Responder, **context: Any) -> list[Event] | None:
        """The events of the first matching handler that answers; None when none does.
        ``context`` goes to every handler, with the data its filters extracted."""
        for registered in self.handlers():
            # turn.intent is read again for each handler: a policy may have changed it.
            if registered.intents is not None and turn.parse.intent not in registered.intents:
                continue
            data = registered.match(turn)
            if data is not None:
                events = await registered.handler(turn, say, **context, **data)
                if events is not None:
                    return events
        return None
