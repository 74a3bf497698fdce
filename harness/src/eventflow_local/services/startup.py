"""The stack's two backing services started: Kafka (a broker of the user's, or the embedded
one) and DynamoDB (an endpoint of the user's, moto's server, or DynamoDB Local), and the
template's tables, secrets, queues, topics, Kinesis streams, event buses and rules created on
them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eventflow_local.services import kafka_snapshot
from eventflow_local.services.broker import EmbeddedBroker, ensure_topics, wait_for_broker
from eventflow_local.services.dynamodb import CreatedTables, DynamoEndpoint, ensure_tables
from eventflow_local.services.events import ensure_buses, ensure_pattern_rules
from eventflow_local.services.kinesis import ensure_streams
from eventflow_local.services.s3 import ensure_buckets
from eventflow_local.services.secretsmanager import ensure_secrets
from eventflow_local.services.sns import ensure_topics as ensure_sns_topics
from eventflow_local.services.sqs import ensure_queues
from eventflow_local.template.sam import SamTemplate

Log = Callable[[str], None]


@dataclass(frozen=True)
class Resources:
    """The template's tables and secrets as created, and the template read again with their
    physical ids (``!Ref`` / ``!GetAtt`` of them resolve to what exists)."""

    template: SamTemplate
    tables: CreatedTables
    #: logical id -> ARN
    secrets: dict[str, str]
    #: "not emulated" lines (secrets or queues on an endpoint that does not serve them)
    skipped: list[str]
    #: logical id -> {"Ref": URL, "Arn", "QueueName", "QueueUrl"} of each queue (services/sqs.py)
    queues: dict[str, dict[str, str]]
    #: tables, queues and topics refused (CloudFormation would not create them either)
    refused: list[str]
    #: logical id -> {"Ref": ARN, "TopicArn", "TopicName"} of each topic (services/sns.py)
    topics: dict[str, dict[str, str]]
    #: logical id -> {"Ref": name, "Arn"} of each Kinesis stream (services/kinesis.py)
    streams: dict[str, dict[str, str]]
    #: logical id -> {"Ref": name, "Arn", "DomainName", ...} of each bucket (services/s3.py)
    buckets: dict[str, dict[str, str]]
    #: logical id -> {"Ref": name, "Arn", "Name"} of each event bus (services/events.py)
    buses: dict[str, dict[str, str]] | None = None


def create_resources(
    declared: SamTemplate, dynamo: DynamoEndpoint, *, table_prefix: str, log: Log
) -> Resources:
    """Create (or reuse) the tables, secrets, queues, topics and Kinesis streams of ``declared``
    before anything reads them."""
    tables = ensure_tables(declared, dynamo.dynamodb(), table_prefix=table_prefix, log=log)
    secrets, skipped = ensure_secrets(declared, dynamo)
    queues, queues_skipped, queues_refused = ensure_queues(declared, dynamo)
    topics, topics_skipped, topics_refused = ensure_sns_topics(declared, dynamo)
    streams, streams_skipped, streams_refused = ensure_streams(declared, dynamo)
    buckets, buckets_skipped, buckets_refused = ensure_buckets(declared, dynamo)
    buses, buses_skipped, buses_refused = ensure_buses(declared, dynamo)
    template = declared.with_physical_ids(
        {**tables.physical_ids(), **secrets, **queues, **topics, **streams, **buckets, **buses}
    )
    rules_skipped = ensure_pattern_rules(template, dynamo)
    return Resources(
        template=template,
        tables=tables,
        secrets={lid: attrs["Ref"] for lid, attrs in secrets.items()},
        skipped=skipped
        + queues_skipped
        + topics_skipped
        + streams_skipped
        + buckets_skipped
        + buses_skipped
        + rules_skipped,
        queues=queues,
        refused=tables.refused
        + queues_refused
        + topics_refused
        + streams_refused
        + buckets_refused
        + buses_refused,
        topics=topics,
        streams=streams,
        buckets=buckets,
        buses=buses,
    )


def start_kafka(
    external: str | None, *, port: int, wait: float, state_dir: Path, log: Log
) -> tuple[EmbeddedBroker | None, str]:
    """The broker to use and its bootstrap servers: ``external`` (waited for up to ``wait``
    seconds, as after ``docker compose up -d``), else an embedded broker started here."""
    if external is None:
        broker = EmbeddedBroker(port=port or None, log_path=state_dir / "kafka-broker.log")
        broker.start()
        wait_for_broker(broker.bootstrap_servers)
        return broker, broker.bootstrap_servers
    wait_for_broker(external, wait, log=log, setting="KAFKA_BOOTSTRAP_SERVERS")
    return None, external


def start_dynamodb(
    url: str | None,
    *,
    engine: str,
    in_memory: bool,
    region: str,
    state_dir: Path,
    log: Log,
) -> DynamoEndpoint:
    """``url`` when the user names a DynamoDB, else the embedded ``engine``: ``"local"``
    (DynamoDB Local, tables kept under ``<state dir>/dynamodb`` unless ``in_memory``) or
    ``"moto"`` (moto's server in its own process)."""
    if url:
        return DynamoEndpoint.connect(url, region)
    if engine == "local":
        db_path = None if in_memory else state_dir / "dynamodb"
        dynamo = DynamoEndpoint.dynamodb_local(db_path, region=region, log_dir=state_dir, log=log)
        log(
            f"DynamoDB Local {dynamo.url}: "
            + (f"tables kept in {db_path}" if db_path else "in memory, nothing kept")
        )
        return dynamo
    return DynamoEndpoint.embedded(region=region, log_path=state_dir / "moto.log")


def create_topics(
    bootstrap_servers: str,
    topics: list[str],
    partitions: int,
    *,
    restore: bool,
    state_dir: Path,
    tables_reused: bool,
    log: Log,
) -> str | None:
    """The topics, each with ``partitions`` when created here. With ``restore`` (an embedded
    broker beside tables that were kept), the records and group offsets saved at the last stop
    come back first (services/kafka_snapshot.py); returns the start-up finding when they could
    not."""
    ensure_topics(bootstrap_servers, {topic: partitions for topic in topics})
    if not restore:
        return None
    return kafka_snapshot.restore_for(
        bootstrap_servers, state_dir, tables_reused=tables_reused, log=log
    )
