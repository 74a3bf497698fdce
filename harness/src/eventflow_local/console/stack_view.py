"""What the console tells of the running stack itself: functions, event sources, topic lag, and
which of the plugins' views apply.

Event sources are the stack's objects (eventflow_local/eventsources/factory.py): a Kafka mapping knows the offsets it
committed under its consumer group, each source has its engine's in-flight batches (a batch with
attempts is a retry in flight) and its OnFailure destination. Lag is, as for a consumer group,
the partition's end offset minus the committed offset; a partition the mapping has committed
nothing for counts from the partition's beginning.

A plugin's views (eventflow_local/plugins.py) show when the template's API has the routes they
read (``ConsoleViews.needs``); for a SAM app without them they hide themselves.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from eventflow_local.console.kafka_view import KafkaView
from eventflow_local.plugins import Route


class RunningStack(Protocol):
    """What the console reads of the running stack, and nothing else (``stack.Stack`` is one)."""

    @property
    def template_path(self) -> Path: ...
    @property
    def api_token(self) -> str: ...
    @property
    def tables(self) -> Mapping[str, Mapping[str, Any]]: ...
    @property
    def topics(self) -> list[str]: ...
    @property
    def runtimes(self) -> Mapping[str, Any]: ...
    @property
    def sources(self) -> list[Any]: ...
    @property
    def destinations(self) -> Any: ...
    @property
    def gateway(self) -> Any: ...  # the API server: url, stage, router.apis
    @property
    def bootstrap_servers(self) -> str: ...
    @property
    def dynamo(self) -> Any: ...  # the emulator endpoint (services/dynamodb.DynamoEndpoint)
    def dynamodb_client(self) -> Any: ...
    def triggers(self) -> dict[str, list[str]]: ...


def features(stack: RunningStack, needs: Mapping[str, Sequence[Route]]) -> dict[str, bool]:
    """Each feature of ``needs``: whether the template's API has every route it names."""
    routes = set()
    if stack.gateway is not None:
        routes = {
            (op.method, op.path) for api in stack.gateway.router.apis for op in api.operations
        }
    return {name: all(tuple(need) in routes for need in wanted) for name, wanted in needs.items()}


def _kind(source: Any) -> str:
    name = type(source).__name__
    if "Kafka" in name:
        return "kafka"
    if "Stream" in name:
        return "dynamodb-stream"
    if "Schedule" in name:
        return "schedule"
    return name


def _committed(source: Any) -> dict[tuple[str, int], int | None]:
    getter = getattr(source, "committed_offsets", None)
    if getter is None:
        return {}
    for _ in range(3):  # the mapping's thread may change its partitions meanwhile
        try:
            return {(tp.topic, tp.partition): off for tp, off in dict(getter()).items()}
        except RuntimeError:
            time.sleep(0.01)
    return {}


def sources(stack: RunningStack) -> list[dict[str, Any]]:
    """Each event source: function, kind, state, retries in flight, failure destination."""
    out = []
    for source in list(stack.sources):
        event = getattr(source, "event", None)
        engine = getattr(source, "engine", None)
        retries = []
        if engine is not None:
            for batch in list(engine.inflight):
                if batch.attempts > 0:
                    retries.append(
                        {
                            "records": len(batch.entries),
                            "attempts": batch.attempts,
                            "lanes": sorted(batch.lanes()),
                        }
                    )
        stats = getattr(source, "stats", None)
        config = getattr(source, "config", None)
        row: dict[str, Any] = {
            "function": getattr(source, "function_name", "?"),
            "event": getattr(event, "name", ""),
            "type": getattr(event, "type", ""),
            "kind": _kind(source),
            "state": "Enabled" if getattr(source, "running", True) else "Disabled",
            "topics": list(getattr(source, "topics", []) or []),
            "group": getattr(source, "group_id", None),
            "stream": getattr(source, "stream_arn", None),
            "batchSize": getattr(config, "batch_size", None),
            "retriesInFlight": retries,
            "failureDestination": repr(source.destination)
            if getattr(source, "destination", None) is not None
            else (getattr(config, "on_failure", None) if config is not None else None),
            "stats": dict(vars(stats)) if stats is not None else None,
        }
        out.append(row)
    return out


def topics(stack: RunningStack, kafka: KafkaView) -> list[dict[str, Any]]:
    """Each topic: partitions with end offsets, and each mapping's committed offset and lag."""
    names = kafka.topic_names(stack.topics)
    ranges = kafka.offsets(names)
    mappings = [s for s in stack.sources if hasattr(s, "committed_offsets")]
    out = []
    for topic in names:
        parts = ranges.get(topic, {})
        consumers = []
        for source in mappings:
            if topic not in getattr(source, "topics", ()):
                continue
            committed = _committed(source)
            rows = []
            total = 0
            for partition, (begin, end) in sorted(parts.items()):
                offset = committed.get((topic, partition))
                lag = end - (offset if offset is not None else begin)
                total += max(0, lag)
                rows.append({"partition": partition, "committed": offset, "lag": max(0, lag)})
            consumers.append(
                {
                    "function": source.function_name,
                    "group": getattr(source, "group_id", None),
                    "partitions": rows,
                    "lag": total,
                }
            )
        out.append(
            {
                "topic": topic,
                "template": topic in stack.topics,
                "partitions": [
                    {"partition": p, "beginning": b, "end": e}
                    for p, (b, e) in sorted(parts.items())
                ],
                "messages": sum(e - b for b, e in parts.values()),
                "end": sum(e for _, e in parts.values()),
                "consumers": consumers,
                "lag": max((c["lag"] for c in consumers), default=0),
            }
        )
    return out


def functions(stack: RunningStack) -> list[dict[str, Any]]:
    triggers = stack.triggers()
    return [
        {
            "function": logical_id,
            "runtime": runtime.spec.runtime,
            "handler": runtime.spec.handler,
            "triggers": triggers.get(logical_id, []),
            "invocations": runtime.invocations,
            "workers": runtime.environments,
            "initError": runtime.init_error,
        }
        for logical_id, runtime in stack.runtimes.items()
    ]
