"""The relay turns outbox stream records into Kafka messages keyed by account."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from eventflow.errors import TransientError
from eventflow.kafka.producer import KafkaPublisher
from eventflow_local.events.dynamodb import dynamodb_stream_event

EVENTS = Path(__file__).resolve().parents[2] / "events"


class FakeProducer:
    """Stands in for kafka-python's KafkaProducer: records sends, can fail like a dead broker."""

    def __init__(self, fail: bool = False):
        self.sent, self.fail, self.flushed = [], fail, 0

    def send(self, topic, key=None, value=None, headers=None):
        from kafka.errors import KafkaTimeoutError

        if self.fail:
            raise KafkaTimeoutError("Failed to update metadata after 10.0 secs")
        self.sent.append((topic, key, value, headers))

        class Done:
            def get(self, timeout=None):
                return None

        return Done()

    def flush(self, timeout=None):
        self.flushed += 1

    def close(self, timeout=None):
        pass


@pytest.fixture
def relay(functions):
    fn = functions["OutboxRelayFunction"]
    producer = FakeProducer()
    fn.module.publisher = lambda: KafkaPublisher(producer=producer)
    return fn, producer


def test_event_file_is_published_with_account_key_and_headers(relay):
    fn, producer = relay
    result = fn(json.loads((EVENTS / "outbox_relay_stream.json").read_text()))
    assert result == {"published": 1}
    [(topic, key, value, headers)] = producer.sent
    payload = json.loads(value)
    assert topic == "transaction-service-topic"
    assert key == b"662c081370bd2ba6b5f04e94"
    assert payload["status"] == "FRAUD" and payload["eventId"] == dict(headers)["eventId"].decode()
    assert dict(headers)["eventType"] == b"TransactionMarkedFraud"
    assert producer.flushed == 1


def test_real_stream_records_of_mark_fraud_are_relayed_in_order(api, aws, relay):
    fn, producer = relay
    acc = api.post("/accounts", {"name": "Ann", "number": "1"})[1]
    txns = [api.post("/transactions", {"accountId": acc["id"]})[1] for _ in range(3)]
    for t in txns:
        assert api.post(f"/transactions/{t['id']}/fraud")[0] == 200
    stream_arn = aws.describe_table(TableName="OutboxTable")["Table"]["LatestStreamArn"]
    streams = boto3.client("dynamodbstreams", region_name="us-east-1")
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0][
        "ShardId"
    ]
    it = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=it)["Records"]
    assert fn(dynamodb_stream_event(records, stream_arn)) == {"published": 3}
    assert [json.loads(v)["id"] for _, _, v, _ in producer.sent] == [t["id"] for t in txns]
    assert {k for _, k, _, _ in producer.sent} == {acc["id"].encode()}


def test_modify_and_remove_records_are_ignored(relay):
    fn, producer = relay
    event = json.loads((EVENTS / "outbox_relay_stream.json").read_text())
    event["Records"][0]["eventName"] = "REMOVE"
    assert fn(event) == {"published": 0}
    assert producer.sent == []


def test_a_failed_publish_raises_so_the_stream_retries(functions):
    fn = functions["OutboxRelayFunction"]
    fn.module.publisher = lambda: KafkaPublisher(producer=FakeProducer(fail=True))
    with pytest.raises(TransientError, match="Kafka publish failed"):
        fn(json.loads((EVENTS / "outbox_relay_stream.json").read_text()))
