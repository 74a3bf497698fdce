"""The console's queues: the template's SQS queues with their message counts, and "send a
message" to a queue.

``GET /_console/api/queues`` lists each ``AWS::SQS::Queue`` of the template with what
``GetQueueAttributes`` says of it
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueAttributes.html:
"ApproximateNumberOfMessages" visible, "ApproximateNumberOfMessagesNotVisible" in flight,
"ApproximateNumberOfMessagesDelayed"), its dead-letter queue (``RedrivePolicy``) with that
queue's visible count, the queues it is the dead-letter queue of, and the functions whose SQS
event source mapping reads it (nothing is received: looking takes no message from a queue);
beside them, each ``AWS::SNS::Topic`` with the subscriptions the harness delivers
(``console/sns_view.py``).

``POST /_console/api/queues/<logical id or name>/messages`` sends one message
(``{"body", "attributes": {name: string}, "groupId", "deduplicationId", "delaySeconds"}``), as
``SendMessage`` would; like producing to a Kafka topic, it needs the local token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol

from eventflow_local.apigw.local_token import check as check_auth
from eventflow_local.console import sns_view
from eventflow_local.eventsources.sqs.poller import SqsEventSource
from eventflow_local.httpserver import read_body

Reply = tuple[int, dict[str, Any]]
#: SendMessage's limit on a message's size
MAX_MESSAGE_BYTES = 256 * 1024
_COUNTS = {
    "visible": "ApproximateNumberOfMessages",
    "inFlight": "ApproximateNumberOfMessagesNotVisible",
    "delayed": "ApproximateNumberOfMessagesDelayed",
}


class ServicesStack(Protocol):
    """What this view reads of the running stack (``stack.Stack`` is one)."""

    @property
    def queues(self) -> Mapping[str, Mapping[str, str]]: ...
    @property
    def sources(self) -> list[Any]: ...
    @property
    def api_token(self) -> str: ...
    @property
    def template(self) -> Any: ...
    @property
    def dynamo(self) -> Any: ...


def _client(stack: ServicesStack, service: str) -> Any:
    if stack.dynamo is None or not stack.dynamo.emulates_services:
        raise LookupError("no emulated services on this stack")
    return stack.dynamo.client(service)


def queue_rows(stack: ServicesStack) -> list[dict[str, Any]]:
    """Each queue of the template with its counts and dead-letter queue."""
    if not stack.queues:
        return []
    sqs = _client(stack, "sqs")
    by_arn = {str(q["Arn"]): lid for lid, q in stack.queues.items()}
    pollers = [s for s in list(stack.sources) if isinstance(s, SqsEventSource)]
    rows: dict[str, dict[str, Any]] = {}
    for lid, queue in stack.queues.items():
        attrs = sqs.get_queue_attributes(QueueUrl=queue["QueueUrl"], AttributeNames=["All"])[
            "Attributes"
        ]
        row: dict[str, Any] = {
            "logicalId": lid,
            "name": queue["QueueName"],
            "url": queue["QueueUrl"],
            "arn": queue["Arn"],
            "fifo": attrs.get("FifoQueue") == "true",
            **{key: int(attrs.get(name, 0)) for key, name in _COUNTS.items()},
            "deadLetterQueue": None,
            "deadLetterOf": [],
            "consumers": [p.function_name for p in pollers if p.queue_url == queue["QueueUrl"]],
        }
        policy = attrs.get("RedrivePolicy")
        if policy:
            dead_letter = json.loads(policy)
            row["deadLetterQueue"] = {
                "logicalId": by_arn.get(str(dead_letter.get("deadLetterTargetArn"))),
                "arn": dead_letter.get("deadLetterTargetArn"),
                "maxReceiveCount": int(dead_letter.get("maxReceiveCount", 0)),
            }
        rows[lid] = row
    for row in rows.values():
        dlq = row["deadLetterQueue"]
        if dlq and dlq["logicalId"] in rows:
            target = rows[dlq["logicalId"]]
            dlq["visible"] = target["visible"]
            target["deadLetterOf"].append(row["logicalId"])
    return list(rows.values())


def listing(stack: ServicesStack) -> Reply:
    """``GET /_console/api/queues``."""
    return 200, {"queues": queue_rows(stack), "topics": sns_view.topic_rows(stack)}


def _queue(stack: ServicesStack, name: str) -> Mapping[str, str] | None:
    if name in stack.queues:
        return stack.queues[name]
    return next((q for q in stack.queues.values() if q["QueueName"] == name), None)


def send_request(req: BaseHTTPRequestHandler, stack: ServicesStack, name: str) -> Reply:
    """``POST /_console/api/queues/<logical id or name>/messages``, with the local token."""
    if int(req.headers.get("Content-Length") or 0) > 2 * MAX_MESSAGE_BYTES:
        read_body(req)
        return 413, {"message": f"a message is at most {MAX_MESSAGE_BYTES} bytes"}
    raw = read_body(req)
    denied = check_auth(dict(req.headers.items()), stack.api_token)
    if denied is not None:
        return denied[0], {"message": denied[1]}
    queue = _queue(stack, name)
    if queue is None:
        return 404, {"message": f"no queue {name} in the template"}
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        return 400, {"message": f"the body is not JSON: {exc}"}
    problem = _problem(body)
    if problem:
        return 400, {"message": problem}
    kwargs: dict[str, Any] = {"QueueUrl": queue["QueueUrl"], "MessageBody": body["body"]}
    attributes = body.get("attributes") or {}
    if attributes:
        kwargs["MessageAttributes"] = {
            k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()
        }
    if queue["QueueName"].endswith(".fifo"):
        kwargs["MessageGroupId"] = body.get("groupId") or "console"
        if body.get("deduplicationId"):
            kwargs["MessageDeduplicationId"] = body["deduplicationId"]
    if body.get("delaySeconds") is not None:
        kwargs["DelaySeconds"] = body["delaySeconds"]
    from botocore.exceptions import ClientError

    try:
        sent = _client(stack, "sqs").send_message(**kwargs)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        return 400, {"message": f"{error.get('Code')}: {error.get('Message')}"}
    return 201, {
        "queue": queue["QueueName"],
        "messageId": sent["MessageId"],
        "md5OfBody": sent.get("MD5OfMessageBody"),
    }


def _problem(body: Any) -> str | None:
    """What is wrong with a send request's body, in one line (None: nothing)."""
    if not isinstance(body, dict) or not isinstance(body.get("body"), str) or not body["body"]:
        return 'send {"body": "...", "attributes": {"name": "value"}}: body is a non-empty string'
    if len(body["body"].encode()) > MAX_MESSAGE_BYTES:
        return f"a message is at most {MAX_MESSAGE_BYTES} bytes"
    attributes = body.get("attributes") or {}
    if not isinstance(attributes, dict) or not all(isinstance(v, str) for v in attributes.values()):
        return "attributes must be an object of strings"
    delay = body.get("delaySeconds")
    if delay is not None and (not isinstance(delay, int) or not 0 <= delay <= 900):
        return "delaySeconds must be a number from 0 to 900"
    return None
