"""The Kinesis fixture app (tests/apps/kinesis_app) under a started Stack, driven with boto3 as a
user drives it: readings put on a two-shard stream (by a function through AWS_ENDPOINT_URL and by
the user's own ``put_records``) reach the consumer as Lambda's Kinesis event, one batch per shard;
a reading the consumer reports as a batch item failure is retried once, then its range lands in
the OnFailure queue as a ``KinesisBatchInfo`` record; filtered readings never arrive."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import KinesisDataStreamModel

from tests.integration.faults import wait_for

pytestmark = pytest.mark.integration


def drain(sqs: Any, url: str, into: list[dict[str, Any]]) -> list[dict[str, Any]]:
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return into
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            into.append(json.loads(message["Body"]))


def reading_of(record: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(base64.b64decode(record["kinesis"]["data"])))


def test_readings_reach_the_consumer_and_a_failing_one_ends_in_the_failures_queue(run_app):
    # GIVEN the app running: its stream (2 shards) and queues made in the emulator
    stack = run_app("kinesis_app")
    assert not stack.refused
    stream_arn = str(stack.template.get_att("Readings", "Arn"))
    stream_name = str(stack.template.ref("Readings"))
    assert stream_arn.endswith(f":stream/{stream_name}")
    assert stack.triggers()["ConsumerFunction"] == [f"Kinesis stream {stream_name}"]
    kinesis = stack.dynamo.client("kinesis")
    summary = kinesis.describe_stream_summary(StreamName=stream_name)["StreamDescriptionSummary"]
    assert (summary["StreamARN"], summary["OpenShardCount"]) == (stream_arn, 2)
    sqs = stack.dynamo.client("sqs")
    done_url = str(stack.template.ref("DoneQueue"))
    failures_url = str(stack.template.ref("FailuresQueue"))

    # WHEN the user puts two readings with boto3, then the producer function puts four: one a
    # calibration reading (filtered out), the last one marked to fail
    put = kinesis.put_records(
        StreamName=stream_name,
        Records=[
            {
                "Data": json.dumps({"id": i, "sensor": s, "kind": "reading"}).encode(),
                "PartitionKey": s,
            }
            for i, s in (("e", "north"), ("f", "south"))
        ],
    )
    assert put["FailedRecordCount"] == 0
    readings = [
        {"id": "a", "sensor": "north", "kind": "reading"},
        {"id": "c", "sensor": "south", "kind": "calibration"},
        {"id": "d", "sensor": "south", "kind": "reading"},
        {"id": "b", "sensor": "east", "kind": "reading", "fail": True},
    ]
    result = stack.invoke("ProducerFunction", {"readings": readings})
    assert result.ok, result.error
    failing_shard, failing_sequence = result.payload["put"][3]

    # THEN every good reading reaches the done queue as the Kinesis record Lambda delivers
    done: list[dict[str, Any]] = []
    wait_for(
        lambda: {"a", "d", "e", "f"} <= {reading_of(r)["id"] for r in drain(sqs, done_url, done)},
        30,
    )
    record = next(r for r in done if reading_of(r)["id"] == "a")
    KinesisDataStreamModel.model_validate({"Records": [record]})  # the shape Powertools parses
    assert record["eventSource"] == "aws:kinesis"
    assert record["eventName"] == "aws:kinesis:record"
    assert record["eventSourceARN"] == stream_arn
    assert record["awsRegion"] == stack.region
    shard, sequence = result.payload["put"][0]
    assert record["eventID"] == f"{shard}:{sequence}"
    assert record["kinesis"]["partitionKey"] == "north"
    assert record["kinesis"]["sequenceNumber"] == sequence
    assert record["kinesis"]["approximateArrivalTimestamp"] > 0

    # ... the failing reading, retried once (MaximumRetryAttempts 1), is given up: its range is
    # in the failures queue, readable as a user reads it
    failed: list[dict[str, Any]] = []
    wait_for(lambda: drain(sqs, failures_url, failed), 30, "the OnFailure queue")
    (failure,) = failed
    info = failure["KinesisBatchInfo"]
    assert info["shardId"] == failing_shard
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == failing_sequence
    assert (info["batchSize"], info["streamArn"]) == (1, stream_arn)
    assert info["approximateArrivalOfFirstRecord"]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 2

    # ... and neither the calibration reading nor the failing one ever reached the done queue
    drain(sqs, done_url, done)
    assert {reading_of(r)["id"] for r in done} == {"a", "d", "e", "f"}
