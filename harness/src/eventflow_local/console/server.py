"""The console's HTTP side, served under ``/_console/`` by the API server (eventflow_local/apigw/gateway.py).

    /_console/                    the page (static/index.html and its ES modules, no build step)
    /_console/static/<file>       the page's own files, shipped in this package
    /_console/plugins/<name>/<f>  a plugin's files: the ES module of its views, its styles
                                  (eventflow_local/plugins.py)
    /_console/swagger-ui/<file>   Swagger UI's script and stylesheet (PyPI ``swagger-ui-py``), so
                                  that the API's ``/swagger`` works offline
    /_console/api/...             JSON read from the running stack (see ``ConsoleApp.routes``)
    /_console/events              server-sent events: ``invocation`` (each invocation as it ends)
                                  and ``offsets`` (a topic's end offsets moved), pushed, not polled

Everything is read-only except producing a message to a topic, firing a schedule and sending to a
queue, SNS topic, bus or Kinesis stream (console/messaging_view.py), which need the same local
token as the API's protected routes (eventflow_local/apigw/local_token.py). A plugin's views read the
template's API from the page itself, with the user's token where a route needs one, so they see
what any API client sees; the overview names the plugins' modules and which of their features
the template's API has.

A message larger than the console takes is answered 413 after its body has been read (up to
``MAX_DISCARD_BYTES``, then the connection is closed): a client still sending when the answer
comes would otherwise see a broken pipe instead of the 413.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from eventflow_local.apigw.local_token import check as check_auth
from eventflow_local.console import messaging_view, schedules_view, stack_view
from eventflow_local.console.activity import Activity, Listener
from eventflow_local.console.files import (
    STATIC,
    SWAGGER_FILES,
    PluginViews,
    serve_file,
    swagger_dir,
)
from eventflow_local.console.kafka_view import KafkaView
from eventflow_local.console.stack_view import RunningStack
from eventflow_local.console.tables_view import TablesView
from eventflow_local.httpserver import read_body, send
from eventflow_local.plugins import Plugin, installed

__all__ = ["MAX_PRODUCE_BYTES", "PREFIX", "STATIC", "ConsoleApp", "swagger_dir"]

PREFIX = "/_console"
KEEPALIVE_S = 15.0
WATCH_INTERVAL_S = 1.0
MAX_PRODUCE_BYTES = 1024 * 1024
#: a too-large body up to this size is read and dropped before the 413, beyond it not read
MAX_DISCARD_BYTES = 16 * 1024 * 1024

Reply = tuple[int, Any]


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ConsoleApp:
    """The console of one started ``Stack``."""

    def __init__(
        self, stack: RunningStack, activity: Activity, plugins: tuple[Plugin, ...] | None = None
    ) -> None:
        self.stack = stack
        self.activity = activity
        #: the plugins' console views (eventflow_local/plugins.py)
        self.views = PluginViews(installed() if plugins is None else plugins, PREFIX)
        self._kafka: KafkaView | None = None
        self._tables: TablesView | None = None
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._watch_lock = threading.Lock()
        self._last_ends: dict[str, int] = {}
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., Reply]]] = [
            ("GET", re.compile(r"/api/overview"), self.overview),
            ("GET", re.compile(r"/api/topics"), self.topics),
            ("GET", re.compile(r"/api/topics/(?P<topic>[^/]+)/messages"), self.messages),
            ("POST", re.compile(r"/api/topics/(?P<topic>[^/]+)/messages"), self.produce),
            ("GET", re.compile(r"/api/tables"), self.tables),
            ("GET", re.compile(r"/api/tables/(?P<table>[^/]+)/items"), self.items),
            ("GET", re.compile(r"/api/tables/(?P<table>[^/]+)/item"), self.item),
            ("GET", re.compile(r"/api/functions"), self.functions),
            ("GET", re.compile(r"/api/invocations"), self.invocations),
            ("GET", re.compile(r"/api/invocations/(?P<seq>\d+)"), self.invocation),
            ("GET", re.compile(r"/api/destinations"), self.destinations),
            ("GET", re.compile(r"/api/schedules"), lambda **_: schedules_view.listing(self.stack)),
            ("POST", re.compile(r"/api/schedules/(?P<schedule>[^/]+)/fire"), self.fire_schedule),
            *messaging_view.routes(stack),  # queues, SNS topics, buses, Kinesis streams
        ]

    # ------------------------------------------------------------------ plumbing
    @property
    def kafka(self) -> KafkaView:
        if self._kafka is None:
            self._kafka = KafkaView(self.stack.bootstrap_servers)
        return self._kafka

    @property
    def table_view(self) -> TablesView:
        if self._tables is None:
            names = {lid: str(attrs["Ref"]) for lid, attrs in self.stack.tables.items()}
            self._tables = TablesView(self.stack.dynamodb_client(), names)
        return self._tables

    def stop(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(3)
        if self._kafka is not None:
            self._kafka.close()

    @staticmethod
    def claims(path: str) -> bool:
        return path == PREFIX or path.startswith(PREFIX + "/")

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        split = urlsplit(req.path)
        path = split.path[len(PREFIX) :]
        method = req.command.upper()
        if path == "":
            send(req, 308, {"Location": [PREFIX + "/"]}, b"")
            return
        if path == "/events" and method == "GET":
            self.events(req)
            return
        if path.startswith("/api/"):
            self._api(req, method, path, parse_qs(split.query))
            return
        if method not in ("GET", "HEAD"):
            send(req, 405, {"Allow": ["GET, HEAD"]}, _json({"message": "read-only"}))
            return
        if path == "/":
            serve_file(req, STATIC / "index.html")
        elif path.startswith("/static/"):
            serve_file(req, STATIC, path[len("/static/") :])
        elif path.startswith("/plugins/"):
            self.views.serve(req, path[len("/plugins/") :])
        elif path.startswith("/swagger-ui/") and path[len("/swagger-ui/") :] in SWAGGER_FILES:
            folder = swagger_dir()
            if folder is None:
                send(req, 404, {}, _json({"message": "swagger-ui-py is not installed"}))
                return
            serve_file(req, folder, path[len("/swagger-ui/") :])
        else:
            send(req, 404, {}, _json({"message": f"no console page {path}"}))

    def _api(
        self, req: BaseHTTPRequestHandler, method: str, path: str, query: dict[str, list[str]]
    ) -> None:
        allowed = []
        for verb, pattern, handler in self.routes:
            found = pattern.fullmatch(path)
            if not found:
                continue
            if verb != method:
                allowed.append(verb)
                continue
            try:
                status, body = handler(req=req, query=query, **found.groupdict())
            except HttpError as exc:
                status, body = exc.status, {"message": str(exc)}
            except Exception as exc:  # a broker or table that is not there answers, not hangs
                status, body = 503, {"message": f"{type(exc).__name__}: {exc}"}
            send(req, status, {"Cache-Control": ["no-store"]}, _json(body))
            return
        if allowed:
            send(
                req, 405, {"Allow": [", ".join(allowed)]}, _json({"message": "method not allowed"})
            )
        else:
            send(req, 404, {}, _json({"message": f"no console endpoint {path}"}))

    # ------------------------------------------------------------------ endpoints
    def overview(self, **_: Any) -> Reply:
        stack = self.stack
        gateway = stack.gateway
        return 200, {
            "apiUrl": gateway.url if gateway else None,
            "stage": gateway.stage if gateway else None,
            "template": str(stack.template_path),
            "features": stack_view.features(stack, self.views.needs()),
            "plugins": self.views.modules(),
            "topics": stack_view.topics(stack, self.kafka),
            "functions": stack_view.functions(stack),
            "invocations": self.activity.latest(100),
            "invocationsTotal": self.activity.total,
            "tables": [{"logicalId": k, "name": v["Ref"]} for k, v in stack.tables.items()],
            "sources": stack_view.sources(stack),
            "authRequired": bool(stack.api_token),
        }

    def topics(self, **_: Any) -> Reply:
        return 200, {"topics": stack_view.topics(self.stack, self.kafka)}

    def _topic(self, topic: str) -> str:
        topic = unquote(topic)
        if topic not in self.kafka.topic_names(self.stack.topics):
            raise HttpError(404, f"no topic {topic}")
        return topic

    def messages(self, topic: str, query: dict[str, list[str]], **_: Any) -> Reply:
        name = self._topic(topic)
        limit = _int(query, "limit", 50)
        return 200, {"topic": name, "messages": self.kafka.messages(name, limit)}

    def produce(self, req: BaseHTTPRequestHandler, topic: str, **_: Any) -> Reply:
        denied = check_auth(dict(req.headers.items()), self.stack.api_token)
        if int(req.headers.get("Content-Length") or 0) > MAX_PRODUCE_BYTES:
            _discard_body(req)
            raise HttpError(413, f"a message of the console is at most {MAX_PRODUCE_BYTES} bytes")
        raw = read_body(req)
        if denied is not None:
            return denied[0], {"message": denied[1]}
        name = self._topic(topic)
        try:
            body = json.loads(raw or b"{}")
        except ValueError as exc:
            raise HttpError(400, f"the body is not JSON: {exc}") from exc
        if not isinstance(body, dict) or not isinstance(body.get("value"), str | type(None)):
            raise HttpError(400, 'send {"key": "...", "value": "...", "headers": {"name": "v"}}')
        key, headers = body.get("key"), body.get("headers") or {}
        if key is not None and not isinstance(key, str):
            raise HttpError(400, "key must be a string")
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise HttpError(400, "headers must be an object of strings")
        partition = body.get("partition")
        if partition is not None and not isinstance(partition, int):
            raise HttpError(400, "partition must be a number")
        value = body.get("value")
        sent = self.kafka.produce(
            name,
            None if value is None else value.encode(),
            key=None if key is None else key.encode(),
            headers={k: v.encode() for k, v in headers.items()},
            partition=partition,
        )
        return 201, sent

    def tables(self, **_: Any) -> Reply:
        return 200, {"tables": self.table_view.summary()}

    def _table(self, table: str) -> str:
        try:
            return self.table_view.name_of(unquote(table))
        except KeyError:
            raise HttpError(404, f"no table {unquote(table)} in the template") from None

    def items(self, table: str, query: dict[str, list[str]], **_: Any) -> Reply:
        name = self._table(table)
        try:
            page = self.table_view.items(name, _int(query, "limit", 25), _one(query, "next"))
        except ValueError as exc:
            raise HttpError(400, str(exc)) from exc
        return 200, page

    def item(self, table: str, query: dict[str, list[str]], **_: Any) -> Reply:
        name = self._table(table)
        try:
            key = json.loads(_one(query, "key") or "")
        except ValueError:
            raise HttpError(400, "key must be the item's key as JSON") from None
        if not isinstance(key, dict) or not key:
            raise HttpError(400, "key must be the item's key as a JSON object")
        found = self.table_view.item(name, key)
        if found is None:
            raise HttpError(404, "no such item")
        return 200, {"table": name, "item": found}

    def functions(self, **_: Any) -> Reply:
        return 200, {
            "functions": stack_view.functions(self.stack),
            "sources": stack_view.sources(self.stack),
        }

    def invocations(self, query: dict[str, list[str]], **_: Any) -> Reply:
        items = self.activity.latest(_int(query, "limit", 50), _one(query, "function"))
        return 200, {"invocations": items, "total": self.activity.total}

    def invocation(self, seq: str, **_: Any) -> Reply:
        item = self.activity.get(int(seq))
        if item is None:
            raise HttpError(404, f"invocation {seq} is no longer kept")
        return 200, item

    def destinations(self, **_: Any) -> Reply:
        """The records the event source mappings sent to their OnFailure queues (newest first;
        the queues themselves are read with ``receive_message``, which this view does not do, so
        that it takes nothing from them)."""
        dests = self.stack.destinations
        sent = dests.sent() if dests is not None else {}
        found = [
            {"queue": name, "records": records[::-1]} for name, records in sorted(sent.items())
        ]
        return 200, {"queues": found}

    def fire_schedule(self, req: BaseHTTPRequestHandler, schedule: str, **kw: Any) -> Reply:
        """Run a schedule now (``console/schedules_view.py``), with the local token."""
        return schedules_view.fire_request(req, self.stack, unquote(schedule), kw["query"])

    # ------------------------------------------------------------------ live updates
    def events(self, req: BaseHTTPRequestHandler) -> None:
        """Server-sent events until the page goes away or the stack stops."""
        listener = self.activity.subscribe()
        self._ensure_watcher()
        req.close_connection = True
        try:
            req.send_response(200)
            req.send_header("Content-Type", "text/event-stream; charset=utf-8")
            req.send_header("Cache-Control", "no-store")
            req.send_header("X-Accel-Buffering", "no")
            req.end_headers()
            _write_event(req, "hello", {"invocationsTotal": self.activity.total})
            self._pump(req, listener)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
        finally:
            self.activity.unsubscribe(listener)

    def _pump(self, req: BaseHTTPRequestHandler, listener: Listener) -> None:
        quiet = 0.0
        while not self._stop.is_set():
            message = listener.get(timeout=1.0)  # wakes up to notice the stack stopping
            if message is None:
                quiet += 1.0
                if quiet >= KEEPALIVE_S:  # a comment line keeps proxies and the browser happy
                    req.wfile.write(b": keep-alive\n\n")
                    req.wfile.flush()
                    quiet = 0.0
                continue
            quiet = 0.0
            if listener.dropped:
                listener.dropped = False
                _write_event(req, "reload", {})
            _write_event(req, *message)

    def _end_offsets(self) -> dict[str, int] | None:
        try:
            names = self.kafka.topic_names(self.stack.topics)
            return {t: sum(e for _, e in p.values()) for t, p in self.kafka.offsets(names).items()}
        except Exception:  # the broker is gone or busy: try again at the next tick
            return None

    def _ensure_watcher(self) -> None:
        with self._watch_lock:
            if self._watcher is None or not self._watcher.is_alive():
                self._last_ends = self._end_offsets() or {}  # what the first page saw
                self._watcher = threading.Thread(
                    target=self._watch, name="console-watch", daemon=True
                )
                self._watcher.start()

    def _watch(self) -> None:
        """While a page listens: publish a topic's end offsets when they move (one ListOffsets)."""
        while not self._stop.wait(WATCH_INTERVAL_S):
            if not self.activity.listening:
                continue
            ends = self._end_offsets()
            if ends is None:
                continue
            changed = {t: e for t, e in ends.items() if self._last_ends.get(t) != e}
            if changed:
                self.activity.publish("offsets", changed)
            self._last_ends = ends


def _discard_body(req: BaseHTTPRequestHandler) -> None:
    """Read a too-large body and drop it, so that the client, done sending, reads the answer;
    one larger than ``MAX_DISCARD_BYTES`` is left unread and the connection closed after it."""
    left = int(req.headers.get("Content-Length") or 0)
    if left > MAX_DISCARD_BYTES:
        req.close_connection = True
        return
    try:
        while left > 0:
            chunk = req.rfile.read(min(left, 65536))
            if not chunk:
                break
            left -= len(chunk)
    except OSError:
        pass
    if left:
        req.close_connection = True


def _write_event(req: BaseHTTPRequestHandler, name: str, data: Any) -> None:
    req.wfile.write(f"event: {name}\ndata: {json.dumps(data, default=str)}\n\n".encode())
    req.wfile.flush()


def _json(body: Any) -> bytes:
    return json.dumps(body, default=str).encode()


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _int(query: dict[str, list[str]], name: str, default: int) -> int:
    raw = _one(query, name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise HttpError(400, f"{name} must be a number") from None
