"""OnFailure destinations of event source mappings, emulated locally.

A mapping's ``DestinationConfig.OnFailure.Destination`` is resolved at start-up by
``FailureDestinations.resolve``; unsupported kinds raise ``DestinationError`` right away.

Supported destinations:

* **SQS queue** ``arn:aws:sqs:<region>:<account>:<QueueName>`` - the queue of that name in the
  embedded emulator (the template's queues are created there, services/sqs.py): the failure
  record (metadata only: the Kafka record's ``payload`` goes to Kafka and S3 destinations, not
  to queues, per "Capturing discarded batches for Amazon MSK and self-managed Apache Kafka event
  sources") is sent with ``SendMessage`` as its JSON body, so a user reads it with boto3
  ``receive_message`` on the queue named in the template, as on AWS ("Capturing discarded
  batches for an SQS, Kinesis or DynamoDB event source", Lambda developer guide). A queue the
  emulator does not have is a ``DestinationError`` at start-up. Without an emulator (a
  ``FailureDestinations`` made with no ``clients``: a mapping used on its own, outside a stack)
  the queue is stood in for by a JSON-lines file, ``<state_dir>/destinations/<QueueName>.jsonl``.
* **Kafka topic** ``kafka://<topic>`` (the form AWS uses for Kafka on-failure destinations) - the
  failure record is produced as JSON to ``<topic>`` on the mapping's own cluster, keyed with the
  failed record's key. A plain topic name is not accepted: use the ``kafka://`` prefix.
* **MSK cluster ARN** ``arn:aws:kafka:...:cluster/...`` - a Kafka topic destination on that
  cluster; the topic comes from the local setting ``cluster_topics`` (cluster ARN -> topic) or
  ``default_cluster_topic``.
* **SNS topic** ``arn:aws:sns:<region>:<account>:<TopicName>`` - the template's topic in the
  embedded emulator (services/sns.py): the failure record (metadata only) is published as its
  JSON message, and the topic's subscriptions receive it (eventsources/sns/). A topic the
  emulator does not have is a ``DestinationError``; without an emulator, not emulated.

S3 bucket destinations are not emulated.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from eventflow_local.eventsources.sns.topic_destination import SnsTopicDestination

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
    "SqsQueueDestination",
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


class SqsQueueDestination:
    """A queue of the embedded emulator: each failure record is one ``SendMessage``."""

    #: the records sent, newest last, kept for the console (at most this many)
    KEEP = 100

    def __init__(self, arn: str, queue_name: str, queue_url: str, client: Any) -> None:
        self.arn = arn
        self.queue_name = queue_name
        self.queue_url = queue_url
        self._client = client
        self._lock = threading.Lock()
        self.sent: list[dict[str, Any]] = []

    def send(self, record: Mapping[str, Any], *, key: bytes | None = None) -> None:
        metadata = {k: v for k, v in record.items() if k != "payload"}
        body = json.dumps(metadata, separators=(",", ":"), default=str)
        with self._lock:  # a boto3 client is not shared across threads without care
            self._client.send_message(QueueUrl=self.queue_url, MessageBody=body)
            self.sent = [*self.sent[-(self.KEEP - 1) :], json.loads(body)]

    def __repr__(self) -> str:
        return f"SqsQueueDestination({self.queue_name} -> {self.queue_url})"


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
    """Resolves OnFailure destinations and owns what they need (queues, producers).

    ``clients`` makes a client of a service of the embedded emulator (``clients("sqs")``); without
    it, ``state_dir``
    holds the SQS stand-in files. ``cluster_topics`` maps an MSK cluster ARN used as
    a destination to the topic to write to (``default_cluster_topic`` when the ARN is not listed).
    """

    def __init__(
        self,
        state_dir: Path | str,
        clients: Callable[[str], Any] | None = None,
        *,
        cluster_topics: Mapping[str, str] | None = None,
        default_cluster_topic: str | None = None,
        producer_config: Mapping[str, Any] | None = None,
    ) -> None:
        self.state_dir = Path(state_dir)
        #: makes a client of the emulator's services (the event sources use it too)
        self.clients = clients
        self._sqs: Any = None
        self._queues: dict[str, SqsQueueDestination] = {}
        self._sns: Any = None
        self._topics: dict[str, SnsTopicDestination] = {}
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
        """The failure records sent so far to the SQS stand-in file ``name_or_arn`` (oldest
        first); with an emulator, read the queue itself (``receive_message``)."""
        return read_jsonl(self.queue_path(name_or_arn))

    def sent(self) -> dict[str, list[dict[str, Any]]]:
        """Queue name -> the last records sent to it (oldest first): the emulator's queues, or
        the stand-in files."""
        with self._lock:
            queues = {d.queue_name: list(d.sent) for d in self._queues.values() if d.sent}
            queues.update({d.topic_name: list(d.sent) for d in self._topics.values() if d.sent})
        if self.clients is None and self.queue_dir.is_dir():
            for path in sorted(self.queue_dir.glob("*.jsonl")):
                queues[path.stem] = self.read_queue(path.stem)[-SqsQueueDestination.KEEP :]
        return queues

    def _sqs_destination(self, arn: str, queue: str) -> SqsQueueDestination:
        from botocore.exceptions import ClientError

        with self._lock:
            dest = self._queues.get(arn)
            if dest is not None:
                return dest
            if self._sqs is None:
                assert self.clients is not None
                self._sqs = self.clients("sqs")
            try:
                url = self._sqs.get_queue_url(QueueName=queue)["QueueUrl"]
            except ClientError as exc:
                raise DestinationError(
                    f"OnFailure destination {arn}: no queue {queue!r} in the embedded emulator "
                    f"({exc.response.get('Error', {}).get('Code')}); declare it in the template "
                    "as an AWS::SQS::Queue"
                ) from None
            dest = SqsQueueDestination(arn, queue, url, self._sqs)
            self._queues[arn] = dest
            return dest

    def _sns_destination(self, arn: str) -> SnsTopicDestination:
        from botocore.exceptions import ClientError

        from eventflow_local.eventsources.sns.topic_destination import SnsTopicDestination

        with self._lock:
            dest = self._topics.get(arn)
            if dest is not None:
                return dest
            if self._sns is None:
                assert self.clients is not None
                self._sns = self.clients("sns")
            try:
                self._sns.get_topic_attributes(TopicArn=arn)
            except ClientError as exc:
                raise DestinationError(
                    f"OnFailure destination {arn}: no topic {arn.rsplit(':', 1)[-1]!r} in the "
                    f"embedded emulator ({exc.response.get('Error', {}).get('Code')}); declare it "
                    "in the template as an AWS::SNS::Topic"
                ) from None
            dest = SnsTopicDestination(arn, self._sns)
            self._topics[arn] = dest
            return dest

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
                if self.clients is not None:
                    return self._sqs_destination(destination, queue)
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
            if service == "sns" and self.clients is not None:
                return self._sns_destination(destination)
            if service in ("sns", "s3"):
                why = (
                    "need the embedded emulator's topics"
                    if service == "sns"
                    else "are not emulated"
                )
                raise DestinationError(
                    f"OnFailure destination {destination}: {service.upper()} destinations "
                    f"{why} locally; use an SQS queue ARN or kafka://<topic>"
                )
        raise DestinationError(
            f"unknown OnFailure destination {destination!r}: expected arn:aws:sqs:...:<QueueName>, "
            "arn:aws:sns:...:<TopicName>, kafka://<topic> or an MSK cluster ARN"
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
