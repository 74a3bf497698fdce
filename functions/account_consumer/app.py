"""Account consumer: Kafka (MSK / self-managed) event source on the transactions topic.

Counts each fraud event once per ``eventId``, blocks the account at the threshold (default 3),
parks permanent failures (malformed, wrong schema, unknown account) on the dead-letter table and
reports transient failures as a partial batch response so only what must be retried is retried.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from eventflow.config import fraud_settings
from eventflow.fraud.counter import FraudCounter, require_progress
from eventflow.fraud.store import FraudLedger
from eventflow.kafka.deadletter import DeadLetterStore
from eventflow.kafka.events import batch_item_failures, parse_kafka_event
from eventflow.kafka.records import park_and_log
from eventflow.observability import logger, metrics

SETTINGS = fraud_settings()


@cache
def counter() -> FraudCounter:
    ledger = FraudLedger(SETTINGS.accounts_table, SETTINGS.processed_events_table)
    return FraudCounter(ledger, SETTINGS.block_threshold)


@cache
def dead_letters() -> DeadLetterStore:
    return DeadLetterStore(SETTINGS.dead_letter_table)


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    batch = parse_kafka_event(event)
    result = counter().process(list(batch.records))
    park_and_log(dead_letters(), result.dead_letters)
    for account_id in result.blocked_accounts:
        logger.info("account blocked", extra={"accountId": account_id})
    metrics.add_metric(name="FraudEventsCounted", unit="Count", value=len(result.counted))
    metrics.add_metric(name="FraudEventsDuplicate", unit="Count", value=len(result.duplicates))
    metrics.add_metric(name="FraudEventsDeadLettered", unit="Count", value=len(result.dead_letters))
    metrics.add_metric(name="AccountsBlocked", unit="Count", value=len(result.blocked_accounts))
    require_progress(result)
    if result.retry:
        logger.warning(
            "records left for retry",
            extra={"count": len(result.retry), "reasons": result.transient_reasons[:5]},
        )
    return batch_item_failures(result.retry)
