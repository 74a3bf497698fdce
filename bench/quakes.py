"""Benchmark 3: the earthquake stream.

``emitter_rate``: the emitter's generation + publish path at full speed (``bench.emitter_probe``
in a fresh process, real ``KafkaPublisher``, the embedded broker, a topic of its own so the
harness's consumer does not see these events).

``stream``: through the harness, as a user runs it: ``POST /earthquake-events/start`` with a rate
and a duration, the emitter function publishing, the event source mapping feeding
``quake_consumer``. Afterwards every record the run put on the topic is read back and compared
with what the consumer stored; the lag of each stored event is ``receivedAt - timestamp`` (when
the consumer handled it minus when the emitter generated it).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from bench.apicall import call
from bench.fraud import count_items, find_mapping, scan_all
from bench.meter import DynamoMeter, Window
from bench.stats import summary

ROOT_DIR = __file__.rsplit("/bench/", 1)[0]
QUAKES_TOPIC = "earthquake-service-topic"
CONSUMER = "QuakeConsumerFunction"


def emitter_rate(
    bootstrap: str,
    topic: str,
    seconds: float,
    batch: int,
    pure_python_crc: bool = False,
    bare: bool = False,
) -> dict[str, Any]:
    """``bench.emitter_probe`` in a fresh process: the emitter's rate, or (``bare``) a plain
    kafka-python producer's with the same messages and delivery settings."""
    command = [
        sys.executable,
        "-m",
        "bench.emitter_probe",
        bootstrap,
        topic,
        "--seconds",
        str(seconds),
        "--batch",
        str(batch),
    ]
    if pure_python_crc:
        command.append("--pure-python-crc")
    if bare:
        command.append("--bare")
    done = subprocess.run(
        command, cwd=ROOT_DIR, capture_output=True, text=True, timeout=seconds + 60, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["events_per_s"] = result["events"] / result["seconds"]
    result["events_per_cpu_s"] = result["events"] / result["cpu_s"] if result["cpu_s"] else 0.0
    return result


class EndProbe:
    """Exact end offsets of a topic's partitions.

    Some Kafka-compatible brokers answer ListOffsets(latest) with the base offset of the last
    record batch + 1; the high watermark a fetch response carries is exact. The probe stays
    assigned at the end of every partition and polls, so its high watermarks stay current.
    """

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, check_crcs=False
        )
        self.parts = [
            TopicPartition(topic, p) for p in sorted(self.consumer.partitions_for_topic(topic))
        ]
        self.consumer.assign(self.parts)
        self.consumer.seek_to_end(*self.parts)

    def ends(self, timeout: float = 5.0) -> dict[int, int]:
        deadline = time.monotonic() + timeout
        self.consumer.poll(timeout_ms=50)
        while any(self.consumer.highwater(tp) is None for tp in self.parts):
            if time.monotonic() > deadline:
                raise TimeoutError("no high watermark from the broker")
            self.consumer.poll(timeout_ms=50)
        return {tp.partition: int(self.consumer.highwater(tp) or 0) for tp in self.parts}

    def close(self) -> None:
        self.consumer.close(autocommit=False)


def read_range(
    bootstrap: str, topic: str, start: dict[int, int], end: dict[int, int], timeout: float = 60
) -> list[Any]:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, check_crcs=False
    )
    try:
        parts = [TopicPartition(topic, p) for p in sorted(end)]
        consumer.assign(parts)
        for tp in parts:
            consumer.seek(tp, start.get(tp.partition, 0))
        records: list[Any] = []
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < end[tp.partition] for tp in parts):
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topic} to its end offsets")
            for batch in consumer.poll(timeout_ms=200, max_records=10_000).values():
                records.extend(r for r in batch if r.offset < end[r.partition])
        return records
    finally:
        consumer.close(autocommit=False)


def _epoch_ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


@dataclass
class StreamRun:
    rate: float
    duration_s: float
    emitted: int = 0
    distinct_emitted: int = 0
    stored: int = 0
    missing: int = 0
    unexpected: int = 0
    aggregate_count: int = 0
    event_lag_ms: dict[str, float] = field(default_factory=dict)
    #: records published but not yet committed by the consumer, sampled after the stream ended
    backlog_after_end: list[tuple[float, int]] = field(default_factory=list)
    drain_s: float = 0.0
    achieved_rate: float = 0.0
    invocations: int = 0
    handler_s: float = 0.0
    ddb_server_s: float = 0.0
    ddb_operations: dict[str, int] = field(default_factory=dict)

    @property
    def max_lag_s(self) -> float:
        return self.event_lag_ms.get("max", 0.0) / 1000

    @property
    def backlog_at_end(self) -> int:
        return self.backlog_after_end[0][1] if self.backlog_after_end else 0

    @property
    def stored_once(self) -> bool:
        return (
            self.emitted > 0
            and self.emitted == self.distinct_emitted == self.stored
            and self.missing == 0
            and self.unexpected == 0
            and self.aggregate_count == self.stored
        )


def _call(stack: Any, method: str, path: str, body: Any = None) -> Any:
    status, payload = call(method, stack.api_url + path, stack.api_token, body)
    if status != 200:
        raise RuntimeError(f"{method} {path} -> {status}: {payload}")
    return payload


def exact_ends(bootstrap: str, topic: str) -> dict[int, int]:
    probe = EndProbe(bootstrap, topic)
    try:
        return probe.ends()
    finally:
        probe.close()


def stream(
    stack: Any,
    tap: Any,
    meter: DynamoMeter,
    rate: float,
    duration_s: int,
    settle_s: float = 60,
) -> StreamRun:
    run = StreamRun(rate=rate, duration_s=duration_s)
    bootstrap = stack.bootstrap_servers
    mapping = find_mapping(stack, CONSUMER)
    client = stack.dynamodb_client()
    quakes_table = stack.table_name("QuakesTable")
    regions_table = stack.table_name("QuakeRegionsTable")
    alerts_table = stack.table_name("QuakeAlertsTable")
    earlier_events = count_items(client, quakes_table)
    earlier_aggregate = _aggregate_total(client, regions_table)
    before = exact_ends(bootstrap, QUAKES_TOPIC)
    mark = tap.mark()
    with meter.window() as window:
        started = time.perf_counter()
        _call(
            stack, "POST", "/earthquake-events/start", {"rate": rate, "durationSeconds": duration_s}
        )
        deadline = started + duration_s + settle_s
        while True:  # until the run has ended and the emitter let go of the stream
            time.sleep(0.5)
            state = _call(stack, "GET", "/earthquake-events")
            if not state["running"] and not state["emitterActive"]:
                break
            if time.perf_counter() > deadline:
                raise TimeoutError("the earthquake stream did not end")
        ended_at = time.perf_counter()
        while True:  # until the consumer committed everything the run published
            after = exact_ends(bootstrap, QUAKES_TOPIC)
            done = {tp.partition: off for tp, off in mapping.committed_offsets().items()}
            behind = sum(max(0, end - (done.get(p) or before[p])) for p, end in after.items())
            run.backlog_after_end.append((time.perf_counter() - started, behind))
            if behind == 0:
                break
            if time.perf_counter() > deadline:
                raise TimeoutError("the earthquake consumer did not catch up")
            time.sleep(0.25)
        run.drain_s = time.perf_counter() - ended_at
    run.invocations = len(tap.since(mark, CONSUMER))
    consumer_calls = window.select(tables=[quakes_table, regions_table, alerts_table])
    run.ddb_operations = Window.operations(consumer_calls)
    run.ddb_server_s = Window.server_seconds(consumer_calls)
    run.handler_s = sum(i.duration_s for i in tap.since(mark, CONSUMER))

    records = read_range(bootstrap, QUAKES_TOPIC, before, after)
    values = [json.loads(r.value) for r in records]
    emitted_ids = [v["id"] for v in values]
    timestamps = [int(v["timestamp"]) for v in values]
    run.emitted = len(emitted_ids)
    run.distinct_emitted = len(set(emitted_ids))
    if timestamps:
        span = (max(timestamps) - min(timestamps)) / 1000
        run.achieved_rate = run.emitted / span if span > 0 else 0.0

    items = scan_all(
        client,
        quakes_table,
        ProjectionExpression="id, #ts, receivedAt",
        ExpressionAttributeNames={"#ts": "timestamp"},
    )
    wanted = set(emitted_ids)
    mine = [i for i in items if i["id"]["S"] in wanted]
    run.stored = len(mine)
    run.missing = len(wanted - {i["id"]["S"] for i in mine})
    run.unexpected = len(items) - run.stored - earlier_events
    lags = [float(_epoch_ms(i["receivedAt"]["S"]) - int(i["timestamp"]["N"])) for i in mine]
    run.event_lag_ms = summary(lags)
    run.aggregate_count = _aggregate_total(client, regions_table) - earlier_aggregate
    return run


def _aggregate_total(client: Any, table: str) -> int:
    return sum(int(i.get("count", {"N": "0"})["N"]) for i in scan_all(client, table))
