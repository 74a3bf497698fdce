"""An SQS event source's configuration as Lambda checks it, and how it reads a
ReportBatchItemFailures response ("Handling errors for an SQS event source")."""

from __future__ import annotations

from typing import Any

import pytest

from eventflow_local.eventsources.config import EsmConfigError
from eventflow_local.eventsources.sqs.config import parse_sqs_config
from eventflow_local.eventsources.sqs.poller import failed_ids
from eventflow_local.eventsources.sqs.records import filter_document, sqs_record

QUEUE = "arn:aws:sqs:us-east-1:123456789012:jobs"
BATCH = [{"messageId": "m1"}, {"messageId": "m2"}]


def refusal(props: dict[str, Any]) -> str:
    with pytest.raises(EsmConfigError) as caught:
        parse_sqs_config("Worker", "Jobs", props)
    return str(caught.value)


def test_defaults_and_what_lambda_refuses():
    # GIVEN only a queue: batches of 10, no window
    cfg = parse_sqs_config("Worker", "Jobs", {"Queue": QUEUE})
    assert (cfg.batch_size, cfg.batching_window, cfg.fifo, cfg.enabled) == (10, 0.0, False, True)
    # THEN a batch over 10 needs a window, a FIFO queue takes 10 at most and no window, an SQS
    # mapping has no DestinationConfig, and MaximumConcurrency is 2..1000
    assert refusal({"Queue": QUEUE, "BatchSize": 11}) == (
        "Worker.Jobs: BatchSize: 11: a batch size over 10 needs "
        "MaximumBatchingWindowInSeconds of at least 1"
    )
    assert (
        parse_sqs_config(
            "Worker",
            "Jobs",
            {"Queue": QUEUE, "BatchSize": "10000", "MaximumBatchingWindowInSeconds": 1},
        ).batch_size
        == 10_000
    )
    assert "maximum 10" in refusal({"Queue": QUEUE + ".fifo", "BatchSize": 11})
    assert refusal({"Queue": QUEUE + ".fifo", "MaximumBatchingWindowInSeconds": 1}).endswith(
        "not supported for FIFO queues"
    )
    assert refusal({"Queue": QUEUE, "DestinationConfig": {}}) == (
        "Worker.Jobs: DestinationConfig: not a property of an SQS event source"
    )
    assert "minimum 2" in refusal({"Queue": QUEUE, "ScalingConfig": {"MaximumConcurrency": 1}})
    assert "FilterCriteria" in refusal({"Queue": QUEUE, "FilterCriteria": {"Filters": []}})
    # AND Enabled: false and ScalingConfig are named at start-up
    off = parse_sqs_config("Worker", "Jobs", {"Queue": QUEUE, "Enabled": "false"})
    assert not off.enabled and off.not_emulated == [
        "Worker.Jobs: Enabled is false: not started (as on AWS)"
    ]


@pytest.mark.parametrize(
    ("payload", "returned"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "m2"}]}, {"m2"}),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, None),
        ({"batchItemFailures": [{"id": "m1"}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]}, None),
        ("not an object", None),
    ],
)
def test_a_partial_batch_response_is_read_as_lambda_reads_it(payload, returned):
    # GIVEN a batch of m1, m2 and the function's response THEN the messages that come back
    # (None: the whole batch)
    assert failed_ids(payload, BATCH) == returned


def test_records_and_the_document_filters_see():
    # GIVEN a received message with a JSON body and a binary attribute
    message = {
        "MessageId": "m1",
        "ReceiptHandle": "r1",
        "Body": '{"kind": "order"}',
        "MD5OfBody": "x",
        "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "5", "Other": "no"},
        "MessageAttributes": {"blob": {"DataType": "Binary", "BinaryValue": b"\x01"}},
    }
    record = sqs_record(message, QUEUE, "eu-west-1")
    # THEN the record has Lambda's keys, the binary value base64, and only Lambda's attributes
    assert record["attributes"] == {"ApproximateReceiveCount": "1", "SentTimestamp": "5"}
    assert record["messageAttributes"]["blob"] == {
        "binaryValue": "AQ==",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "Binary",
    }
    assert (record["eventSource"], record["eventSourceARN"], record["awsRegion"]) == (
        "aws:sqs",
        QUEUE,
        "eu-west-1",
    )
    # AND a filter sees the body as JSON, or as the plain string when it is not JSON
    assert filter_document(record)["body"] == {"kind": "order"}
    assert filter_document({**record, "body": "plain"})["body"] == "plain"
