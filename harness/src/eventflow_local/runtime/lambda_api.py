"""The Lambda ``Invoke`` API for functions that invoke functions (``lambda:InvokeFunction``).

Functions get ``AWS_ENDPOINT_URL_LAMBDA`` pointing here, so ``boto3.client("lambda").invoke(...)``
reaches the local workers instead of AWS. ``FunctionName`` may be the logical id, the template's
``FunctionName`` or an ARN of either.

- ``RequestResponse`` (default): runs the function and answers 200 with its result; a function
  error sets ``X-Amz-Function-Error: Unhandled`` and the body is the error payload.
- ``Event``: answers 202 at once (``x-amzn-RequestId`` the event's request id) and puts the
  event on the function's event queue (``async_queue.py``: AWS's retries and event age, the
  ``EventInvokeConfig`` destinations and the ``DeadLetterConfig`` queue of
  ``async_destinations.py``). Retry delays are seconds here, minutes on AWS (``delay_scale``).
- ``DryRun``: 204.
A payload over Invoke's quota ("For synchronous invocations, the maximum payload size is 6 MB. For
asynchronous invocations, the maximum payload size is 1 MB", Invoke in the Lambda API reference)
answers 413 ``RequestTooLargeException``.
An unknown function answers 404 ``ResourceNotFoundException``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote, urlsplit

from eventflow_local.aws import function_arn
from eventflow_local.httpserver import HttpService, read_body, send
from eventflow_local.runtime.async_destinations import AsyncDeliveries
from eventflow_local.runtime.async_queue import (
    DEFAULT_DELAY_SCALE,
    AsyncConfig,
    EventQueue,
    attach,
)
from eventflow_local.runtime.environment import function_name
from eventflow_local.runtime.functions import FunctionRuntime

Log = Callable[[str], None]
_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
#: Invoke's payload quotas (bytes), by invocation type
MAX_PAYLOAD = {"Event": 1024 * 1024, "RequestResponse": 6 * 1024 * 1024}
_ARN = re.compile(
    r"^(?:arn:[^:]+:lambda:[^:]*:[^:]*:function:)?(?P<name>[^:]+)(?::(?P<qualifier>.+))?$"
)


class LambdaApi(HttpService):
    """A threaded HTTP server speaking the Invoke operation of the Lambda API."""

    name = "lambda-api"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        log: Log = print,
        services: Any | None = None,
        delay_scale: float = DEFAULT_DELAY_SCALE,
    ) -> None:
        """``services``: the emulator endpoint (``DynamoEndpoint``) the destinations and
        dead-letter queues are on; ``delay_scale``: AWS's retry waits are multiplied by it."""
        self.log = log
        self._functions: dict[str, FunctionRuntime] = {}
        #: logical id -> the function's event queue
        self.queues: dict[str, EventQueue] = {}
        self.delay_scale = delay_scale
        self.deliveries = AsyncDeliveries(services, self.queue_of, log=log)
        super().__init__(host, port)

    def register(self, runtimes: Mapping[str, FunctionRuntime]) -> list[str]:
        """Serve ``runtimes``, each with its event queue; the lines of what their asynchronous
        settings name and is not emulated (start-up's "not emulated")."""
        for logical_id, runtime in runtimes.items():
            self._functions[logical_id] = runtime
            self._functions[function_name(runtime.spec)] = runtime
        lines: list[str] = []
        for logical_id, runtime in runtimes.items():
            config, bad = AsyncConfig.of(logical_id, runtime.spec.properties)
            lines += bad
            region = runtime.env.get("AWS_REGION") or "us-east-1"
            arn = function_arn(function_name(runtime.spec), region)

            def done(outcome: Any, arn: str = arn, config: AsyncConfig = config) -> None:
                self.deliveries.done(arn, config, outcome)

            queue = EventQueue(runtime, config, done, delay_scale=self.delay_scale, log=self.log)
            self.queues[logical_id] = queue
            attach(runtime, queue)
        for logical_id, queue in self.queues.items():
            lines += self.deliveries.check(logical_id, queue.config)
        return lines

    def unregister(self, logical_ids: Iterable[str]) -> None:
        """No longer serve these functions (removed from a saved template): Invoke answers 404
        ``ResourceNotFoundException``; events queued for them are dropped with their queue."""
        for logical_id in logical_ids:
            runtime = self._functions.pop(logical_id, None)
            if runtime is not None:
                self._functions.pop(function_name(runtime.spec), None)
            queue = self.queues.pop(logical_id, None)
            if queue is not None:
                queue.stop()

    def queue_of(self, name_or_arn: str) -> EventQueue | None:
        runtime = self.lookup(name_or_arn)
        return self.queues.get(runtime.function_name) if runtime is not None else None

    def stop(self) -> None:
        for queue in self.queues.values():
            queue.stop()
        super().stop()

    def lookup(self, name_or_arn: str) -> FunctionRuntime | None:
        match = _ARN.match(unquote(name_or_arn))
        return self._functions.get(match.group("name")) if match else None

    # ------------------------------------------------------------------ one request
    def handle(self, req: BaseHTTPRequestHandler) -> None:
        body = read_body(req)
        found = _INVOKE_PATH.match(urlsplit(req.path).path)
        if not found or req.command != "POST":
            self._send(
                req,
                404,
                {"Type": "User", "message": f"{req.path} is not emulated"},
                "ResourceNotFoundException",
            )
            return
        runtime = self.lookup(found.group("name"))
        if runtime is None:
            message = f"Function not found: {unquote(found.group('name'))}"
            self._send(req, 404, {"Type": "User", "message": message}, "ResourceNotFoundException")
            return
        try:
            event = json.loads(body) if body else {}
        except ValueError:
            self._send(
                req,
                400,
                {"Type": "User", "message": "Could not parse request body into json"},
                "InvalidRequestContentException",
            )
            return
        kind = req.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        limit = MAX_PAYLOAD.get(kind)
        if limit is not None and len(body) > limit:
            message = f"Request must be smaller than {limit} bytes for the {kind} invocation type"
            self._send(req, 413, {"Type": "User", "message": message}, "RequestTooLargeException")
        elif kind == "DryRun":
            self._send(req, 204, None)
        elif kind == "Event":
            request_id = self.queues[runtime.function_name].submit(event)
            self._send(req, 202, None, extra={"x-amzn-RequestId": request_id})
        else:
            result = runtime.invoke(event, trigger="lambda:Invoke")
            if result.ok:
                self._send(req, 200, result.payload, extra={"X-Amz-Executed-Version": "$LATEST"})
            else:
                self._send(
                    req,
                    200,
                    result.error,
                    extra={
                        "X-Amz-Executed-Version": "$LATEST",
                        "X-Amz-Function-Error": "Unhandled",
                    },
                )

    @staticmethod
    def _send(
        req: BaseHTTPRequestHandler,
        status: int,
        payload: Any,
        error_type: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        headers = {name: [value] for name, value in (extra or {}).items()}
        if error_type:
            headers["x-amzn-ErrorType"] = [error_type]
        send(req, status, headers, b"" if payload is None else json.dumps(payload).encode())
