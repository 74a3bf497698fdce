"""Settings read once from the environment.

A missing or malformed variable raises :class:`ConfigurationError` naming it, at import time of
the handler (cold start), not halfway through an invocation.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_TRANSACTIONS_TOPIC = "transaction-service-topic"
DEFAULT_QUAKES_TOPIC = "earthquake-service-topic"
DEFAULT_ALERTS_TOPIC = "earthquake-alerts-topic"


class ConfigurationError(RuntimeError):
    """A required environment variable is missing or has a bad value."""


def _env(environ: Mapping[str, str], name: str, default: str | None = None) -> str:
    value = environ.get(name, default)
    if value is None or value.strip() == "":
        raise ConfigurationError(f"environment variable {name} is required but not set")
    return value.strip()


def _env_int(environ: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(
            f"environment variable {name} must be an integer, got {raw!r}"
        ) from None
    if value < minimum:
        raise ConfigurationError(f"environment variable {name} must be >= {minimum}, got {value}")
    return value


def _env_float(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigurationError(
            f"environment variable {name} must be a number, got {raw!r}"
        ) from None


KAFKA_AUTH_MODES = ("NONE", "IAM", "SCRAM")
KAFKA_COMPRESSIONS = ("none", "gzip", "snappy", "lz4", "zstd")


@dataclass(frozen=True)
class KafkaSettings:
    """How producers reach the cluster.

    ``KAFKA_BOOTSTRAP_SERVERS``  comma-separated host:port list (required to publish)
    ``KAFKA_AUTH``               NONE (plaintext, local) | IAM (MSK IAM, SASL/OAUTHBEARER over TLS)
                                 | SCRAM (SASL/SCRAM-SHA-512 over TLS; secret in KAFKA_SCRAM_SECRET_ARN)
    ``KAFKA_CLIENT_ID``          client id shown in broker logs
    ``KAFKA_COMPRESSION``        none (default) | gzip | snappy | lz4 | zstd: the producer's codec
                                 (Lambda's Kafka poller, the Java client, reads every one of them)
    """

    bootstrap_servers: str
    auth: str
    client_id: str
    scram_secret_arn: str | None
    region: str
    compression: str = "none"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KafkaSettings:
        env = os.environ if environ is None else environ
        auth = env.get("KAFKA_AUTH", "NONE").strip().upper() or "NONE"
        if auth not in KAFKA_AUTH_MODES:
            raise ConfigurationError(
                f"environment variable KAFKA_AUTH must be one of {', '.join(KAFKA_AUTH_MODES)}, got {auth!r}"
            )
        scram = env.get("KAFKA_SCRAM_SECRET_ARN") or None
        if auth == "SCRAM" and not scram:
            raise ConfigurationError(
                "environment variable KAFKA_SCRAM_SECRET_ARN is required when KAFKA_AUTH=SCRAM"
            )
        compression = (env.get("KAFKA_COMPRESSION") or "none").strip().lower() or "none"
        if compression not in KAFKA_COMPRESSIONS:
            raise ConfigurationError(
                f"environment variable KAFKA_COMPRESSION must be one of "
                f"{', '.join(KAFKA_COMPRESSIONS)}, got {compression!r}"
            )
        return cls(
            bootstrap_servers=_env(env, "KAFKA_BOOTSTRAP_SERVERS"),
            auth=auth,
            compression=compression,
            client_id=env.get("KAFKA_CLIENT_ID", "eventflow") or "eventflow",
            scram_secret_arn=scram,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        )


@lru_cache(maxsize=1)
def kafka_settings() -> KafkaSettings:
    return KafkaSettings.from_env()


def env_float(name: str, default: float, environ: Mapping[str, str] | None = None) -> float:
    return _env_float(os.environ if environ is None else environ, name, default)


def env_int(
    name: str, default: int, environ: Mapping[str, str] | None = None, minimum: int = 0
) -> int:
    return _env_int(os.environ if environ is None else environ, name, default, minimum)


def env_str(name: str, default: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    return _env(os.environ if environ is None else environ, name, default)
