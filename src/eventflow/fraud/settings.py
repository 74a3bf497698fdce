"""Settings of the fraud functions, read once from the environment (cold start).

A missing table variable raises :class:`~eventflow.config.ConfigurationError` naming it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from eventflow.config import DEFAULT_TRANSACTIONS_TOPIC, env_int, env_str


@dataclass(frozen=True)
class FraudSettings:
    """Settings of the fraud functions (all of them set by template.yaml's Globals).

    ``ACCOUNTS_TABLE``, ``TRANSACTIONS_TABLE``, ``OUTBOX_TABLE``, ``DEAD_LETTER_TABLE``  required
    ``TRANSACTIONS_TOPIC``     the relay's topic (default ``transaction-service-topic``)
    ``FRAUD_BLOCK_THRESHOLD``  distinct fraud events that block an account (default 3)
    """

    accounts_table: str
    transactions_table: str
    outbox_table: str
    dead_letter_table: str
    transactions_topic: str
    block_threshold: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FraudSettings:
        env = os.environ if environ is None else environ
        return cls(
            accounts_table=env_str("ACCOUNTS_TABLE", environ=env),
            transactions_table=env_str("TRANSACTIONS_TABLE", environ=env),
            outbox_table=env_str("OUTBOX_TABLE", environ=env),
            dead_letter_table=env_str("DEAD_LETTER_TABLE", environ=env),
            transactions_topic=env_str("TRANSACTIONS_TOPIC", DEFAULT_TRANSACTIONS_TOPIC, env),
            block_threshold=env_int("FRAUD_BLOCK_THRESHOLD", 3, env, minimum=1),
        )
