"""The SQS fixture app (tests/apps/sqs_app) under a started Stack, driven with boto3 as a user
drives it: a function sends orders to a queue, an SQS event source delivers them in batches to a
consumer that reports partial batch failures; a failing order comes back after the visibility
timeout and lands in the dead-letter queue after maxReceiveCount receives."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import SqsModel

from tests.integration.faults import wait_for

pytestmark = pytest.mark.integration


def drain(sqs: Any, url: str, into: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Receive (short polls, as the emulator serves one request at a time) and delete what is
    there, keyed by order id."""
    while True:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return into
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            body = json.loads(message["Body"])
            order = json.loads(body["body"]) if "eventSource" in body else body
            into[order["id"]] = {"message": message, "body": body}


def test_orders_are_handled_in_batches_and_a_failing_one_ends_in_the_dead_letter_queue(run_app):
    # GIVEN the app running: its queues made in the emulator, the SQS trigger started
    stack = run_app("sqs_app")
    assert not stack.refused
    queues = stack.queues
    assert stack.triggers()["ConsumerFunction"] == [
        f"SQS queue {queues['OrdersQueue']['QueueName']}"
    ]
    (line,) = [x for x in stack.summary().splitlines() if x.startswith("  Queues ")]
    assert all(attrs["QueueName"] in line for attrs in queues.values())
    sqs = stack.dynamo.client("sqs")

    # WHEN the sender function sends four orders: one marked to fail, one of kind "test"
    orders = [
        {"id": "a", "kind": "order"},
        {"id": "b", "kind": "order", "fail": True},
        {"id": "c", "kind": "test"},
        {"id": "d", "kind": "order"},
    ]
    sent_at = time.monotonic()
    result = stack.invoke("SenderFunction", {"orders": orders})
    assert result.ok, result.error
    assert len(result.payload["sent"]) == 4

    # THEN the good orders reach the done queue, each as the SQS record the consumer received
    done: dict[str, dict[str, Any]] = {}
    wait_for(lambda: {"a", "d"} <= set(drain(sqs, queues["DoneQueue"]["QueueUrl"], done)), 20)
    record = done["a"]["body"]
    SqsModel.model_validate({"Records": [record]})  # the shape Powertools parses
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == queues["OrdersQueue"]["Arn"]
    assert record["awsRegion"] == stack.region
    assert record["messageId"] == result.payload["sent"][0]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(
        record["attributes"]
    )
    assert record["messageAttributes"]["kind"]["stringValue"] == "order"
    assert record["messageAttributes"]["kind"]["dataType"] == "String"
    assert record["md5OfBody"] and record["md5OfMessageAttributes"]

    # ... the marked order comes back after the 2 s visibility timeout, fails again, and after
    # its second receive (maxReceiveCount 2) is in the dead-letter queue, readable as a user reads it
    dead: dict[str, dict[str, Any]] = {}
    wait_for(lambda: drain(sqs, queues["OrdersDeadLetters"]["QueueUrl"], dead), 20, "the DLQ")
    assert list(dead) == ["b"]
    assert time.monotonic() - sent_at >= 2  # one visibility timeout at least
    assert int(dead["b"]["message"]["Attributes"]["ApproximateReceiveCount"]) >= 2
    assert dead["b"]["body"] == orders[1]
    reported = [
        line
        for line in stack.lines
        if line.startswith("invoke ConsumerFunction trigger=sqs")
        and line.endswith("outcome=ok, 1 batch item failure(s)")
    ]
    assert len(reported) == 2  # received twice, reported twice, then moved by the queue

    # ... the "test" order was filtered out: deleted, never delivered nor dead-lettered, and the
    # orders queue is empty
    def empty() -> bool:
        attrs = sqs.get_queue_attributes(
            QueueUrl=queues["OrdersQueue"]["QueueUrl"],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return set(attrs.values()) == {"0"}

    assert wait_for(empty, 10, "an empty orders queue")
    assert "c" not in drain(sqs, queues["DoneQueue"]["QueueUrl"], done)
    assert set(done) == {"a", "d"}
