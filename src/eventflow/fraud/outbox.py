"""Turn DynamoDB stream records of the outbox table into Kafka messages."""

from __future__ import annotations

from typing import Any

from eventflow import ddb
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
        item = ddb.from_item(image)
        messages.append(
            Message.json(
                topic=topic,
                key=item["accountId"],
                payload=item["payload"],
                headers={"eventId": item["eventId"], "eventType": item["eventType"]},
            )
        )
    return messages
