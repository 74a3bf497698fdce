"""Kafka producer adapter: the only code that publishes.

One producer per process, reused across invocations as Lambda reuses the execution environment.
Settings: acks=all, idempotence on, bounded timeouts so a dead broker fails the invocation (and
the event source retries) instead of hanging until the function's timeout.

Compression (``KAFKA_COMPRESSION``): none (default), gzip, snappy, lz4 or zstd, applied to every
batch; Lambda's Kafka poller reads each of them.

Misconfiguration is named, not waited out: before the first connection ``preflight.check_listener``
checks that a broker of ``KAFKA_BOOTSTRAP_SERVERS`` speaks what ``KAFKA_AUTH`` expects (plaintext or
TLS), and the producer never asks the cluster to create a topic, so a topic parameter that names
no topic fails the send within ``max_block_ms`` with the topic and the setting named, instead of
creating a topic nobody reads. Each of those raises ``KafkaSetupError`` (a ``TransientError``).

Authentication (``KAFKA_AUTH``): NONE for local/plaintext clusters; IAM for MSK IAM access control
(SASL/OAUTHBEARER tokens from ``aws-msk-iam-sasl-signer-python``); SCRAM for SASL/SCRAM-SHA-512
with the credentials in the Secrets Manager secret ``KAFKA_SCRAM_SECRET_ARN``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from eventflow.config import KafkaSettings, kafka_settings
from eventflow.errors import TransientError
from eventflow.kafka.preflight import KafkaSetupError, check_listener
from eventflow.observability import logger

# one encoder for every message: json.dumps with non-default options builds a new one per call
_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Message:
    topic: str
    value: bytes | None  # None: a tombstone
    key: bytes | None = None
    headers: Sequence[tuple[str, bytes]] = field(default_factory=tuple)

    @classmethod
    def json(
        cls, topic: str, key: str | None, payload: Any, headers: dict[str, str] | None = None
    ) -> Message:
        return cls(
            topic=topic,
            key=key.encode() if key is not None else None,
            value=_JSON.encode(payload).encode(),
            headers=tuple((k, v.encode()) for k, v in (headers or {}).items()),
        )


class _MskIamTokenProvider:
    """kafka-python token provider backed by the MSK IAM signer (imported only when used)."""

    def __init__(self, region: str) -> None:
        self.region = region

    def token(self) -> str:
        from aws_msk_iam_sasl_signer import MSKAuthTokenProvider

        token, _expiry_ms = MSKAuthTokenProvider.generate_auth_token(self.region)
        return str(token)

    def extensions(self) -> dict[str, str]:
        return {}


@lru_cache(maxsize=65_536)
def _key_hash(key: bytes) -> int:
    from kafka.partitioner.default import murmur2

    return int(murmur2(key)) & 0x7FFFFFFF


def key_partitioner() -> Any:
    """kafka-python's default partitioner with the key's murmur2 hash computed once per key.

    Keys repeat (an account, a region), and the pure-Python murmur2 is one of the larger costs
    of a send. The partition is the one the default partitioner (and Java's) picks:
    ``murmur2(key) & 0x7fffffff`` modulo the number of partitions, over the sorted partitions.
    """
    from kafka.partitioner.default import DefaultPartitioner

    class KeyHashPartitioner(DefaultPartitioner):
        def partition(
            self,
            topic: str,
            key: Any,
            serialized_key: bytes | None,
            value: Any,
            serialized_value: bytes | None,
            cluster: Any,
        ) -> int:
            partitions = cluster.partitions_for_topic(topic) if serialized_key else None
            if not partitions or serialized_key is None:
                return int(
                    super().partition(topic, key, serialized_key, value, serialized_value, cluster)
                )
            ordered = sorted(partitions)
            return int(ordered[_key_hash(bytes(serialized_key)) % len(ordered)])

    return KeyHashPartitioner()


def _auth_config(settings: KafkaSettings) -> dict[str, Any]:
    if settings.auth == "IAM":
        return {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "OAUTHBEARER",
            "sasl_oauth_token_provider": _MskIamTokenProvider(settings.region),
        }
    if settings.auth == "SCRAM":
        import boto3

        secret = boto3.client("secretsmanager", region_name=settings.region).get_secret_value(
            SecretId=settings.scram_secret_arn
        )
        creds = json.loads(secret["SecretString"])
        return {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": creds["username"],
            "sasl_plain_password": creds["password"],
        }
    return {"security_protocol": "PLAINTEXT"}


#: the setting that names each topic, for the message of a topic the cluster does not have
TOPIC_SETTINGS = {
    "TRANSACTIONS_TOPIC": "TransactionsTopic",
    "QUAKES_TOPIC": "QuakesTopic",
    "ALERTS_TOPIC": "AlertsTopic",
}


def topic_setting(topic: str, environ: Any = None) -> str:
    """``TRANSACTIONS_TOPIC (template parameter TransactionsTopic)`` for the variable naming ``topic``."""
    import os

    env = os.environ if environ is None else environ
    for variable, parameter in TOPIC_SETTINGS.items():
        if env.get(variable) == topic:
            return f"{variable} (template parameter {parameter})"
    return "the topic setting (" + ", ".join(TOPIC_SETTINGS) + ")"


def build_producer(settings: KafkaSettings, *, preflight: bool = True, **overrides: Any) -> Any:
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    if preflight:
        check_listener(settings.bootstrap_servers, settings.auth)
    config: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers.split(","),
        "client_id": settings.client_id,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "batch_size": 256 * 1024,
        "max_request_size": 4 * 1024 * 1024,
        "request_timeout_ms": 10_000,
        "delivery_timeout_ms": 20_000,
        "max_block_ms": 10_000,
        "bootstrap_timeout_ms": 10_000,
        "reconnect_backoff_max_ms": 1_000,
        "partitioner": key_partitioner(),
        "compression_type": None if settings.compression == "none" else settings.compression,
        "allow_auto_create_topics": False,
        **_auth_config(settings),
        **overrides,
    }
    try:
        return KafkaProducer(**config)
    except (AssertionError, ValueError) as exc:  # kafka-python's check of the codec's library
        raise KafkaSetupError(
            f"KAFKA_COMPRESSION={settings.compression}: {exc} (install the codec's package or "
            "choose another codec: none, gzip, snappy, lz4, zstd)"
        ) from exc
    except KafkaError as exc:
        raise KafkaSetupError(
            f"no Kafka broker answered at KAFKA_BOOTSTRAP_SERVERS={settings.bootstrap_servers} "
            f"(KAFKA_AUTH={settings.auth}): {exc!r}"
        ) from exc


def _explain_send_failure(producer: Any, topic: str, exc: Exception, bootstrap: str) -> str:
    """Why a send could not even start: a topic the cluster lacks, or no broker at all."""
    from kafka.errors import KafkaTimeoutError, TopicAuthorizationFailedError

    if isinstance(exc, TopicAuthorizationFailedError):
        return (
            f"the cluster refuses writes to topic {topic!r}: grant the function's role "
            "kafka-cluster:WriteData and DescribeTopic on it (MSK IAM), or the ACL, or fix "
            f"{topic_setting(topic)}"
        )
    metadata = getattr(producer, "_metadata", None)
    brokers = metadata.brokers() if metadata is not None else set()
    if isinstance(exc, KafkaTimeoutError) and brokers:
        return (
            f"topic {topic!r} does not exist on the cluster at {bootstrap} (this producer never "
            f"creates topics): create it, or fix {topic_setting(topic)}"
        )
    return (
        f"Kafka publish failed for topic {topic!r}: {exc!r} (KAFKA_BOOTSTRAP_SERVERS={bootstrap})"
    )


class KafkaPublisher:
    """Publish messages and wait until the cluster has acknowledged every one of them."""

    def __init__(
        self, settings: KafkaSettings | None = None, producer: Any = None, **overrides: Any
    ) -> None:
        self._settings = settings
        self._producer = producer
        self._overrides = overrides
        self._lock = threading.Lock()

    @property
    def producer(self) -> Any:
        with self._lock:
            if self._producer is None:
                self._producer = build_producer(
                    self._settings or kafka_settings(), **self._overrides
                )
            return self._producer

    def _bootstrap(self) -> str:
        try:
            return (self._settings or kafka_settings()).bootstrap_servers
        except Exception:  # only for a message: a producer handed in may have no settings
            return "?"

    def publish(self, messages: Iterable[Message], timeout_s: float = 20.0) -> int:
        """Send all, flush, and check every delivery. Raise :class:`TransientError` if any failed.

        Returns the number of acknowledged messages. On failure the producer is discarded so the
        next invocation reconnects from scratch.
        """
        from kafka.errors import KafkaError, KafkaTimeoutError, TopicAuthorizationFailedError

        producer = self.producer
        futures = []
        try:
            for msg in messages:
                try:
                    future = producer.send(
                        msg.topic, key=msg.key, value=msg.value, headers=list(msg.headers)
                    )
                except (KafkaTimeoutError, TopicAuthorizationFailedError) as exc:
                    reason = _explain_send_failure(producer, msg.topic, exc, self._bootstrap())
                    self.reset()
                    raise KafkaSetupError(reason) from exc
                futures.append(future)
            producer.flush(timeout=timeout_s)
            for fut in futures:
                fut.get(timeout=timeout_s)
        except (KafkaError, OSError) as exc:
            self.reset()
            raise TransientError(
                f"Kafka publish failed after {len(futures)} sends: {exc!r}"
            ) from exc
        return len(futures)

    def reset(self) -> None:
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=1)
            except Exception:  # closing a broken producer must not mask the real error
                logger.debug("producer close failed", exc_info=True)
