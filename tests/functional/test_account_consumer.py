"""account_consumer: exactly-once counting per eventId, blocking at three, poison records parked."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from eventflow import ddb
from eventflow.fraud.settings import FraudSettings
from eventflow.fraud.wiring import account_consumer
from eventflow_local.events.kafka import RawRecord, json_record, kafka_event

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
    """A DynamoDB client whose UpdateItem calls on some accounts are throttled."""

    def __init__(self, fail_accounts: set[str] | None = None, fail_all: bool = False):
        self.real = boto3.client("dynamodb", region_name="us-east-1")
        self.fail_accounts, self.fail_all = fail_accounts or set(), fail_all
        self.calls: dict[str, int] = {}
        self.before_update = None

    def __getattr__(self, name):
        return getattr(self.real, name)

    def update_item(self, **kw):
        name = kw["Key"]["id"]["S"]
        self.calls[name] = self.calls.get(name, 0) + 1
        if self.fail_all or name in self.fail_accounts:
            raise ClientError(
                {
                    "Error": {
                        "Code": "ProvisionedThroughputExceededException",
                        "Message": "slow down",
                    }
                },
                "UpdateItem",
            )
        if self.before_update:
            hook, self.before_update = self.before_update, None
            hook(name)
        return self.real.update_item(**kw)


def use_client(consumer, client):
    consumer.module.pipeline = lambda: account_consumer(
        FraudSettings.from_env(consumer.env), client
    )


def test_batch_failing_part_way_is_reported_and_its_redelivery_counts_exactly_once(
    api, consumer, topic
):
    accs = [account(api) for _ in range(80)]
    records = [topic.fraud(a["id"], partition=i % 2) for i, a in enumerate(accs)]
    use_client(consumer, FlakyClient(fail_accounts={a["id"] for a in accs[30:50]}))
    response = consumer(kafka_event(records))
    failures = response["batchItemFailures"]
    assert failures, "the throttled part must be reported for retry"
    counted = sum(get(api, a)["fraudCount"] for a in accs)
    assert counted == 60
    # the event source mapping redelivers each failed partition from the reported offset
    resume = {f["itemIdentifier"]["partition"]: f["itemIdentifier"]["offset"] for f in failures}
    redelivered = [
        r
        for r in records
        if f"{TOPIC}-{r.partition}" in resume and r.offset >= resume[f"{TOPIC}-{r.partition}"]
    ]
    use_client(consumer, FlakyClient())
    assert consumer(kafka_event(redelivered)) == {"batchItemFailures": []}
    assert [get(api, a)["fraudCount"] for a in accs] == [1] * 80


def test_nothing_possible_raises_so_the_whole_batch_is_retried(api, consumer, topic):
    acc = account(api)
    use_client(consumer, FlakyClient(fail_all=True))
    with pytest.raises(Exception, match="ProvisionedThroughputExceeded"):
        consumer(kafka_event([topic.fraud(acc["id"])]))
    assert get(api, acc)["fraudCount"] == 0


def test_batch_costs_one_read_and_one_write_per_account_in_two_round_trips(api, consumer, topic):
    accs = [account(api) for _ in range(100)]
    pipeline = account_consumer(
        FraudSettings.from_env(consumer.env), boto3.client("dynamodb", region_name="us-east-1")
    )
    consumer.module.pipeline = lambda: pipeline
    ledger = pipeline.consumer.ledger
    # 100 accounts, three of them with 3 events each: still one write per account
    records = [topic.fraud(a["id"]) for a in accs] + [
        topic.fraud(a["id"]) for a in accs[:3] for _ in range(2)
    ]
    assert consumer(kafka_event(records)) == {"batchItemFailures": []}
    # 1 BatchGetItem, then 100 conditional UpdateItems in parallel
    assert (ledger.round_trips, ledger.requests) == (2, 101)
    assert [get(api, a)["fraudCount"] for a in accs] == [3] * 3 + [1] * 97
    # a redelivery reads once and writes nothing
    assert consumer(kafka_event(records)) == {"batchItemFailures": []}
    assert (ledger.round_trips, ledger.requests) == (3, 102)


def test_an_operators_patch_racing_the_consumer_keeps_both_changes(api, consumer, topic):
    acc = account(api)
    for _ in range(2):
        consumer(kafka_event([topic.fraud(acc["id"])]))
    flaky = FlakyClient()
    patched = []

    def operator(_account_id):  # between the consumer's read and its write
        patched.append(api.patch(f"/accounts/{acc['id']}", {"name": "Renamed"}))

    flaky.before_update = operator
    use_client(consumer, flaky)
    assert consumer(kafka_event([topic.fraud(acc["id"])])) == {"batchItemFailures": []}
    assert patched[0][0] == 200
    now = get(api, acc)
    assert (now["fraudCount"], now["status"], now["name"]) == (3, "blocked", "Renamed")
    assert flaky.calls[acc["id"]] == 2  # lost the race once, settled again on what it got back


def test_an_operator_status_change_racing_the_consumer_is_not_overwritten(api, consumer, topic):
    acc = account(api)
    flaky = FlakyClient()
    flaky.before_update = lambda _: api.patch(f"/accounts/{acc['id']}", {"status": "inactive"})
    use_client(consumer, flaky)
    consumer(kafka_event([topic.fraud(acc["id"])]))
    now = get(api, acc)
    assert (now["fraudCount"], now["status"]) == (1, "inactive")


def test_a_republished_copy_within_the_window_counts_once(api, consumer, topic):
    acc = account(api)
    first = [topic.fraud(acc["id"], f"e{i}") for i in range(10)]
    consumer(kafka_event(first))
    # the relay publishes e0..e4 again after a crash: same eventIds, new offsets
    copies = [topic.fraud(acc["id"], f"e{i}") for i in range(5)]
    later = [topic.fraud(acc["id"], f"n{i}") for i in range(3)]
    assert consumer(kafka_event(copies + later)) == {"batchItemFailures": []}
    assert get(api, acc)["fraudCount"] == 13


def test_an_account_deleted_during_the_batch_parks_its_events(api, aws, consumer, topic):
    acc = account(api)
    flaky = FlakyClient()
    flaky.before_update = lambda _: api.delete(f"/accounts/{acc['id']}")
    use_client(consumer, flaky)
    assert consumer(kafka_event([topic.fraud(acc["id"])])) == {"batchItemFailures": []}
    assert [d["reason"] for d in dead_letters(aws)] == ["UNKNOWN_ACCOUNT"]


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


def test_a_redelivery_older_than_the_recent_window_is_caught_by_the_offsets(api, consumer, topic):
    acc = account(api)
    pipeline = account_consumer(
        FraudSettings.from_env(consumer.env), boto3.client("dynamodb", region_name="us-east-1")
    )
    pipeline.consumer.window = 1  # remembers one event by id: only the offsets see the rest
    consumer.module.pipeline = lambda: pipeline
    batch = [topic.fraud(acc["id"], f"e{i}") for i in range(4)]
    consumer(kafka_event(batch))
    consumer(kafka_event(batch[:2]))  # the event source mapping rewinds and delivers them again
    assert get(api, acc)["fraudCount"] == 4
