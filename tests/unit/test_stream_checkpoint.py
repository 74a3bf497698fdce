"""A DynamoDB stream mapping resumes after its checkpoint; when the stream no longer has the
records after it (kept 24 hours), it goes on from the oldest record kept instead of failing."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from eventflow_local.eventsources.dynamodb.mapping import DynamoStreamEventSource, _Shard
from eventflow_local.template.specs import EventSpec

ARN = "arn:aws:dynamodb:ddblocal:000000000000:table/Outbox/stream/2026-01-01T00:00:00.000"


class Streams:
    """A streams client whose shard has lost the records after ``trimmed_before``."""

    def __init__(self, trimmed: bool) -> None:
        self.trimmed = trimmed
        self.asked: list[dict[str, Any]] = []

    def get_shard_iterator(self, **kwargs: Any) -> dict[str, str]:
        self.asked.append(kwargs)
        if self.trimmed and kwargs["ShardIteratorType"] == "AFTER_SEQUENCE_NUMBER":
            raise ClientError(
                {"Error": {"Code": "TrimmedDataAccessException", "Message": "trimmed"}},
                "GetShardIterator",
            )
        return {"ShardIterator": f"it-{kwargs['ShardIteratorType']}"}


def source(tmp_path, client: Streams, lines: list[str]) -> DynamoStreamEventSource:
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    (checkpoints / "dynamodb-Relay.Stream.json").write_text(
        json.dumps({"streamArn": ARN, "shards": {"shard-1": "000000000000000000042"}})
    )
    spec = EventSpec(
        "Stream", "DynamoDB", {"Stream": ARN, "StartingPosition": "LATEST", "BatchSize": 10}
    )
    return DynamoStreamEventSource(
        "Relay", spec, None, client, stream_arn=ARN, state_dir=tmp_path, log=lines.append
    )


def test_a_restart_resumes_after_the_checkpoint_whatever_the_starting_position(tmp_path):
    client, lines = Streams(trimmed=False), []
    mapping = source(tmp_path, client, lines)
    assert mapping._iterator(_Shard("shard-1", None)) == "it-AFTER_SEQUENCE_NUMBER"
    assert client.asked[-1]["SequenceNumber"] == "000000000000000000042"
    assert lines == []


def test_a_checkpoint_past_the_retention_goes_on_from_the_oldest_record(tmp_path):
    client, lines = Streams(trimmed=True), []
    mapping = source(tmp_path, client, lines)
    assert mapping._iterator(_Shard("shard-1", None)) == "it-TRIM_HORIZON"
    assert [a["ShardIteratorType"] for a in client.asked] == [
        "AFTER_SEQUENCE_NUMBER",
        "TRIM_HORIZON",
    ]
    assert lines == [
        "[stream] Relay.Stream: shard-1: the records after the checkpoint were trimmed "
        "(older than 24 hours); reading from the oldest record kept"
    ]
