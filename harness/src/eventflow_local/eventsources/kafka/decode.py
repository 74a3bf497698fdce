"""Record batches the Kafka client cannot decode: found, reported, and stepped over.

Lambda's Kafka poller is the Java client, which decodes every codec (gzip, snappy, lz4, zstd);
kafka-python does too with the codec packages the harness installs. What no client can decode (a
corrupt batch, an unknown codec) made kafka-python raise inside ``poll`` for as long as the
partition's position stayed on that batch, so the mapping stalled. ``FetchGuard`` keeps a
reference to the raw bytes of each partition's latest fetch (no copy, no extra decoding on the hot
path); when ``poll`` raises, ``find_bad`` walks those bytes from the partition's position, decodes
batch by batch, and returns the first batch that fails with its offsets, its raw bytes and the
reason. The mapping sends it to the failure destination (condition ``RecordDecodingFailed``, a
name of the harness's: AWS documents no condition for it) and moves the partition past it.

The guard wraps one method of the mapping's own consumer instance only.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.record import MemoryRecords

__all__ = ["BadBatch", "FetchGuard"]

_HEADER = struct.Struct(">qi")  # base offset, batch length (both message formats)


@dataclass
class BadBatch:
    """A batch no client could decode, as a record the failure destination can carry."""

    topic: str
    partition: int
    offset: int  # the batch's base offset
    next_offset: int
    value: bytes  # the raw batch
    reason: str
    key: bytes | None = None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    timestamp: int = -1
    timestamp_type: int = 0


def _decode(chunk: bytes) -> None:
    """Decode every record of one batch (raises what the client raises)."""
    records = MemoryRecords(chunk)
    batch = records.next_batch()
    if batch is None:
        raise ValueError("truncated record batch")
    for record in batch:
        _ = (record.key, record.value, record.headers)


def _next_offset(chunk: bytes, base: int) -> int:
    if len(chunk) >= 27 and chunk[16] == 2:  # v2: lastOffsetDelta after epoch, magic, crc, attrs
        (delta,) = struct.unpack_from(">i", chunk, 23)
        return base + max(0, delta) + 1
    return base + 1


class FetchGuard:
    """Remembers each partition's latest raw fetch; finds the batch that cannot be decoded."""

    def __init__(self, consumer: KafkaConsumer) -> None:
        self.raw: dict[TopicPartition, bytes] = {}
        fetcher: Any = getattr(consumer, "_fetcher", None)
        original = getattr(fetcher, "_parse_fetched_data", None)
        if original is None:
            return

        def parse(completed: Any) -> Any:
            data = getattr(getattr(completed, "partition_data", None), "records", None)
            if data:
                self.raw[completed.topic_partition] = data
            return original(completed)

        fetcher._parse_fetched_data = parse

    def find_bad(self, tp: TopicPartition, position: int) -> BadBatch | None:
        data = self.raw.get(tp)
        if not data:
            return None
        buf = bytes(data)
        pos = 0
        while pos + _HEADER.size <= len(buf):
            base, length = _HEADER.unpack_from(buf, pos)
            end = pos + _HEADER.size + length
            if length <= 0 or end > len(buf):
                return None  # a partial batch at the end of the fetch: fetched again later
            chunk = buf[pos:end]
            nxt = _next_offset(chunk, base)
            if nxt > position:
                try:
                    _decode(chunk)
                except Exception as exc:
                    return BadBatch(
                        tp.topic, tp.partition, base, nxt, chunk, f"{type(exc).__name__}: {exc}"
                    )
            pos = end
        return None
