"""The S3 fixture app (tests/apps/s3_app) under a started Stack, driven with boto3 as a user
drives it: the bucket exists in the emulator under CloudFormation's generated name; a function
puts objects through AWS_ENDPOINT_URL; JSON documents created under uploads/ notify the ingest
function (SAM's S3 event, prefix and suffix filter) asynchronously with S3's event; removals are
announced on a queue (the bucket's QueueConfigurations) and copies into archive/ on a topic
(TopicConfigurations), each after S3's test event."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import unquote_plus

import pytest
from aws_lambda_powertools.utilities.parser.models import S3Model

pytestmark = pytest.mark.integration


def drain(sqs: Any, url: str, want: int, timeout: float = 30.0) -> list[dict[str, Any]]:
    """The bodies on ``url`` once ``want`` have arrived (short polls), then a little longer to
    see nothing more comes."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    quiet_until = None
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            seen.append(json.loads(message["Body"]))
        if len(seen) >= want:
            quiet_until = quiet_until or time.monotonic() + 1.5
            if time.monotonic() > quiet_until:
                break
        if not messages:
            time.sleep(0.2)
    return seen


def test_object_events_reach_the_filtered_function_and_the_removals_queue(run_app):
    # GIVEN the app running: its bucket and queues made in the emulator, notifications started
    stack = run_app("s3_app")
    assert not stack.refused, stack.refused
    bucket = stack.template.ref("UploadsBucket")
    assert bucket.startswith("eventflow-local-uploadsbucket-") and bucket == bucket.lower()
    (trigger,) = stack.triggers()["IngestFunction"]
    assert trigger == f"S3 bucket {bucket} s3:ObjectCreated:* (prefix uploads/, suffix .json)"
    sqs = stack.dynamo.client("sqs")
    s3 = stack.dynamo.client("s3")
    seen_url = stack.queues["SeenQueue"]["QueueUrl"]
    removals_url = stack.queues["RemovalsQueue"]["QueueUrl"]

    # WHEN the writer function puts two documents (one matching the filter) through the emulator
    result = stack.invoke(
        "WriterFunction", {"documents": {"uploads/a b.json": {"n": 1}, "other/b.json": {"n": 2}}}
    )
    assert result.ok, result.error
    assert result.payload == {
        "bucket": bucket,
        "arn": f"arn:aws:s3:::{bucket}",
        "domain": f"{bucket}.s3.us-east-1.amazonaws.com",
        "keys": ["other/b.json", "uploads/a b.json"],
    }
    # ... and a user puts a text file under uploads/ and a third document, then deletes one
    s3.put_object(Bucket=bucket, Key="uploads/notes.txt", Body=b"x")
    s3.put_object(Bucket=bucket, Key="uploads/c.json", Body=b'{"n": 3}')
    s3.delete_object(Bucket=bucket, Key="other/b.json")
    s3.copy_object(Bucket=bucket, Key="archive/c.json", CopySource=f"{bucket}/uploads/c.json")

    # THEN the ingest function got the two JSON documents under uploads/, each as S3's event
    events = drain(sqs, seen_url, want=2)
    assert len(events) == 2, events
    keys = set()
    for event in events:
        (record,) = S3Model.model_validate(event).Records
        assert record.eventSource == "aws:s3" and record.eventVersion == "2.1"
        assert record.eventName == "ObjectCreated:Put"
        assert record.s3.bucket.name == bucket and record.s3.bucket.arn == f"arn:aws:s3:::{bucket}"
        assert record.s3.object.sequencer and record.s3.object.eTag
        keys.add(record.s3.object.key)
    assert keys == {"uploads/a+b.json", "uploads/c.json"}  # URL-encoded, a space as +
    assert unquote_plus("uploads/a+b.json") == "uploads/a b.json"
    sizes = {
        e["Records"][0]["s3"]["object"]["key"]: e["Records"][0]["s3"]["object"]["size"]
        for e in events
    }
    assert sizes["uploads/c.json"] == len(b'{"n": 3}')

    # AND the removals queue got S3's test event, then the removal as S3's event
    bodies = drain(sqs, removals_url, want=2)
    assert bodies[0]["Event"] == "s3:TestEvent" and bodies[0]["Bucket"] == bucket
    (removal,) = [b for b in bodies if "Records" in b]
    (record,) = S3Model.model_validate(removal).Records
    assert record.eventName == "ObjectRemoved:Delete" and record.s3.object.key == "other/b.json"
    assert len(bodies) == 2, bodies

    # AND the copy into archive/ was published on the topic (test event first), which the
    # copies queue receives raw; the copy matched no other configuration
    copies = drain(sqs, stack.queues["CopiesQueue"]["QueueUrl"], want=2)
    assert copies[0]["Event"] == "s3:TestEvent", copies
    (record,) = S3Model.model_validate(copies[1]).Records
    assert record.eventName == "ObjectCreated:Copy" and record.s3.object.key == "archive/c.json"
    assert record.s3.configurationId == "archive-copies"
    assert len(copies) == 2
