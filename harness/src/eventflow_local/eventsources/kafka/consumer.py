"""The Kafka consumer of a mapping, configured as Lambda's poller reads: its own group, no
auto-commit, ``read_committed``, fetches sized to the 6 MB invocation payload; and the mapping's
local knobs (``EsmOptions``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer

from eventflow_local.aws import DEFAULT_REGION
from eventflow_local.eventsources.batching import MAX_PAYLOAD_BYTES


@dataclass
class EsmOptions:
    """Local knobs of the mapping (timings are in seconds)."""

    retry_initial_delay: float = 0.1
    retry_max_delay: float = 2.0
    #: longest wait for new records in one ``poll_once``
    poll_interval: float = 0.1
    #: how often to look for new partitions / topics
    partition_refresh_interval: float = 5.0
    max_payload_bytes: int = MAX_PAYLOAD_BYTES
    max_poll_records: int = 10_000
    region: str = DEFAULT_REGION
    #: one log line per invocation (off when the invoker logs invocations itself)
    log_invocations: bool = True
    #: extra KafkaConsumer settings (security, timeouts, ...)
    consumer_config: Mapping[str, Any] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time


def make_consumer(
    bootstrap_servers: str,
    group_id: str,
    function_name: str,
    starting_position: str,
    options: EsmOptions,
) -> KafkaConsumer:
    """A consumer that never joins the group (partitions are assigned by the mapping) and
    commits only what the mapping tells it to."""
    cfg: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers,
        "group_id": group_id,
        "client_id": f"esm-{function_name}",
        "enable_auto_commit": False,
        "auto_offset_reset": "latest" if starting_position == "LATEST" else "earliest",
        "isolation_level": "read_committed",
        "max_partition_fetch_bytes": options.max_payload_bytes,
        "fetch_max_bytes": max(52_428_800, 2 * options.max_payload_bytes),
        "fetch_max_wait_ms": 100,
        # full fetch requests: the assignment changes whenever a partition waits for a retry
        "enable_incremental_fetch_sessions": False,
        "check_crcs": False,  # CRC32C is pure Python in kafka-python: the hot path's largest cost
        "metadata_max_age_ms": max(1000, int(options.partition_refresh_interval * 1000)),
    }
    cfg.update(options.consumer_config)
    return KafkaConsumer(**cfg)


def filter_metadata(rec: Any) -> dict[str, Any]:
    """The record's metadata as a filter pattern may name it (``topic``, ``partition`` ...)."""
    return {
        "topic": rec.topic,
        "partition": rec.partition,
        "offset": rec.offset,
        "timestamp": rec.timestamp,
        "timestampType": "LOG_APPEND_TIME" if rec.timestamp_type == 1 else "CREATE_TIME",
    }
