"""DynamoDB tables of a template as ``CreateTable`` arguments.

Every table is an ``AWS::DynamoDB::Table`` by now (SAM's transform makes one of each
``AWS::Serverless::SimpleTable``); it keeps its keys, indexes, stream and billing mode
(CloudFormation's default billing mode is PROVISIONED).
"""

from __future__ import annotations

from typing import Any


def create_table_kwargs(props: dict[str, Any], table_name: str) -> dict[str, Any]:
    """``CreateTable`` arguments of a table's ``AWS::DynamoDB::Table`` properties."""
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    if kwargs["BillingMode"] == "PROVISIONED":
        throughput = props.get("ProvisionedThroughput") or {}
        kwargs["ProvisionedThroughput"] = {
            "ReadCapacityUnits": int(throughput.get("ReadCapacityUnits", 5)),
            "WriteCapacityUnits": int(throughput.get("WriteCapacityUnits", 5)),
        }
    for prop in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if props.get(prop):
            kwargs[prop] = props[prop]
    stream = props.get("StreamSpecification")
    if stream:
        kwargs["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": stream["StreamViewType"],
        }
    sse = props.get("SSESpecification") or {}
    if sse.get("SSEEnabled") in (True, "true", "True"):
        kwargs["SSESpecification"] = {"Enabled": True} | {
            k: sse[k] for k in ("SSEType", "KMSMasterKeyId") if k in sse
        }
    return kwargs
