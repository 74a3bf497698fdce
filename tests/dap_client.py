"""A minimal Debug Adapter Protocol client, as an IDE speaks it to debugpy.

The protocol (https://microsoft.github.io/debug-adapter-protocol/specification): JSON messages,
each after a ``Content-Length: N`` header and a blank line, over one TCP connection. The client
sends requests (``seq``, ``command``, ``arguments``); the adapter answers each with a response
(``request_seq``, ``success``, ``body``) and sends events (``initialized``, ``stopped``, ...).

An attach, as VS Code's ``"request": "attach"`` does it: ``initialize``, ``attach``, then, once the
adapter sends ``initialized``, the breakpoints and ``configurationDone`` (debugpy answers the
``attach`` only after that).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any


class DapError(AssertionError):
    pass


class DapClient:
    """One connection to a debug adapter; ``close()`` (or ``with``) ends it."""

    def __init__(self, host: str, port: int, *, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:  # the debuggee may not listen yet
            try:
                self.sock = socket.create_connection((host, port), timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.sock.settimeout(None)
        self._seq = 0
        self._messages: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._closed = False
        threading.Thread(target=self._read, daemon=True).start()

    # ------------------------------------------------------------------ wire
    def _read(self) -> None:
        stream = self.sock.makefile("rb")
        try:
            while True:
                length = None
                while True:
                    line = stream.readline()
                    if not line:
                        return
                    line = line.strip()
                    if not line:
                        break
                    name, _, value = line.decode().partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                if length is None:
                    continue
                message = json.loads(stream.read(length))
                with self._cond:
                    self._messages.append(message)
                    self._cond.notify_all()
        except OSError:
            return
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()

    def send(self, command: str, arguments: dict[str, Any] | None = None) -> int:
        self._seq += 1
        message = {"seq": self._seq, "type": "request", "command": command}
        if arguments is not None:
            message["arguments"] = arguments
        data = json.dumps(message).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(data) + data)
        return self._seq

    def _take(self, match: Any, timeout: float, what: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for message in self._messages:
                    if match(message):
                        self._messages.remove(message)
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    seen = [m.get("event") or m.get("command") for m in self._messages]
                    raise DapError(f"no {what} within {timeout:g} s (seen: {seen})")
                self._cond.wait(remaining)

    def response(self, seq: int, timeout: float = 30.0) -> dict[str, Any]:
        message = self._take(
            lambda m: m.get("type") == "response" and m.get("request_seq") == seq,
            timeout,
            f"response to request {seq}",
        )
        if not message.get("success"):
            raise DapError(f"{message.get('command')} failed: {message.get('message')}")
        return dict(message.get("body") or {})

    def request(
        self, command: str, arguments: dict[str, Any] | None = None, timeout: float = 30.0
    ) -> dict[str, Any]:
        return self.response(self.send(command, arguments), timeout)

    def event(self, name: str, timeout: float = 30.0) -> dict[str, Any]:
        message = self._take(
            lambda m: m.get("type") == "event" and m.get("event") == name, timeout, f"{name} event"
        )
        return dict(message.get("body") or {})

    # ------------------------------------------------------------------ a debugging session
    def attach(self, breakpoints: dict[Path, list[int]]) -> dict[Path, list[dict[str, Any]]]:
        """Attach with ``breakpoints`` (file -> lines); the adapter's answer per file."""
        self.request(
            "initialize",
            {
                "clientID": "eventflow-tests",
                "adapterID": "debugpy",
                "linesStartAt1": True,
                "columnsStartAt1": True,
                "pathFormat": "path",
            },
        )
        attach = self.send("attach", {"justMyCode": True})
        self.event("initialized")
        verified = {}
        for path, lines in breakpoints.items():
            body = self.request(
                "setBreakpoints",
                {"source": {"path": str(path)}, "breakpoints": [{"line": n} for n in lines]},
            )
            verified[path] = list(body.get("breakpoints") or [])
        self.request("configurationDone")
        self.response(attach)
        return verified

    def stopped_at(self, timeout: float = 60.0) -> tuple[str, int, str, int]:
        """Wait for a stop: (reason, thread id, and the top frame's file and line)."""
        stopped = self.event("stopped", timeout)
        thread = int(stopped["threadId"])
        frames = self.request("stackTrace", {"threadId": thread, "levels": 1})["stackFrames"]
        top = frames[0]
        return stopped["reason"], thread, str(top["source"]["path"]), int(top["line"])

    def resume(self, thread: int) -> None:
        self.request("continue", {"threadId": thread})

    def close(self) -> None:
        with contextlib.suppress(DapError, OSError):
            self.request("disconnect", {"terminateDebuggee": False}, timeout=5)
        self.sock.close()

    def __enter__(self) -> DapClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
