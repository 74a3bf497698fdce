"""``eventflow-local redrive ID | --all``: send parked records back to their topics, once each.

The same redrive as ``POST /dead-letters/{id}/redrive`` (``eventflow.consumer.redrive``): the record
goes back with its original key, value and headers, and the dead-letter item records
``redrivenAt`` and ``redrivenBy = "cli"`` with a conditional write, so a record redriven here or
through the API is never sent twice. The running stack (``<state dir>/stack.json``) tells where
DynamoDB, Kafka and the dead-letter table are; ``AWS_ENDPOINT_URL_DYNAMODB`` and
``KAFKA_BOOTSTRAP_SERVERS`` override them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import IO, Any

from eventflow.config import KafkaSettings
from eventflow.consumer.deadletter import DeadLetterStore
from eventflow.consumer.redrive import Redriver
from eventflow.errors import DomainError, TransientError
from eventflow.kafka.producer import KafkaPublisher

CLI_IDENTITY = "cli"
TABLE = "DeadLetterTable"


def redriver_for(info: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Redriver:
    """A Redriver on the running stack's dead-letter table and broker."""
    from eventflow_local.services.dynamodb import DynamoEndpoint, endpoint_from_env

    env = os.environ if environ is None else environ
    endpoint = endpoint_from_env(env) or info.get("dynamodbEndpoint")
    bootstrap = env.get("KAFKA_BOOTSTRAP_SERVERS") or info.get("bootstrapServers")
    if not endpoint or not bootstrap:
        raise LookupError("no running stack found (no stack.json): start it with `make up` first")
    region = str(info.get("region") or "us-east-1")
    client = DynamoEndpoint.connect(str(endpoint), region).dynamodb()
    table = (info.get("tables") or {}).get(TABLE, TABLE)
    settings = KafkaSettings.from_env(
        {
            "KAFKA_BOOTSTRAP_SERVERS": str(bootstrap),
            "KAFKA_AUTH": "NONE",
            "KAFKA_CLIENT_ID": "eventflow-local-redrive",
            "KAFKA_COMPRESSION": env.get("KAFKA_COMPRESSION", "none"),
        }
    )
    return Redriver(DeadLetterStore(table, client=client), KafkaPublisher(settings))


def run_redrive(
    redriver: Redriver, letter_id: str | None, everything: bool, out: IO[str] | None = None
) -> int:
    """Redrive one letter or every pending one; one line per letter. Exit code 0 only if every
    letter asked for was redriven now."""
    out = out or sys.stdout
    ids = [item["id"] for item in redriver.pending()] if everything else [letter_id or ""]
    if everything and not ids:
        print("no dead letters to redrive", file=out)
        return 0
    failed = 0
    for one in ids:
        try:
            item = redriver.redrive(one, CLI_IDENTITY)
        except (DomainError, TransientError) as exc:
            failed += 1
            code = getattr(exc, "status_code", 503)
            print(f"{one}: not redriven ({code}): {exc}", file=out)
            continue
        print(f"{one}: redriven to {item['topic']} at {item['redrivenAt']}", file=out)
    if everything:
        print(f"{len(ids) - failed} of {len(ids)} redriven", file=out)
    return 1 if failed else 0
