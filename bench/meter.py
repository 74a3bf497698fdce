"""Counting DynamoDB requests on their way to the engine (moto's server or DynamoDB Local).

Both engines run in processes of their own, so ``DynamoMeter.proxy(url)`` puts a small HTTP
proxy in front of the engine and the harness is pointed at it (``bench/run.py``): it sees every
request any client sends, the functions' worker processes, the event sources, the baseline
consumer. Each request is recorded with its operation, the tables it touches, its body and the
time the engine took to answer it (as the proxy sees it: the engine's time plus a loopback round
trip). Nothing in the clients is changed, so the count is the one a DynamoDB bill would show,
whatever retries or batching the clients do.

``meter.window()`` collects the requests of one stretch of the run; ``Window.select(tables=...)``
keeps those that touch the given tables (so the stream poller's or a schedule's requests during
the same time are not charged to the consumer being measured).
"""

from __future__ import annotations

import json
import socket
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
    ended: float = 0.0  # perf_counter() when the answer came back
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
        """Wall-clock time during which at least one of ``calls`` was at the engine: the union
        of their intervals. Parallel requests overlap (the consumer sends a phase's writes
        together), so the sum of their latencies would count the engine's time once per request
        in flight."""
        return sum(end - start for start, end in merged_spans(calls))

    @staticmethod
    def units(calls: Iterable[Call], sizes: SizeLookup) -> Units:
        total = Units()
        for call in calls:
            total += request_units(call.operation, call.request, sizes)
        return total


def merged_spans(calls: Iterable[Call]) -> list[tuple[float, float]]:
    """The calls' intervals at the engine, overlapping ones merged: each span is time during
    which at least one of them was in hand, and the spans follow one another."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted((c.ended - c.seconds, c.ended) for c in calls):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


class DynamoMeter:
    """Records the DynamoDB requests that pass through its proxy while a window is open."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: list[Window] = []
        self._proxies: list[Any] = []
        self.total = 0

    def install(self) -> None:
        """Kept for callers of the former in-process meter: the proxy needs no installing."""

    def proxy(self, upstream: str) -> str:
        """A URL that forwards every request to ``upstream`` (moto's server or DynamoDB Local)
        and records it; point the clients (the functions, the pollers, the baseline) at it."""
        server = _MeteringProxy(upstream, self)
        self._proxies.append(server)
        return server.url

    def close(self) -> None:
        for server in self._proxies:
            server.close()
        self._proxies = []

    def _record(self, target: str, seconds: float, body: bytes, ended: float) -> None:
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
            call = Call(service, operation, seconds, body, ended)
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


class _MeteringProxy:
    """A threaded HTTP server in front of one DynamoDB endpoint: each request is sent on over
    a kept-alive connection of its thread, timed and handed to the meter."""

    def __init__(self, upstream: str, meter: DynamoMeter) -> None:
        import http.client
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import urlparse

        parsed = urlparse(upstream)
        host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
        local = threading.local()

        def connect() -> http.client.HTTPConnection:
            conn = http.client.HTTPConnection(host, port, timeout=60)
            conn.connect()
            assert conn.sock is not None
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return conn

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # small requests and answers: no 40 ms stalls

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                headers["Host"] = f"{host}:{port}"
                started = time.perf_counter()
                for attempt in (1, 2):  # a kept-alive connection the server closed: once more
                    conn = getattr(local, "conn", None)
                    if conn is None:
                        conn = local.conn = connect()
                    try:
                        conn.request("POST", self.path, body=body, headers=headers)
                        resp = conn.getresponse()
                        data = resp.read()
                        break
                    except (OSError, http.client.HTTPException):
                        conn.close()
                        local.conn = None
                        if attempt == 2:
                            raise
                ended = time.perf_counter()
                meter._record(
                    str(self.headers.get("X-Amz-Target", "")), ended - started, body, ended
                )
                head = [f"HTTP/1.1 {resp.status} {resp.reason}"]
                for name, value in resp.getheaders():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                        head.append(f"{name}: {value}")
                head.append(f"Content-Length: {len(data)}")
                self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + data)

            do_GET = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
