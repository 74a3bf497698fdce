"""The fraud functions' object graphs: use cases wired to their DynamoDB and Kafka adapters.

Handlers build them once per execution environment (``functools.cache``) from
:class:`~eventflow.fraud.settings.FraudSettings`.
"""

from __future__ import annotations

from eventflow.consumer.deadletter import DeadLetterStore
from eventflow.consumer.pipeline import MetricNames, Pipeline
from eventflow.fraud.adapters.ledger import FraudLedger
from eventflow.fraud.domain.models import FraudEvent
from eventflow.fraud.settings import FraudSettings
from eventflow.fraud.usecases.counter import FraudCounter

ACCOUNT_CONSUMER_METRICS = MetricNames(
    applied="FraudEventsCounted",
    duplicates="FraudEventsDuplicate",
    dead_letters="FraudEventsDeadLettered",
)


def account_consumer(settings: FraudSettings, client: object = None) -> Pipeline[FraudEvent]:
    """The account consumer: Kafka fraud events -> each account's tally, exactly once."""
    counter = FraudCounter(FraudLedger(settings.accounts_table, client), settings.block_threshold)
    return Pipeline(
        counter, DeadLetterStore(settings.dead_letter_table, client), ACCOUNT_CONSUMER_METRICS
    )
