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
- ``reload`` takes new code or settings (reload on save, ``eventflow_local.runtime.reload``):
  idle workers end at once, busy ones when their invocation ends, and a fresh worker starts
  importing the new code; the next invocation runs in it.
- ``openapi`` asks a warm worker for the OpenAPI document of the handler module's resolver, so
  that the harness never imports the function's code itself; it is not an invocation.

The environment is built by ``eventflow_local.runtime.environment``; one process and its pipes
are ``eventflow_local.runtime.worker_process``; this module is the pool.
"""

from __future__ import annotations

import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from eventflow_local.runtime.invocation import InvocationResult
from eventflow_local.runtime.worker_process import Log, WorkerProcess
from eventflow_local.template.specs import FunctionSpec

INIT_TIMEOUT_S = 60.0
DESCRIBE_TIMEOUT_S = 30.0  # waiting for a busy function, then for its answer
DEFAULT_CONCURRENCY = 4  # execution environments per function when the template sets no limit


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
        recorder: Callable[[str, str, int | None, InvocationResult], object] | None = None,
    ) -> None:
        """``recorder``: called with (function, trigger, batch size, result) as each
        invocation ends (the console's activity)."""
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
        self._idle: list[WorkerProcess] = []  # warm and free; the last one is used first
        self._workers: set[WorkerProcess] = set()
        #: busy workers of code or settings replaced since they started: ended when given back
        self._retired: set[WorkerProcess] = set()
        self._closed = False
        self.invocations = 0
        #: told of every invocation: (function, trigger, batch size, result); see ``invoke``
        self.recorder = recorder

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

    def reload(
        self,
        *,
        spec: FunctionSpec | None = None,
        env: Mapping[str, str] | None = None,
        import_paths: list[Path] | None = None,
        python: str | None = None,
        init_error: dict[str, Any] | bool | None = False,
    ) -> WorkerProcess | None:
        """New code or settings: the idle workers end now, the busy ones when their invocation
        ends, and the next invocation runs in a worker started with what is given here (what is
        not given stays). One fresh worker is started at once so that its import overlaps the
        time until the next invocation; it is returned (None when the build failed).
        ``init_error``: False keeps the current one, else it replaces it (None: the build is
        fine again)."""
        with self._cond:
            if self._closed:
                return None
            self.spec = spec or self.spec
            self.env = dict(env) if env is not None else self.env
            self.import_paths = import_paths if import_paths is not None else self.import_paths
            self.python = python or self.python
            if init_error is not False:
                self.init_error = init_error if isinstance(init_error, dict) else None
            reserved = int(self.spec.properties.get("ReservedConcurrentExecutions") or 0)
            self.max_concurrency = reserved if reserved > 0 else self.max_concurrency
            idle, self._idle = self._idle, []
            self._retired |= self._workers - set(idle)
            self._workers -= set(idle)
            fresh = self._spawn() if self.init_error is None else None
            if fresh is not None:
                self._idle.append(fresh)
            self._cond.notify_all()
        for worker in idle:
            worker.stop(timeout=1.0)
        return fresh

    def worker_pids(self) -> list[int]:
        """The process ids of the workers alive now (warm or busy)."""
        with self._cond:
            return sorted(w.proc.pid for w in self._workers if w.alive())

    @property
    def environments(self) -> int:
        """Worker processes alive now (warm or busy)."""
        with self._cond:
            return len(self._workers)

    def _spawn(self) -> WorkerProcess:
        worker = WorkerProcess(self.spec, self.env, self.import_paths, self.log, self.python)
        self._workers.add(worker)
        return worker

    def _checkout(self) -> WorkerProcess:
        worker = self._take(scale_out=True, timeout=None)
        assert worker is not None  # without a timeout it waits as long as it takes
        return worker

    def _take(self, *, scale_out: bool, timeout: float | None) -> WorkerProcess | None:
        """An idle worker, else a new one (if ``scale_out``, or if there is none at all), else
        wait for one to be given back (None once ``timeout`` has passed)."""
        deadline = None if timeout is None else time.monotonic() + timeout
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
                if len(self._workers) < self.max_concurrency and (scale_out or not self._workers):
                    return self._spawn()
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def _checkin(self, worker: WorkerProcess, *, keep: bool, replace: bool = False) -> None:
        """Give a worker back; ``keep=False`` ends it (``replace``: start a fresh one at once).
        A worker retired while it was busy (``reload``) is ended."""
        with self._cond:
            if worker in self._retired:
                self._retired.discard(worker)
                keep = False
            if keep and not self._closed:
                self._idle.append(worker)
            else:
                self._workers.discard(worker)
                if replace and not self._closed and not self._idle:
                    self._idle.append(self._spawn())  # its cold start overlaps what comes next
            self._cond.notify_all()  # an invocation may scale out where a description waits
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
        self, worker: WorkerProcess, event: dict[str, Any], request_id: str
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

    # ------------------------------------------------------------------ descriptions
    def openapi(
        self, title: str, version: str, *, timeout: float = DESCRIBE_TIMEOUT_S
    ) -> dict[str, Any] | None:
        """The OpenAPI document of the function's resolver (``app.get_openapi_schema``), built
        in its own worker with its own packages; None when the handler's module has none.

        Not an invocation: no invocation line, no console activity, ``invocations`` unchanged.
        A warm worker answers (a busy function is waited for, up to ``timeout``); none is
        started for it unless the function has none at all. ``DescribeError`` says, in one
        line, why there is no answer.
        """
        payload = self._ask({"describe": "openapi", "title": title, "version": version}, timeout)
        if payload is not None and not isinstance(payload, dict):
            raise DescribeError(f"the OpenAPI document is a {type(payload).__name__}")
        return payload

    def _ask(self, request: dict[str, Any], timeout: float) -> Any:
        if self.init_error is not None:
            raise DescribeError(_one_line(self.init_error))
        try:
            worker = self._take(scale_out=False, timeout=timeout)
        except RuntimeError as exc:
            raise DescribeError(str(exc)) from exc
        if worker is None:
            raise DescribeError(f"no execution environment was free within {timeout:g} s")
        if not worker.wait_ready(self.init_timeout):
            error = worker.init_error or {"errorType": "Runtime.InitError"}
            self._checkin(worker, keep=False)
            raise DescribeError(f"init failed: {_one_line(error)}")
        try:
            reply = worker.call(request, timeout, capture=False)
        except (OSError, ValueError) as exc:
            self._checkin(worker, keep=False, replace=True)
            raise DescribeError(f"the worker failed: {exc}") from exc
        if reply is None:
            alive = worker.alive()
            self._checkin(worker, keep=False, replace=True)
            raise DescribeError(f"no answer within {timeout:g} s" if alive else "the worker exited")
        self._checkin(worker, keep=True)
        if not reply.get("ok"):
            raise DescribeError(_one_line(reply.get("error") or {}))
        return reply.get("payload")


class DescribeError(Exception):
    """A function could not describe itself; the message is one line."""


def _one_line(error: dict[str, Any]) -> str:
    """``errorType: errorMessage (file, line N)``, the line from the last frame of the trace."""
    text = f"{error.get('errorType') or 'Error'}: {error.get('errorMessage') or ''}".rstrip(": ")
    frames = [str(f) for f in error.get("stackTrace") or []]
    where = re.search(r'File "([^"]+)", line (\d+)', frames[-1]) if frames else None
    if where:
        text += f" ({Path(where.group(1)).name}, line {where.group(2)})"
    return " ".join(text.split())
