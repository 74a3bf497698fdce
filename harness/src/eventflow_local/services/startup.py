"""The stack's two backing services started: Kafka (a broker of the user's, or the embedded
one) and DynamoDB (an endpoint of the user's, moto's server, or DynamoDB Local)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from eventflow_local.services.broker import EmbeddedBroker, wait_for_broker
from eventflow_local.services.dynamodb import DynamoEndpoint

Log = Callable[[str], None]


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
