"""What a developer does all day, on each DynamoDB engine: which one should be the default.

Per engine: the harness's start-up (process start to every function and source ready), an API
write and read (``POST /accounts`` then ``GET /accounts/{id}`` through API Gateway, the
authorizer and the function; p50 and p95 of each), a consumer batch (the fraud consumer's mean
invocation of a 100-record batch, from its run) and a stream poll (the engine's ``GetRecords``
answer time as the meter saw the relay's poller send it while nothing else ran, p50). These are the waits of the daily
loop: start the stack, call the API, watch a consumer and a stream react.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from bench.apicall import call
from bench.stats import summary


def api_write_read(stack: Any, calls: int = 30) -> dict[str, Any]:
    writes: list[float] = []
    reads: list[float] = []
    for i in range(calls):
        body = {"name": f"everyday {i}", "number": uuid.uuid4().hex[:12]}
        t0 = time.perf_counter()
        status, created = call("POST", stack.api_url + "/accounts", stack.api_token, body)
        t1 = time.perf_counter()
        if status != 201:
            raise RuntimeError(f"POST /accounts -> {status}: {created}")
        status, read = call("GET", f"{stack.api_url}/accounts/{created['id']}", stack.api_token)
        t2 = time.perf_counter()
        if status != 200:
            raise RuntimeError(f"GET /accounts/{created['id']} -> {status}: {read}")
        writes.append((t1 - t0) * 1000)
        reads.append((t2 - t1) * 1000)
    return {"write_ms": summary(writes), "read_ms": summary(reads)}


def stream_poll_ms(window: Any) -> dict[str, float]:
    polls = [
        c.seconds * 1000 for c in window.select(service="streams") if c.operation == "GetRecords"
    ]
    return summary(polls)


def figures(ready_s: float, api: dict[str, Any], fraud: dict[str, Any]) -> dict[str, Any]:
    harness = fraud.get("harness", {})
    invocations = harness.get("invocations") or 0
    return {
        "startup_s": ready_s,
        "api_write_p50_ms": api["write_ms"]["p50"],
        "api_read_p50_ms": api["read_ms"]["p50"],
        "api_write_p95_ms": api["write_ms"]["p95"],
        "api_read_p95_ms": api["read_ms"]["p95"],
        "consumer_batch_ms": (
            harness.get("handler_seconds", 0.0) / invocations * 1000 if invocations else 0.0
        ),
        "stream_poll_p50_ms": fraud.get("stream_poll_ms", {}).get("p50", 0.0),
    }
