"""The console's SNS topics: each ``AWS::SNS::Topic`` of the template with the subscriptions the
harness delivers, and "publish a message" to one.

``GET /_console/api/sns/topics`` lists each topic (logical id, name, ARN, FIFO or not, content-based
deduplication) with its subscriptions: protocol (``lambda`` or ``sqs``), endpoint (the function's
logical id or the queue's name, and its ARN), filter policy and its scope, raw delivery, and what
the harness delivered and filtered out (``eventsources/sns/delivery.py``). The path is not
``/api/topics``: that one lists the Kafka topics.

``POST /_console/api/sns/topics/<logical id or name>/messages`` publishes one message as SNS's
``Publish`` does (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html), on the embedded
emulator, so that every subscription gets it as it would from any publisher:
``{"message", "subject"?, "attributes"?: {name: string or number}, "groupId"?,
"deduplicationId"?}`` -> 201 ``{"topic", "topicArn", "messageId", "sequenceNumber"?}``.
``message`` is required (at most 256 KiB); ``subject`` is at most 100 characters without line
breaks; an attribute is a ``String`` or, given as a number, a ``Number``
("Amazon SNS message attributes"). A FIFO topic needs a message group (the console's is
``console`` when none is given) and, unless the topic has content-based deduplication, a
``deduplicationId``; only a FIFO topic takes a deduplication id. Like sending to a queue, it
needs the local token.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from eventflow_local.console.sending import (
    Refused,
    Reply,
    answering,
    authorized_body,
    emulator_client,
    json_object,
    text_field,
)

TOPIC_TYPE = "AWS::SNS::Topic"
#: Publish's limit on a message (and the attributes with it)
MAX_MESSAGE_BYTES = 256 * 1024
MAX_SUBJECT = 100
USAGE = '{"message": "...", "subject": "...", "attributes": {"name": "value"}}'


def _policy(props: dict[str, Any]) -> Any:
    """The subscription's filter policy as JSON (a template may give it as text)."""
    policy = props.get("FilterPolicy")
    if isinstance(policy, str):
        try:
            return json.loads(policy)
        except ValueError:
            return policy
    return policy or None


def subscription_row(source: Any) -> dict[str, Any]:
    spec = source.spec
    policy = _policy(spec.properties)
    return {
        "logicalId": spec.logical_id,
        "arn": spec.arn,
        "protocol": spec.protocol,
        "endpoint": spec.function or spec.endpoint.rsplit(":", 1)[-1],
        "endpointArn": spec.endpoint,
        "filterPolicy": policy,
        "filterPolicyScope": (spec.properties.get("FilterPolicyScope") or "MessageAttributes")
        if policy is not None
        else None,
        "raw": spec.raw,
        "stats": dict(getattr(source, "stats", {})),
    }


def topic_rows(stack: Any) -> list[dict[str, Any]]:
    """Each topic of the template with the subscriptions the harness delivers."""
    template = stack.template
    if template is None:
        return []
    subscriptions: dict[str, list[dict[str, Any]]] = {}
    for source in list(stack.sources):
        spec = getattr(source, "spec", None)
        if spec is None or not hasattr(spec, "topic_arn") or not hasattr(spec, "protocol"):
            continue
        subscriptions.setdefault(spec.topic_arn, []).append(subscription_row(source))
    out = []
    for lid in template.resources_of(TOPIC_TYPE):
        arn = str(template.ref(lid))
        props = template.properties(lid)
        out.append(
            {
                "logicalId": lid,
                "name": arn.rsplit(":", 1)[-1],
                "arn": arn,
                "fifo": str(props.get("FifoTopic")).lower() == "true",
                "contentBasedDeduplication": str(props.get("ContentBasedDeduplication")).lower()
                == "true",
                "subscriptions": subscriptions.get(arn, []),
            }
        )
    return out


def listing(stack: Any) -> Reply:
    """``GET /_console/api/sns/topics``."""
    return 200, {"topics": topic_rows(stack)}


def _topic(stack: Any, name: str) -> dict[str, Any]:
    for row in topic_rows(stack):
        if name in (row["logicalId"], row["name"], row["arn"]):
            return row
    raise Refused(404, f"no SNS topic {name} in the template")


def _attributes(body: dict[str, Any]) -> dict[str, dict[str, str]]:
    attributes = body.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise Refused(400, "attributes: an object of strings or numbers")
    out = {}
    for name, value in attributes.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise Refused(400, f"attributes.{name}: a string or a number")
        kind = "String" if isinstance(value, str) else "Number"
        out[str(name)] = {"DataType": kind, "StringValue": str(value)}
    return out


@answering
def publish_request(req: BaseHTTPRequestHandler, stack: Any, name: str) -> Reply:
    """``POST /_console/api/sns/topics/<logical id or name>/messages``, with the local token."""
    raw = authorized_body(req, stack.api_token, 2 * MAX_MESSAGE_BYTES)
    topic = _topic(stack, name)
    body = json_object(raw, USAGE)
    message = text_field(body, "message", required=True, most=MAX_MESSAGE_BYTES)
    kwargs: dict[str, Any] = {"TopicArn": topic["arn"], "Message": message}
    subject = text_field(body, "subject", required=False, most=MAX_SUBJECT)
    if subject is not None:
        if any(c in subject for c in "\r\n") or len(subject) > MAX_SUBJECT:
            raise Refused(400, f"subject: at most {MAX_SUBJECT} characters, without line breaks")
        kwargs["Subject"] = subject
    attributes = _attributes(body)
    if attributes:
        kwargs["MessageAttributes"] = attributes
    group = text_field(body, "groupId", required=False, most=128)
    dedup = text_field(body, "deduplicationId", required=False, most=128)
    if topic["fifo"]:
        kwargs["MessageGroupId"] = group or "console"
    elif group:
        kwargs["MessageGroupId"] = group
    if dedup and not topic["fifo"]:
        raise Refused(400, f"deduplicationId: only a FIFO topic takes one, not {topic['name']}")
    if dedup:
        kwargs["MessageDeduplicationId"] = dedup
    sent = emulator_client(stack, "sns").publish(**kwargs)
    answer = {"topic": topic["name"], "topicArn": topic["arn"], "messageId": sent["MessageId"]}
    if sent.get("SequenceNumber"):
        answer["sequenceNumber"] = sent["SequenceNumber"]
    return 201, answer
