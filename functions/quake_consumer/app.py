"""Earthquake consumer: Kafka (MSK / self-managed) event source on the earthquake topic.

Stores each event once per id, keeps per-region aggregates, raises an alert (stored, and
published to the alerts topic with key = region) for magnitude >= ``QUAKE_ALERT_MAGNITUDE``,
parks malformed records on the dead-letter table and reports transient failures as a partial
batch response so only what must be retried is retried.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from eventflow.kafka.deadletter import DeadLetterStore
from eventflow.kafka.events import batch_item_failures, parse_kafka_event
from eventflow.kafka.producer import KafkaPublisher
from eventflow.kafka.records import park_and_log
from eventflow.observability import logger, metrics
from eventflow.quakes.ingest import QuakeIngestor, require_progress
from eventflow.quakes.ports import Publisher
from eventflow.quakes.settings import QuakeSettings
from eventflow.quakes.store import QuakeLedger

SETTINGS = QuakeSettings.from_env()


@cache
def publisher() -> Publisher:
    return KafkaPublisher()


@cache
def ingestor() -> QuakeIngestor:
    ledger = QuakeLedger(SETTINGS.quakes_table, SETTINGS.regions_table, SETTINGS.alerts_table)
    return QuakeIngestor(
        ledger,
        publisher(),
        SETTINGS.alerts_topic,
        SETTINGS.alert_magnitude,
        retention_s=SETTINGS.retention_days * 24 * 3600,
    )


@cache
def dead_letters() -> DeadLetterStore:
    return DeadLetterStore(SETTINGS.dead_letter_table)


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    batch = parse_kafka_event(event)
    result = ingestor().process(list(batch.records))
    park_and_log(dead_letters(), result.dead_letters)
    for alert in result.alerts:
        logger.info(
            "earthquake alert",
            extra={
                "eventId": alert["id"],
                "region": alert["region"],
                "magnitude": alert["magnitude"],
            },
        )
    metrics.add_metric(name="QuakesStored", unit="Count", value=len(result.stored))
    metrics.add_metric(name="QuakesDuplicate", unit="Count", value=len(result.duplicates))
    metrics.add_metric(name="QuakesDeadLettered", unit="Count", value=len(result.dead_letters))
    metrics.add_metric(name="QuakeAlertsRaised", unit="Count", value=len(result.alerts))
    require_progress(result)
    if result.retry:
        logger.warning(
            "records left for retry",
            extra={"count": len(result.retry), "reasons": result.transient_reasons[:5]},
        )
    return batch_item_failures(result.retry)
