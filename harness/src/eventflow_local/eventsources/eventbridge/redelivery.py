"""Retries that wait without holding anything up: one thread per bus keeps the failed deliveries
in due order and attempts each when its backoff is over, so the bus's poller goes on delivering
other events (and other retries come due) while one waits ("Event retry policy and using
dead-letter queues": ``retry.py``). A stopped bus drops the retries still waiting, as a deleted
rule's are."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Pending:
    """One delivery of one event to one target, between attempts."""

    rule: Any
    target: Any
    event: dict[str, Any]
    #: when the event was first attempted (the scheduler's clock)
    first_at: float
    #: retries made so far
    retries: int = 0


class Redeliveries:
    """``schedule(pending, delay)`` returns at once; ``attempt(pending)`` runs on this
    scheduler's thread when the delay is over."""

    def __init__(
        self,
        attempt: Callable[[Pending], None],
        *,
        name: str,
        clock: Callable[[], float] = time.monotonic,
        log: Callable[[str], None] = print,
    ) -> None:
        self.attempt = attempt
        self.name = name
        self.clock = clock
        self.log = log
        self._heap: list[tuple[float, int, Pending]] = []
        self._seq = itertools.count()
        self._wake = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None

    @property
    def waiting(self) -> int:
        with self._wake:
            return len(self._heap)

    def schedule(self, pending: Pending, delay: float) -> None:
        with self._wake:
            if self._stopped:
                return
            heapq.heappush(self._heap, (self.clock() + max(0.0, delay), next(self._seq), pending))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopped:
                    if self._heap and self._heap[0][0] <= self.clock():
                        break
                    timeout = self._heap[0][0] - self.clock() if self._heap else None
                    self._wake.wait(timeout)
                if self._stopped:
                    return
                _, _, pending = heapq.heappop(self._heap)
            try:
                self.attempt(pending)
            except Exception as exc:  # one retry must not end the others
                self.log(f"[events] {self.name}: retry failed: {type(exc).__name__}: {exc}")

    def stop(self, timeout: float = 5.0) -> None:
        with self._wake:
            self._stopped = True
            dropped = len(self._heap)
            self._heap.clear()
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        if dropped:
            self.log(f"[events] {self.name}: {dropped} retry(ies) still waiting dropped at stop")
