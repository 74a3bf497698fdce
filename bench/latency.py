"""Benchmark 2: end-to-end latency of ``POST /transactions/{id}/fraud``.

Each call is timed from sending the request until the account's ``fraudCount`` (read with a
consistent GetItem) shows it: API Gateway -> mark_fraud (status + outbox item in one transaction)
-> the outbox table's stream -> outbox_relay (publish, acks) -> Kafka -> the event source mapping
-> account_consumer. Calls are made one after another, so the runtime's invocation lines between
two calls belong to that call and split its time into stages.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.apicall import call
from bench.fraud import NOW, account_item, put_items
from bench.stats import summary
from bench.tap import Invocation, LogTap

MARK = "MarkFraudFunction"
RELAY = "OutboxRelayFunction"
CONSUMER = "AccountConsumerFunction"
STAGES = ("api_and_mark_fraud", "stream_wait", "relay", "kafka_wait", "consumer", "observe")


def create_transactions(
    client: Any, accounts_table: str, transactions_table: str, accounts: int, per_account: int
) -> list[tuple[str, str]]:
    """(transaction id, account id) pairs, round-robin over the accounts."""
    account_ids = [uuid.uuid4().hex for _ in range(accounts)]
    put_items(client, accounts_table, [account_item(a) for a in account_ids])
    pairs = []
    items = []
    for round_ in range(per_account):
        for account_id in account_ids:
            txn_id = uuid.uuid4().hex
            pairs.append((txn_id, account_id))
            items.append(
                {
                    "id": {"S": txn_id},
                    "status": {"S": "CREATED"},
                    "accountId": {"S": account_id},
                    "description": {"S": f"benchmark {round_}"},
                    "createdAt": {"S": NOW},
                    "updatedAt": {"S": NOW},
                    "listKey": {"S": "TRANSACTION"},
                }
            )
    put_items(client, transactions_table, items)
    return pairs


@dataclass
class Sample:
    total_s: float
    stages: dict[str, float]


@dataclass
class LatencyRun:
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def totals_ms(self) -> list[float]:
        return [s.total_s * 1000 for s in self.samples]

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"total_ms": summary(self.totals_ms())}
        staged = [s for s in self.samples if s.stages]
        out["stages_ms"] = {
            stage: summary([s.stages[stage] * 1000 for s in staged if stage in s.stages])
            for stage in STAGES
        }
        out["staged_samples"] = len(staged)
        out["errors"] = self.errors[:5]
        return out


def _count(client: Any, table: str, account_id: str) -> int:
    item = client.get_item(
        TableName=table,
        Key={"id": {"S": account_id}},
        ConsistentRead=True,
        ProjectionExpression="fraudCount",
    ).get("Item")
    return int(item["fraudCount"]["N"]) if item and "fraudCount" in item else 0


def _stages(t0: float, seen: float, calls: Sequence[Invocation]) -> dict[str, float]:
    """Split one call's time by the invocations it caused (empty if one is missing)."""

    def first(function: str) -> Invocation | None:
        return next((c for c in calls if c.function == function), None)

    mark, relay = first(MARK), first(RELAY)
    consumer = next(
        (c for c in reversed(calls) if c.function == CONSUMER and c.ended <= seen), None
    )
    if mark is None or relay is None or consumer is None:
        return {}
    return {
        "api_and_mark_fraud": mark.ended - t0,
        "stream_wait": relay.started - mark.ended,
        "relay": relay.duration_s,
        "kafka_wait": consumer.started - relay.ended,
        "consumer": consumer.duration_s,
        "observe": seen - consumer.ended,
    }


def run(
    api_url: str,
    client: Any,
    accounts_table: str,
    pairs: Sequence[tuple[str, str]],
    tap: LogTap,
    token: str | None,
    timeout_s: float = 10.0,
) -> LatencyRun:
    """One call at a time; each waits until the count moved before the next is sent."""
    result = LatencyRun()
    expected: dict[str, int] = {}
    for txn_id, account_id in pairs:
        want = expected.get(account_id, _count(client, accounts_table, account_id)) + 1
        mark = tap.mark()
        t0 = time.perf_counter()
        status, _ = call("POST", f"{api_url}/transactions/{txn_id}/fraud", token)
        if status != 200:
            result.errors.append(f"POST /transactions/{txn_id}/fraud -> {status}")
            continue
        deadline = t0 + timeout_s
        seen = None
        consumer_mark = mark
        while time.perf_counter() < deadline:
            # read as soon as the consumer finished an invocation, else every 20 ms
            done = tap.wait_for(consumer_mark, CONSUMER, 0.02)
            if done is not None:
                consumer_mark = tap.mark()
            if _count(client, accounts_table, account_id) >= want:
                seen = time.perf_counter()
                break
        if seen is None:
            result.errors.append(f"count of {account_id} did not reach {want} in {timeout_s}s")
            expected.pop(account_id, None)
            continue
        expected[account_id] = want
        result.samples.append(Sample(seen - t0, _stages(t0, seen, tap.since(mark))))
    return result


def set_stream_poll_interval(stack: Any, seconds: float) -> list[float]:
    """Set the poll interval of the running stack's DynamoDB stream sources; returns the old
    values (the stack's ``stream_poll_interval``, 0.05 s by default), to compare both."""
    from eventflow_local.eventsources.dynamodb.mapping import DynamoStreamEventSource

    old = []
    for source in stack.sources:
        if isinstance(source, DynamoStreamEventSource):
            old.append(source.poll_interval)
            source.poll_interval = seconds
    return old
