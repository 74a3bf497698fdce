"""Function runtime: worker processes per template function, like warm Lambda environments.

``FunctionRuntime`` implements the ``Invoker`` protocol. Each of its workers (``eventflow_local/runtime/worker.py``)
is a long-lived Python process with the function's own environment (Globals + the function's
Environment, ``!Ref``s resolved to local resources, the Lambda reserved variables, dummy
credentials, the local DynamoDB endpoint and Kafka broker); it imports the handler once from
``CodeUri``. The worker runs the function's own Python isolated (``-I -S``: no site-packages,
no virtualenv) with an explicit import path: the code directory, then the directories
``eventflow_local.runtime.build`` made (the function's build, its layers, the runtime's boto3), then the standard
library, so that a missing dependency fails as it fails on Lambda.

- One in-flight invocation per worker, as one Lambda execution environment. A function starts
  with one worker; more are started only while all are busy (up to its concurrency limit).
- The template's ``Timeout`` is enforced: past it the worker is killed and a fresh one started;
  the invocation fails with ``Task timed out after N.00 seconds``.
- A handler exception comes back as ``{"errorType", "errorMessage", "stackTrace"}``.
- The worker's stdout/stderr lines are logged with a ``[FunctionLogicalId]`` prefix.
- One line per invocation: function, trigger, batch size, duration, outcome; the same, with the
  invocation's own log lines, goes to ``recorder`` when one is set (the console's activity).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any

from eventflow_local.runtime.invocation import InvocationResult
from eventflow_local.template.sam import LOCAL_ACCOUNT, FunctionSpec

WORKER = Path(__file__).resolve().parent / "worker.py"
END_MARK = "\x00END "  # what the worker writes to stdout and stderr after each invocation
INIT_TIMEOUT_S = 60.0
DEFAULT_CONCURRENCY = 4  # execution environments per function when the template sets no limit
# Variables a process needs to run at all; everything else comes from the function's definition
# (not VIRTUAL_ENV: the function does not run in the harness's virtualenv).
PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")

Log = Callable[[str], None]


def function_name(spec: FunctionSpec) -> str:
    """The deployed name: the template's ``FunctionName`` if it sets one, else the logical id."""
    return str(spec.properties.get("FunctionName") or spec.logical_id)


def lambda_environment(
    spec: FunctionSpec,
    *,
    region: str,
    extra: Mapping[str, str] | None = None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of the function's process, as Lambda would build it.

    ``extra`` (local endpoints, broker, credentials) wins over the template so that the function
    talks to the local resources and never to AWS.
    """
    base = os.environ if base is None else base
    env = {k: base[k] for k in PASSTHROUGH if k in base}
    env.update(spec.environment)
    name = function_name(spec)
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(spec.timeout),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"local/[$LATEST]{uuid.uuid4().hex}",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime or 'python'}",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "LAMBDA_TASK_ROOT": str(spec.code_uri),
            "_HANDLER": spec.handler,
            "TZ": ":UTC",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "EVENTFLOW_LOCAL_ACCOUNT": LOCAL_ACCOUNT,
            # no shared config/credentials files: only the dummies below can be used
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
    )
    env.update(extra or {})
    return env


class _Worker:
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
        init = {
            "codeUri": str(spec.code_uri),
            "handler": spec.handler,
            "paths": [str(d) for d in import_paths],
            "inlineCode": spec.inline_code,
        }
        self.requests.send_bytes(json.dumps(init).encode())
        self.ready: bool | None = None
        self.init_error: dict[str, Any] | None = None
        self.started = time.monotonic()

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

    def _recv(self, timeout: float) -> dict[str, Any] | None:
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

    def call(self, request: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        for ended in self._log_ends:
            ended.clear()
        with self._capture_lock:
            self._captured = []
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


class FunctionRuntime:
    """Invoker for one template function: a pool of warm worker processes.

    One worker is started up front. An invocation takes an idle worker; when all are busy (a
    long-running invocation, concurrent API requests) another execution environment is started,
    up to ``max_concurrency`` (the function's ``ReservedConcurrentExecutions`` if set), as Lambda
    scales out. Each worker runs one invocation at a time.
    """

    def __init__(
        self,
        spec: FunctionSpec,
        env: Mapping[str, str],
        import_paths: list[Path],
        *,
        python: str = sys.executable,
        init_error: dict[str, Any] | None = None,
        log: Log = print,
        init_timeout: float = INIT_TIMEOUT_S,
        max_concurrency: int | None = None,
    ) -> None:
        self.spec = spec
        self.function_name = spec.logical_id
        self.env = dict(env)
        #: where the handler imports from after its code directory (``eventflow_local.runtime.build``)
        self.import_paths = import_paths
        #: the interpreter of the function's Runtime (or the one standing in for it)
        self.python = python
        #: set when the function's build failed: every invocation fails with it, no worker runs
        self.init_error = init_error
        self.log = log
        self.init_timeout = init_timeout
        reserved = int(spec.properties.get("ReservedConcurrentExecutions") or 0)
        self.max_concurrency = max_concurrency or (
            reserved if reserved > 0 else DEFAULT_CONCURRENCY
        )
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []  # warm and free; the last one is used first
        self._workers: set[_Worker] = set()
        self._closed = False
        self.invocations = 0
        #: told of every invocation: (function, trigger, batch size, result); see ``invoke``
        self.recorder: Callable[[str, str, int | None, InvocationResult], object] | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start the first worker (its import runs in the background)."""
        with self._cond:
            if not self._workers and self.init_error is None:
                self._idle.append(self._spawn())

    def wait_ready(self, timeout: float | None = None) -> dict[str, Any] | None:
        """Wait for the first cold start; return the init error, if any."""
        if self.init_error is not None:
            return self.init_error
        worker = self._checkout()
        ok = worker.wait_ready(self.init_timeout if timeout is None else timeout)
        error = None if ok else worker.init_error
        self._checkin(worker, keep=ok)
        return error

    def stop(self) -> None:
        with self._cond:
            self._closed = True
            workers, self._idle = list(self._workers), []
            self._workers.clear()
            self._cond.notify_all()
        for worker in workers:
            worker.stop()

    @property
    def environments(self) -> int:
        """Worker processes alive now (warm or busy)."""
        with self._cond:
            return len(self._workers)

    def _spawn(self) -> _Worker:
        worker = _Worker(self.spec, self.env, self.import_paths, self.log, self.python)
        self._workers.add(worker)
        return worker

    def _checkout(self) -> _Worker:
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError(f"{self.function_name} is stopped")
                while self._idle:
                    worker = self._idle.pop()
                    if worker.ready is True and not worker.alive():  # died while idle
                        self._workers.discard(worker)
                        worker.kill()
                        continue
                    return worker
                if len(self._workers) < self.max_concurrency:
                    return self._spawn()
                self._cond.wait()

    def _checkin(self, worker: _Worker, *, keep: bool, replace: bool = False) -> None:
        """Give a worker back; ``keep=False`` ends it (``replace``: start a fresh one at once)."""
        with self._cond:
            if keep and not self._closed:
                self._idle.append(worker)
            else:
                self._workers.discard(worker)
                if replace and not self._closed and not self._idle:
                    self._idle.append(self._spawn())  # its cold start overlaps what comes next
            self._cond.notify()
        if not keep:
            worker.kill()

    # ------------------------------------------------------------------ Invoker
    def invoke(
        self, event: dict[str, Any], *, trigger: str = "direct", batch_size: int | None = None
    ) -> InvocationResult:
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        if self.init_error is not None:  # the build failed: as a function that never deployed
            result = InvocationResult(False, error=self.init_error)
        else:
            try:
                worker = self._checkout()
            except RuntimeError as exc:
                result = InvocationResult(
                    False, error={"errorType": "Runtime.Stopped", "errorMessage": str(exc)}
                )
            else:
                result = self._invoke_on(worker, event, request_id)
        duration_ms = (time.monotonic() - started) * 1000
        with self._cond:
            self.invocations += 1
        result = InvocationResult(
            result.ok, result.payload, result.error, duration_ms, request_id, result.logs
        )
        self.log(self.describe(result, trigger, batch_size))
        if self.recorder is not None:
            self.recorder(self.function_name, trigger, batch_size, result)
        return result

    def _invoke_on(
        self, worker: _Worker, event: dict[str, Any], request_id: str
    ) -> InvocationResult:
        if not worker.wait_ready(self.init_timeout):
            error = worker.init_error or {
                "errorType": "Runtime.InitError",
                "errorMessage": "init failed",
            }
            self._checkin(worker, keep=False)  # the next invocation tries the init again
            return InvocationResult(False, error=error)
        timeout = float(self.spec.timeout)
        deadline_ms = int(time.time() * 1000 + timeout * 1000)
        try:
            reply = worker.call(
                {"event": event, "requestId": request_id, "deadlineMs": deadline_ms}, timeout
            )
        except (OSError, ValueError) as exc:
            worker.take_logs()
            self._checkin(worker, keep=False, replace=True)
            return InvocationResult(
                False, error={"errorType": "Runtime.ExitError", "errorMessage": str(exc)}
            )
        if reply is None:
            if worker.alive():
                error = {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds",
                }
            else:
                error = worker.init_error or {
                    "errorType": "Runtime.ExitError",
                    "errorMessage": "Runtime exited",
                }
                error = {
                    **error,
                    "errorMessage": f"RequestId: {request_id} Error: {error['errorMessage']}",
                }
            logs = worker.take_logs()
            self._checkin(worker, keep=False, replace=True)
            return InvocationResult(False, error=error, logs=logs)
        logs = worker.take_logs()
        self._checkin(worker, keep=True)
        if reply.get("ok"):
            return InvocationResult(True, payload=reply.get("payload"), logs=logs)
        return InvocationResult(False, error=reply.get("error"), logs=logs)

    def describe(self, result: InvocationResult, trigger: str, batch_size: int | None) -> str:
        batch = "-" if batch_size is None else str(batch_size)
        return (
            f"invoke {self.function_name} trigger={trigger} batch={batch} "
            f"duration={result.duration_ms:.0f}ms outcome={result.outcome}"
        )
