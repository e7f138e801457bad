"""The dialog engine: one ``Inbound`` in, a ``TurnResult`` out. (Being written.)"""

from __future__ import annotations

from dialogs.messages import Inbound, TurnResult


class DialogEngine:
    async def handle(self, inbound: Inbound) -> TurnResult:  # pragma: no cover - placeholder
        raise NotImplementedError
