"""One worker process of a function and its two message pipes, seen from the harness.

``WorkerProcess`` starts ``eventflow_local/runtime/worker.py`` with the function's own Python,
environment and import path, sends it the init message, and exchanges JSON messages with it
(``call``). What the worker prints on stdout/stderr is logged line by line with a
``[FunctionLogicalId]`` prefix and, during an invocation, kept as that invocation's logs: the
worker writes an END mark on both streams when an invocation ends, so that its lines are out
before the harness writes the invocation's summary line. The pool that decides which worker
runs what (``eventflow_local.runtime.functions.FunctionRuntime``) is kept apart from the
process plumbing here.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any

from eventflow_local.template.specs import FunctionSpec

WORKER = Path(__file__).resolve().parent / "worker.py"
END_MARK = "\x00END "  # what the worker writes to stdout and stderr after each invocation

Log = Callable[[str], None]


class WorkerProcess:
    """One process and its two message pipes."""

    def __init__(
        self,
        spec: FunctionSpec,
        env: Mapping[str, str],
        import_paths: list[Path],
        log: Log,
        python: str = sys.executable,
    ) -> None:
        req_read, req_write = os.pipe()
        resp_read, resp_write = os.pipe()
        self.proc = subprocess.Popen(
            [python, "-I", "-S", "-u", str(WORKER), str(req_read), str(resp_write)],
            env=dict(env),
            pass_fds=(req_read, resp_write),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=str(spec.code_uri),
            start_new_session=True,  # Ctrl-C reaches the harness, which stops workers in order
        )
        os.close(req_read)
        os.close(resp_write)
        self.requests = Connection(req_write, readable=False, writable=True)
        self.responses = Connection(resp_read, readable=True, writable=False)
        prefix = f"[{spec.logical_id}]"
        self._log_ends = [threading.Event(), threading.Event()]
        #: the lines of the invocation under way (None between invocations)
        self._captured: list[str] | None = None
        self._capture_lock = threading.Lock()
        for stream, ended in zip((self.proc.stdout, self.proc.stderr), self._log_ends, strict=True):
            threading.Thread(
                target=_pump, args=(stream, prefix, log, ended, self._capture), daemon=True
            ).start()
        self.requests.send_bytes(json.dumps(self.init_message(spec, import_paths)).encode())
        self.ready: bool | None = None
        self.init_error: dict[str, Any] | None = None
        self.started = time.monotonic()

    def init_message(self, spec: FunctionSpec, import_paths: list[Path]) -> dict[str, Any]:
        """What the worker is told first (a subclass adds to it: runtime/debugging.py)."""
        return {
            "codeUri": str(spec.code_uri),
            "handler": spec.handler,
            "paths": [str(d) for d in import_paths],
            "inlineCode": spec.inline_code,
        }

    def wait_ready(self, timeout: float) -> bool:
        """True once the handler is imported; False (with ``init_error``) if the init failed."""
        if self.ready is None:
            message = self._recv(timeout)
            if message is None:
                self.ready = False
                self.init_error = self.init_error or {
                    "errorType": "Runtime.InitError",
                    "errorMessage": f"the function did not initialise within {timeout:.0f} seconds",
                }
            else:
                self.ready = bool(message.get("ready"))
                self.init_error = message.get("error")
        return self.ready

    def _recv(self, timeout: float | None) -> dict[str, Any] | None:
        try:
            if not self.responses.poll(timeout):
                return None
            return dict(json.loads(self.responses.recv_bytes()))
        except (EOFError, OSError):
            code = self.proc.wait(timeout=5)
            self.init_error = {
                "errorType": "Runtime.ExitError",
                "errorMessage": f"Runtime exited with error: exit status {code}",
            }
            return None

    def _capture(self, line: str) -> None:
        with self._capture_lock:
            if self._captured is not None:
                self._captured.append(line)

    def call(
        self, request: dict[str, Any], timeout: float | None, *, capture: bool = True
    ) -> dict[str, Any] | None:
        """Send one request and wait for its reply (None past ``timeout``, if one); ``capture``:
        keep the lines it prints as an invocation's logs (``take_logs``), else only log them."""
        for ended in self._log_ends:
            ended.clear()
        with self._capture_lock:
            self._captured = [] if capture else None
        self.requests.send_bytes(json.dumps(request).encode())
        reply = self._recv(timeout)
        if reply is not None:  # let the invocation's log lines come out before its summary line
            for ended in self._log_ends:
                ended.wait(1.0)
        return reply

    def take_logs(self) -> tuple[str, ...]:
        """The lines of the last invocation (and stop collecting)."""
        with self._capture_lock:
            lines, self._captured = self._captured or [], None
        return tuple(lines)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._close()

    def stop(self, timeout: float = 3.0) -> None:
        """Close the request pipe (the worker's loop ends), then kill if it lingers."""
        self._close()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def _close(self) -> None:
        for conn in (self.requests, self.responses):
            with contextlib.suppress(OSError):
                conn.close()


def _pump(
    stream: IO[bytes] | None,
    prefix: str,
    log: Log,
    ended: threading.Event,
    capture: Callable[[str], None] | None = None,
) -> None:
    if stream is None:
        return
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip("\n")
        text, mark, _ = line.partition(END_MARK)
        if text or not mark:
            log(f"{prefix} {text}")
            if capture is not None:
                capture(text)
        if mark:
            ended.set()
    stream.close()
