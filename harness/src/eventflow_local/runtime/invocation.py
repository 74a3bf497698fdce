"""The contract between event sources (API server, Kafka ESM, stream poller, schedule) and the
function runtime: an event source builds an AWS-shaped event and calls ``invoker.invoke``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class InvocationResult:
    """Outcome of one invocation, as Lambda would report it.

    ``ok`` is False when the handler raised, timed out or its process died; then ``error`` holds
    ``{"errorType": ..., "errorMessage": ...}`` like Lambda's function error payload.
    """

    ok: bool
    payload: Any = None
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0
    request_id: str = ""
    #: the lines the function wrote during the invocation (stdout and stderr)
    logs: tuple[str, ...] = ()

    @property
    def outcome(self) -> str:
        """``ok``, ``ok 200``, ``ok, 2 batch item failure(s)`` or ``error Type: message``: how the
        harness's invocation line and the console say it."""
        if not self.ok:
            err = self.error or {}
            return f"error {err.get('errorType', '?')}: {str(err.get('errorMessage', ''))[:200]}"
        if isinstance(self.payload, dict):
            failures = self.payload.get("batchItemFailures")
            if failures:
                return f"ok, {len(failures)} batch item failure(s)"
            if "statusCode" in self.payload:
                return f"ok {self.payload['statusCode']}"
        return "ok"


class Invoker(Protocol):
    function_name: str

    def invoke(
        self, event: dict[str, Any], *, trigger: str = "direct", batch_size: int | None = None
    ) -> InvocationResult: ...
