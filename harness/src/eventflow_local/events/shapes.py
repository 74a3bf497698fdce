"""Build Lambda events exactly as AWS delivers them: API Gateway REST proxy, Kafka (MSK and
self-managed), DynamoDB stream, and EventBridge Schedule. Used by the harness and the tests."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from eventflow_local.aws import DEFAULT_REGION, LOCAL_ACCOUNT, function_arn, local_msk_arn


# --------------------------------------------------------------------------------- API Gateway
def api_event(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
    query: str | Mapping[str, str | Sequence[str]] | None = None,
    headers: Mapping[str, str] | None = None,
    body: str | bytes | Mapping[str, Any] | list[Any] | None = None,
    stage: str = "v1",
    source_ip: str = "127.0.0.1",
    authorizer: Mapping[str, Any] | None = None,
    identity: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST API (v1) proxy integration event."""
    if isinstance(body, Mapping | list):
        body = json.dumps(body)
        headers = {"Content-Type": "application/json", **(headers or {})}
    is_base64 = False
    if isinstance(body, bytes):
        raw = body
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            body, is_base64 = base64.b64encode(raw).decode(), True
    if isinstance(query, str):
        pairs = parse_qsl(query, keep_blank_values=True)
    elif query:
        pairs = [
            (k, v) for k, vals in query.items() for v in ([vals] if isinstance(vals, str) else vals)
        ]
    else:
        pairs = []
    multi_q: dict[str, list[str]] = {}
    for k, v in pairs:
        multi_q.setdefault(k, []).append(v)
    hdrs = dict(headers or {})
    multi_h = {k: [v] for k, v in hdrs.items()}
    now = datetime.now(UTC)
    request_id = str(uuid.uuid4())
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method.upper(),
        "headers": hdrs or None,
        "multiValueHeaders": multi_h or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_q.items()} or None,
        "multiValueQueryStringParameters": multi_q or None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "local",
            "resourcePath": resource or path,
            "httpMethod": method.upper(),
            "extendedRequestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{stage}{path}",
            "accountId": LOCAL_ACCOUNT,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": "localhost",
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "requestId": request_id,
            "identity": {
                "sourceIp": source_ip,
                "userAgent": hdrs.get("User-Agent", hdrs.get("user-agent", "")),
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "user": None,
                "userArn": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                **(identity or {}),
            },
            "domainName": "localhost",
            "apiId": "local",
            **({"authorizer": dict(authorizer)} if authorizer else {}),
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


# --------------------------------------------------------------------------------- Kafka
def signed_bytes(data: bytes) -> list[int]:
    return [b - 256 if b > 127 else b for b in data]


@dataclass(frozen=True)
class RawRecord:
    """One Kafka record as read from the broker."""

    topic: str
    partition: int
    offset: int
    value: bytes | None
    key: bytes | None = None
    headers: Sequence[tuple[str, bytes]] = field(default_factory=tuple)
    timestamp: int = 0
    timestamp_type: str = "CREATE_TIME"


def kafka_record_json(rec: RawRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "topic": rec.topic,
        "partition": rec.partition,
        "offset": rec.offset,
        "timestamp": rec.timestamp or int(time.time() * 1000),
        "timestampType": rec.timestamp_type,
        "headers": [{name: signed_bytes(val)} for name, val in rec.headers],
    }
    # a null value (a tombstone) leaves ``value`` out, as a null key leaves out ``key``: the
    # events Lambda delivers for tombstones carry no value (aws-powertools/powertools-lambda-
    # typescript issue 5016, "Kafka Consumer fails when consuming tombstone events")
    if rec.value is not None:
        out["value"] = base64.b64encode(rec.value).decode()
    if rec.key is not None:
        out["key"] = base64.b64encode(rec.key).decode()
    return out


def kafka_event(
    records: Iterable[RawRecord],
    *,
    bootstrap_servers: str = "127.0.0.1:9092",
    event_source_arn: str | None = local_msk_arn(),
    self_managed: bool = False,
) -> dict[str, Any]:
    """A Lambda Kafka event; ``self_managed`` gives the SelfManagedKafka shape (no ARN)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        grouped.setdefault(f"{rec.topic}-{rec.partition}", []).append(kafka_record_json(rec))
    event: dict[str, Any] = {
        "eventSource": "SelfManagedKafka" if self_managed else "aws:kafka",
        "bootstrapServers": bootstrap_servers,
        "records": grouped,
    }
    if not self_managed and event_source_arn:
        event["eventSourceArn"] = event_source_arn
    return event


def json_record(
    topic: str,
    partition: int,
    offset: int,
    payload: Any,
    key: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> RawRecord:
    return RawRecord(
        topic=topic,
        partition=partition,
        offset=offset,
        value=json.dumps(payload).encode(),
        key=key.encode() if key is not None else None,
        headers=tuple((k, v.encode()) for k, v in (headers or {}).items()),
    )


# --------------------------------------------------------------------------------- DynamoDB stream
def dynamodb_stream_event(records: Iterable[Mapping[str, Any]], stream_arn: str) -> dict[str, Any]:
    """Records as returned by GetRecords, wrapped as Lambda delivers them."""
    out = []
    for rec in records:
        out.append(
            {
                "eventID": rec.get("eventID", uuid.uuid4().hex),
                "eventName": rec["eventName"],
                "eventVersion": rec.get("eventVersion", "1.1"),
                "eventSource": "aws:dynamodb",
                "awsRegion": rec.get("awsRegion", "us-east-1"),
                "dynamodb": _jsonable(rec["dynamodb"]),
                "eventSourceARN": stream_arn,
            }
        )
    return {"Records": out}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    return value


# --------------------------------------------------------------------------------- Schedule
def schedule_event(rule_arn: str, region: str = DEFAULT_REGION) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": LOCAL_ACCOUNT,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


# --------------------------------------------------------------------------------- context
class LambdaContext:
    """What Lambda passes as ``context``, with a real deadline."""

    def __init__(
        self,
        function_name: str,
        timeout_s: int = 3,
        memory_mb: int = 128,
        region: str = DEFAULT_REGION,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function_arn(function_name, region)
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"local/{self.aws_request_id}"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
