"""The outbox relay's adapter of the outbox table: its stream records become Kafka messages.

Outbox: pk ``eventId``; its stream (NEW_IMAGE) feeds the relay; TTL ``expiresAt``. The items are
written inside the transaction that marks a transaction as fraud
(``eventflow.fraud.adapters.transactions.outbox_item``, kept there so that marking fraud imports
nothing of Kafka); the relay reads the stream records' low-level images through the model
(:class:`~eventflow.fraud.adapters.tables.Outbox`).
"""

from __future__ import annotations

from typing import Any

from eventflow import tables
from eventflow.fraud.adapters.tables import Outbox
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
