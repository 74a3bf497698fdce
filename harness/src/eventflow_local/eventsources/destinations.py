"""OnFailure destinations of event source mappings, emulated locally.

A mapping's ``DestinationConfig.OnFailure.Destination`` is resolved at start-up by
``FailureDestinations.resolve``; unsupported kinds raise ``DestinationError`` right away.

Supported destinations:

* **SQS queue** ``arn:aws:sqs:<region>:<account>:<QueueName>`` - stood in for by a JSON-lines file,
  ``<state_dir>/destinations/<QueueName>.jsonl``: one failure record per line, appended under a
  lock and fsync'd. ``read_queue(name)`` reads it back (tests, CLI).
* **Kafka topic** ``kafka://<topic>`` (the form AWS uses for Kafka on-failure destinations) - the
  failure record is produced as JSON to ``<topic>`` on the mapping's own cluster, keyed with the
  failed record's key. A plain topic name is not accepted: use the ``kafka://`` prefix.
* **MSK cluster ARN** ``arn:aws:kafka:...:cluster/...`` - a Kafka topic destination on that
  cluster; the topic comes from the local setting ``cluster_topics`` (cluster ARN -> topic) or
  ``default_cluster_topic``.

SNS topics and S3 buckets are not emulated.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

try:
    import fcntl
except ImportError:  # pragma: no cover - non-POSIX
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DestinationError",
    "FailureDestination",
    "FailureDestinations",
    "KafkaTopicDestination",
    "SqsFileDestination",
    "read_jsonl",
]

KAFKA_PREFIX = "kafka://"


class DestinationError(ValueError):
    """An OnFailure destination the local harness cannot resolve or reach."""


class FailureDestination(Protocol):
    """Where failure records of one mapping go."""

    arn: str

    def send(self, record: Mapping[str, Any], *, key: bytes | None = None) -> None:
        """Deliver one failure record; raise when it could not be delivered."""
        ...


# ------------------------------------------------------------------------------------ SQS
_FILE_LOCKS: dict[Path, threading.Lock] = {}
_FILE_LOCKS_GUARD = threading.Lock()


def _file_lock(path: Path) -> threading.Lock:
    with _FILE_LOCKS_GUARD:
        return _FILE_LOCKS.setdefault(path, threading.Lock())


def read_jsonl(path: Path | str) -> list[dict[str, Any]]:
    """Every complete JSON line of ``path`` (a missing file reads as empty)."""
    try:
        text = Path(path).read_text("utf-8")
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line being written right now
    return out


class SqsFileDestination:
    """An SQS queue stood in for by an append-only JSON-lines file."""

    def __init__(self, arn: str, queue_name: str, path: Path) -> None:
        self.arn = arn
        self.queue_name = queue_name
        self.path = path

    def send(self, record: Mapping[str, Any], *, key: bytes | None = None) -> None:
        line = (json.dumps(record, separators=(",", ":"), default=str) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _file_lock(self.path), open(self.path, "ab") as fh:
            if fcntl is not None:  # other processes appending to the same queue
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
            finally:
                if fcntl is not None:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def read(self) -> list[dict[str, Any]]:
        return read_jsonl(self.path)

    def __repr__(self) -> str:
        return f"SqsFileDestination({self.queue_name} -> {self.path})"


# ------------------------------------------------------------------------------------ Kafka
class KafkaTopicDestination:
    """Failure records produced as JSON to a Kafka topic (acks=all, flushed per record)."""

    def __init__(
        self,
        arn: str,
        topic: str,
        bootstrap_servers: str,
        producer_config: Mapping[str, Any] | None = None,
        send_timeout: float = 10.0,
    ) -> None:
        self.arn = arn
        self.topic = topic
        self.bootstrap_servers = bootstrap_servers
        self.producer_config = dict(producer_config or {})
        self.send_timeout = send_timeout
        self._producer: Any = None
        self._lock = threading.Lock()

    def _get_producer(self) -> Any:
        with self._lock:
            if self._producer is None:
                from kafka import KafkaProducer

                from eventflow_local.services.broker import ensure_topics

                ensure_topics(self.bootstrap_servers, {self.topic: 1})
                self._producer = KafkaProducer(
                    bootstrap_servers=self.bootstrap_servers,
                    acks="all",
                    max_request_size=16 * 1024 * 1024,
                    client_id="eventflow-local-failure-destination",
                    **self.producer_config,
                )
            return self._producer

    def send(self, record: Mapping[str, Any], *, key: bytes | None = None) -> None:
        value = json.dumps(record, separators=(",", ":"), default=str).encode("utf-8")
        future = self._get_producer().send(self.topic, key=key, value=value)
        future.get(timeout=self.send_timeout)

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                with contextlib.suppress(Exception):
                    self._producer.close(timeout=5)
                self._producer = None

    def __repr__(self) -> str:
        return f"KafkaTopicDestination({self.topic} @ {self.bootstrap_servers})"


# ------------------------------------------------------------------------------------ resolver
class FailureDestinations:
    """Resolves OnFailure destinations and owns what they need (files, producers).

    ``state_dir`` holds the SQS stand-in files. ``cluster_topics`` maps an MSK cluster ARN used as
    a destination to the topic to write to (``default_cluster_topic`` when the ARN is not listed).
    """

    def __init__(
        self,
        state_dir: Path | str,
        *,
        cluster_topics: Mapping[str, str] | None = None,
        default_cluster_topic: str | None = None,
        producer_config: Mapping[str, Any] | None = None,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.cluster_topics = dict(cluster_topics or {})
        self.default_cluster_topic = default_cluster_topic
        self.producer_config = dict(producer_config or {})
        self._kafka: dict[tuple[str, str], KafkaTopicDestination] = {}
        self._lock = threading.Lock()

    @property
    def queue_dir(self) -> Path:
        return self.state_dir / "destinations"

    def queue_path(self, name_or_arn: str) -> Path:
        name = name_or_arn.rsplit(":", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn
        if not name or "/" in name or name in (".", ".."):
            raise DestinationError(f"bad queue name {name_or_arn!r}")
        return self.queue_dir / f"{name}.jsonl"

    def read_queue(self, name_or_arn: str) -> list[dict[str, Any]]:
        """The failure records sent so far to the SQS queue ``name_or_arn`` (oldest first)."""
        return read_jsonl(self.queue_path(name_or_arn))

    def resolve(
        self,
        destination: str,
        *,
        bootstrap_servers: str | None = None,
        source_topics: tuple[str, ...] | list[str] = (),
    ) -> FailureDestination:
        """The destination for ``destination`` (an ARN or ``kafka://topic``).

        ``bootstrap_servers`` is the mapping's cluster (needed by Kafka destinations);
        ``source_topics`` are the mapping's topics, which a Kafka destination may not be.
        """
        if not isinstance(destination, str) or not destination:
            raise DestinationError(
                f"OnFailure destination must be a non-empty string, got {destination!r}"
            )
        if destination.startswith(KAFKA_PREFIX):
            topic = destination[len(KAFKA_PREFIX) :]
            return self._kafka_destination(destination, topic, bootstrap_servers, source_topics)
        parts = destination.split(":")
        if len(parts) >= 6 and parts[0] == "arn":
            service = parts[2]
            if service == "sqs":
                queue = parts[5]
                return SqsFileDestination(destination, queue, self.queue_path(queue))
            if service == "kafka" and parts[5].startswith("cluster/"):
                cluster_topic = self.cluster_topics.get(destination) or self.default_cluster_topic
                if not cluster_topic:
                    raise DestinationError(
                        f"OnFailure destination {destination} is an MSK cluster: give the topic "
                        "to write failures to with FailureDestinations(cluster_topics={arn: topic}) "
                        "or default_cluster_topic, or use kafka://<topic>"
                    )
                return self._kafka_destination(
                    destination, cluster_topic, bootstrap_servers, source_topics
                )
            if service in ("sns", "s3"):
                raise DestinationError(
                    f"OnFailure destination {destination}: {service.upper()} destinations are not "
                    "emulated locally; use an SQS queue ARN or kafka://<topic>"
                )
        raise DestinationError(
            f"unknown OnFailure destination {destination!r}: expected arn:aws:sqs:...:<QueueName>, "
            "kafka://<topic> or an MSK cluster ARN"
        )

    def _kafka_destination(
        self,
        arn: str,
        topic: str,
        bootstrap_servers: str | None,
        source_topics: tuple[str, ...] | list[str],
    ) -> KafkaTopicDestination:
        if not topic or any(c in topic for c in " /\\:,"):
            raise DestinationError(f"bad Kafka destination topic {topic!r} in {arn!r}")
        if topic in source_topics:
            raise DestinationError(
                f"Kafka OnFailure destination topic {topic!r} is also a source topic of the mapping"
            )
        if not bootstrap_servers:
            raise DestinationError(f"Kafka OnFailure destination {arn!r} needs bootstrap servers")
        with self._lock:
            key = (bootstrap_servers, topic)
            dest = self._kafka.get(key)
            if dest is None:
                dest = KafkaTopicDestination(arn, topic, bootstrap_servers, self.producer_config)
                self._kafka[key] = dest
            return dest

    def close(self) -> None:
        with self._lock:
            dests, self._kafka = list(self._kafka.values()), {}
        for dest in dests:
            dest.close()
