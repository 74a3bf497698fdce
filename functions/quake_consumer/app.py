"""Earthquake consumer: Kafka (MSK / self-managed) event source on the earthquake topic.

Stores each event once per id, keeps per-region aggregates, raises an alert (stored, and
published to the alerts topic with key = region) for magnitude >= ``QUAKE_ALERT_MAGNITUDE``,
parks malformed records on the dead-letter table and reports transient failures as a partial
batch response so only what must be retried is retried (``eventflow.consumer``,
``eventflow.quakes.usecases.ingest``).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from eventflow.consumer.pipeline import Pipeline
from eventflow.kafka.producer import KafkaPublisher
from eventflow.observability import logger, metrics
from eventflow.quakes.ports import Publisher
from eventflow.quakes.settings import QuakeSettings
from eventflow.quakes.wiring import quake_consumer

SETTINGS = QuakeSettings.from_env()


@cache
def publisher() -> Publisher:
    return KafkaPublisher()


@cache
def pipeline() -> Pipeline[Any]:
    return quake_consumer(SETTINGS, publisher())


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return pipeline().handle(event)
