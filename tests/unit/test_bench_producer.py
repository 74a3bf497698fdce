"""The producer's shortcuts change no byte and no partition."""

from __future__ import annotations

import json
import random

from kafka.partitioner.default import DefaultPartitioner

from eventflow.kafka.producer import Message, key_partitioner


class Cluster:
    def __init__(self, partitions: set[int]) -> None:
        self.partitions = partitions

    def topics(self) -> set[str]:
        return {"t"}

    def partitions_for_topic(self, topic: str) -> set[int]:
        return self.partitions

    def available_partitions_for_topic(self, topic: str) -> set[int]:
        return self.partitions


def test_key_partitioner_picks_the_default_partition_for_every_key():
    rng = random.Random(3)
    ours, default = key_partitioner(), DefaultPartitioner()
    for partitions in ({0}, {0, 1, 2}, set(range(7)), {2, 5, 9}):
        cluster = Cluster(partitions)
        for _ in range(2000):
            key = rng.randbytes(rng.randint(0, 40))
            assert ours.partition("t", None, key, None, None, cluster) == default.partition(
                "t", None, key, None, None, cluster
            )


def test_key_partitioner_without_a_key_picks_one_of_the_partitions():
    cluster = Cluster({0, 1, 2})
    assert key_partitioner().partition("t", None, None, b"v", b"v", cluster) in {0, 1, 2}


def test_message_json_is_compact_utf8_json():
    payload = {"id": "1", "name": "Zoë", "n": 1.5, "nested": {"a": [1, None]}}
    msg = Message.json("t", "k", payload, headers={"eventId": "e"})
    assert msg.value == json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    assert msg.key == b"k"
    assert msg.headers == (("eventId", b"e"),)
