"""Dead-letter store for records that can never be processed.

Each parked record keeps what a user needs to understand and replay it: reason, message,
topic, partition, offset, timestamp, raw key/value (base64) and headers, the function that
failed it and when. The item id is ``topic-partition@offset`` so a redelivered batch overwrites
rather than duplicates. Values larger than ``MAX_VALUE_BYTES`` are truncated (the item limit of
DynamoDB is 400 KB) with their size and SHA-256 kept; a null value (a tombstone) is kept as
``valueNull``. A parked record can be redriven once (``eventflow.consumer.redrive``): the item then
carries ``redrivenAt`` and ``redrivenBy``, written with a condition so a second redrive cannot
publish twice.

The store takes :class:`DeadLetter` (a record and why) and returns :class:`DeadLetterItem`
(what is parked); ``letter_item`` / ``letter_of`` are the one conversion each way, built from the
model (``eventflow.consumer.tables``).
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

from eventflow import ddb, tables
from eventflow.aws import dynamodb_client, error_code, transient_errors
from eventflow.clock import epoch_s, now_iso
from eventflow.consumer.tables import (
    DEAD_LETTER_LIST_KEY,
    DeadLetters,
    DeadLettersByFailedAt,
    Header,
)
from eventflow.errors import TransientError
from eventflow.kafka.events import KafkaRecord

MAX_VALUE_BYTES = 64 * 1024
RETENTION_S = 14 * 24 * 3600


class DeadLetterItem(BaseModel):
    """A parked record, as the store returns it and ``GET /dead-letters`` shows it (key, value
    and header values base64)."""

    model_config = ConfigDict(frozen=True)

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
    """A record to park, and why."""

    record: KafkaRecord
    reason: str
    message: str


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def letter_item(letter: DeadLetter, function_name: str) -> dict[str, Any]:
    """The item parking ``letter``: its raw bytes base64, the value cut at ``MAX_VALUE_BYTES``."""
    rec = letter.record
    value = rec.value or b""
    return tables.item(
        DeadLetters,
        tables.named(
            DeadLetters,
            id=rec.ref,
            failed_at=now_iso(),
            reason=letter.reason,
            message=letter.message[:2000],
            function=function_name,
            topic=rec.topic,
            partition=rec.partition,
            offset=rec.offset,
            timestamp=rec.timestamp,
            key=_b64(rec.key) if rec.key is not None else None,
            value=_b64(value[:MAX_VALUE_BYTES]),
            value_size=len(value),
            value_truncated=len(value) > MAX_VALUE_BYTES,
            value_sha256=hashlib.sha256(value).hexdigest(),
            value_null=rec.value is None,
            headers=[tables.named(Header, name=n, value=_b64(v)) for n, v in rec.headers],
            expires_at=epoch_s() + RETENTION_S,
        ),
    )


def letter_of(item: Mapping[str, Any]) -> DeadLetterItem:
    """The parked record in a low-level item."""
    row = tables.from_item(DeadLetters, item)
    return DeadLetterItem(
        id=row.id,
        failedAt=row.failed_at,
        reason=row.reason,
        message=row.message,
        function=row.function,
        topic=row.topic,
        partition=int(row.partition),
        offset=int(row.offset),
        timestamp=int(row.timestamp),
        key=row.key,
        value=row.value,
        valueSize=int(row.value_size),
        valueTruncated=bool(row.value_truncated),
        valueSha256=row.value_sha256,
        headers=[{"name": h.name, "value": h.value} for h in row.headers or ()],
        expiresAt=int(row.expires_at.timestamp()),
        valueNull=bool(row.value_null),
        redrivenAt=row.redriven_at,
        redrivenBy=row.redriven_by,
    )


_D = DeadLetters


class DeadLetterStore:
    def __init__(self, table: str, client: Any = None, function_name: str | None = None) -> None:
        self.table = table
        self.client = client or dynamodb_client()
        self.function_name = function_name or os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")

    def _key(self, letter_id: str) -> dict[str, Any]:
        return {tables.name(_D.id): {"S": letter_id}}

    def park(self, letters: Sequence[DeadLetter]) -> None:
        """Write all letters (BatchWriteItem, 25 a request, unprocessed items retried)."""
        items = [letter_item(dl, self.function_name) for dl in letters]
        # one id may repeat within a batch only if the same record is parked twice: keep the last
        unique = {i[tables.name(_D.id)]["S"]: {"PutRequest": {"Item": i}} for i in items}
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
                    raise TransientError("dead-letter writes stayed unprocessed after 8 attempts")

    def get(self, letter_id: str) -> DeadLetterItem | None:
        with transient_errors():
            resp = self.client.get_item(
                TableName=self.table, Key=self._key(letter_id), ConsistentRead=True
            )
        item = resp.get("Item")
        return letter_of(item) if item else None

    def claim_redrive(self, letter_id: str, at: str, by: str) -> bool:
        """Mark the letter redriven (at, by) unless it already is; False when it already was."""
        try:
            with transient_errors():
                self.client.update_item(
                    TableName=self.table,
                    Key=self._key(letter_id),
                    UpdateExpression="SET #at = :at, #by = :by",
                    ConditionExpression="attribute_exists(#id) AND attribute_not_exists(#at)",
                    ExpressionAttributeNames={
                        "#id": tables.name(_D.id),
                        "#at": tables.name(_D.redriven_at),
                        "#by": tables.name(_D.redriven_by),
                    },
                    ExpressionAttributeValues={":at": {"S": at}, ":by": {"S": by}},
                )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_redrive(self, letter_id: str, at: str) -> None:
        """Undo this caller's claim (the publish failed), so the letter can be redriven again."""
        try:
            with transient_errors():
                self.client.update_item(
                    TableName=self.table,
                    Key=self._key(letter_id),
                    UpdateExpression="REMOVE #at, #by",
                    ConditionExpression="#at = :at",
                    ExpressionAttributeNames={
                        "#at": tables.name(_D.redriven_at),
                        "#by": tables.name(_D.redriven_by),
                    },
                    ExpressionAttributeValues={":at": {"S": at}},
                )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise

    def list(
        self, limit: int = 50, start: dict[str, Any] | None = None
    ) -> tuple[list[DeadLetterItem], dict[str, Any] | None]:
        """Parked records, newest first, and the key of the next page (None: the last page)."""
        index = DeadLettersByFailedAt
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": index.Meta.index_name,
            "KeyConditionExpression": "#k = :k",
            "ExpressionAttributeNames": {"#k": tables.name(index.list_key)},
            "ExpressionAttributeValues": {":k": {"S": DEAD_LETTER_LIST_KEY}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start:
            key_names = {tables.name(_D.id), tables.name(index.list_key)}
            ddb.check_page_token(start, key_names | {tables.name(index.failed_at)})
            kwargs["ExclusiveStartKey"] = ddb.to_item(start)
        with transient_errors():
            resp = self.client.query(**kwargs)
        last = resp.get("LastEvaluatedKey")
        return [letter_of(i) for i in resp.get("Items", [])], (
            ddb.from_item(last) if last else None
        )
