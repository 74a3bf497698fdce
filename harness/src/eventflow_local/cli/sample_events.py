"""The events of ``generate-event``, each built by the function the harness delivers with.

A sample is the input that function receives when the harness runs, made up from the
command's options: the REST and HTTP API gateways' ``api_event`` / ``http_event``, the Kafka
poller's ``kafka_event`` of ``RawRecord``\\ s, the DynamoDB stream mapping's
``dynamodb_stream_event`` of a ``GetRecords`` record, the schedule's ``schedule_event``, the
EventBridge bus delivery's ``aws_event`` of the event ``PutEvents`` stores, the SQS poller's
``sqs_record`` of a ``ReceiveMessage`` message, the SNS subscription's ``lambda_event`` of SNS's
envelope, the Kinesis poller's ``kinesis_event`` of a ``GetRecords`` record and the S3 bucket
delivery's ``s3_event`` of S3's notification record. So generated = delivered; the contract test
(``tests/unit/test_event_contracts.py``) holds both to Powertools' parser models.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import secrets
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from eventflow_local.aws import LOCAL_ACCOUNT, local_msk_arn


def _pairs(items: list[str], what: str) -> list[tuple[str, str]]:
    out = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"{what} {item!r} is not NAME=VALUE")
        out.append((name, value))
    return out


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what} is not JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} is not a JSON object")
    return value


def api_proxy(args: argparse.Namespace) -> dict[str, Any]:
    """What the REST API gateway (``apigw/gateway.py``) sends a ``Type: Api`` route's function."""
    from eventflow_local.events.apigateway import api_event

    path = "/" + args.path.lstrip("/")
    params = {"proxy": path.lstrip("/")} if args.resource.endswith("{proxy+}") else None
    return api_event(
        args.method,
        path,
        resource=args.resource,
        path_parameters=params,
        query=args.query or None,
        headers=dict(_pairs(args.header, "--header")),
        body=args.body or None,
        stage=args.stage,
    )


def http_api_proxy(args: argparse.Namespace) -> dict[str, Any]:
    """What the HTTP API gateway (``apigw/http_gateway.py``) sends a payload 2.0 route."""
    from eventflow_local.apigw.httpapi import HttpRoute, http_event

    path = "/" + args.path.lstrip("/")
    method = args.method.upper()
    route = HttpRoute(method=method, path=path, function="", event="", api="HttpApi")
    headers = [("host", "localhost"), *_pairs(args.header, "--header")]
    body = args.body.encode() if args.body else None
    return http_event(
        route, method, path, args.query, headers, body, {}, "127.0.0.1", "local", args.stage
    )


def kafka(args: argparse.Namespace, *, self_managed: bool) -> dict[str, Any]:
    """What the Kafka poller (``eventsources/kafka/``) sends for one record."""
    from eventflow_local.events.kafka import RawRecord, kafka_event

    if args.partition < 0 or args.offset < 0:
        raise ValueError("--partition and --offset are 0 or more")
    record = RawRecord(
        topic=args.topic,
        partition=args.partition,
        offset=args.offset,
        value=args.value.encode(),
        key=args.key.encode() if args.key is not None else None,
        headers=tuple((k, v.encode()) for k, v in _pairs(args.header, "--header")),
    )
    return kafka_event(
        [record],
        bootstrap_servers=args.bootstrap_servers,
        event_source_arn=local_msk_arn(args.region),
        self_managed=self_managed,
    )


def dynamodb_update(args: argparse.Namespace) -> dict[str, Any]:
    """What the DynamoDB stream mapping sends for one ``GetRecords`` record."""
    from boto3.dynamodb.types import TypeSerializer

    from eventflow_local.events.dynamodb import dynamodb_stream_event

    serialize = TypeSerializer().serialize
    keys = _json_object(args.keys, "--keys")
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": datetime.now(UTC),
        "Keys": {k: serialize(v) for k, v in keys.items()},
        "SequenceNumber": str(secrets.randbelow(10**20)),
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    new = _json_object(args.new_image, "--new-image") if args.new_image else None
    old = _json_object(args.old_image, "--old-image") if args.old_image else None
    if new is None and args.event_name != "REMOVE":
        new = dict(keys)
    if old is None and args.event_name != "INSERT":
        old = dict(keys)
    if new is not None and args.event_name != "REMOVE":
        change["NewImage"] = {k: serialize(v) for k, v in new.items()}
    if old is not None and args.event_name != "INSERT":
        change["OldImage"] = {k: serialize(v) for k, v in old.items()}
    change["SizeBytes"] = len(json.dumps(change, default=str).encode())
    record = {"eventName": args.event_name, "awsRegion": args.region, "dynamodb": change}
    label = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000")
    arn = f"arn:aws:dynamodb:{args.region}:{LOCAL_ACCOUNT}:table/{args.table}/stream/{label}"
    return dynamodb_stream_event([record], arn)


def scheduled_event(args: argparse.Namespace) -> dict[str, Any]:
    """What a schedule (``eventsources/schedule/``) sends a target without an input."""
    from eventflow_local.events.schedule import schedule_event

    arn = f"arn:aws:events:{args.region}:{LOCAL_ACCOUNT}:rule/{args.rule}"
    return schedule_event(arn, args.region)


def eventbridge_event(args: argparse.Namespace) -> dict[str, Any]:
    """What a bus's rule (``eventsources/eventbridge/delivery.py``) sends a function target."""
    from eventflow_local.events.schedule import iso_time
    from eventflow_local.eventsources.eventbridge.delivery import aws_event

    stored = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": args.detail_type,
        "source": args.source,
        "time": iso_time(),
        "region": args.region,
        "resources": [],
        "detail": _json_object(args.detail, "--detail"),
    }
    return json.loads(json.dumps(aws_event(stored, LOCAL_ACCOUNT), default=_number))


def sqs_receive_message(args: argparse.Namespace) -> dict[str, Any]:
    """What the SQS poller (``eventsources/sqs/``) sends for one ``ReceiveMessage`` message."""
    from eventflow_local.eventsources.sqs.records import sqs_record

    now = str(int(datetime.now(UTC).timestamp() * 1000))
    message = {
        "MessageId": str(uuid.uuid4()),
        "ReceiptHandle": secrets.token_urlsafe(48),
        "Body": args.body,
        "MD5OfBody": hashlib.md5(args.body.encode(), usedforsecurity=False).hexdigest(),
        "Attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": now,
            "SenderId": "AIDAEVENTFLOWLOCAL",
            "ApproximateFirstReceiveTimestamp": now,
        },
    }
    arn = f"arn:aws:sqs:{args.region}:{LOCAL_ACCOUNT}:{args.queue_name}"
    return {"Records": [sqs_record(message, arn, args.region)]}


def sns_notification(args: argparse.Namespace) -> dict[str, Any]:
    """What an SNS subscription (``eventsources/sns/delivery.py``) sends a function."""
    from eventflow_local.events.schedule import iso_time
    from eventflow_local.eventsources.sns.delivery import lambda_event
    from eventflow_local.eventsources.sns.subscriptions import SubscriptionSpec

    topic_arn = f"arn:aws:sns:{args.region}:{LOCAL_ACCOUNT}:{args.topic}"
    spec = SubscriptionSpec(
        logical_id="Subscription",
        arn=f"{topic_arn}:{uuid.uuid4()}",
        topic_arn=topic_arn,
        protocol="lambda",
        endpoint=f"arn:aws:lambda:{args.region}:{LOCAL_ACCOUNT}:function:example",
        raw=False,
        policy=None,
        fifo_topic=False,
    )
    envelope = {
        "MessageId": str(uuid.uuid4()),
        "TopicArn": topic_arn,
        "Subject": args.subject,
        "Message": args.message,
        "Timestamp": iso_time().replace("Z", ".000Z"),
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        "SigningCertURL": f"https://sns.{args.region}.amazonaws.com/SimpleNotificationService.pem",
    }
    return lambda_event(envelope, spec, args.region)


def kinesis_get_records(args: argparse.Namespace) -> dict[str, Any]:
    """What the Kinesis poller (``eventsources/kinesis/``) sends for one ``GetRecords`` record."""
    from eventflow_local.eventsources.kinesis.records import kinesis_event

    record = {
        "Data": args.data.encode(),
        "PartitionKey": args.partition_key,
        "SequenceNumber": args.sequence,
        "ApproximateArrivalTimestamp": datetime.now(UTC),
    }
    return kinesis_event(
        [("shardId-000000000000", record)],
        stream_arn=f"arn:aws:kinesis:{args.region}:{LOCAL_ACCOUNT}:stream/{args.stream}",
        region=args.region,
        role_arn=f"arn:aws:iam::{LOCAL_ACCOUNT}:role/example-role",
    )


def s3_notification(args: argparse.Namespace) -> dict[str, Any]:
    """What a bucket's notification (``eventsources/s3/delivery.py``) sends a function."""
    from eventflow_local.eventsources.s3.delivery import encode_key, s3_event
    from eventflow_local.eventsources.s3.plan import BucketNotifications, NotificationSpec

    put = args.sample_event == "put"
    name = "ObjectCreated:Put" if put else "ObjectRemoved:Delete"
    # S3's record carries the key URL-encoded; s3_event decodes it and writes it as S3 does
    obj: dict[str, Any] = {"key": encode_key(args.key), "size": 1024 if put else 0}
    if put:
        obj["eTag"] = "0123456789abcdef0123456789abcdef"
    record = {
        "awsRegion": args.region,
        "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "eventName": name,
        "s3": {"object": obj},
    }
    bucket = BucketNotifications(
        bucket="Bucket", name=args.bucket, arn=f"arn:aws:s3:::{args.bucket}"
    )
    spec = NotificationSpec(
        bucket="Bucket", kind="lambda", target="", event=f"s3:{name}", configuration_id="example"
    )
    return s3_event(record, spec, bucket, f"{secrets.randbits(64):016X}")


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(type(value).__name__)
