"""The HTTP plumbing shared by the local API Gateway and the local Lambda API: a threaded server in
a daemon thread, and one way to write a response."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_HOP_BY_HOP = ("content-length", "connection", "transfer-encoding")


class HttpService:
    """Serves every request with ``self.handle(request)``; ``port=0`` takes a free port."""

    name = "http"

    def __init__(self, host: str, port: int, *, instance: str = "") -> None:
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # the ``Server`` header; ``instance`` tells one harness's server from another's
            server_version = f"eventflow-local-{service.name}" + (
                f"/{instance}" if instance else ""
            )

            def _handle(self) -> None:
                service.handle(self)

            def __getattr__(self, name: str) -> Any:
                # every method reaches the service (which answers 405 for undeclared ones),
                # not http.server's 501 for methods it has no do_<METHOD> for
                if name.startswith("do_") and name[3:].isalpha():
                    return self._handle
                raise AttributeError(name)

            def log_message(self, format: str, *args: Any) -> None:
                return  # the runtime logs one line per invocation

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.server.serve_forever, name=self.name, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() waits for a serve_forever that never ran
            self.server.shutdown()
            self._thread.join(5)
            self._thread = None
        self.server.server_close()


def result_body(payload: Mapping[str, Any]) -> bytes | None:
    """The bytes of a Lambda result's ``body`` as API Gateway sends them (``isBase64Encoded``
    decoded, a non-string JSON-encoded); None when the base64 is not valid."""
    body = payload.get("body")
    if body is None:
        return b""
    if payload.get("isBase64Encoded"):
        try:
            return base64.b64decode(str(body))
        except ValueError:
            return None
    return (body if isinstance(body, str) else json.dumps(body)).encode()


def read_body(req: BaseHTTPRequestHandler) -> bytes:
    length = int(req.headers.get("Content-Length") or 0)
    return req.rfile.read(length) if length else b""


def send(
    req: BaseHTTPRequestHandler, status: int, headers: Mapping[str, list[str]], raw: bytes
) -> None:
    """Write one response (JSON content type unless ``headers`` say otherwise)."""
    try:
        req.send_response(status)
        for name, values in headers.items():
            if name.lower() in _HOP_BY_HOP:
                continue
            for value in values:
                req.send_header(name, value)
        if raw and "content-type" not in {n.lower() for n in headers}:
            req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(0 if req.command == "HEAD" else len(raw)))
        req.end_headers()
        if req.command != "HEAD":
            req.wfile.write(raw)
    except (BrokenPipeError, ConnectionResetError):
        pass
