"""Outbox relay: DynamoDB stream of the outbox table -> Kafka transactions topic.

Each new outbox item is published with key = accountId (one account's events stay in order on
one partition), value = the event payload, and headers ``eventId`` / ``eventType``. All records
of the invocation are sent, flushed, and their acknowledgements checked before returning; any
failure raises, so the stream retries the batch (at-least-once; consumers dedupe on eventId).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from eventflow.fraud.adapters.outbox import outbox_messages
from eventflow.fraud.settings import FraudSettings
from eventflow.kafka.producer import KafkaPublisher
from eventflow.observability import logger, metrics

SETTINGS = FraudSettings.from_env()


@cache
def publisher() -> KafkaPublisher:
    return KafkaPublisher()


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    messages = outbox_messages(event, SETTINGS.transactions_topic)
    sent = publisher().publish(messages) if messages else 0
    metrics.add_metric(name="OutboxEventsPublished", unit="Count", value=sent)
    logger.info(
        "outbox relayed", extra={"published": sent, "records": len(event.get("Records", []))}
    )
    return {"published": sent}
