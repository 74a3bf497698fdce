"""The earthquake consumer's object graph: the ingest use case wired to its adapters.

Handlers build it once per execution environment (``functools.cache``) from
:class:`~eventflow.quakes.settings.QuakeSettings`.
"""

from __future__ import annotations

from typing import Any

from eventflow.consumer.deadletter import DeadLetterStore
from eventflow.consumer.pipeline import MetricNames, Pipeline
from eventflow.quakes.adapters.store import QuakeLedger
from eventflow.quakes.domain.models import Earthquake
from eventflow.quakes.ports import Publisher
from eventflow.quakes.settings import QuakeSettings
from eventflow.quakes.usecases.ingest import QuakeIngestor

QUAKE_CONSUMER_METRICS = MetricNames(
    applied="QuakesStored", duplicates="QuakesDuplicate", dead_letters="QuakesDeadLettered"
)


def quake_ledger(settings: QuakeSettings, client: Any = None) -> QuakeLedger:
    return QuakeLedger(settings.quakes_table, settings.regions_table, settings.alerts_table, client)


def quake_consumer(
    settings: QuakeSettings,
    publisher: Publisher,
    ledger: QuakeLedger | None = None,
    client: Any = None,
) -> Pipeline[Earthquake]:
    """The earthquake consumer: store once, aggregate per region, publish and store alerts."""
    ingestor = QuakeIngestor(
        ledger or quake_ledger(settings, client),
        publisher,
        settings.alerts_topic,
        settings.alert_magnitude,
        retention_s=settings.retention_days * 24 * 3600,
    )
    return Pipeline(
        ingestor, DeadLetterStore(settings.dead_letter_table, client), QUAKE_CONSUMER_METRICS
    )
