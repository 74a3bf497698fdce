"""Benchmark 1: the fraud consumer's throughput and DynamoDB cost, next to the seed's consumer and
the broker's raw read rate, on the same topic, broker and emulator.

1. ``create_accounts``: the accounts, written straight to the accounts table (as the API would).
2. ``preload``: N fraud events, published as the outbox relay publishes them (``Message.json``,
   key = accountId, headers eventId/eventType), while the harness's event source mapping is
   stopped.
3. ``raw_read``: the same N records read by a bare ``KafkaConsumer`` (manual assignment, no
   processing): the ceiling.
4. ``run_harness``: the mapping is started again and timed until it has handed all N records to
   ``account_consumer`` (through the worker process, as ``make up`` runs it) and they succeeded;
   ``verify`` then checks exactly-once: the counts add up to N, every account with 3 or more is
   blocked.
5. ``bench.baseline``: the seed's approach over the same records.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from bench.meter import Call, DynamoMeter, Window
from bench.pricing import per_million, prices
from bench.stats import rate
from bench.tap import LogTap
from bench.units import item_size

NOW = "2026-01-01T00:00:00.000Z"
CONSUMER = "AccountConsumerFunction"


def account_item(account_id: str, *, count_attribute: str = "fraudCount") -> dict[str, Any]:
    """An active account as the accounts API stores it (DynamoDB JSON)."""
    return {
        "id": {"S": account_id},
        "name": {"S": "Bench account"},
        "number": {"S": f"PL{account_id[:24]}"},
        "type": {"S": "root"},
        "status": {"S": "active"},
        count_attribute: {"N": "0"},
        "createdAt": {"S": NOW},
        "updatedAt": {"S": NOW},
        "listKey": {"S": "ACCOUNT"},
    }


def put_items(client: Any, table: str, items: Sequence[Mapping[str, Any]]) -> None:
    for start in range(0, len(items), 25):
        pending: Any = {table: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems")


def create_accounts(client: Any, table: str, count: int) -> list[str]:
    ids = [uuid.uuid4().hex for _ in range(count)]
    put_items(client, table, [account_item(a) for a in ids])
    return ids


def fraud_payload(account_id: str, event_id: str) -> dict[str, Any]:
    """The record value as the relay publishes it: the transaction + eventId + eventType."""
    return {
        "id": uuid.uuid4().hex,
        "status": "FRAUD",
        "accountId": account_id,
        "description": "benchmark",
        "createdAt": NOW,
        "updatedAt": NOW,
        "eventId": event_id,
        "eventType": "TransactionMarkedFraud",
    }


def fraud_messages(topic: str, account_ids: Sequence[str], total: int, seed: int = 7) -> list[Any]:
    """``total`` events spread evenly over the accounts, in a shuffled order."""
    from eventflow.kafka.producer import Message

    owners = [account_ids[i % len(account_ids)] for i in range(total)]
    random.Random(seed).shuffle(owners)
    messages = []
    for account_id in owners:
        event_id = uuid.uuid4().hex
        messages.append(
            Message.json(
                topic,
                account_id,
                fraud_payload(account_id, event_id),
                headers={"eventId": event_id, "eventType": "TransactionMarkedFraud"},
            )
        )
    return messages


def preload(bootstrap: str, messages: Sequence[Any]) -> float:
    """Publish with the project's publisher (acks=all, idempotent); returns seconds."""
    from eventflow.config import KafkaSettings
    from eventflow.kafka.producer import KafkaPublisher

    publisher = KafkaPublisher(
        KafkaSettings.from_env({"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_AUTH": "NONE"})
    )
    started = time.perf_counter()
    for start in range(0, len(messages), 5000):
        publisher.publish(messages[start : start + 5000], timeout_s=60)
    elapsed = time.perf_counter() - started
    publisher.reset()
    return elapsed


def raw_read(bootstrap: str, topic: str, total: int, timeout: float = 60.0) -> tuple[int, float]:
    """Read ``total`` records from the beginning with no processing: (records, seconds)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        check_crcs=False,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        for tp in parts:
            consumer.position(tp)
        count = 0
        started = time.perf_counter()
        deadline = started + timeout
        while count < total and time.perf_counter() < deadline:
            for records in consumer.poll(timeout_ms=100, max_records=10_000).values():
                count += len(records)
        return count, time.perf_counter() - started
    finally:
        consumer.close(autocommit=False)


def find_mapping(stack: Any, function: str) -> Any:
    from eventflow_local.eventsources.kafka.mapping import KafkaEventSourceMapping

    for source in stack.sources:
        if isinstance(source, KafkaEventSourceMapping) and source.function_name == function:
            return source
    raise LookupError(f"no Kafka event source mapping for {function}")


@dataclass
class HarnessRun:
    events: int
    seconds: float
    invocations: int
    handler_seconds: float
    batches: list[int] = field(default_factory=list)
    failed_invocations: int = 0

    @property
    def events_per_s(self) -> float:
        return rate(self.events, self.seconds)


def run_harness(mapping: Any, tap: LogTap, total: int, timeout: float = 240.0) -> HarnessRun:
    """Start the (stopped) mapping and wait until ``total`` more records succeeded."""
    stats = mapping.stats
    before_ok, before_failed = stats.records_succeeded, stats.failed_invocations
    mark = tap.mark()
    started = time.perf_counter()
    mapping.start()
    deadline = started + timeout
    while stats.records_succeeded - before_ok < total:
        if time.perf_counter() > deadline:
            raise TimeoutError(
                f"the consumer handled {stats.records_succeeded - before_ok} of {total} records "
                f"in {timeout:.0f}s"
            )
        time.sleep(0.005)
    elapsed = time.perf_counter() - started
    calls = tap.since(mark, CONSUMER)
    return HarnessRun(
        events=total,
        seconds=elapsed,
        invocations=len(calls),
        handler_seconds=sum(c.duration_s for c in calls),
        batches=[c.batch or 0 for c in calls],
        failed_invocations=stats.failed_invocations - before_failed,
    )


def scan_all(client: Any, table: str, **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {"TableName": table, **kwargs}
    while True:
        resp = client.scan(**request)
        items.extend(resp.get("Items", []))
        last = resp.get("LastEvaluatedKey")
        if not last:
            return items
        request["ExclusiveStartKey"] = last


def count_items(client: Any, table: str) -> int:
    total, request = 0, {"TableName": table, "Select": "COUNT"}
    while True:
        resp = client.scan(**request)
        total += int(resp["Count"])
        last = resp.get("LastEvaluatedKey")
        if not last:
            return total
        request["ExclusiveStartKey"] = last


@dataclass
class Verification:
    counted: int
    expected: int
    accounts: int
    blocked_ok: bool
    markers: int
    dead_letters: int

    @property
    def exactly_once(self) -> bool:
        return self.counted == self.expected and self.blocked_ok and self.markers == self.expected


def verify(
    client: Any,
    accounts_table: str,
    processed_table: str,
    dead_letter_table: str,
    account_ids: Sequence[str],
    total: int,
    count_attribute: str = "fraudCount",
    threshold: int = 3,
) -> tuple[Verification, dict[str, int]]:
    """Check the counts; returns the verification and the accounts' item sizes (for units)."""
    wanted = set(account_ids)
    items = [i for i in scan_all(client, accounts_table) if i["id"]["S"] in wanted]
    counted = sum(int(i.get(count_attribute, {"N": "0"})["N"]) for i in items)
    blocked_ok = all(
        i["status"]["S"] == "blocked"
        for i in items
        if int(i.get(count_attribute, {"N": "0"})["N"]) >= threshold
    )
    sizes = {i["id"]["S"]: item_size(i) for i in items}
    markers = count_items(client, processed_table) if processed_table else total
    dead = count_items(client, dead_letter_table) if dead_letter_table else 0
    return Verification(counted, total, len(items), blocked_ok, markers, dead), sizes


def size_lookup(
    sizes: Mapping[str, Mapping[str, int]],
) -> Callable[[str, Mapping[str, Any]], int | None]:
    """``sizes[table][key value]`` as the ``SizeLookup`` of ``bench.units``."""

    def lookup(table: str, key: Mapping[str, Any]) -> int | None:
        by_key = sizes.get(table)
        if not by_key or len(key) != 1:
            return None
        (value,) = key.values()
        return by_key.get(str(next(iter(value.values()))))

    return lookup


@dataclass
class Cost:
    requests: int
    operations: dict[str, int]
    server_seconds: float
    write_units: float
    read_units: float
    events: int

    @property
    def requests_per_1000(self) -> float:
        return 1000 * self.requests / self.events if self.events else 0.0

    @property
    def write_units_per_event(self) -> float:
        return self.write_units / self.events if self.events else 0.0

    @property
    def read_units_per_event(self) -> float:
        return self.read_units / self.events if self.events else 0.0


def cost(
    window: Window,
    tables: Sequence[str],
    events: int,
    lookup: Callable[[str, Mapping[str, Any]], int | None],
) -> tuple[Cost, list[Call]]:
    calls = window.select(tables=tables)
    units = Window.units(calls, lookup)
    return (
        Cost(
            requests=len(calls),
            operations=Window.operations(calls),
            server_seconds=Window.server_seconds(calls),
            write_units=units.write,
            read_units=units.read,
            events=events,
        ),
        calls,
    )


__all__ = [
    "Cost",
    "DynamoMeter",
    "HarnessRun",
    "Verification",
    "cost",
    "create_accounts",
    "find_mapping",
    "fraud_messages",
    "preload",
    "raw_read",
    "run_harness",
    "verify",
]


def pricing(
    harness: HarnessRun, harness_cost: Cost, base: Any, base_cost: Cost, memory_mb: int
) -> dict[str, Any]:
    """USD per million events, ours and the baseline's, at on-demand prices (``bench.pricing``).

    Lambda duration: ours is the sum of the consumer's measured invocation durations; the
    baseline's is its measured processing time (the seed's consumer did the same work in its
    handler), both at the consumer's memory size. Requests: ours as invoked; the baseline's at the
    same batch size (the same event source mapping would invoke it).
    """
    events = harness.events or 1
    per_invocation = harness.invocations / events
    ours = per_million(
        harness_cost.write_units_per_event,
        harness_cost.read_units_per_event,
        harness.handler_seconds / events,
        per_invocation,
        memory_mb,
    )
    processed = max(1, base.processed)
    theirs = per_million(
        base_cost.write_units_per_event,
        base_cost.read_units_per_event,
        base.seconds / processed,
        per_invocation,
        memory_mb,
    )
    return {
        "prices": prices(),
        "memory_mb": memory_mb,
        "ours": ours.as_dict(),
        "baseline": theirs.as_dict(),
    }
