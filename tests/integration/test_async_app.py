"""The async fixture app (tests/apps/async_app) under a started Stack, driven with boto3 as a user
drives it: ``lambda.invoke(InvocationType="Event")`` on the harness's Lambda endpoint answers 202
at once; a failing event is retried as its EventInvokeConfig says and its invocation record lands
in the OnFailure queue, a handled one's in the OnSuccess queue; the ledger's refused entries end
in its dead-letter queue with AWS's message attributes, and its successes reach the auditor
function (a Lambda destination), read back with ``sqs.receive_message``."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from eventflow_local.runtime.async_destinations import AsyncDeliveries
from eventflow_local.runtime.async_queue import RETRIES_EXHAUSTED, AsyncConfig, AsyncEvent, Outcome
from eventflow_local.runtime.invocation import InvocationResult
from tests.integration.faults import wait_for

pytestmark = pytest.mark.integration


def receive(sqs: Any, url: str, into: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Receive and delete what the queue holds now (short polls), appended to ``into``."""
    while True:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return into
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            into.append(message)


def lambda_client(stack: Any) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=stack.lambda_api.url,
        region_name=stack.region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def test_async_invocations_are_retried_and_their_records_reach_the_destinations(run_app):
    # GIVEN the app running: its queues in the emulator, every destination emulated
    stack = run_app("async_app")
    assert not stack.refused
    assert not [line for line in stack.skipped if "Destination" in line or "DeadLetter" in line]
    queues, sqs, client = stack.queues, stack.dynamo.client("sqs"), lambda_client(stack)

    # WHEN a good order and one marked to fail are invoked asynchronously
    started = time.monotonic()
    good = client.invoke(
        FunctionName="WorkerFunction", InvocationType="Event", Payload=json.dumps({"id": "a"})
    )
    bad = client.invoke(
        FunctionName="WorkerFunction",
        InvocationType="Event",
        Payload=json.dumps({"id": "b", "fail": True}),
    )
    # THEN both are accepted at once, each with its request id
    assert good["StatusCode"] == bad["StatusCode"] == 202
    assert time.monotonic() - started < 5
    good_id = good["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    bad_id = bad["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]

    # ... the good order's record is in the OnSuccess queue, with the function's result
    succeeded: list[dict[str, Any]] = []
    wait_for(lambda: receive(sqs, queues["WorkerSucceeded"]["QueueUrl"], succeeded), 20)
    (record,) = [json.loads(m["Body"]) for m in succeeded]
    assert record["version"] == "1.0"
    assert record["requestContext"]["requestId"] == good_id
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["requestContext"]["functionArn"].endswith(":function:WorkerFunction:$LATEST")
    assert record["requestPayload"] == {"id": "a"}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"id": "a", "status": "handled"}

    # ... the marked order ran twice (MaximumRetryAttempts 1), then its record is in OnFailure
    failed: list[dict[str, Any]] = []
    wait_for(lambda: receive(sqs, queues["WorkerFailed"]["QueueUrl"], failed), 20)
    (record,) = [json.loads(m["Body"]) for m in failed]
    assert record["requestContext"]["requestId"] == bad_id
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestPayload"] == {"id": "b", "fail": True}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "ValueError"
    assert record["responsePayload"]["errorMessage"] == "order b refused"
    attempts = [a for a in stack.activity.latest(200) if a["function"] == "WorkerFunction"]
    assert len(attempts) == 3  # a, then b twice
    assert not receive(sqs, queues["WorkerSucceeded"]["QueueUrl"], [])

    # ... and an event over the 1 MB asynchronous quota is refused, not queued
    with pytest.raises(client.exceptions.RequestTooLargeException):
        client.invoke(
            FunctionName="WorkerFunction",
            InvocationType="Event",
            Payload=json.dumps({"id": "big", "pad": "x" * (1024 * 1024)}),
        )


def test_a_refused_entry_ends_in_the_dead_letter_queue_and_a_booked_one_reaches_the_auditor(
    run_app,
):
    # GIVEN the app running
    stack = run_app("async_app")
    queues, sqs, client = stack.queues, stack.dynamo.client("sqs"), lambda_client(stack)

    # WHEN the ledger is invoked asynchronously with a good entry and a negative one
    booked = client.invoke(
        FunctionName="LedgerFunction",
        InvocationType="Event",
        Payload=json.dumps({"entry": "e1", "amount": 5}),
    )
    refused = client.invoke(
        FunctionName=f"arn:aws:lambda:{stack.region}:123456789012:function:LedgerFunction",
        InvocationType="Event",
        Payload=json.dumps({"entry": "e2", "amount": -1}),
    )
    assert booked["StatusCode"] == refused["StatusCode"] == 202
    refused_id = refused["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]

    # THEN the booked entry's invocation record was invoked on the auditor (a Lambda destination),
    # which wrote it to the audit queue
    audited: list[dict[str, Any]] = []
    wait_for(lambda: receive(sqs, queues["AuditQueue"]["QueueUrl"], audited), 20)
    (record,) = [json.loads(m["Body"]) for m in audited]
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["functionArn"].endswith(":function:LedgerFunction:$LATEST")
    assert record["responsePayload"] == {"entry": "e1", "booked": 5}

    # ... the refused entry, after its three attempts (the default two retries, one and two
    # seconds apart here), is in the dead-letter queue as it was sent, with AWS's attributes
    dead: list[dict[str, Any]] = []
    wait_for(lambda: receive(sqs, queues["LedgerDeadLetters"]["QueueUrl"], dead), 30)
    (message,) = dead
    assert json.loads(message["Body"]) == {"entry": "e2", "amount": -1}
    attributes = message["MessageAttributes"]
    assert attributes["RequestID"] == {"StringValue": refused_id, "DataType": "String"}
    assert attributes["ErrorCode"] == {"StringValue": "200", "DataType": "Number"}
    assert attributes["ErrorMessage"]["StringValue"] == "entry e2: negative amount"
    ledger = [a for a in stack.activity.latest(200) if a["function"] == "LedgerFunction"]
    assert len(ledger) == 4  # e1 once, e2 three times


def test_records_and_dead_letters_reach_an_sns_topic_of_the_emulator(run_app):
    # GIVEN a topic in the emulator, with a queue subscribed to it (raw delivery)
    stack = run_app("async_app")
    sns, sqs = stack.dynamo.client("sns"), stack.dynamo.client("sqs")
    topic = sns.create_topic(Name="async-records")["TopicArn"]
    queue = stack.queues["AuditQueue"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue["Arn"],
        Attributes={"RawMessageDelivery": "true"},
    )
    deliveries = AsyncDeliveries(stack.dynamo, lambda arn: None, log=print)
    config = AsyncConfig(on_failure=topic, dead_letter=topic)
    assert deliveries.check("Fn", config) == []
    # WHEN an event that exhausted its retries is done
    event = AsyncEvent({"id": "z"}, "req-z", 0.0, "test", attempts=1)
    error = {"errorType": "ValueError", "errorMessage": "no"}
    deliveries.done(
        "arn:aws:lambda:us-east-1:123456789012:function:Fn",
        config,
        Outcome(event, RETRIES_EXHAUSTED, InvocationResult(False, error=error)),
    )
    # THEN the topic got the invocation record, then the event itself with its attributes
    got: list[dict[str, Any]] = []
    wait_for(lambda: len(receive(sqs, queue["QueueUrl"], got)) >= 2, 20)
    bodies = [json.loads(m["Body"]) for m in got]
    record = next(b for b in bodies if "requestContext" in b)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["requestId"] == "req-z"
    assert {"id": "z"} in bodies
