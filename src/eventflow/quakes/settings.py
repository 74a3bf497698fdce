"""Settings of the earthquake functions, read once from the environment.

``QUAKE_STREAM_TABLE``     stream state and emitter lease (one item)
``QUAKES_TABLE``           the events, stored once per id
``QUAKE_REGIONS_TABLE``    per-region aggregates
``QUAKE_ALERTS_TABLE``     alert records
``DEAD_LETTER_TABLE``      records the consumer could never process
``QUAKES_TOPIC``           the stream's topic (default ``earthquake-service-topic``)
``ALERTS_TOPIC``           where alerts are published (default ``earthquake-alerts-topic``)
``QUAKE_ALERT_MAGNITUDE``  alert threshold, magnitude >= it raises an alert (default 6.0)
``QUAKE_SELF_INVOKE``      ``lambda``: start invokes the emitter asynchronously at once;
                           ``none``: only the schedule runs the emitter (local harness)
``QUAKE_RETENTION_DAYS``   how long stored events and alerts are kept (TTL, default 30)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from eventflow.config import (
    DEFAULT_ALERTS_TOPIC,
    DEFAULT_QUAKES_TOPIC,
    ConfigurationError,
    env_float,
    env_int,
    env_str,
)

SELF_INVOKE_MODES = ("lambda", "none")


@dataclass(frozen=True)
class QuakeSettings:
    stream_table: str
    quakes_table: str
    regions_table: str
    alerts_table: str
    dead_letter_table: str
    quakes_topic: str
    alerts_topic: str
    alert_magnitude: float
    self_invoke: str
    retention_days: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> QuakeSettings:
        env = os.environ if environ is None else environ
        threshold = env_float("QUAKE_ALERT_MAGNITUDE", 6.0, env)
        if not 0 <= threshold <= 10:
            raise ConfigurationError(
                f"environment variable QUAKE_ALERT_MAGNITUDE must be between 0 and 10, got {threshold}"
            )
        self_invoke = env.get("QUAKE_SELF_INVOKE", "lambda").strip().lower() or "lambda"
        if self_invoke not in SELF_INVOKE_MODES:
            raise ConfigurationError(
                "environment variable QUAKE_SELF_INVOKE must be one of "
                f"{', '.join(SELF_INVOKE_MODES)}, got {self_invoke!r}"
            )
        return cls(
            stream_table=env_str("QUAKE_STREAM_TABLE", environ=env),
            quakes_table=env_str("QUAKES_TABLE", environ=env),
            regions_table=env_str("QUAKE_REGIONS_TABLE", environ=env),
            alerts_table=env_str("QUAKE_ALERTS_TABLE", environ=env),
            dead_letter_table=env_str("DEAD_LETTER_TABLE", environ=env),
            quakes_topic=env_str("QUAKES_TOPIC", DEFAULT_QUAKES_TOPIC, env),
            alerts_topic=env_str("ALERTS_TOPIC", DEFAULT_ALERTS_TOPIC, env),
            alert_magnitude=threshold,
            self_invoke=self_invoke,
            retention_days=env_int("QUAKE_RETENTION_DAYS", 30, env, minimum=1),
        )
