"""What the console shows live: a ring buffer of recent invocations and a hub of listeners.

``FunctionRuntime``'s ``recorder`` (eventflow_local/runtime/functions.py) is ``Activity.record`` in the stack, so
every invocation, whatever triggered it (the API, a Kafka or stream mapping, a schedule, a direct
invoke), lands here with its function, trigger, batch size, duration, outcome and the log lines
the function wrote during it. The buffer keeps the latest ``capacity`` invocations (older ones
are only in the harness's own output). Listeners (the console's server-sent event streams) get
each event as it happens, on their own bounded queue, so a slow browser never slows an
invocation: when its queue is full, the oldest event is dropped and the page reloads its view.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import threading
import time
from collections import deque
from typing import Any

from eventflow_local.runtime.invocation import InvocationResult

CAPACITY = 500
LISTENER_QUEUE = 200


class Listener:
    """One subscriber's queue of ``(event name, data)``."""

    def __init__(self) -> None:
        self.queue: queue.Queue[tuple[str, Any]] = queue.Queue(LISTENER_QUEUE)
        self.dropped = False

    def put(self, name: str, data: Any) -> None:
        while True:
            try:
                self.queue.put_nowait((name, data))
                return
            except queue.Full:
                self.dropped = True
                with contextlib.suppress(queue.Empty):
                    self.queue.get_nowait()

    def get(self, timeout: float) -> tuple[str, Any] | None:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None


class Activity:
    """The latest invocations and the listeners to tell of new ones (thread-safe)."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._items: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._listeners: set[Listener] = set()
        self.total = 0

    # ------------------------------------------------------------------ invocations
    def record(
        self, function: str, trigger: str, batch_size: int | None, result: InvocationResult
    ) -> dict[str, Any]:
        """Keep one invocation (``FunctionRuntime.recorder``) and tell the listeners."""
        item = {
            "function": function,
            "trigger": trigger,
            "batchSize": batch_size,
            "durationMs": round(result.duration_ms, 1),
            "ok": result.ok,
            "outcome": result.outcome,
            "requestId": result.request_id,
            "at": time.time(),
            "logs": list(result.logs),
        }
        with self._lock:
            item["seq"] = next(self._ids)
            self.total += 1
            self._items.append(item)
            listeners = list(self._listeners)
        summary = {k: v for k, v in item.items() if k != "logs"}
        for listener in listeners:
            listener.put("invocation", summary)
        return item

    def record_reload(self, functions: list[str], line: str, *, ok: bool = True) -> dict[str, Any]:
        """Keep one reload on save (``runtime/reload.py``) among the invocations, as a row whose
        trigger is ``reload`` and whose log line is the harness's; not counted as an invocation."""
        item = {
            "function": ", ".join(functions) or "-",
            "trigger": "reload",
            "batchSize": None,
            "durationMs": 0.0,
            "ok": ok,
            "outcome": "reloaded" if ok else "reload: see log",
            "requestId": "",
            "at": time.time(),
            "logs": [line],
            "kind": "reload",
        }
        with self._lock:
            item["seq"] = next(self._ids)
            self._items.append(item)
            listeners = list(self._listeners)
        summary = {k: v for k, v in item.items() if k != "logs"}
        for listener in listeners:
            listener.put("invocation", summary)
        return item

    def latest(self, limit: int = 50, function: str | None = None) -> list[dict[str, Any]]:
        """The newest first, without their log lines."""
        with self._lock:
            items = list(self._items)
        out = []
        for item in reversed(items):
            if function and item["function"] != function:
                continue
            out.append({k: v for k, v in item.items() if k != "logs"})
            if len(out) >= limit:
                break
        return out

    def get(self, seq: int) -> dict[str, Any] | None:
        """One invocation with its log lines (None once it left the buffer)."""
        with self._lock:
            return next((dict(i) for i in self._items if i["seq"] == seq), None)

    def counts(self) -> dict[str, int]:
        """Invocations per function in the buffer."""
        with self._lock:
            items = list(self._items)
        counts: dict[str, int] = {}
        for item in items:
            if item.get("kind") == "reload":
                continue
            counts[item["function"]] = counts.get(item["function"], 0) + 1
        return counts

    # ------------------------------------------------------------------ listeners
    def subscribe(self) -> Listener:
        listener = Listener()
        with self._lock:
            self._listeners.add(listener)
        return listener

    def unsubscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.discard(listener)

    @property
    def listening(self) -> int:
        with self._lock:
            return len(self._listeners)

    def publish(self, name: str, data: Any) -> None:
        """Tell every listener of something else that changed (e.g. a topic's end offsets)."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener.put(name, data)
