"""The Lambda Kafka event (MSK and self-managed Apache Kafka): ``records`` keyed by
``<topic>-<partition>``, base64 keys and values, headers as signed Java bytes ("Using Lambda with
Amazon MSK", Lambda developer guide)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eventflow_local.aws import local_msk_arn


def signed_bytes(data: bytes) -> list[int]:
    return [b - 256 if b > 127 else b for b in data]


@dataclass(frozen=True)
class RawRecord:
    """One Kafka record as read from the broker."""

    topic: str
    partition: int
    offset: int
    value: bytes | None
    key: bytes | None = None
    headers: Sequence[tuple[str, bytes]] = field(default_factory=tuple)
    timestamp: int = 0
    timestamp_type: str = "CREATE_TIME"


def kafka_record_json(rec: RawRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "topic": rec.topic,
        "partition": rec.partition,
        "offset": rec.offset,
        "timestamp": rec.timestamp or int(time.time() * 1000),
        "timestampType": rec.timestamp_type,
        "headers": [{name: signed_bytes(val)} for name, val in rec.headers],
    }
    # a null value (a tombstone) leaves ``value`` out, as a null key leaves out ``key``: the
    # events Lambda delivers for tombstones carry no value (aws-powertools/powertools-lambda-
    # typescript issue 5016, "Kafka Consumer fails when consuming tombstone events")
    if rec.value is not None:
        out["value"] = base64.b64encode(rec.value).decode()
    if rec.key is not None:
        out["key"] = base64.b64encode(rec.key).decode()
    return out


def kafka_event(
    records: Iterable[RawRecord],
    *,
    bootstrap_servers: str = "127.0.0.1:9092",
    event_source_arn: str | None = local_msk_arn(),
    self_managed: bool = False,
) -> dict[str, Any]:
    """A Lambda Kafka event; ``self_managed`` gives the SelfManagedKafka shape (no ARN)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        grouped.setdefault(f"{rec.topic}-{rec.partition}", []).append(kafka_record_json(rec))
    event: dict[str, Any] = {
        "eventSource": "SelfManagedKafka" if self_managed else "aws:kafka",
        "bootstrapServers": bootstrap_servers,
        "records": grouped,
    }
    if not self_managed and event_source_arn:
        event["eventSourceArn"] = event_source_arn
    return event


def json_record(
    topic: str,
    partition: int,
    offset: int,
    payload: Any,
    key: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> RawRecord:
    return RawRecord(
        topic=topic,
        partition=partition,
        offset=offset,
        value=json.dumps(payload).encode(),
        key=key.encode() if key is not None else None,
        headers=tuple((k, v.encode()) for k, v in (headers or {}).items()),
    )
