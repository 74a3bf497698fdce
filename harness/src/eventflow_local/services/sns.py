"""The template's ``AWS::SNS::Topic`` resources, created in the embedded moto server.

CloudFormation creates each topic with its properties ("AWS::SNS::Topic" in the CloudFormation
reference, https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sns-topic.html):
``TopicName`` (else the name CloudFormation generates, ``<stack>-<LogicalId>-<suffix>``, with
``.fifo`` for a FIFO topic: ``template/cfn_values.py`` computes it), ``FifoTopic``,
``ContentBasedDeduplication``, ``DisplayName``, ``KmsMasterKeyId``, ``SignatureVersion``,
``TracingConfig``. ``!Ref Topic`` and ``!GetAtt Topic.TopicArn`` are the emulator's ARN and
``!GetAtt Topic.TopicName`` its name, so a function that calls
``sns.publish(TopicArn=os.environ["TOPIC"])`` reaches the topic through ``AWS_ENDPOINT_URL``.

The topics' subscriptions (``AWS::SNS::Subscription``, SAM's ``Type: SNS`` events, a topic's
inline ``Subscription`` list) are delivered by the harness (``eventsources/sns/``), not by moto:
moto would invoke a ``lambda`` endpoint through its own Lambda backend, which never reaches the
harness's workers.

The moto server keeps its data in memory: a restarted harness creates the topics again (their
names and ARNs are the same).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from eventflow_local.template.sam import SamTemplate

TOPIC_TYPE = "AWS::SNS::Topic"
_ATTRIBUTES = ("DisplayName", "KmsMasterKeyId", "SignatureVersion", "TracingConfig")


def topic_attributes(props: Mapping[str, Any]) -> dict[str, str]:
    """The ``CreateTopic`` attributes of a topic's (resolved) template properties."""
    attrs = {name: str(props[name]) for name in _ATTRIBUTES if props.get(name) not in (None, "")}
    for flag in ("FifoTopic", "ContentBasedDeduplication"):
        if str(props.get(flag, "")).lower() == "true":
            attrs[flag] = "true"
    return attrs


def ensure_topics(
    template: SamTemplate, endpoint: Any
) -> tuple[dict[str, dict[str, str]], list[str], list[str]]:
    """Create (or reuse: ``CreateTopic`` is idempotent) every topic of ``template`` on
    ``endpoint`` (a ``DynamoEndpoint``). Returns logical id -> ``{"Ref": arn, "TopicArn",
    "TopicName"}``, the "not emulated" lines (topics on an endpoint that serves no SNS) and the
    refused lines (a topic SNS refuses: CloudFormation would not create it either)."""
    declared = template.resources_of(TOPIC_TYPE)
    if not declared:
        return {}, [], []
    if not endpoint.emulates_services:
        return (
            {},
            [
                f"{lid}: {TOPIC_TYPE} is created only on the embedded moto server or LocalStack, "
                f"not on {endpoint.url}"
                for lid in declared
            ],
            [],
        )
    client = endpoint.client("sns")
    out: dict[str, dict[str, str]] = {}
    refused: list[str] = []
    for lid in declared:
        name = str(template.get_att(lid, "TopicName"))
        attrs = topic_attributes(template.properties(lid))
        if name.endswith(".fifo") != ("FifoTopic" in attrs):
            refused.append(
                f"{lid}: a FIFO topic's name ends with .fifo and only a FIFO topic's does "
                f"(TopicName {name!r}, FifoTopic {'FifoTopic' in attrs})"
            )
            continue
        try:
            arn = client.create_topic(Name=name, Attributes=attrs)["TopicArn"]
        except ClientError as exc:
            error = exc.response.get("Error", {})
            refused.append(f"{lid}: {error.get('Code')}: {error.get('Message')}")
            continue
        out[lid] = {"Ref": arn, "TopicArn": arn, "TopicName": name}
    return out, [], refused
