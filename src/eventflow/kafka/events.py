"""Parse a Lambda Kafka event (``aws:kafka`` from MSK, ``SelfManagedKafka`` otherwise).

Shape (AWS Lambda developer guide, "Using Lambda with Amazon MSK")::

    {"eventSource": "aws:kafka", "eventSourceArn": "...", "bootstrapServers": "h1:9092,h2:9092",
     "records": {"<topic>-<partition>": [{"topic", "partition", "offset", "timestamp",
                 "timestampType", "key": b64 | null, "value": b64, "headers": [{name: [signed bytes]}]}]}}

The map key is ``topic-partition``; topics may contain '-', so split on the LAST one. Header
values are Java (signed) bytes, -128..127.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

KAFKA_EVENT_SOURCES = frozenset({"aws:kafka", "SelfManagedKafka", "aws:SelfManagedKafka"})


class MalformedEventError(ValueError):
    """The invocation payload is not a Lambda Kafka event at all (not one bad record)."""


@dataclass(frozen=True)
class KafkaRecord:
    topic: str
    partition: int
    offset: int
    timestamp: int
    timestamp_type: str
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    decode_error: str | None = None

    @property
    def partition_id(self) -> str:
        return f"{self.topic}-{self.partition}"

    @property
    def ref(self) -> str:
        return f"{self.topic}-{self.partition}@{self.offset}"

    def header(self, name: str) -> bytes | None:
        for key, val in self.headers:
            if key == name:
                return val
        return None

    def json_value(self) -> Any:
        """The value decoded as UTF-8 JSON; raises ValueError with a reason otherwise."""
        if self.decode_error:
            raise ValueError(self.decode_error)
        if self.value is None or self.value == b"":
            raise ValueError("record value is empty")
        try:
            text = self.value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"record value is not UTF-8: {exc}") from None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"record value is not valid JSON: {exc.msg} at position {exc.pos}"
            ) from None


@dataclass(frozen=True)
class KafkaBatch:
    event_source: str
    event_source_arn: str | None
    bootstrap_servers: str | None
    records: tuple[KafkaRecord, ...]

    def __len__(self) -> int:
        return len(self.records)


def split_partition_key(key: str) -> tuple[str, int]:
    topic, sep, partition = key.rpartition("-")
    if not sep or not topic or not partition.lstrip("-").isdigit():
        raise MalformedEventError(f"records key {key!r} is not '<topic>-<partition>'")
    return topic, int(partition)


def _b64(value: Any, what: str) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{what} is not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{what} is not valid base64") from None


def decode_headers(headers: Iterable[dict[str, Any]] | None) -> tuple[tuple[str, bytes], ...]:
    out: list[tuple[str, bytes]] = []
    for entry in headers or ():
        for name, signed in entry.items():
            out.append((name, bytes([b & 0xFF for b in signed])))
    return tuple(out)


def parse_kafka_event(event: dict[str, Any]) -> KafkaBatch:
    if not isinstance(event, dict) or "records" not in event:
        raise MalformedEventError("event has no 'records': not a Lambda Kafka event")
    source = event.get("eventSource", "")
    if source not in KAFKA_EVENT_SOURCES:
        raise MalformedEventError(f"eventSource {source!r} is not a Kafka event source")
    records: list[KafkaRecord] = []
    for map_key, entries in (event.get("records") or {}).items():
        topic, partition = split_partition_key(map_key)
        for raw in entries:
            error = None
            key = value = None
            try:
                key = _b64(raw.get("key"), "key")
                value = _b64(raw.get("value"), "value")
            except ValueError as exc:
                error = str(exc)
            try:
                headers = decode_headers(raw.get("headers"))
            except (TypeError, AttributeError, ValueError):
                headers, error = (), error or "headers are not a list of {name: [bytes]}"
            records.append(
                KafkaRecord(
                    topic=raw.get("topic", topic),
                    partition=int(raw.get("partition", partition)),
                    offset=int(raw["offset"]),
                    timestamp=int(raw.get("timestamp", 0)),
                    timestamp_type=str(raw.get("timestampType", "CREATE_TIME")),
                    key=key,
                    value=value,
                    headers=headers,
                    raw=raw,
                    decode_error=error,
                )
            )
    return KafkaBatch(
        event_source=source,
        event_source_arn=event.get("eventSourceArn"),
        bootstrap_servers=event.get("bootstrapServers"),
        records=tuple(records),
    )


def batch_item_failures(failed: Iterable[KafkaRecord]) -> dict[str, Any]:
    """The partial batch response: per partition, the first offset that must be retried.

    The event source mapping resumes that partition from that offset; records after it are
    delivered again, which consumers make harmless by deduplicating.
    """
    first: dict[str, int] = {}
    for rec in failed:
        pid = rec.partition_id
        first[pid] = min(first.get(pid, rec.offset), rec.offset)
    return {
        "batchItemFailures": [
            {"itemIdentifier": {"partition": pid, "offset": off}}
            for pid, off in sorted(first.items())
        ]
    }
