"""The ``context`` object Lambda passes to a Python handler, for calling a handler in-process
(the worker process has its own copy: it imports nothing from the harness)."""

from __future__ import annotations

import time
import uuid

from eventflow_local.aws import DEFAULT_REGION, function_arn


class LambdaContext:
    """What Lambda passes as ``context``, with a real deadline."""

    def __init__(
        self,
        function_name: str,
        timeout_s: int = 3,
        memory_mb: int = 128,
        region: str = DEFAULT_REGION,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function_arn(function_name, region)
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"local/{self.aws_request_id}"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
