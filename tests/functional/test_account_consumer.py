"""account_consumer: exactly-once counting per eventId, blocking at three, poison records parked."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from eventflow import ddb
from eventflow.fraud.counter import FraudCounter
from eventflow.fraud.store import FraudLedger
from local.events import RawRecord, json_record, kafka_event

TOPIC = "transaction-service-topic"
EVENTS = Path(__file__).resolve().parents[2] / "events"


class Topic:
    """Builds records like the relay publishes them, with growing offsets per partition."""

    def __init__(self):
        self.offsets = {}

    def fraud(self, account_id, event_id=None, partition=0, **overrides):
        off = self.offsets.get(partition, 0)
        self.offsets[partition] = off + 1
        event_id = event_id or uuid.uuid4().hex
        payload = {
            "id": uuid.uuid4().hex[:8],
            "status": "FRAUD",
            "accountId": account_id,
            "eventId": event_id,
            "eventType": "TransactionMarkedFraud",
            **overrides,
        }
        return json_record(
            TOPIC, partition, off, payload, key=account_id, headers={"eventId": event_id}
        )

    def raw(self, value, partition=0):
        off = self.offsets.get(partition, 0)
        self.offsets[partition] = off + 1
        return RawRecord(TOPIC, partition, off, value)


@pytest.fixture
def topic():
    return Topic()


@pytest.fixture
def consumer(functions):
    return functions["AccountConsumerFunction"]


def account(api, status="active"):
    return api.post("/accounts", {"name": "Ann", "number": "1", "status": status})[1]


def get(api, acc):
    return api.get(f"/accounts/{acc['id']}")[1]


def dead_letters(aws):
    return sorted(
        (ddb.from_item(i) for i in aws.scan(TableName="DeadLetterTable")["Items"]),
        key=lambda d: d["offset"],
    )


def test_third_distinct_fraud_blocks_the_account_once(api, consumer, topic):
    acc = account(api)
    for expected_count, expected_status in [(1, "active"), (2, "active"), (3, "blocked")]:
        assert consumer(kafka_event([topic.fraud(acc["id"])])) == {"batchItemFailures": []}
        now = get(api, acc)
        assert (now["fraudCount"], now["status"]) == (expected_count, expected_status)
    blocked_at = now["blockedAt"]
    consumer(kafka_event([topic.fraud(acc["id"])]))
    later = get(api, acc)
    assert (later["fraudCount"], later["status"], later["blockedAt"]) == (4, "blocked", blocked_at)


def test_three_frauds_in_one_batch_block(api, consumer, topic):
    acc = account(api)
    consumer(kafka_event([topic.fraud(acc["id"]) for _ in range(3)]))
    assert (get(api, acc)["fraudCount"], get(api, acc)["status"]) == (3, "blocked")


def test_duplicate_in_one_batch_counts_once(api, consumer, topic):
    acc = account(api)
    consumer(
        kafka_event(
            [
                topic.fraud(acc["id"], "e1"),
                topic.fraud(acc["id"], "e1"),
                topic.fraud(acc["id"], "e2"),
            ]
        )
    )
    assert get(api, acc)["fraudCount"] == 2


def test_duplicate_across_batches_counts_once(api, consumer, topic):
    acc = account(api)
    batch = [topic.fraud(acc["id"], "e1"), topic.fraud(acc["id"], "e2")]
    consumer(kafka_event(batch))
    consumer(kafka_event(batch))  # redelivery of the same records
    consumer(
        kafka_event([topic.fraud(acc["id"], "e2"), topic.fraud(acc["id"], "e3")])
    )  # republished, new offsets
    now = get(api, acc)
    assert (now["fraudCount"], now["status"]) == (3, "blocked")


def test_accounts_in_one_batch_are_counted_independently(api, consumer, topic):
    accs = [account(api) for _ in range(30)]
    records = [
        topic.fraud(a["id"], partition=i % 3) for i, a in enumerate(accs) for _ in range(i % 4)
    ]
    consumer(kafka_event(records))
    for i, a in enumerate(accs):
        now = get(api, a)
        assert now["fraudCount"] == i % 4
        assert now["status"] == ("blocked" if i % 4 >= 3 else "active")


def test_poison_records_are_parked_and_the_rest_is_counted(api, aws, consumer, topic):
    acc = account(api)
    records = [
        topic.raw(b"{not json"),
        topic.fraud(acc["id"]),
        topic.raw(b'{"hello": "world"}'),
        topic.fraud("no-such-account"),
        topic.raw(b""),
        topic.raw(b"[1, 2]"),
        topic.fraud(acc["id"], status="CREATED"),
        topic.fraud(acc["id"]),
    ]
    assert consumer(kafka_event(records)) == {"batchItemFailures": []}
    assert get(api, acc)["fraudCount"] == 2
    letters = dead_letters(aws)
    assert [(d["offset"], d["reason"]) for d in letters] == [
        (0, "MALFORMED"),
        (2, "SCHEMA"),
        (3, "UNKNOWN_ACCOUNT"),
        (4, "MALFORMED"),
        (5, "MALFORMED"),
        (6, "SCHEMA"),
    ]
    first = letters[0]
    assert (
        first["topic"] == TOPIC and first["partition"] == 0 and "not valid JSON" in first["message"]
    )
    assert first["value"] == "e25vdCBqc29u"  # base64 of the raw value, for replay
    assert "eventId" in letters[1]["message"]
    code, page = api.get("/dead-letters")
    assert code == 200 and len(page["items"]) == 6


def test_redelivered_poison_records_are_not_parked_twice(aws, consumer, topic):
    batch = [topic.raw(b"oops")]
    consumer(kafka_event(batch))
    consumer(kafka_event(batch))
    assert len(dead_letters(aws)) == 1


class FlakyClient:
    """A DynamoDB client whose n-th TransactWriteItems call is throttled."""

    def __init__(self, fail_on: set[int]):
        self.real = boto3.client("dynamodb", region_name="us-east-1")
        self.fail_on, self.calls = fail_on, 0

    def __getattr__(self, name):
        return getattr(self.real, name)

    def transact_write_items(self, **kw):
        self.calls += 1
        if self.calls in self.fail_on:
            raise ClientError(
                {
                    "Error": {
                        "Code": "ProvisionedThroughputExceededException",
                        "Message": "slow down",
                    }
                },
                "TransactWriteItems",
            )
        return self.real.transact_write_items(**kw)


def test_batch_failing_part_way_is_reported_and_its_redelivery_counts_exactly_once(
    api, consumer, topic
):
    accs = [account(api) for _ in range(80)]
    records = [
        topic.fraud(a["id"], partition=i % 2) for i, a in enumerate(accs)
    ]  # 160 items: 2 transactions
    flaky = FlakyClient(fail_on={2})
    consumer.module.counter = lambda: FraudCounter(
        FraudLedger("AccountsTable", "ProcessedEventsTable", client=flaky)
    )
    response = consumer(kafka_event(records))
    failures = response["batchItemFailures"]
    assert failures, "the throttled part must be reported for retry"
    counted = sum(get(api, a)["fraudCount"] for a in accs)
    assert 0 < counted < 80
    # the event source mapping redelivers each failed partition from the reported offset
    resume = {f["itemIdentifier"]["partition"]: f["itemIdentifier"]["offset"] for f in failures}
    redelivered = [
        r
        for r in records
        if f"{TOPIC}-{r.partition}" in resume and r.offset >= resume[f"{TOPIC}-{r.partition}"]
    ]
    assert consumer(kafka_event(redelivered)) == {"batchItemFailures": []}
    assert [get(api, a)["fraudCount"] for a in accs] == [1] * 80


def test_nothing_possible_raises_so_the_whole_batch_is_retried(api, consumer, topic):
    acc = account(api)
    flaky = FlakyClient(fail_on=set(range(1, 100)))
    consumer.module.counter = lambda: FraudCounter(
        FraudLedger("AccountsTable", "ProcessedEventsTable", client=flaky)
    )
    with pytest.raises(Exception, match="ProvisionedThroughputExceeded"):
        consumer(kafka_event([topic.fraud(acc["id"])]))
    assert get(api, acc)["fraudCount"] == 0


def test_batch_costs_few_dynamodb_requests(api, functions, topic):
    accs = [account(api) for _ in range(100)]
    ledger = FraudLedger(
        "AccountsTable",
        "ProcessedEventsTable",
        client=boto3.client("dynamodb", region_name="us-east-1"),
    )
    functions["AccountConsumerFunction"].module.counter = lambda: FraudCounter(ledger)
    records = [topic.fraud(a["id"]) for a in accs]
    functions["AccountConsumerFunction"](kafka_event(records))
    # 1 BatchGetItem + 2 TransactWriteItems (200 items), versus 3 calls per event one by one
    assert ledger.requests <= 4
    assert all(get(api, a)["fraudCount"] == 1 for a in accs)


def test_self_managed_event_and_event_file_are_accepted(api, aws, functions):
    aws.put_item(
        TableName="AccountsTable",
        Item=ddb.to_item(
            {
                "id": "662c081370bd2ba6b5f04e94",
                "listKey": "ACCOUNT",
                "name": "Seed",
                "number": "1",
                "type": "root",
                "status": "active",
                "fraudCount": 0,
                "createdAt": "2026-01-01T00:00:00.000Z",
                "updatedAt": "2026-01-01T00:00:00.000Z",
            }
        ),
    )
    fn = functions["AccountConsumerFunction"]
    assert fn(json.loads((EVENTS / "account_consumer_self_managed.json").read_text())) == {
        "batchItemFailures": []
    }
    assert fn(json.loads((EVENTS / "account_consumer_msk.json").read_text())) == {
        "batchItemFailures": []
    }
    assert (
        api.get("/accounts/662c081370bd2ba6b5f04e94")[1]["fraudCount"] == 1
    )  # same eventId in both files
