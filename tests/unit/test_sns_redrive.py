"""A subscription's RedrivePolicy, as SNS applies it ("Amazon SNS dead-letter queues (DLQs)"):
the policy read and checked, a client-side error's message moved to the dead-letter queue (or
discarded without one), a server-side error's message left to be received again (fake SQS and
SNS clients; no server)."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from eventflow_local.eventsources.sns.delivery import SnsSubscriptionSource
from eventflow_local.eventsources.sns.redrive import read_redrive
from eventflow_local.eventsources.sns.subscriptions import SubscriptionSpec

TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"
DLQ = "arn:aws:sqs:us-east-1:123456789012:alerts-dead"


def error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "SendMessage")


def test_a_redrive_policy_names_a_queue_of_the_topics_kind() -> None:
    # GIVEN no policy, an object and JSON text WHEN read THEN the dead-letter queue's ARN
    assert read_redrive({}, False, "Sub") == (None, None)
    assert read_redrive({"RedrivePolicy": {"deadLetterTargetArn": DLQ}}, False, "Sub") == (
        DLQ,
        None,
    )
    text = json.dumps({"deadLetterTargetArn": DLQ + ".fifo"})
    assert read_redrive({"RedrivePolicy": text}, True, "Sub") == (DLQ + ".fifo", None)
    # GIVEN policies SNS refuses WHEN read THEN one line each, naming the subscription
    for props, fifo, words in (
        ({"RedrivePolicy": "{nope"}, False, "not JSON"),
        ({"RedrivePolicy": {"maxReceiveCount": 3}}, False, "required"),
        ({"RedrivePolicy": {"deadLetterTargetArn": TOPIC}}, False, "not an SQS queue"),
        ({"RedrivePolicy": {"deadLetterTargetArn": DLQ}}, True, "uses a FIFO queue"),
        ({"RedrivePolicy": {"deadLetterTargetArn": DLQ + ".fifo"}}, False, "a standard queue"),
    ):
        arn, refusal = read_redrive(props, fifo, "Sub")
        assert arn is None and refusal is not None and refusal.startswith("Sub: ")
        assert words in refusal


class FakeSqs:
    def __init__(self, queues: list[str]) -> None:
        self.queues: dict[str, list[dict[str, Any]]] = {q: [] for q in queues}
        self.fail: list[Exception] = []
        self.deleted: list[str] = []
        self.tap: list[dict[str, Any]] = []

    def get_queue_url(self, QueueName: str) -> dict[str, str]:
        if QueueName not in self.queues:
            raise error("QueueDoesNotExist")
        return {"QueueUrl": f"http://q/{QueueName}"}

    def create_queue(self, QueueName: str, **_: Any) -> dict[str, str]:
        return {"QueueUrl": f"http://q/{QueueName}"}

    def get_queue_attributes(self, **_: Any) -> dict[str, Any]:
        return {"Attributes": {"QueueArn": "arn:aws:sqs:us-east-1:123456789012:tap"}}

    def receive_message(self, **_: Any) -> dict[str, Any]:
        taken, self.tap = self.tap, []
        return {"Messages": taken}

    def delete_message(self, ReceiptHandle: str, **_: Any) -> None:
        self.deleted.append(ReceiptHandle)

    def send_message(self, QueueUrl: str, **kwargs: Any) -> None:
        if self.fail:
            raise self.fail.pop(0)
        name = QueueUrl.rsplit("/", 1)[-1]
        if name not in self.queues:
            raise error("AWS.SimpleQueueService.NonExistentQueue")
        self.queues[name].append(kwargs)


class FakeSns:
    def subscribe(self, **_: Any) -> None: ...


def source(sqs: FakeSqs, *, dead_letter: str | None, raw: bool = False) -> tuple[Any, list[str]]:
    spec = SubscriptionSpec(
        logical_id="AlertsSubscription",
        arn=f"{TOPIC}:sub-1",
        topic_arn=TOPIC,
        protocol="sqs",
        endpoint="arn:aws:sqs:us-east-1:123456789012:alerts",
        raw=raw,
        policy=None,
        fifo_topic=False,
        dead_letter=dead_letter,
    )
    lines: list[str] = []
    return SnsSubscriptionSource(spec, FakeSns(), sqs, region="us-east-1", log=lines.append), lines


def publish(sqs: FakeSqs, message_id: str, attributes: int = 1) -> None:
    envelope = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": TOPIC,
        "Message": "disk full",
        "Timestamp": "2024-01-01T00:00:00.000Z",
        "MessageAttributes": {
            f"a{n}": {"Type": "String", "Value": str(n)} for n in range(attributes)
        },
    }
    sqs.tap.append({"Body": json.dumps(envelope), "ReceiptHandle": f"r-{message_id}"})


def test_a_deleted_endpoint_queue_moves_the_message_to_the_dead_letter_queue() -> None:
    # GIVEN a subscription with a dead-letter queue, whose endpoint queue is then deleted
    sqs = FakeSqs(["alerts", "alerts-dead"])
    sub, lines = source(sqs, dead_letter=DLQ)
    del sqs.queues["alerts"]
    # WHEN a message is published
    publish(sqs, "m1")
    sub.poll_once()
    # THEN it is in the dead-letter queue as the subscription would have received it, at once
    (dead,) = sqs.queues["alerts-dead"]
    body = json.loads(dead["MessageBody"])
    assert body["MessageId"] == "m1" and body["Message"] == "disk full"
    assert body["Type"] == "Notification" and body["MessageAttributes"]["a0"]["Value"] == "0"
    assert sqs.deleted == ["r-m1"] and sub.stats["dead_lettered"] == 1
    assert any("moved to its dead-letter queue alerts-dead" in line for line in lines)


def test_without_a_redrive_policy_a_client_side_error_discards_the_message() -> None:
    sqs = FakeSqs(["alerts"])
    sub, lines = source(sqs, dead_letter=None)
    del sqs.queues["alerts"]
    publish(sqs, "m1")
    sub.poll_once()
    assert sqs.deleted == ["r-m1"] and sub.stats["discarded"] == 1
    assert len(lines) == 1 and "discarded (no RedrivePolicy)" in lines[0]


def test_a_server_side_error_leaves_the_message_to_be_received_again() -> None:
    # GIVEN the endpoint throttles once
    sqs = FakeSqs(["alerts", "alerts-dead"])
    sub, lines = source(sqs, dead_letter=DLQ)
    sqs.fail = [error("Throttling")]
    # WHEN a message is published THEN it stays in the tap, not in the dead-letter queue
    publish(sqs, "m1")
    sub.poll_once()
    assert sqs.deleted == [] and sqs.queues["alerts-dead"] == [] and sub.stats["retried"] == 1
    assert len(lines) == 1 and "(THROTTLING" in lines[0] and lines[0].endswith("retried")
    # WHEN it is received again THEN it is delivered
    publish(sqs, "m1")
    sub.poll_once()
    assert sqs.deleted == ["r-m1"] and len(sqs.queues["alerts"]) == 1


def test_a_raw_message_with_more_than_ten_attributes_is_a_client_side_error() -> None:
    # GIVEN a raw-delivery subscription with a dead-letter queue
    sqs = FakeSqs(["alerts", "alerts-dead"])
    sub, _ = source(sqs, dead_letter=DLQ, raw=True)
    # WHEN a message with 11 attributes and one with 2 are published
    publish(sqs, "big", attributes=11)
    publish(sqs, "small", attributes=2)
    sub.poll_once()
    # THEN the small one is delivered raw, the big one is in the dead-letter queue as the envelope
    (delivered,) = sqs.queues["alerts"]
    assert delivered["MessageBody"] == "disk full" and len(delivered["MessageAttributes"]) == 2
    (dead,) = sqs.queues["alerts-dead"]
    assert len(json.loads(dead["MessageBody"])["MessageAttributes"]) == 11
    assert sorted(sqs.deleted) == ["r-big", "r-small"]
