"""Account consumer: Kafka (MSK / self-managed) event source on the transactions topic.

Counts each fraud event once per ``eventId``, blocks the account at the threshold (default 3),
parks permanent failures (malformed, wrong schema, unknown account) on the dead-letter table and
reports transient failures as a partial batch response so only what must be retried is retried
(``eventflow.consumer``, ``eventflow.fraud.usecases.counter``).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from eventflow.consumer.pipeline import Pipeline
from eventflow.fraud.settings import FraudSettings
from eventflow.fraud.wiring import account_consumer
from eventflow.observability import logger, metrics

SETTINGS = FraudSettings.from_env()


@cache
def pipeline() -> Pipeline[Any]:
    return account_consumer(SETTINGS)


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return pipeline().handle(event)
