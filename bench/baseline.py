"""The seed's consumer, rebuilt as the comparison point: one message at a time, no dedupe.

For each record: GetItem the account, UpdateItem ``count = count + 1``, and when the new count
reaches the threshold an UpdateItem of the status to ``blocked``: three separate requests, the
increment and the block as two writes, a redelivered message counted twice. It reads the same
topic as the harness's consumer (its own consumer group, manual assignment, offsets
auto-committed as the seed's client did) and writes to its own copy of the accounts, so both runs
see the same data without touching each other's counts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, TopicPartition

BASELINE_TABLE = "bench-baseline-accounts"


@dataclass
class BaselineResult:
    processed: int
    seconds: float
    blocked: int
    complete: bool

    @property
    def events_per_s(self) -> float:
        return self.processed / self.seconds if self.seconds > 0 else 0.0


def create_table(client: Any, name: str = BASELINE_TABLE) -> None:
    client.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


def load_accounts(client: Any, account_ids: Sequence[str], name: str = BASELINE_TABLE) -> None:
    """The same accounts as the harness's run, with the seed's ``count`` attribute."""
    from bench.fraud import account_item, put_items

    put_items(client, name, [account_item(a, count_attribute="count") for a in account_ids])


def handle(client: Any, table: str, value: bytes, threshold: int = 3) -> bool:
    """One message, as the seed handled it. Returns True when it blocked the account."""
    event = json.loads(value)
    key = {"id": {"S": event["accountId"]}}
    account = client.get_item(TableName=table, Key=key).get("Item")
    if account is None:
        return False
    resp = client.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET #c = #c + :one",
        ExpressionAttributeNames={"#c": "count"},
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="UPDATED_NEW",
    )
    count = int(resp["Attributes"]["count"]["N"])
    if count == threshold:  # the seed blocked on the third exactly, in a second write
        client.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET #s = :blocked",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":blocked": {"S": "blocked"}},
        )
        return True
    return False


def run(
    bootstrap: str,
    topic: str,
    client: Any,
    total: int,
    *,
    table: str = BASELINE_TABLE,
    group: str = "bench-baseline-group",
    time_limit_s: float = 60.0,
    clock: Callable[[], float] = time.perf_counter,
) -> BaselineResult:
    """Consume ``total`` records of ``topic`` from the beginning, or stop at ``time_limit_s``."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=True,
        auto_offset_reset="earliest",
        check_crcs=False,
        max_poll_records=500,
    )
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        processed = blocked = 0
        started = clock()
        deadline = started + time_limit_s
        while processed < total and clock() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                for rec in records:
                    if handle(client, table, rec.value):
                        blocked += 1
                    processed += 1
                    if processed >= total or clock() >= deadline:
                        break
                else:
                    continue
                break
        elapsed = clock() - started
    finally:
        consumer.close()
    return BaselineResult(processed, elapsed, blocked, processed >= total)
