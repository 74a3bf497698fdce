"""The SNS fixture app (tests/apps/sns_app) under a started Stack, driven with boto3 as a user
drives it: a function publishes to a topic through AWS_ENDPOINT_URL; a lambda subscription with a
filter policy receives only the matching messages, as the SNS event Lambda gets; an SQS
subscription with raw delivery puts the message itself on a queue, which an SQS event source
delivers to another function."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
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


def ledger(sqs: Any, stack: Any, want: Callable[[list[dict[str, Any]]], bool]) -> list[Any]:
    """What the ledger queue holds (each message one batch of one consumer), once ``want``
    says it is all there."""
    url = stack.queues["LedgerQueue"]["QueueUrl"]
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while not want(got) and time.monotonic() < deadline:
        for message in sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            got.append(json.loads(message["Body"]))
    return got


def reading(sns: Any, topic_arn: str, rid: str, severity: str) -> None:
    sns.publish(
        TopicArn=topic_arn,
        Message=json.dumps({"id": rid}),
        MessageAttributes={"severity": {"DataType": "String", "StringValue": severity}},
    )


def test_sqs_subscription_object_form_and_an_async_sns_invocation_with_on_failure(run_app):
    # GIVEN the app: an existing queue SAM subscribes with a filter policy (SqsSubscription's
    # object form: QueueArn, QueueUrl, QueuePolicyLogicalId, BatchSize), and a pager function
    # the topic invokes for critical readings (MaximumRetryAttempts 1, OnFailure a queue)
    stack = run_app("sns_app")
    assert not stack.refused, stack.refused
    assert "ArchiveQueuePolicy" in stack.template.resources_of("AWS::SQS::QueuePolicy")
    topic_arn = stack.template.properties("AuditSubscription")["TopicArn"]
    sns, sqs = stack.dynamo.client("sns"), stack.dynamo.client("sqs")

    # WHEN a user publishes a low, a high and a critical reading
    for rid, severity in (("low-1", "low"), ("high-1", "high"), ("crit-1", "critical")):
        reading(sns, topic_arn, rid, severity)

    # THEN the archive function got the low one only, as SNS's envelope on its queue (SAM's
    # SqsSubscription has no raw delivery)
    batches = ledger(sqs, stack, lambda got: any("archive" in b for b in got))
    records = [r for b in batches for r in b.get("archive", [])]
    assert len(records) == 1, batches
    envelope = json.loads(records[0]["body"])
    assert envelope["Type"] == "Notification" and envelope["TopicArn"] == topic_arn
    assert json.loads(envelope["Message"]) == {"id": "low-1"}
    assert envelope["MessageAttributes"]["severity"] == {"Type": "String", "Value": "low"}

    # AND the critical reading's invocation ran twice and its record is in the OnFailure queue,
    # with the SNS event as the request payload
    url = stack.queues["PagerFailures"]["QueueUrl"]
    failures = collect(sqs, url, want=1)
    assert len(failures) == 1, failures
    (record,) = failures
    assert record["version"] == "1.0"
    context = record["requestContext"]
    assert context["condition"] == "RetriesExhausted" and context["approximateInvokeCount"] == 2
    assert context["functionArn"].endswith(":function:PagerFunction:$LATEST")
    (sns_record,) = record["requestPayload"]["Records"]
    assert sns_record["EventSource"] == "aws:sns"
    assert json.loads(sns_record["Sns"]["Message"]) == {"id": "crit-1"}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "ConnectionError"
    assert record["responsePayload"]["errorMessage"] == "pager unreachable for reading crit-1"
    # ... and only that one: the high and low readings never reached the pager
    assert collect(sqs, url, want=1, timeout=1.0) == []


def price(sns: Any, topic_arn: str, group: str, body: str, dedup: str | None = None) -> str:
    publish: dict[str, Any] = {"TopicArn": topic_arn, "Message": body, "MessageGroupId": group}
    if dedup:
        publish["MessageDeduplicationId"] = dedup
    return str(sns.publish(**publish)["MessageId"])


def test_a_fifo_topic_keeps_each_group_in_order_and_drops_duplicates(run_app):
    # GIVEN the app: a FIFO topic with content-based deduplication, a FIFO log queue subscribed
    # with raw delivery, and a function behind the FIFO queue SAM makes (SqsSubscription: true)
    stack = run_app("sns_app")
    assert not stack.refused, stack.refused
    topic_arn = str(stack.template.get_att("PricesTopic", "TopicArn"))
    assert topic_arn.endswith(".fifo")
    pricing_queue = stack.queues["PricingFunctionPricesQueue"]["QueueName"]
    assert pricing_queue.endswith(".fifo")
    sns, sqs = stack.dynamo.client("sns"), stack.dynamo.client("sqs")

    # WHEN two groups' prices are published interleaved, with duplicates: the same body again
    # (content-based), and two bodies under one explicit deduplication id
    sent = [
        ("eur", "eur-1"),
        ("usd", "usd-1"),
        ("eur", "eur-2"),
        ("usd", "usd-2"),
        ("eur", "eur-3"),
    ]
    for group, body in sent:
        price(sns, topic_arn, group, body)
    price(sns, topic_arn, "eur", "eur-1")  # a duplicate of the first: accepted, not delivered
    price(sns, topic_arn, "usd", "usd-fixed", dedup="fixed-id")
    price(sns, topic_arn, "usd", "usd-other", dedup="fixed-id")  # a duplicate by its id
    # ... and, once the function has taken the first ones off its queue, the first again
    ledger_seen: list[dict[str, Any]] = []

    def pricing_bodies() -> list[tuple[str, str]]:
        return [
            (r["attributes"]["MessageGroupId"], json.loads(r["body"])["Message"])
            for b in ledger_seen
            for r in b.get("pricing", [])
        ]

    ledger_seen += ledger(sqs, stack, lambda got: sum(len(b.get("pricing", [])) for b in got) >= 6)
    price(sns, topic_arn, "eur", "eur-1")  # still within SNS's 5-minute deduplication interval
    price(sns, topic_arn, "eur", "eur-4")
    ledger_seen += ledger(sqs, stack, lambda got: any("eur-4" in json.dumps(b) for b in got))

    # THEN the function got each price once, each group in the order published, as SNS's
    # envelope on a FIFO queue (the group id its message attribute)
    got = pricing_bodies()
    assert len(got) == len(set(got)) == 7, got
    assert [b for g, b in got if g == "eur"] == ["eur-1", "eur-2", "eur-3", "eur-4"]
    assert [b for g, b in got if g == "usd"] == ["usd-1", "usd-2", "usd-fixed"]

    # AND the raw log queue holds the same, the message itself as the body
    url = stack.queues["PricesLog"]["QueueUrl"]
    logged: list[tuple[str, str]] = []
    deadline = time.monotonic() + 10
    while len(logged) < 7 and time.monotonic() < deadline:
        answer = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=1
        )
        for message in answer.get("Messages", []):
            logged.append((message["Attributes"]["MessageGroupId"], message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert [b for g, b in logged if g == "eur"] == ["eur-1", "eur-2", "eur-3", "eur-4"]
    assert [b for g, b in logged if g == "usd"] == ["usd-1", "usd-2", "usd-fixed"]
    extra = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    assert extra.get("Messages", []) == []
