"""The embedded broker's topics and committed group offsets, kept across a restart of ``up``.

The bundled broker (Tansu) keeps everything in memory. When DynamoDB keeps its tables across a
restart (``--dynamodb local``), fresh topics would contradict them: MSK keeps a topic's records and
a consumer group's committed offsets, and offsets never start again at 0, while an app's tables
may hold state derived from them (ids of parked records such as ``topic-partition@offset``, the
last offset folded in per partition). A topic that restarted at
offset 0 would have new records taken for ones already counted, and parked records overwritten.

So, when the stack stops with a broker of its own, ``save`` writes every record of the template's
topics (partition, key, value, headers, timestamp) and every consumer group's committed offsets
to ``<state dir>/kafka/snapshot.jsonl``; the next start, before any event source runs, ``restore``
produces the records again, in order, into the same partitions of the fresh topics (empty
partitions give them the same offsets) and commits the groups' offsets. The event source
mappings then resume from their committed offsets as on AWS: nothing is read twice, nothing new
is taken for old. Without a snapshot (the harness was killed) the topics start empty and the
start-up report says so.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

SNAPSHOT = Path("kafka") / "snapshot.jsonl"
Log = Callable[[str], None]


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()


def _raw(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


def save(
    bootstrap: str, topics: Iterable[str], groups_of: Iterable[str], path: Path
) -> tuple[int, int]:
    """Write the records of ``topics`` and the offsets ``groups_of`` (the event source
    mappings' consumer groups) committed on them to ``path`` (atomically); returns
    (records, groups)."""
    wanted = set(topics)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    all_tps: list[TopicPartition] = []
    tmp = path.with_suffix(".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    records = groups = 0
    try:
        with open(tmp, "w") as out:
            for topic in sorted(wanted):
                partitions = consumer.partitions_for_topic(topic) or set()
                tps = [TopicPartition(topic, p) for p in sorted(partitions)]
                all_tps.extend(tps)
                for tp in tps:
                    out.write(json.dumps({"partition": [topic, tp.partition]}) + "\n")
            records = _copy_records(consumer, all_tps, out)
            for group in sorted(set(groups_of)):
                offsets = _committed(bootstrap, group, all_tps)
                if offsets:
                    out.write(json.dumps({"group": group, "offsets": offsets}) + "\n")
                    groups += 1
        os.replace(tmp, path)
    finally:
        consumer.close(autocommit=False)
    return records, groups


def _copy_records(consumer: KafkaConsumer, tps: list[TopicPartition], out: IO[str]) -> int:
    """Every record of ``tps`` from the beginning, written in partition order. The broker is
    quiet (the functions have stopped), so reading ends when two polls in a row bring nothing:
    Tansu's end offsets count record batches, not records, so they cannot say where the end is."""
    if not tps:
        return 0
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    written = idle = 0
    while idle < 2:
        fetched = consumer.poll(timeout_ms=500)
        idle = 0 if fetched else idle + 1
        for batch in fetched.values():
            for rec in batch:
                out.write(json.dumps(_record(rec)) + "\n")
                written += 1
    return written


def _committed(bootstrap: str, group: str, tps: list[TopicPartition]) -> dict[str, int]:
    reader = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        found = {tp: reader.committed(tp) for tp in tps}
    finally:
        reader.close(autocommit=False)
    return {f"{tp.topic}\t{tp.partition}": off for tp, off in found.items() if off is not None}


def _record(rec: Any) -> dict[str, Any]:
    return {
        "topic": rec.topic,
        "p": rec.partition,
        "o": rec.offset,
        "ts": rec.timestamp,
        "k": _b64(rec.key),
        "v": _b64(rec.value),
        "h": [[name, _b64(value)] for name, value in rec.headers or []],
    }


def restore(bootstrap: str, path: Path, log: Log) -> tuple[int, int] | None:
    """Produce the snapshot's records and commit its offsets into the (fresh) topics; the
    snapshot is then removed. None when there is none. A partition that is not empty (an
    external broker, a topic that survived) is left as it is and said."""
    if not path.is_file():
        return None
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", max_in_flight_requests_per_connection=1
    )
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    records = groups = 0
    skip: set[tuple[str, int]] = set()
    group_offsets: list[tuple[str, dict[str, int]]] = []
    try:
        with open(path) as lines:
            for line in lines:
                item = json.loads(line)
                if "partition" in item:
                    topic, partition = item["partition"][:2]
                    tp = TopicPartition(topic, partition)
                    if consumer.end_offsets([tp]).get(tp, 0) > 0:
                        log(f"kafka: {topic}-{partition} is not empty: its saved records stay out")
                        skip.add((topic, partition))
                elif "group" in item:
                    group_offsets.append((item["group"], item["offsets"]))
                elif (item["topic"], item["p"]) not in skip:
                    producer.send(
                        item["topic"],
                        key=_raw(item["k"]),
                        value=_raw(item["v"]),
                        headers=[(name, _raw(value) or b"") for name, value in item["h"]],
                        partition=item["p"],
                        timestamp_ms=item["ts"],
                    )
                    records += 1
        producer.flush(60)
        for group, offsets in group_offsets:
            commit = {}
            for key, offset in offsets.items():
                topic, partition = key.split("\t")
                if (topic, int(partition)) not in skip:
                    commit[TopicPartition(topic, int(partition))] = OffsetAndMetadata(
                        offset, "", -1
                    )
            if commit:
                committer = KafkaConsumer(
                    bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
                )
                try:
                    committer.commit(commit)
                finally:
                    committer.close(autocommit=False)
                groups += 1
    finally:
        producer.close(10)
        consumer.close(autocommit=False)
    path.unlink()
    return records, groups


def restore_for(
    bootstrap_servers: str,
    state_dir: Path,
    *,
    tables_reused: bool,
    log: Callable[[str], None],
) -> str | None:
    """At start: the last stop's records and offsets into the fresh topics. Returns the line
    for the start-up report when tables were kept but the topics were not (else None)."""
    restored = restore(bootstrap_servers, state_dir / SNAPSHOT, log)
    if restored is not None:
        log(
            f"kafka: {restored[0]} records and the offsets of {restored[1]} consumer groups "
            "restored from the last stop"
        )
        return None
    if not tables_reused:
        return None
    return (
        "Kafka topics of the last run: not saved (it did not stop cleanly); the topics "
        "start empty at offset 0 while the tables kept their data, so state that names "
        "offsets (ids of parked records, a consumer's per-partition offsets) meets new records at "
        "offsets it has seen: for a clean slate stop, then start with --in-memory or remove "
        f"{state_dir / 'dynamodb'}"
    )


def save_for(
    bootstrap_servers: str,
    topics: Iterable[str],
    groups: Iterable[str],
    state_dir: Path,
    log: Callable[[str], None],
) -> None:
    """At stop, after the functions, before the broker: the topics and ``groups``' offsets."""
    try:
        records, saved = save(bootstrap_servers, topics, groups, state_dir / SNAPSHOT)
        log(f"kafka: {records} records and {saved} consumer groups saved for the next start")
    except Exception as exc:  # the tables are kept; this run's topics are not
        log(f"kafka: saving the topics failed: {exc!r}")
