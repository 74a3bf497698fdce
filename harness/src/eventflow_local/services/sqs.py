"""The template's ``AWS::SQS::Queue`` resources, created in the embedded moto server.

CloudFormation creates each queue with its properties ("AWS::SQS::Queue" in the CloudFormation
reference, https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sqs-queue.html):
``QueueName`` (else the name CloudFormation generates, ``<stack>-<LogicalId>-<suffix>``, with
``.fifo`` for a FIFO queue: ``template/cfn_values.py`` computes it), ``FifoQueue``,
``ContentBasedDeduplication``, ``DeduplicationScope``, ``FifoThroughputLimit``,
``VisibilityTimeout``, ``MessageRetentionPeriod``, ``DelaySeconds``, ``MaximumMessageSize``,
``ReceiveMessageWaitTimeSeconds``, ``RedrivePolicy`` (its ``deadLetterTargetArn`` names another
queue, which CloudFormation creates first) and ``RedriveAllowPolicy``. ``!Ref Queue`` is its URL;
``!GetAtt Queue.Arn``, ``.QueueName`` and ``.QueueUrl`` are the emulator's values, so a function
that calls ``sqs.send_message(QueueUrl=os.environ["QUEUE_URL"])`` reaches the queue through
``AWS_ENDPOINT_URL``.

The moto server keeps its data in memory: a restarted harness creates the queues again, empty
(their names and ARNs are the same; their URLs carry the server's port).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from eventflow_local.template.sam import SamTemplate

QUEUE_TYPE = "AWS::SQS::Queue"
#: template property -> SQS attribute, for the attributes passed as they are
_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def queue_attributes(props: Mapping[str, Any]) -> dict[str, str]:
    """The ``CreateQueue`` attributes of a queue's (resolved) template properties."""
    attrs = {name: _text(props[name]) for name in _ATTRIBUTES if name in props}
    for flag in ("FifoQueue", "ContentBasedDeduplication"):
        if str(props.get(flag, "")).lower() == "true":
            attrs[flag] = "true"
    for policy in ("RedrivePolicy", "RedriveAllowPolicy"):
        if props.get(policy):
            value = props[policy]
            attrs[policy] = value if isinstance(value, str) else json.dumps(value)
    return attrs


def _dead_letter_target(props: Mapping[str, Any]) -> str | None:
    policy = props.get("RedrivePolicy")
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return None
    return str(policy.get("deadLetterTargetArn")) if isinstance(policy, Mapping) else None


def creation_order(queues: Mapping[str, Mapping[str, Any]], arns: Mapping[str, str]) -> list[str]:
    """Logical ids with every dead-letter queue before the queues that name it."""
    by_arn = {arn: lid for lid, arn in arns.items()}
    order: list[str] = []

    def visit(lid: str, path: tuple[str, ...]) -> None:
        if lid in order or lid in path:
            return
        target = by_arn.get(_dead_letter_target(queues[lid]) or "")
        if target is not None:
            visit(target, (*path, lid))
        order.append(lid)

    for lid in queues:
        visit(lid, ())
    return order


def ensure_queues(
    template: SamTemplate, endpoint: Any
) -> tuple[dict[str, dict[str, str]], list[str], list[str]]:
    """Create (or reuse) every queue of ``template`` on ``endpoint`` (a ``DynamoEndpoint`` whose
    ``services_url`` serves SQS). Returns logical id -> ``{"Ref": url, "Arn", "QueueName",
    "QueueUrl"}``, the "not emulated" lines (queues on an endpoint that serves no SQS), and the
    refused lines (a queue SQS refuses: CloudFormation would not create it either)."""
    declared = template.resources_of(QUEUE_TYPE)
    if not declared:
        return {}, [], []
    if not endpoint.emulates_services:
        return (
            {},
            [
                f"{lid}: {QUEUE_TYPE} is created only on the embedded moto server or LocalStack, "
                f"not on {endpoint.url}"
                for lid in declared
            ],
            [],
        )
    client = endpoint.client("sqs")
    props = {lid: template.properties(lid) for lid in declared}
    names = {lid: str(template.get_att(lid, "QueueName")) for lid in declared}
    # the ARN CloudFormation would give: a RedrivePolicy in the template resolved to it
    arns = {lid: str(template.get_att(lid, "Arn")) for lid in declared}
    out: dict[str, dict[str, str]] = {}
    refused: list[str] = []
    real_arn: dict[str, str] = {}
    for lid in creation_order(props, arns):
        attrs = queue_attributes(props[lid])
        target = _dead_letter_target(props[lid])
        if target and "RedrivePolicy" in attrs:
            policy = json.loads(attrs["RedrivePolicy"])
            policy["deadLetterTargetArn"] = real_arn.get(target, target)
            attrs["RedrivePolicy"] = json.dumps(policy)
        try:
            url = client.create_queue(QueueName=names[lid], Attributes=attrs)["QueueUrl"]
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") not in ("QueueAlreadyExists", "QueueNameExists"):
                refused.append(f"{lid}: {error.get('Code')}: {error.get('Message')}")
                continue
            url = client.get_queue_url(QueueName=names[lid])["QueueUrl"]
            client.set_queue_attributes(QueueUrl=url, Attributes=attrs)
        arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        real_arn[arns[lid]] = arn
        out[lid] = {"Ref": url, "Arn": arn, "QueueName": names[lid], "QueueUrl": url}
    return out, [], refused
