"""Starting an emission run at once: the emitter invokes itself asynchronously.

The emitter function serves the API and the schedule. ``POST /earthquake-events/start`` and an
emission run that reaches the end of its time call ``kick()``, which invokes the same function
with ``InvocationType=Event`` and an :func:`emit_request` payload: emission starts (or continues)
without waiting for the next scheduled run. The schedule stays the safety net.
"""

from __future__ import annotations

import json
import os
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from eventflow.observability import logger

EMIT_SOURCE = "eventflow.quake-emitter"
SCHEDULE_SOURCE = "aws.events"


def emit_request(reason: str) -> dict[str, Any]:
    """The payload of a self-invocation, shaped like an EventBridge event."""
    return {"source": EMIT_SOURCE, "detail-type": "Emit earthquakes", "detail": {"reason": reason}}


def is_emit_request(event: Any) -> bool:
    """A Schedule event or a self-invocation (not an API request)."""
    return (
        isinstance(event, dict)
        and event.get("source") in (SCHEDULE_SOURCE, EMIT_SOURCE)
        and "httpMethod" not in event
    )


class LambdaKicker:
    def __init__(self, function_name: str | None = None, client: Any = None) -> None:
        self.function_name = function_name
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            region = (
                os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
            )
            self._client = boto3.client(
                "lambda",
                region_name=region,
                config=Config(
                    retries={"max_attempts": 2, "mode": "standard"},
                    connect_timeout=2,
                    read_timeout=5,
                ),
            )
        return self._client

    def kick(self, reason: str = "start") -> bool:
        name = self.function_name or os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        if not name:
            logger.warning("cannot invoke the emitter: AWS_LAMBDA_FUNCTION_NAME is not set")
            return False
        try:
            self.client.invoke(
                FunctionName=name,
                InvocationType="Event",
                Payload=json.dumps(emit_request(reason)).encode(),
            )
        except (ClientError, BotoCoreError) as exc:
            logger.warning(
                "could not invoke the emitter; the schedule will start it",
                extra={"error": repr(exc)},
            )
            return False
        return True


class NoKicker:
    """``QUAKE_SELF_INVOKE=none``: only the schedule runs the emitter."""

    def kick(self, reason: str = "start") -> bool:
        return False
