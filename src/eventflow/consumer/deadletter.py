"""Dead-letter store for records that can never be processed.

Each parked record keeps what a user needs to understand and replay it: reason, message,
topic, partition, offset, timestamp, raw key/value (base64) and headers, the function that
failed it and when. The item id is ``topic-partition@offset`` so a redelivered batch overwrites
rather than duplicates. Values larger than ``MAX_VALUE_BYTES`` are truncated (the item limit of
DynamoDB is 400 KB) with their size and SHA-256 kept; a null value (a tombstone) is kept as
``valueNull``. A parked record can be redriven once (``eventflow.consumer.redrive``): the item then
carries ``redrivenAt`` and ``redrivenBy``, written with a condition so a second redrive cannot
publish twice.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from eventflow import ddb, tables
from eventflow.aws import dynamodb_client, transient_errors
from eventflow.clock import epoch_s, now_iso
from eventflow.consumer.tables import DEAD_LETTER_LIST_KEY, DeadLetters
from eventflow.kafka.events import KafkaRecord

MAX_VALUE_BYTES = 64 * 1024
RETENTION_S = 14 * 24 * 3600


class DeadLetterItem(BaseModel):
    """A parked record as ``GET /dead-letters`` returns it (key/value/headers base64)."""

    id: str
    failedAt: str
    reason: str
    message: str
    function: str
    topic: str
    partition: int
    offset: int
    timestamp: int
    key: str | None = None
    value: str
    valueSize: int
    valueTruncated: bool
    valueSha256: str
    headers: list[dict[str, str]]
    expiresAt: int
    valueNull: bool = False
    redrivenAt: str | None = None
    redrivenBy: str | None = None


@dataclass(frozen=True)
class DeadLetter:
    record: KafkaRecord
    reason: str
    message: str

    def to_item(self, function_name: str) -> dict[str, Any]:
        rec = self.record
        value = rec.value or b""
        truncated = len(value) > MAX_VALUE_BYTES
        return {
            "id": rec.ref,
            "listKey": DEAD_LETTER_LIST_KEY,
            "failedAt": now_iso(),
            "reason": self.reason,
            "message": self.message[:2000],
            "function": function_name,
            "topic": rec.topic,
            "partition": rec.partition,
            "offset": rec.offset,
            "timestamp": rec.timestamp,
            "key": base64.b64encode(rec.key).decode() if rec.key is not None else None,
            "value": base64.b64encode(value[:MAX_VALUE_BYTES]).decode(),
            "valueSize": len(value),
            "valueTruncated": truncated,
            "valueSha256": hashlib.sha256(value).hexdigest(),
            "valueNull": rec.value is None,
            "headers": [{"name": n, "value": base64.b64encode(v).decode()} for n, v in rec.headers],
            "expiresAt": epoch_s() + RETENTION_S,
        }


class DeadLetterStore:
    def __init__(self, table: str, client: Any = None, function_name: str | None = None) -> None:
        self.table = tables.bind(DeadLetters, table).Meta.table_name
        self.client = client or dynamodb_client()
        self.function_name = function_name or os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")

    def park(self, letters: Sequence[DeadLetter]) -> None:
        """Write all letters (BatchWriteItem, 25 a request, unprocessed items retried)."""
        requests = [
            {"PutRequest": {"Item": tables.item(DeadLetters, dl.to_item(self.function_name))}}
            for dl in letters
        ]
        # one id may repeat within a batch only if the same record is parked twice: keep the last
        unique = {r["PutRequest"]["Item"]["id"]["S"]: r for r in requests}
        pending = list(unique.values())
        with transient_errors():
            while pending:
                chunk, pending = pending[:25], pending[25:]
                for _ in range(8):
                    resp = self.client.batch_write_item(RequestItems={self.table: chunk})
                    chunk = resp.get("UnprocessedItems", {}).get(self.table, [])
                    if not chunk:
                        break
                else:
                    from eventflow.errors import TransientError

                    raise TransientError("dead-letter writes stayed unprocessed after 8 attempts")

    def get(self, letter_id: str) -> dict[str, Any] | None:
        with transient_errors():
            resp = self.client.get_item(
                TableName=self.table, Key={"id": {"S": letter_id}}, ConsistentRead=True
            )
        item = resp.get("Item")
        if not item:
            return None
        out = ddb.from_item(item)
        out.pop("listKey", None)
        return out

    def claim_redrive(self, letter_id: str, at: str, by: str) -> bool:
        """Mark the letter redriven (at, by) unless it already is; False when it already was."""
        from botocore.exceptions import ClientError

        try:
            with transient_errors():
                self.client.update_item(
                    TableName=self.table,
                    Key={"id": {"S": letter_id}},
                    UpdateExpression="SET redrivenAt = :at, redrivenBy = :by",
                    ConditionExpression="attribute_exists(id) AND attribute_not_exists(redrivenAt)",
                    ExpressionAttributeValues={":at": {"S": at}, ":by": {"S": by}},
                )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_redrive(self, letter_id: str, at: str) -> None:
        """Undo this caller's claim (the publish failed), so the letter can be redriven again."""
        from botocore.exceptions import ClientError

        try:
            with transient_errors():
                self.client.update_item(
                    TableName=self.table,
                    Key={"id": {"S": letter_id}},
                    UpdateExpression="REMOVE redrivenAt, redrivenBy",
                    ConditionExpression="redrivenAt = :at",
                    ExpressionAttributeValues={":at": {"S": at}},
                )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def list(
        self, limit: int = 50, start: dict[str, Any] | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "byFailedAt",
            "KeyConditionExpression": "listKey = :k",
            "ExpressionAttributeValues": {":k": {"S": DEAD_LETTER_LIST_KEY}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start:
            ddb.check_page_token(start, {"id", "listKey", "failedAt"})
            kwargs["ExclusiveStartKey"] = ddb.to_item(start)
        with transient_errors():
            resp = self.client.query(**kwargs)
        items = [ddb.from_item(i) for i in resp.get("Items", [])]
        for item in items:
            item.pop("listKey", None)
        last = resp.get("LastEvaluatedKey")
        return items, (ddb.from_item(last) if last else None)
