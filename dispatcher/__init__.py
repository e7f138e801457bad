"""The humans' side: callback and handoff queues per (city, department), the transcript."""

from dispatcher.callbacks import CallbackQueue, CallbackTicket, ClaimedCallback, QueueStats
from dispatcher.errors import DispatcherError, NotFound, NotHeldByAgent, UnknownCity, UnknownDepartment
from dispatcher.handoffs import HandoffQueue, HandoffRecord, HandoffTicket
from dispatcher.transcript import Transcript, TranscriptEntry, TranscriptLine

__all__ = [
    "CallbackQueue",
    "CallbackTicket",
    "ClaimedCallback",
    "DispatcherError",
    "HandoffQueue",
    "HandoffRecord",
    "HandoffTicket",
    "NotFound",
    "NotHeldByAgent",
    "QueueStats",
    "Transcript",
    "TranscriptEntry",
    "TranscriptLine",
    "UnknownCity",
    "UnknownDepartment",
]
