"""Where a Kafka event source mapping starts reading each partition.

AWS page "Using Lambda with Amazon MSK" (starting positions): ``StartingPosition`` applies only
when the consumer group has no committed offset for a partition; ``TRIM_HORIZON`` reads from the
earliest record, ``LATEST`` from the end, ``AT_TIMESTAMP`` from the first record at or after
``StartingPositionTimestamp`` (seconds).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from kafka import KafkaConsumer, TopicPartition

__all__ = ["latest_offsets", "start_offsets"]


def start_offsets(
    consumer: KafkaConsumer,
    tps: list[TopicPartition],
    *,
    position: str,
    timestamp: float | None,
    latest: Callable[[list[TopicPartition]], dict[TopicPartition, int]],
) -> dict[TopicPartition, tuple[int, bool]]:
    """``{tp: (offset, True when it is the group's committed offset)}``."""
    out: dict[TopicPartition, tuple[int, bool]] = {}
    fresh: list[TopicPartition] = []
    for tp in tps:
        committed = consumer.committed(tp)
        if committed is not None:
            out[tp] = (committed, True)
        else:
            fresh.append(tp)
    if not fresh:
        return out
    if position == "TRIM_HORIZON":
        starts = dict(consumer.beginning_offsets(fresh))
    elif position == "LATEST":
        starts = latest(fresh)
    else:
        assert timestamp is not None
        found = consumer.offsets_for_times(dict.fromkeys(fresh, int(timestamp * 1000)))
        starts = {}
        for tp in fresh:
            hit = found.get(tp)
            if hit is not None and hit.timestamp >= 0:
                starts[tp] = hit.offset
        past_end = [tp for tp in fresh if tp not in starts]  # no record that late yet
        if past_end:
            starts.update(latest(past_end))
    for tp in fresh:
        out[tp] = (starts[tp], False)
    return out


def latest_offsets(
    consumer: KafkaConsumer,
    tps: list[TopicPartition],
    bootstrap_servers: str,
    consumer_config: Mapping[str, Any],
) -> dict[TopicPartition, int]:
    """End offsets, confirmed by a fetch's high watermark.

    Some Kafka-compatible brokers answer ListOffsets(latest) with the base offset of the last
    record batch + 1; the high watermark of a fetch response is exact.
    """
    ends = consumer.end_offsets(tps)
    cfg: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers,
        "isolation_level": "read_committed",
        "max_partition_fetch_bytes": 1,
        **consumer_config,
    }
    cfg.update(group_id=None, enable_auto_commit=False, fetch_max_wait_ms=50)
    probe = KafkaConsumer(**cfg)
    try:
        probe.assign(tps)
        for tp in tps:
            probe.seek(tp, ends[tp])
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and any(probe.highwater(tp) is None for tp in tps):
            probe.poll(timeout_ms=50, max_records=1)
        return {tp: max(ends[tp], probe.highwater(tp) or 0) for tp in tps}
    finally:
        probe.close(autocommit=False)
