"""The DynamoDB engine's own ceiling for the fraud consumer's request mix, with no harness.

On an emulator every request costs milliseconds of its CPU, so events/s there follows requests
per event, whatever the code does between them. This replays what one consumer batch sends, with
nothing else: one ``BatchGetItem`` (consistent, projected) of the batch's accounts, then one
conditional ``UpdateItem`` per account (``SET`` five attributes, a version condition,
``ReturnValuesOnConditionCheckFailure``), sent ``MAX_PARALLEL`` at a time as the consumer's thread
pool sends them, on a table of its own so the consumer's accounts are not touched. The result is
the events/s the engine allows at the consumer's measured requests per batch; the consumer's
events/s as a share of it is what the harness and the handler cost on top of the engine.

It runs in a process of its own (``python -m bench.ceiling URL ...``, as the consumer runs in its
worker process), with the consumer's own client (``eventflow.aws.dynamodb_client``: 32
connections, no client-side validation), through the same metering proxy: 32 client threads inside the benchmark's
process would share its interpreter with the proxy and measure that instead.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from bench.fraud import put_items
from eventflow.consumer.concurrency import MAX_PARALLEL  # the consumer's thread pool

TABLE = "bench-engine-ceiling"


@dataclass
class Ceiling:
    batches: int
    events: int
    updates: int
    reads: int
    seconds: float

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    @property
    def requests_per_s(self) -> float:
        return (self.updates + self.reads) / self.seconds if self.seconds > 0 else 0.0


def create_table(client: Any, accounts: int) -> list[str]:
    """A table shaped like the accounts table, with ``accounts`` items of a consumer's size."""
    try:
        client.delete_table(TableName=TABLE)
        client.get_waiter("table_not_exists").wait(TableName=TABLE)
    except client.exceptions.ResourceNotFoundException:
        pass
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "accountId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "accountId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=TABLE)
    ids = [f"ceiling-{i:05d}" for i in range(accounts)]
    put_items(
        client,
        TABLE,
        [
            {
                "accountId": {"S": a},
                "status": {"S": "ACTIVE"},
                "fraudCount": {"N": "0"},
                "version": {"N": "0"},
            }
            for a in ids
        ],
    )
    return ids


def _update(client: Any, account_id: str, version: int) -> None:
    client.update_item(
        TableName=TABLE,
        Key={"accountId": {"S": account_id}},
        UpdateExpression="SET #c = :c, #v = :nv, #o = :o, #r = :r, #u = :now",
        ConditionExpression="attribute_exists(#id) AND (attribute_not_exists(#v) OR #v = :v)",
        ExpressionAttributeNames={
            "#c": "fraudCount",
            "#v": "version",
            "#o": "appliedOffsets",
            "#r": "recentEvents",
            "#u": "updatedAt",
            "#id": "accountId",
        },
        ExpressionAttributeValues={
            ":c": {"N": str(version + 1)},
            ":v": {"N": str(version)},
            ":nv": {"N": str(version + 1)},
            ":o": {"M": {"0": {"N": str(1000 + version)}}},
            ":r": {"B": uuid.uuid4().bytes * 4},
            ":now": {"S": "2026-12-04T00:00:00.000Z"},
        },
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )


def _read(client: Any, ids: list[str]) -> None:
    for start in range(0, len(ids), 100):
        request = {
            TABLE: {
                "Keys": [{"accountId": {"S": a}} for a in ids[start : start + 100]],
                "ConsistentRead": True,
                "ProjectionExpression": "#a, #c, #v, #o, #r, #s",
                "ExpressionAttributeNames": {
                    "#a": "accountId",
                    "#c": "fraudCount",
                    "#v": "version",
                    "#o": "appliedOffsets",
                    "#r": "recentEvents",
                    "#s": "status",
                },
            }
        }
        while request:
            answer = client.batch_get_item(RequestItems=request)
            request = answer.get("UnprocessedKeys") or {}


def measure(
    client: Any,
    *,
    events_per_batch: float,
    updates_per_batch: float,
    reads_per_batch: float = 1.0,
    accounts: int = 1000,
    min_seconds: float = 8.0,
    max_batches: int = 400,
) -> Ceiling:
    """Replay batches of the consumer's mix until ``min_seconds`` passed; the engine's figure.

    ``updates_per_batch`` and ``reads_per_batch`` are the consumer's measured request counts per
    invocation (its meter window), ``events_per_batch`` its mean batch; each replayed batch
    writes that many distinct accounts, as the consumer writes each account of a batch once.
    """
    ids = create_table(client, accounts)
    versions = dict.fromkeys(ids, 0)
    per_batch = max(1, round(updates_per_batch))
    gets = max(1, round(reads_per_batch))
    pool = ThreadPoolExecutor(max_workers=MAX_PARALLEL, thread_name_prefix="ceiling")
    batches = updates = reads = 0
    cursor = 0
    try:
        started = time.perf_counter()
        while batches < max_batches and (
            batches < 3 or time.perf_counter() - started < min_seconds
        ):
            chosen = [ids[(cursor + i) % len(ids)] for i in range(per_batch)]
            cursor += per_batch
            for _ in range(gets):
                _read(client, chosen)
                reads += 1
            futures = [pool.submit(_update, client, a, versions[a]) for a in chosen]
            for future in futures:
                future.result()
            for a in chosen:
                versions[a] += 1
            updates += len(chosen)
            batches += 1
        seconds = time.perf_counter() - started
    finally:
        pool.shutdown(wait=True)
        with contextlib.suppress(Exception):  # a scratch table left behind changes no figure
            client.delete_table(TableName=TABLE)
    return Ceiling(
        batches=batches,
        events=round(batches * events_per_batch),
        updates=updates,
        reads=reads,
        seconds=seconds,
    )


def measure_apart(
    endpoint_url: str,
    region: str,
    *,
    events_per_batch: float,
    updates_per_batch: float,
    reads_per_batch: float = 1.0,
    accounts: int = 1000,
    min_seconds: float = 8.0,
) -> Ceiling:
    """``measure`` in a fresh process against ``endpoint_url``."""
    command = [
        sys.executable,
        "-m",
        "bench.ceiling",
        endpoint_url,
        "--region",
        region,
        "--events-per-batch",
        str(events_per_batch),
        "--updates-per-batch",
        str(updates_per_batch),
        "--reads-per-batch",
        str(reads_per_batch),
        "--accounts",
        str(accounts),
        "--seconds",
        str(min_seconds),
    ]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run(
        command, cwd=root, capture_output=True, text=True, timeout=min_seconds + 300, check=True
    )
    return Ceiling(**json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ceiling")
    parser.add_argument("endpoint_url")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--events-per-batch", type=float, default=100.0)
    parser.add_argument("--updates-per-batch", type=float, default=86.0)
    parser.add_argument("--reads-per-batch", type=float, default=1.0)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args(argv)
    os.environ["AWS_REGION"] = args.region
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "bench")
    from eventflow.aws import dynamodb_client  # the consumer's own client and its settings

    client = dynamodb_client(args.endpoint_url)
    result = measure(
        client,
        events_per_batch=args.events_per_batch,
        updates_per_batch=args.updates_per_batch,
        reads_per_batch=args.reads_per_batch,
        accounts=args.accounts,
        min_seconds=args.seconds,
    )
    print(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
