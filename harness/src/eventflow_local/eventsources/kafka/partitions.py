"""The partitions of one Kafka mapping: where each is read from, what is committed, and which
ones the consumer is assigned.

A partition with a batch being retried leaves the consumer's assignment until the batch is
settled (``sync_assignment``): it comes back at the offset after the last record it fetched (its
unsent records stay buffered), and leaving the assignment, rather than ``pause()``, keeps the
client from holding fetched data of a partition it will not return. An offset is committed once
every record before it is settled (succeeded, filtered out, or sent to the failure destination).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from eventflow_local.eventsources.kafka.offsets import start_offsets


class Partition:
    __slots__ = ("committed", "dirty", "key", "next_offset", "start", "tp")

    def __init__(self, tp: TopicPartition) -> None:
        self.tp = tp
        #: the engine's lane and the event's ``records`` key: ``<topic>-<partition>``
        self.key = f"{tp.topic}-{tp.partition}"
        self.committed: int | None = None
        self.next_offset: int | None = None  # offset after the last record fetched
        self.start = 0  # where reading started (nothing to commit before it)
        #: something settled since the last commit
        self.dirty = False


class Partitions:
    """Every partition of the mapping's topics seen so far."""

    def __init__(self) -> None:
        self._by_tp: dict[TopicPartition, Partition] = {}
        self._by_key: dict[str, Partition] = {}
        #: what the consumer is assigned now
        self.assigned: set[TopicPartition] = set()

    def __len__(self) -> int:
        return len(self._by_tp)

    def __contains__(self, tp: object) -> bool:
        return tp in self._by_tp

    def __iter__(self) -> Iterator[Partition]:
        return iter(list(self._by_tp.values()))

    def get(self, tp: TopicPartition) -> Partition | None:
        return self._by_tp.get(tp)

    def __getitem__(self, tp: TopicPartition) -> Partition:
        return self._by_tp[tp]

    def topic_partitions(self) -> list[TopicPartition]:
        return list(self._by_tp)

    def add(self, tp: TopicPartition) -> Partition:
        part = self._by_tp[tp] = Partition(tp)
        self._by_key[part.key] = part
        return part

    def clear(self) -> None:
        self._by_tp.clear()
        self._by_key.clear()
        self.assigned = set()

    def discover(
        self,
        consumer: KafkaConsumer,
        found: list[TopicPartition],
        *,
        position: str,
        timestamp: float | None,
        latest: Callable[[list[TopicPartition]], dict[TopicPartition, int]],
        blocked: Callable[[], set[str]],
        commit_starts: bool,
    ) -> list[Partition]:
        """Add the partitions of ``found`` not seen yet, assign them and seek each to where it
        starts (``offsets.start_offsets``: the group's committed offset, else ``position``).
        With ``commit_starts`` (the mapping's StartingPosition is not TRIM_HORIZON) a start the
        group has not committed is committed at once: a restart must resume there, not at a
        later "latest". Returns the new partitions."""
        new = [self.add(tp) for tp in found if tp not in self._by_tp]
        if not new:
            return []
        self.sync_assignment(consumer, blocked())
        starts = start_offsets(
            consumer, [p.tp for p in new], position=position, timestamp=timestamp, latest=latest
        )
        commit = {}
        for tp, (offset, committed) in starts.items():
            part = self._by_tp[tp]
            consumer.seek(tp, offset)
            part.next_offset = part.start = offset
            if committed:
                part.committed = offset
            elif commit_starts:
                commit[tp] = OffsetAndMetadata(offset, "", -1)
        if commit:
            consumer.commit(commit)
            for tp in commit:
                self._by_tp[tp].committed = commit[tp].offset
        return new

    def mark_settled(self, keys: set[str]) -> None:
        """Records of these partitions were settled: their next commit may move."""
        for key in keys:
            part = self._by_key.get(key)
            if part is not None:
                part.dirty = True

    def committed_offsets(self) -> dict[TopicPartition, int | None]:
        return {tp: part.committed for tp, part in self._by_tp.items()}

    def sync_assignment(self, consumer: KafkaConsumer, blocked: set[str]) -> None:
        """Assign the partitions that may fetch: all but the ``blocked`` ones (a retry)."""
        wanted = {tp for tp, part in self._by_tp.items() if part.key not in blocked}
        if wanted == self.assigned:
            return
        added = wanted - self.assigned
        if wanted:
            consumer.assign(list(wanted))
        else:
            consumer.unsubscribe()
        self.assigned = wanted
        for tp in added:
            offset = self._by_tp[tp].next_offset
            if offset is not None:
                consumer.seek(tp, offset)

    def commit(self, consumer: KafkaConsumer, unsettled: Callable[[str], Any]) -> bool:
        """Commit, for each partition with settled records, the offset of its first record not
        settled yet (``unsettled(key)``: that record's entry, or None when all are). True when
        a commit was sent; on an error the partitions stay dirty and are committed next time."""
        offsets = {}
        dirty = []
        for tp, part in self._by_tp.items():
            if not part.dirty:
                continue
            dirty.append(part)
            first = unsettled(part.key)
            point = int(first.rec.offset) if first is not None else part.next_offset
            floor = part.start if part.committed is None else part.committed
            if point is not None and point > floor:
                offsets[tp] = OffsetAndMetadata(point, "", -1)
        if offsets:
            consumer.commit(offsets)
            for tp, om in offsets.items():
                self._by_tp[tp].committed = om.offset
        for part in dirty:
            part.dirty = False
        return bool(offsets)


def skip_undecodable(
    consumer: KafkaConsumer, guard: Any, partitions: Partitions
) -> list[tuple[Partition, Any]]:
    """Each assigned partition whose next batch cannot be decoded (``decode.FetchGuard``) moves
    past it; returns the partitions with the raw batch each skipped, to be given up on."""
    skipped = []
    for tp in list(partitions.assigned):
        part = partitions[tp]
        bad = guard.find_bad(tp, consumer.position(tp))
        if bad is None:
            continue
        part.next_offset = bad.next_offset
        part.dirty = True
        consumer.seek(tp, bad.next_offset)
        skipped.append((part, bad))
    return skipped
