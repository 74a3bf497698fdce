"""A labelled model of throughput per partition on AWS, from round trips measured here.

On AWS a Kafka partition is read by one poller that invokes the function one batch at a time, so
a partition's events/s is ``batch / (round_trips_per_batch * L + batch * cpu_per_event)``:
``round_trips_per_batch`` are the *sequential* DynamoDB round trips one invocation makes
(requests sent together count once), measured here from the meter's timestamps; ``cpu_per_event``
is the handler's own time per event with the engine's time excluded, measured here; ``L`` is
DynamoDB's latency, which is not measured here but stated: "For most atomic operations, such as
GetItem and PutItem, you can expect an average latency in single-digit milliseconds" (AWS
Knowledge Center, "How do I troubleshoot high latency in DynamoDB?"). The model uses 10 ms, the
top of that range, and shows 5 ms beside it. It is a model, not a measurement of AWS: it leaves
out the network between Lambda and DynamoDB beyond ``L``, throttling and cold starts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bench.meter import merged_spans

#: DynamoDB latency per round trip in the model (seconds), and the figure shown beside it
LATENCY_S = 0.010
OTHER_LATENCY_S = 0.005
SOURCE = (
    "AWS Knowledge Center, 'How do I troubleshoot high latency in DynamoDB?': average latency "
    "in single-digit milliseconds for GetItem/PutItem"
)


def sequential_round_trips(calls: Iterable[Any]) -> int:
    """How many round trips happened one after another: requests whose time at the engine
    overlaps (a phase sent in parallel) count once; a gap between them starts another."""
    return len(merged_spans(calls))


@dataclass
class PartitionModel:
    batch: float
    round_trips_per_batch: float
    cpu_s_per_event: float

    def events_per_s(self, latency_s: float = LATENCY_S) -> float:
        per_batch = self.round_trips_per_batch * latency_s + self.batch * self.cpu_s_per_event
        return self.batch / per_batch if per_batch > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "round_trips_per_batch": self.round_trips_per_batch,
            "cpu_ms_per_event": self.cpu_s_per_event * 1000,
            "events_per_s_per_partition": self.events_per_s(LATENCY_S),
            "events_per_s_per_partition_at_5ms": self.events_per_s(OTHER_LATENCY_S),
        }


def model(ours: PartitionModel, baseline: PartitionModel) -> dict[str, Any]:
    """Both sides at the stated latency, and their ratio."""
    mine, theirs = ours.events_per_s(), baseline.events_per_s()
    return {
        "latency_ms": LATENCY_S * 1000,
        "other_latency_ms": OTHER_LATENCY_S * 1000,
        "latency_source": SOURCE,
        "ours": ours.as_dict(),
        "baseline": baseline.as_dict(),
        "ratio": mine / theirs if theirs else 0.0,
        "ratio_at_5ms": (
            ours.events_per_s(OTHER_LATENCY_S) / baseline.events_per_s(OTHER_LATENCY_S)
            if baseline.events_per_s(OTHER_LATENCY_S)
            else 0.0
        ),
    }
