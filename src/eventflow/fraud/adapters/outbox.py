"""The outbox table's adapter: the item an event is written as (inside the transaction that marks
a transaction as fraud, ``eventflow.fraud.adapters.transactions``) and the Kafka messages its
stream records become (the outbox relay).

Outbox: pk ``eventId``; its stream (NEW_IMAGE) feeds the relay; TTL ``expiresAt``. The relay's
path stays on the stream records' low-level images, read through the model
(:class:`~eventflow.fraud.adapters.tables.Outbox`).
"""

from __future__ import annotations

from typing import Any

from eventflow import tables
from eventflow.fraud.adapters.tables import Outbox
from eventflow.fraud.domain.models import OutboxEvent
from eventflow.kafka.producer import Message


def outbox_item(event: OutboxEvent) -> dict[str, Any]:
    """The event's low-level item."""
    return tables.item(
        Outbox,
        tables.named(
            Outbox,
            event_id=event.event_id,
            event_type=event.event_type,
            account_id=event.account_id,
            transaction_id=event.transaction_id,
            payload=event.payload,
            created_at=event.created_at,
            expires_at=event.expires_at,
        ),
    )


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
