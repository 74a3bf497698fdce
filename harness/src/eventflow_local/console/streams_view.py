"""The console's Kinesis streams: each ``AWS::Kinesis::Stream`` of the template with its shards and
the event source mappings reading it, and "put a record" on one.

``GET /_console/api/streams`` lists each stream (logical id, name, ARN, status, retention) with
its shards as ``DescribeStream`` gives them (id, parent, hash key range, sequence number range)
and each ``Type: Kinesis`` mapping of it (``eventsources/kinesis/mapping.py``): function, event,
starting position, batch size, the sequence number it settled last on each shard (its checkpoint)
and its counts. Nothing is read from the stream: looking takes no record and moves no iterator.

``POST /_console/api/streams/<logical id or name>/records`` puts one record as ``PutRecord``
(https://docs.aws.amazon.com/kinesis/latest/APIRef/API_PutRecord.html) on the embedded emulator:
``{"data", "partitionKey", "explicitHashKey"?}`` -> 201 ``{"stream", "shardId",
"sequenceNumber"}``. ``data`` is text (sent as its UTF-8 bytes) or a JSON object or array (sent
as JSON text), at most 1 MiB; ``partitionKey`` is 1 to 256 characters (its MD5 hash picks the
shard unless ``explicitHashKey`` is given). It needs the local token.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from botocore.exceptions import ClientError

from eventflow_local.console.sending import (
    Refused,
    Reply,
    answering,
    authorized_body,
    emulator_client,
    json_object,
    service_error,
    text_field,
)
from eventflow_local.eventsources.kinesis.mapping import KinesisEventSource
from eventflow_local.services.kinesis import STREAM_TYPE

#: PutRecord's limit on a record's data blob
MAX_DATA_BYTES = 1024 * 1024
MAX_PARTITION_KEY = 256
USAGE = '{"data": "..." or {...}, "partitionKey": "..."}'


def _mapping_row(source: Any) -> dict[str, Any]:
    config = source.config
    checkpoint = getattr(source, "checkpoint", None)
    return {
        "function": source.function_name,
        "event": source.event.name,
        "startingPosition": config.starting_position,
        "batchSize": config.batch_size,
        "positions": dict(checkpoint.positions) if checkpoint is not None else {},
        "stats": dict(vars(source.stats)),
    }


def _shard_row(shard: dict[str, Any]) -> dict[str, Any]:
    numbers = shard.get("SequenceNumberRange") or {}
    return {
        "shardId": shard["ShardId"],
        "parent": shard.get("ParentShardId"),
        "hashKeyRange": [
            shard.get("HashKeyRange", {}).get("StartingHashKey"),
            shard.get("HashKeyRange", {}).get("EndingHashKey"),
        ],
        "startingSequenceNumber": numbers.get("StartingSequenceNumber"),
        "endingSequenceNumber": numbers.get("EndingSequenceNumber"),
    }


def stream_rows(stack: Any) -> list[dict[str, Any]]:
    """Each stream of the template with its shards and mappings."""
    template = stack.template
    if template is None:
        return []
    declared = template.resources_of(STREAM_TYPE)
    if not declared:
        return []
    kinesis = emulator_client(stack, "kinesis")
    mappings = [s for s in list(stack.sources) if isinstance(s, KinesisEventSource)]
    out = []
    for lid in declared:
        name = str(template.ref(lid))
        try:
            described = kinesis.describe_stream(StreamName=name)["StreamDescription"]
        except ClientError as exc:  # refused at start-up: the others are listed all the same
            out.append({"logicalId": lid, "name": name, "error": service_error(exc)})
            continue
        arn = described["StreamARN"]
        out.append(
            {
                "logicalId": lid,
                "name": name,
                "arn": arn,
                "status": described.get("StreamStatus"),
                "retentionHours": described.get("RetentionPeriodHours"),
                "shards": [_shard_row(s) for s in described.get("Shards", [])],
                "mappings": [_mapping_row(s) for s in mappings if s.stream_arn == arn],
            }
        )
    return out


@answering
def listing(stack: Any) -> Reply:
    """``GET /_console/api/streams``."""
    return 200, {"streams": stream_rows(stack)}


def _stream(stack: Any, name: str) -> str:
    template = stack.template
    for lid in template.resources_of(STREAM_TYPE) if template is not None else ():
        if name in (lid, str(template.ref(lid))):
            return str(template.ref(lid))
    raise Refused(404, f"no Kinesis stream {name} in the template")


@answering
def put_request(req: BaseHTTPRequestHandler, stack: Any, name: str) -> Reply:
    """``POST /_console/api/streams/<logical id or name>/records``, with the local token."""
    raw = authorized_body(req, stack.api_token, 2 * MAX_DATA_BYTES)
    stream = _stream(stack, name)
    body = json_object(raw, USAGE)
    data = body.get("data")
    if isinstance(data, dict | list):
        data = json.dumps(data)
    if not isinstance(data, str) or not data:
        raise Refused(400, f"data: a non-empty string or a JSON object is required: send {USAGE}")
    blob = data.encode()
    if len(blob) > MAX_DATA_BYTES:
        raise Refused(400, f"data: at most {MAX_DATA_BYTES} bytes")
    key = text_field(body, "partitionKey", required=True, most=4 * MAX_PARTITION_KEY)
    assert key is not None
    if len(key) > MAX_PARTITION_KEY:
        raise Refused(400, f"partitionKey: at most {MAX_PARTITION_KEY} characters")
    kwargs: dict[str, Any] = {"StreamName": stream, "Data": blob, "PartitionKey": key}
    hash_key = text_field(body, "explicitHashKey", required=False, most=38)
    if hash_key is not None:
        if not hash_key.isdigit() or int(hash_key) >= 2**128:
            raise Refused(400, "explicitHashKey: a decimal number below 2^128")
        kwargs["ExplicitHashKey"] = hash_key
    put = emulator_client(stack, "kinesis").put_record(**kwargs)
    return 201, {
        "stream": stream,
        "shardId": put["ShardId"],
        "sequenceNumber": put["SequenceNumber"],
    }
