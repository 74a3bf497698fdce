"""The Lambda ``Invoke`` API for functions that invoke functions (``lambda:InvokeFunction``).

Functions get ``AWS_ENDPOINT_URL_LAMBDA`` pointing here, so ``boto3.client("lambda").invoke(...)``
reaches the local workers instead of AWS. ``FunctionName`` may be the logical id, the template's
``FunctionName`` or an ARN of either.

- ``RequestResponse`` (default): runs the function and answers 200 with its result; a function
  error sets ``X-Amz-Function-Error: Unhandled`` and the body is the error payload.
- ``Event``: answers 202 at once and runs the function in the background, retried on error as the
  function's ``EventInvokeConfig`` says (``MaximumRetryAttempts``, default 2;
  ``MaximumEventAgeInSeconds``). Retry delays are seconds here, minutes on AWS.
- ``DryRun``: 204.
An unknown function answers 404 ``ResourceNotFoundException``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote, urlsplit

from eventflow_local.httpserver import HttpService, read_body, send
from eventflow_local.runtime.environment import function_name
from eventflow_local.runtime.functions import FunctionRuntime

Log = Callable[[str], None]
_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
_ARN = re.compile(
    r"^(?:arn:[^:]+:lambda:[^:]*:[^:]*:function:)?(?P<name>[^:]+)(?::(?P<qualifier>.+))?$"
)
DEFAULT_ASYNC_RETRIES = 2
DEFAULT_MAX_EVENT_AGE_S = 6 * 3600


class LambdaApi(HttpService):
    """A threaded HTTP server speaking the Invoke operation of the Lambda API."""

    name = "lambda-api"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, log: Log = print) -> None:
        self.log = log
        self._functions: dict[str, FunctionRuntime] = {}
        self._stopping = threading.Event()
        super().__init__(host, port)

    def register(self, runtimes: Mapping[str, FunctionRuntime]) -> None:
        for logical_id, runtime in runtimes.items():
            self._functions[logical_id] = runtime
            self._functions[function_name(runtime.spec)] = runtime

    def stop(self) -> None:
        self._stopping.set()
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
        if kind == "DryRun":
            self._send(req, 204, None)
        elif kind == "Event":
            threading.Thread(target=self._run_async, args=(runtime, event), daemon=True).start()
            self._send(req, 202, None)
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

    def _run_async(self, runtime: FunctionRuntime, event: Any) -> None:
        config = runtime.spec.properties.get("EventInvokeConfig") or {}
        retries = int(config.get("MaximumRetryAttempts", DEFAULT_ASYNC_RETRIES))
        max_age = float(config.get("MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE_S))
        queued = time.monotonic()
        for attempt in range(retries + 1):
            if self._stopping.is_set():
                return
            if time.monotonic() - queued > max_age:
                self.log(f"{runtime.function_name}: async event older than {max_age:.0f}s dropped")
                return
            if runtime.invoke(event, trigger="lambda:Invoke(Event)").ok:
                return
            if attempt < retries and self._stopping.wait(float(attempt + 1)):
                return
        self.log(f"{runtime.function_name}: async event failed {retries + 1} time(s); dropped")

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
