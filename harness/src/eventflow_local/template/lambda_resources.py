"""Plain CloudFormation Lambda resources, read as the SAM forms the harness already runs.

Many SAM templates mix in plain CloudFormation: an ``AWS::Lambda::Function`` next to the
``AWS::Serverless::Function`` ones, or an ``AWS::Lambda::EventSourceMapping`` instead of an event
on the function. SAM itself turns its own forms into exactly these resources
(https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-specification-generated-resources.html),
so reading them back into SAM's property names lets one code path start every function and every
event source:

- ``AWS::Lambda::Function``
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-lambda-function.html):
  ``Code`` as a local path (what ``sam deploy`` / ``aws cloudformation package`` upload) becomes
  ``CodeUri``; ``Code.ZipFile`` becomes ``InlineCode``; ``Code.S3Bucket``/``S3Key`` becomes an S3
  ``CodeUri`` (named at start-up, not started: nothing here can fetch it); ``Code.ImageUri`` a
  container image. Handler, Runtime, Timeout, MemorySize, Environment, Layers,
  ReservedConcurrentExecutions, FunctionName keep their names.
- ``AWS::Lambda::EventSourceMapping``
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-lambda-eventsourcemapping.html):
  an event on the function its ``FunctionName`` names (a name, an ARN, ``!Ref`` or ``!GetAtt .Arn``),
  typed from its source as SAM types events: an MSK cluster ARN -> ``MSK`` (``Stream``),
  ``SelfManagedEventSource.Endpoints.KafkaBootstrapServers`` -> ``SelfManagedKafka``, a DynamoDB
  stream ARN -> ``DynamoDB``, Kinesis -> ``Kinesis``, SQS -> ``SQS`` (``Queue``), Amazon MQ ->
  ``MQ``, DocumentDB -> ``DocumentDB``. The Kafka configs' ``ConsumerGroupId`` becomes the event's
  ``ConsumerGroupId``; every other property is kept as given.
"""

from __future__ import annotations

from typing import Any

_ARN_TYPES = (
    (":kafka:", "MSK", "Stream"),
    (":dynamodb:", "DynamoDB", "Stream"),
    (":kinesis:", "Kinesis", "Stream"),
    (":sqs:", "SQS", "Queue"),
    (":mq:", "MQ", "Broker"),
    (":rds:", "DocumentDB", "Cluster"),
    (":docdb", "DocumentDB", "Cluster"),
)


def lambda_function_as_sam(props: dict[str, Any]) -> dict[str, Any]:
    """The properties of an ``AWS::Lambda::Function`` under SAM's names."""
    out = {k: v for k, v in props.items() if k != "Code"}
    code = props.get("Code")
    if isinstance(code, str):
        out["CodeUri"] = code
    elif isinstance(code, dict):
        if "ZipFile" in code:
            out["InlineCode"] = code["ZipFile"]
        elif "ImageUri" in code:
            out["ImageUri"] = code["ImageUri"]
            out.setdefault("PackageType", "Image")
        elif "S3Bucket" in code or "S3Key" in code:
            out["CodeUri"] = {
                "Bucket": code.get("S3Bucket"),
                "Key": code.get("S3Key"),
                **({"Version": code["S3ObjectVersion"]} if "S3ObjectVersion" in code else {}),
            }
    return out


def target_function_name(value: Any) -> str:
    """The function name in a mapping's ``FunctionName``: a name, a (partial) ARN, ``name:alias``."""
    parts = str(value).split(":")
    if "function" in parts:
        index = parts.index("function")
        if index + 1 < len(parts):
            return parts[index + 1]
    return parts[0]


def mapping_event(props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The SAM event type and properties an ``AWS::Lambda::EventSourceMapping`` stands for."""
    out = {k: v for k, v in props.items() if k not in ("FunctionName", "EventSourceArn")}
    arn = str(props.get("EventSourceArn") or "")
    self_managed = props.get("SelfManagedEventSource")
    for key in ("AmazonManagedKafkaEventSourceConfig", "SelfManagedKafkaEventSourceConfig"):
        config = out.pop(key, None)
        if isinstance(config, dict):
            for name, value in config.items():
                out.setdefault(name, value)
    if isinstance(self_managed, dict):
        out.pop("SelfManagedEventSource")
        endpoints = self_managed.get("Endpoints") or {}
        servers = endpoints.get("KafkaBootstrapServers")
        if servers is not None:
            out["KafkaBootstrapServers"] = servers if isinstance(servers, list) else [servers]
            return "SelfManagedKafka", out
        return "SelfManagedEventSource", out
    if "AmazonManagedKafkaEventSourceConfig" in props:
        out["Stream"] = arn
        return "MSK", out
    for marker, event_type, prop in _ARN_TYPES:
        if marker in arn:
            out[prop] = arn
            return event_type, out
    out["EventSourceArn"] = arn
    return "EventSourceMapping", out
