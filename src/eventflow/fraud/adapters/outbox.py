"""Turn DynamoDB stream records of the outbox table into Kafka messages."""

from __future__ import annotations

from typing import Any

from eventflow import tables
from eventflow.fraud.tables import Outbox
from eventflow.kafka.producer import Message


def outbox_messages(event: dict[str, Any], topic: str) -> list[Message]:
    """INSERT records become messages, in stream order; MODIFY/REMOVE (TTL expiry) are ignored."""
    messages = []
    for record in event.get("Records", []):
        if record.get("eventName") != "INSERT":
            continue
        image = record.get("dynamodb", {}).get("NewImage")
        if not image:
            raise ValueError(
                "outbox stream record has no NewImage: set StreamViewType to NEW_IMAGE"
            )
        row = tables.from_item(Outbox, image)
        messages.append(
            Message.json(
                topic=topic,
                key=row.account_id,
                payload=row.payload.as_dict(),
                headers={"eventId": row.event_id, "eventType": row.event_type},
            )
        )
    return messages
