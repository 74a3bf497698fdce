"""The template's ``AWS::Kinesis::Stream`` resources, created in the embedded moto server.

CloudFormation creates each stream with its properties ("AWS::Kinesis::Stream" in the
CloudFormation reference,
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-kinesis-stream.html):
``Name`` (else the name CloudFormation generates, ``<stack>-<LogicalId>-<suffix>``:
``template/cfn_values.py`` computes it), ``ShardCount`` (1 when neither it nor an on-demand
``StreamModeDetails`` is given, as CloudFormation defaults it), ``StreamModeDetails``
(``PROVISIONED`` | ``ON_DEMAND``) and ``RetentionPeriodHours``. ``!Ref Stream`` is its name and
``!GetAtt Stream.Arn`` the emulator's ARN, so a function calling
``kinesis.put_record(StreamName=os.environ["STREAM"], ...)`` reaches it through
``AWS_ENDPOINT_URL``. ``StreamEncryption`` and ``Tags`` are not emulated (named at start-up).

The moto server keeps its data in memory: a restarted harness creates the streams again, empty
(their names and ARNs are the same).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from eventflow_local.template.sam import SamTemplate

STREAM_TYPE = "AWS::Kinesis::Stream"
_NOT_EMULATED = ("StreamEncryption", "Tags", "DesiredShardLevelMetrics")


def create_request(name: str, props: Mapping[str, Any]) -> dict[str, Any]:
    """``CreateStream``'s arguments for a stream's (resolved) template properties."""
    request: dict[str, Any] = {"StreamName": name}
    mode = props.get("StreamModeDetails") or {}
    on_demand = isinstance(mode, Mapping) and mode.get("StreamMode") == "ON_DEMAND"
    if on_demand:
        request["StreamModeDetails"] = {"StreamMode": "ON_DEMAND"}
    else:
        request["ShardCount"] = int(props.get("ShardCount", 1))
    return request


def ensure_streams(
    template: SamTemplate, endpoint: Any
) -> tuple[dict[str, dict[str, str]], list[str], list[str]]:
    """Create (or reuse) every stream of ``template`` on ``endpoint`` (a ``DynamoEndpoint``).
    Returns logical id -> ``{"Ref": name, "Arn"}``, the "not emulated" lines and the refused
    lines (a stream Kinesis refuses: CloudFormation would not create it either)."""
    declared = template.resources_of(STREAM_TYPE)
    if not declared:
        return {}, [], []
    if not endpoint.emulates_services:
        return (
            {},
            [
                f"{lid}: {STREAM_TYPE} is created only on the embedded moto server or LocalStack, "
                f"not on {endpoint.url}"
                for lid in declared
            ],
            [],
        )
    client = endpoint.client("kinesis")
    out: dict[str, dict[str, str]] = {}
    skipped: list[str] = []
    refused: list[str] = []
    for lid in declared:
        props = template.properties(lid)
        name = str(template.ref(lid))
        try:
            request = create_request(name, props)
        except (TypeError, ValueError):
            refused.append(f"{lid}: ShardCount {props.get('ShardCount')!r} is not an integer")
            continue
        try:
            client.create_stream(**request)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") != "ResourceInUseException":
                refused.append(f"{lid}: {error.get('Code')}: {error.get('Message')}")
                continue
        hours = props.get("RetentionPeriodHours")
        if hours is not None and int(hours) > 24:
            client.increase_stream_retention_period(
                StreamName=name, RetentionPeriodHours=int(hours)
            )
        summary = client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        out[lid] = {"Ref": name, "Arn": summary["StreamARN"]}
        skipped.extend(
            f"{lid}.{prop}: not emulated (the local stream keeps its records unencrypted, "
            "without tags or shard-level metrics)"
            for prop in _NOT_EMULATED
            if props.get(prop)
        )
    return out, skipped, refused
