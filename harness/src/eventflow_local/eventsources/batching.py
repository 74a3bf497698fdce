"""What the engine (``engine.py``) works on: a record in its lane (``Entry``), a lane (a Kafka
partition, a stream shard: the unit of ordering), a batch in flight, the counters, and what the
engine asks of a source (``SourceAdapter``)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from eventflow_local.runtime.invocation import InvocationResult

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's synchronous invocation payload limit


@dataclass
class Entry:
    """One record in the engine: its lane, the source's record, its size in the event."""

    lane: str
    rec: Any
    size: int
    arrival_ms: float = 0.0  # <= 0: unknown (never too old)
    #: set for a record that cannot be delivered (e.g. undecodable): given up on, in its turn
    condition: str | None = None


@dataclass
class Stats:
    invocations: int = 0
    failed_invocations: int = 0
    records_invoked: int = 0
    records_succeeded: int = 0
    records_filtered: int = 0
    records_to_destination: int = 0
    records_dropped: int = 0
    commits: int = 0


@dataclass
class EngineOptions:
    retry_initial_delay: float = 0.1
    retry_max_delay: float = 2.0
    max_payload_bytes: int = MAX_PAYLOAD_BYTES
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time


class Batch:
    __slots__ = ("attempts", "condition", "entries", "last_request_id", "last_response", "retry_at")

    def __init__(self, entries: list[Entry], condition: str | None = None) -> None:
        self.entries = entries
        self.attempts = 0
        self.retry_at = 0.0
        self.condition = condition  # set once the batch is given up on
        self.last_response: dict[str, Any] | None = None
        self.last_request_id = ""

    def lanes(self) -> set[str]:
        return {e.lane for e in self.entries}


@dataclass
class Lane:
    key: str
    pending: deque[Entry] = field(default_factory=deque)
    pending_bytes: int = 0
    first_pending_at: float | None = None
    busy: int = 0  # in-flight batches holding records of this lane

    def push(self, entry: Entry, now: float) -> None:
        if not self.pending:
            self.first_pending_at = now
        self.pending.append(entry)
        self.pending_bytes += entry.size


class SourceAdapter(Protocol):
    """What the engine needs from a source."""

    def invoke(self, entries: list[Entry]) -> InvocationResult: ...

    def item_of(self, identifier: Any, entries: list[Entry]) -> int | None:
        """Index in ``entries`` of a batchItemFailures ``itemIdentifier`` (None: not in batch)."""
        ...

    def settled(self, entries: list[Entry]) -> None:
        """``entries`` (in lane order) are done: succeeded or given up."""
        ...

    def give_up(self, entries: list[Entry], condition: str, batch: Batch) -> bool:
        """Send ``entries`` to the failure destination; False: could not, try again later."""
        ...

    def describe(self, entries: list[Entry]) -> str: ...
