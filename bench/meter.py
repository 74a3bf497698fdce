"""Counting DynamoDB requests where they are served: in the embedded moto server.

The harness runs moto in its own process (``local.dynamo``), so ``DynamoMeter.install()`` wraps
moto's WSGI application there and sees every request any client sends it: the functions' worker
processes, the event sources, the baseline consumer. Each request is recorded with its operation,
the tables it touches, its body and the time moto took to serve it. Nothing in the clients is
changed, so the count is the one a DynamoDB bill would show, whatever retries or batching the
clients do.

``meter.window()`` collects the requests of one stretch of the run; ``Window.select(tables=...)``
keeps those that touch the given tables (so the stream poller's or a schedule's requests during
the same time are not charged to the consumer being measured).
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench.units import SizeLookup, Units, request_units, tables_of

DYNAMODB_PREFIX = "DynamoDB_20120810."
STREAMS_PREFIX = "DynamoDBStreams_20120810."


@dataclass
class Call:
    service: str  # "dynamodb" | "streams" | "other"
    operation: str
    seconds: float
    body: bytes = b""
    _parsed: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def request(self) -> dict[str, Any]:
        if self._parsed is None:
            try:
                self._parsed = dict(json.loads(self.body or b"{}"))
            except ValueError:
                self._parsed = {}
        return self._parsed

    @property
    def tables(self) -> set[str]:
        return tables_of(self.operation, self.request)


@dataclass
class Window:
    calls: list[Call] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0

    def select(
        self, *, tables: Iterable[str] | None = None, service: str = "dynamodb"
    ) -> list[Call]:
        wanted = set(tables) if tables is not None else None
        out = []
        for call in self.calls:
            if call.service != service:
                continue
            if wanted is not None and not (call.tables & wanted):
                continue
            out.append(call)
        return out

    @staticmethod
    def operations(calls: Iterable[Call]) -> dict[str, int]:
        return dict(Counter(c.operation for c in calls).most_common())

    @staticmethod
    def server_seconds(calls: Iterable[Call]) -> float:
        return sum(c.seconds for c in calls)

    @staticmethod
    def units(calls: Iterable[Call], sizes: SizeLookup) -> Units:
        total = Units()
        for call in calls:
            total += request_units(call.operation, call.request, sizes)
        return total


class DynamoMeter:
    """Records the requests moto serves in this process while a window is open."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: list[Window] = []
        self._installed = False
        self.total = 0

    def install(self) -> None:
        if self._installed:
            return
        from moto.moto_server import werkzeug_app

        app_class: Any = werkzeug_app.DomainDispatcherApplication
        original = app_class.__call__
        meter = self

        def metered(app: Any, environ: dict[str, Any], start_response: Any) -> list[bytes]:
            target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
            body = b""
            if target and meter._windows:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                body = environ["wsgi.input"].read(length) if length else b""
                environ["wsgi.input"] = io.BytesIO(body)
            started = time.perf_counter()
            try:
                return list(original(app, environ, start_response))
            finally:
                meter._record(target, time.perf_counter() - started, body)

        app_class.__call__ = metered
        self._installed = True

    def _record(self, target: str, seconds: float, body: bytes) -> None:
        if target.startswith(DYNAMODB_PREFIX):
            service, operation = "dynamodb", target[len(DYNAMODB_PREFIX) :]
        elif target.startswith(STREAMS_PREFIX):
            service, operation = "streams", target[len(STREAMS_PREFIX) :]
        else:
            service, operation = "other", target
        with self._lock:
            self.total += 1
            if not self._windows:
                return
            call = Call(service, operation, seconds, body)
            for window in self._windows:
                window.calls.append(call)

    @contextmanager
    def window(self) -> Iterator[Window]:
        window = Window(started=time.perf_counter())
        with self._lock:
            self._windows.append(window)
        try:
            yield window
        finally:
            with self._lock:
                self._windows.remove(window)
            window.ended = time.perf_counter()
