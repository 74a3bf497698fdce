"""The SNS fixture app (tests/apps/sns_app) under a started Stack, driven with boto3 as a user
drives it: a function publishes to a topic through AWS_ENDPOINT_URL; a lambda subscription with a
filter policy receives only the matching messages, as the SNS event Lambda gets; an SQS
subscription with raw delivery puts the message itself on a queue, which an SQS event source
delivers to another function."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import SnsModel

pytestmark = pytest.mark.integration


def collect(sqs: Any, url: str, want: int, timeout: float = 30.0) -> list[dict[str, Any]]:
    """What the consumers wrote to the seen queue, once ``want`` have arrived (short polls)."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(seen) < want and time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            seen.append(json.loads(message["Body"]))
        if not messages:
            time.sleep(0.2)
    return seen


def test_publishes_reach_the_filtered_lambda_and_the_raw_queue(run_app):
    # GIVEN the app running: its topic and queues made in the emulator, its subscriptions started
    stack = run_app("sns_app")
    assert not stack.refused, stack.refused
    topic_arn = stack.template.properties("AuditSubscription")["TopicArn"]
    assert topic_arn.startswith("arn:aws:sns:") and ":ReadingsTopic" not in topic_arn
    assert stack.triggers()["AlertFunction"] == [
        f"SNS topic {topic_arn.rsplit(':', 1)[-1]} (filter policy)"
    ]
    sqs = stack.dynamo.client("sqs")
    seen_url = stack.queues["SeenQueue"]["QueueUrl"]

    # WHEN the publisher function publishes a high and a low reading
    readings = [
        {"id": "r1", "severity": "high", "level": 9},
        {"id": "r2", "severity": "low", "level": 1},
    ]
    result = stack.invoke("PublisherFunction", {"readings": readings})
    assert result.ok, result.error
    assert result.payload["topic"] == topic_arn.rsplit(":", 1)[-1]
    # ... and a user publishes a third, high one with boto3
    sns = stack.dynamo.client("sns")
    sns.publish(
        TopicArn=topic_arn,
        Message=json.dumps({"id": "r3"}),
        MessageAttributes={"severity": {"DataType": "String", "StringValue": "high"}},
    )

    # THEN the alert function got the two high ones, each as Lambda's SNS event
    seen = collect(sqs, seen_url, want=5)
    alerts = [s["alert"] for s in seen if "alert" in s]
    audits = [s["audit"] for s in seen if "audit" in s]
    assert len(alerts) == 2, seen
    messages = set()
    for event in alerts:
        model = SnsModel.model_validate(event)
        (record,) = model.Records
        assert record.EventSource == "aws:sns" and record.EventVersion == "1.0"
        assert str(record.Sns.TopicArn) == topic_arn
        assert record.EventSubscriptionArn.startswith(topic_arn + ":")
        assert record.Sns.MessageAttributes["severity"].Value == "high"
        messages.add(json.loads(record.Sns.Message)["id"])
    assert messages == {"r1", "r3"}
    by_id = {json.loads(e["Records"][0]["Sns"]["Message"])["id"]: e for e in alerts}
    sns_r1 = by_id["r1"]["Records"][0]["Sns"]
    assert sns_r1["Subject"] == "reading r1"
    assert sns_r1["MessageAttributes"]["level"] == {"Type": "Number", "Value": "9"}
    assert sns_r1["MessageId"] == result.payload["published"][0]

    # AND the audit queue got all three raw (no SNS envelope), attributes as SQS attributes
    assert sorted(json.loads(a["body"])["id"] for a in audits) == ["r1", "r2", "r3"]
    r2 = next(a for a in audits if json.loads(a["body"])["id"] == "r2")
    assert json.loads(r2["body"]) == readings[1]
    assert r2["messageAttributes"]["severity"]["stringValue"] == "low"
    assert r2["messageAttributes"]["level"]["dataType"] == "Number"


def test_a_deleted_subscribed_queue_redrives_to_the_subscriptions_dead_letter_queue(run_app):
    # GIVEN the dead-letters app running: a queue subscription with a RedrivePolicy
    stack = run_app("dead_letters_app")
    assert not stack.refused, stack.refused
    sns, sqs = stack.dynamo.client("sns"), stack.dynamo.client("sqs")
    topic_arn = stack.template.properties("AlertsSubscription")["TopicArn"]
    queue_url = stack.queues["AlertsQueue"]["QueueUrl"]
    dead_url = stack.queues["AlertsDeadLetters"]["QueueUrl"]
    # WHEN a message is published while the subscribed queue exists
    sns.publish(TopicArn=topic_arn, Message="disk 91% full", Subject="disk")
    # THEN the queue has it, as SNS's JSON envelope
    (delivered,) = collect(sqs, queue_url, want=1)
    assert delivered["Message"] == "disk 91% full" and delivered["TopicArn"] == topic_arn

    # WHEN the subscribed queue is deleted (a client-side error) and another message published
    sqs.delete_queue(QueueUrl=queue_url)
    published = sns.publish(
        TopicArn=topic_arn,
        Message="disk 99% full",
        MessageAttributes={"severity": {"DataType": "String", "StringValue": "high"}},
    )
    # THEN it is in the dead-letter queue as the subscription would have received it
    (dead,) = collect(sqs, dead_url, want=1)
    assert dead["Type"] == "Notification" and dead["MessageId"] == published["MessageId"]
    assert dead["Message"] == "disk 99% full" and dead["TopicArn"] == topic_arn
    assert dead["MessageAttributes"]["severity"] == {"Type": "String", "Value": "high"}
    moved = [line for line in stack.lines if published["MessageId"] in line]
    assert len(moved) == 1 and "moved to its dead-letter queue" in moved[0]
