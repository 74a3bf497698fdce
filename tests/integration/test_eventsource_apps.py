"""Fixture SAM apps through the whole harness: Kafka filters, batches across partitions, and a
DynamoDB stream source configured with string-typed parameters."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.integration.faults import wait_for

pytestmark = pytest.mark.integration


def scan(stack: Any, logical_id: str) -> list[dict[str, Any]]:
    client = stack.dynamodb_client()
    return list(client.scan(TableName=stack.table_name(logical_id))["Items"])


# ----------------------------------------------------------------------------------- kafka_filters
def test_kafka_filters_match_json_values_and_plain_string_values(
    run_app, kafka_producer, unique_name
):
    # GIVEN an MSK event whose filters are {"status": ["FRAUD"]} and [{"prefix": "OrderNumber"}]
    topic = unique_name("orders")
    stack = run_app("kafka_filters", parameters={"OrdersTopic": topic})
    # WHEN JSON and plain-string values are produced to one partition
    values = [
        b'{"status": "FRAUD", "n": 1}',
        b'{"status": "OK", "n": 2}',
        b"OrderNumber-123",
        b"Hello, plain text",
        b"\xff\xfe not text",
        None,  # a tombstone
        b'{"status": "FRAUD", "n": 3}',
    ]
    for value in values:
        kafka_producer.send(topic, value=value, key=b"k", partition=0)
    kafka_producer.flush()

    # THEN the function receives exactly the matching JSON records and the matching plain string
    def received() -> dict[str, str]:
        return {i["id"]["S"]: i["value"]["S"] for i in scan(stack, "ReceivedTable")}

    wait_for(lambda: f"{topic}-0@6" in received(), 15, "the last matching record")
    assert received() == {
        f"{topic}-0@0": '{"status": "FRAUD", "n": 1}',
        f"{topic}-0@2": "OrderNumber-123",
        f"{topic}-0@6": '{"status": "FRAUD", "n": 3}',
    }
    assert not stack.refused


# ----------------------------------------------------------------------------------- partitions
@pytest.mark.alone  # it times the batching window
def test_unkeyed_messages_over_three_partitions_arrive_in_one_invocation(
    run_app, kafka_producer, unique_name
):
    # GIVEN a Kafka event source with BatchSize 100 and a 2 s batching window
    topic = unique_name("spread")
    stack = run_app(
        "kafka_partitions",
        parameters={"SpreadTopic": topic},
        partitions=3,
    )
    # WHEN 30 messages without a key are spread over the topic's 3 partitions at once
    started = time.monotonic()
    for i in range(30):
        kafka_producer.send(topic, value=json.dumps({"i": i}).encode(), partition=i % 3)
    kafka_producer.flush()

    # THEN one invocation carries all of them, keyed by topic-partition, within the window
    items = wait_for(lambda: scan(stack, "InvocationsTable"), 10, "an invocation")
    elapsed = time.monotonic() - started
    time.sleep(0.5)
    items = scan(stack, "InvocationsTable")
    assert len(items) == 1, items
    counts = {k: int(v["N"]) for k, v in items[0]["counts"]["M"].items()}
    assert counts == {f"{topic}-0": 10, f"{topic}-1": 10, f"{topic}-2": 10}
    assert elapsed < 2 + 2.5


# ----------------------------------------------------------------------------------- stream_strings
def test_a_stream_source_configured_by_string_parameters(run_app):
    # GIVEN a DynamoDB stream source whose BatchSize "10", window "1", retries "1" and
    # BisectBatchOnFunctionError "false" come from String parameters
    stack = run_app("stream_strings")
    assert not stack.refused
    client = stack.dynamodb_client()
    table = stack.table_name("ItemsTable")
    # WHEN 12 items are written, the last one poison
    for i in range(11):
        client.put_item(TableName=table, Item={"id": {"S": f"item-{i:02}"}})
    client.put_item(TableName=table, Item={"id": {"S": "item-11"}, "poison": {"BOOL": True}})

    # THEN batches hold at most 10 records ...
    # (read as a user reads it: receive_message on the queue the template names)
    sqs = stack.dynamo.client("sqs")
    queue = stack.template.get_att("StreamFailures", "QueueUrl")
    received: list[dict[str, Any]] = []

    def receive() -> list[dict[str, Any]]:
        for message in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", []):
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            received.append(json.loads(message["Body"]))
        return received

    wait_for(receive, 20, "the failure record")
    batches = [item["ids"]["L"] for item in scan(stack, "BatchesTable")]
    assert batches and all(len(ids) <= 10 for ids in batches)
    # ... the poison batch was retried whole once ("false" is false: no bisect) ...
    poison = [ids for ids in batches if {"S": "item-11"} in ids]
    assert len(poison) == 2 and poison[0] == poison[1] and len(poison[0]) >= 2
    # ... and then went to the OnFailure destination as one DDBStreamBatchInfo record
    time.sleep(1)
    (failure,) = receive()
    info = failure["DDBStreamBatchInfo"]
    assert info["batchSize"] == len(poison[0])
    assert info["streamArn"] == stack.tables["ItemsTable"]["StreamArn"]
    assert info["shardId"] and info["startSequenceNumber"] and info["endSequenceNumber"]
    assert info["approximateArrivalOfFirstRecord"].endswith("Z")
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 2
    assert failure["responseContext"]["functionError"] == "Unhandled"
    # every good item was delivered
    delivered = {i["S"] for ids in batches for i in ids}
    assert {f"item-{i:02}" for i in range(11)} <= delivered


# ----------------------------------------------------------------------------------- refusals
@pytest.mark.parametrize(
    ("parameters", "line"),
    [
        (
            {"StreamBatchSize": "ten"},
            "ItemsStreamFunction.Items: BatchSize: expected an integer, got 'ten'",
        ),
        (
            {"StreamRetries": "10001"},
            "ItemsStreamFunction.Items: MaximumRetryAttempts: 10001 is out of range",
        ),
    ],
)
def test_a_configuration_aws_refuses_is_named_and_the_rest_of_the_stack_starts(
    run_app, parameters, line
):
    # GIVEN a stream source whose parameters AWS would refuse at deploy
    # WHEN the stack starts  THEN it starts, with the mapping refused and named
    stack = run_app("stream_strings", parameters=parameters)
    assert [r for r in stack.refused if r.startswith(line)], stack.refused
    assert any(line in printed for printed in stack.lines)
    assert not stack.sources
    assert set(stack.runtimes) == {"ItemsStreamFunction"}
    # AND the banner lists no trigger for the function: its one event does not run
    assert stack.triggers() == {"ItemsStreamFunction": []}
    assert "<- DynamoDB" not in stack.summary()
