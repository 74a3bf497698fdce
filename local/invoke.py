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


class Invoker(Protocol):
    function_name: str

    def invoke(
        self, event: dict[str, Any], *, trigger: str = "direct", batch_size: int | None = None
    ) -> InvocationResult: ...
