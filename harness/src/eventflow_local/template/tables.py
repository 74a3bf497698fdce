"""DynamoDB tables of a template as ``CreateTable`` arguments, SAM's SimpleTable included.

``AWS::Serverless::SimpleTable`` is created as SAM's transform creates it
(https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-simpletable.html,
``SamSimpleTable`` in samtranslator): one hash key from ``PrimaryKey`` (``Name``, ``Type`` String |
Number | Binary; default ``id`` String), ``ProvisionedThroughput`` if given, else on-demand
(``PAY_PER_REQUEST``); ``SSESpecification``, ``TableName`` and ``PointInTimeRecoverySpecification``
passed through. ``AWS::DynamoDB::Table`` keeps its keys, indexes, stream and billing mode
(CloudFormation's default billing mode is PROVISIONED).
"""

from __future__ import annotations

from typing import Any

KEY_TYPES = {"String": "S", "Number": "N", "Binary": "B"}


def simple_table(props: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The ``AWS::DynamoDB::Table`` properties of a SimpleTable, or SAM's reason to refuse it."""
    key = props.get("PrimaryKey") or {"Name": "id", "Type": "String"}
    if not isinstance(key, dict) or "Name" not in key or "Type" not in key:
        return {}, "PrimaryKey: 'PrimaryKey' is missing required Property 'Name' or 'Type'."
    if key["Type"] not in KEY_TYPES:
        return {}, f"PrimaryKey.Type: Invalid 'Type' \"{key['Type']}\"."
    name = str(key["Name"])
    table: dict[str, Any] = {
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": KEY_TYPES[key["Type"]]}],
        "KeySchema": [{"AttributeName": name, "KeyType": "HASH"}],
    }
    if props.get("ProvisionedThroughput"):
        table["ProvisionedThroughput"] = props["ProvisionedThroughput"]
    else:
        table["BillingMode"] = "PAY_PER_REQUEST"
    for prop in ("SSESpecification", "TableName", "PointInTimeRecoverySpecification"):
        if props.get(prop):
            table[prop] = props[prop]
    return table, None


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
