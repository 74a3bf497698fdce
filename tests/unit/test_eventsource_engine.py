"""The shared retry / bisect / max-age / partial-batch engine, with a source that records calls."""

from __future__ import annotations

import time
from typing import Any

from eventflow_local.eventsources.batching import Batch, EngineOptions, Entry
from eventflow_local.eventsources.config import parse_config
from eventflow_local.eventsources.engine import Engine
from eventflow_local.runtime.invocation import InvocationResult

STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/T/stream/x"


class FakeSource:
    def __init__(self, fail: Any = lambda entries: False, response: Any = None) -> None:
        self.fail = fail
        self.response = response
        self.calls: list[list[str]] = []
        self.settled_ids: list[str] = []
        self.given_up: list[tuple[list[str], str]] = []

    def invoke(self, entries: list[Entry]) -> InvocationResult:
        self.calls.append([e.rec for e in entries])
        if self.fail(entries):
            return InvocationResult(ok=False, error={"errorType": "E", "errorMessage": "x"})
        payload = self.response(entries) if self.response else None
        return InvocationResult(ok=True, payload=payload)

    def item_of(self, identifier: Any, entries: list[Entry]) -> int | None:
        ids = [e.rec for e in entries]
        return ids.index(identifier) if identifier in ids else None

    def settled(self, entries: list[Entry]) -> None:
        self.settled_ids += [e.rec for e in entries]

    def give_up(self, entries: list[Entry], condition: str, batch: Batch) -> bool:
        self.given_up.append(([e.rec for e in entries], condition))
        return True

    def describe(self, entries: list[Entry]) -> str:
        return "fake"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def engine(source: FakeSource, clock: Clock, cross_lane: bool = False, **props: Any) -> Engine:
    cfg = parse_config(
        "Fn", "Ev", "DynamoDB", {"Stream": STREAM, "StartingPosition": "TRIM_HORIZON", **props}
    )
    options = EngineOptions(retry_initial_delay=1.0, retry_max_delay=8.0, clock=clock)
    return Engine(
        cfg, source, cross_lane=cross_lane, envelope=100, options=options, log=lambda _: None
    )


def feed(eng: Engine, lane: str, ids: list[str], now: float) -> None:
    for i in ids:
        eng.add(Entry(lane, i, 10), now)


def test_a_failing_lane_waits_for_its_retry_while_the_other_lanes_go_on():
    # GIVEN two shards; every batch of shard A fails
    clock = Clock()
    source = FakeSource(fail=lambda entries: entries[0].lane == "A")
    eng = engine(source, clock)
    feed(eng, "A", ["a1", "a2"], clock.now)
    feed(eng, "B", ["b1"], clock.now)
    # WHEN the engine steps  THEN it returns at once: A failed, B succeeded
    started = time.monotonic()
    eng.step(clock.now)
    assert time.monotonic() - started < 0.5
    assert source.calls == [["a1", "a2"], ["b1"]]
    assert source.settled_ids == ["b1"]
    # ... new records of B go on while A waits for its back-off
    feed(eng, "B", ["b2"], clock.now)
    eng.step(clock.now)
    assert source.calls[-1] == ["b2"] and source.calls.count(["a1", "a2"]) == 1
    assert eng.wait_time(clock.now, 60) == 1.0  # A's retry is due in 1 s
    clock.now += 1.0
    eng.step(clock.now)
    assert source.calls.count(["a1", "a2"]) == 2


def test_bisect_splits_a_failing_batch_and_keeps_the_lane_in_order():
    clock = Clock()
    source = FakeSource(fail=lambda entries: any(e.rec == "x3" for e in entries))
    eng = engine(source, clock, BisectBatchOnFunctionError="true", MaximumRetryAttempts="0")
    feed(eng, "A", ["x1", "x2", "x3", "x4"], clock.now)
    for _ in range(10):
        eng.step(clock.now)
        clock.now += 10
    assert source.calls[:3] == [["x1", "x2", "x3", "x4"], ["x1", "x2"], ["x3", "x4"]]
    assert source.given_up == [(["x3"], "RetryAttemptsExhausted")]
    assert source.settled_ids == ["x1", "x2", "x3", "x4"]


def test_bisect_false_as_a_string_retries_the_whole_batch():
    clock = Clock()
    source = FakeSource(fail=lambda entries: True)
    eng = engine(source, clock, BisectBatchOnFunctionError="false", MaximumRetryAttempts="1")
    feed(eng, "A", ["x1", "x2"], clock.now)
    for _ in range(5):
        eng.step(clock.now)
        clock.now += 10
    assert source.calls == [["x1", "x2"], ["x1", "x2"]]
    assert source.given_up == [(["x1", "x2"], "RetryAttemptsExhausted")]


def test_a_partial_batch_response_retries_each_lane_from_its_lowest_failure():
    clock = Clock()
    first = {"done": False}

    def response(entries: list[Entry]) -> dict[str, Any]:
        if first["done"]:
            return {"batchItemFailures": []}
        first["done"] = True
        return {"batchItemFailures": [{"itemIdentifier": "a2"}, {"itemIdentifier": "a3"}]}

    source = FakeSource(response=response)
    eng = engine(source, clock, cross_lane=True, FunctionResponseTypes=["ReportBatchItemFailures"])
    feed(eng, "A", ["a1", "a2", "a3"], clock.now)
    feed(eng, "B", ["b1", "b2"], clock.now)
    eng.step(clock.now)
    assert source.calls == [["a1", "a2", "a3", "b1", "b2"]]
    assert source.settled_ids == ["a1", "b1", "b2"]
    clock.now += 10
    eng.step(clock.now)
    assert source.calls[-1] == ["a2", "a3"]
    assert eng.idle()


def test_an_identifier_not_in_the_batch_fails_the_whole_batch():
    clock = Clock()
    source = FakeSource(response=lambda entries: {"batchItemFailures": [{"itemIdentifier": "zz"}]})
    eng = engine(source, clock, FunctionResponseTypes="ReportBatchItemFailures")
    feed(eng, "A", ["a1"], clock.now)
    eng.step(clock.now)
    assert source.settled_ids == [] and not eng.idle()


def test_records_older_than_the_maximum_age_are_given_up_without_an_invocation():
    clock = Clock()
    source = FakeSource()
    eng = engine(source, clock, MaximumRecordAgeInSeconds="60")
    old_ms = (time.time() - 3600) * 1000
    eng.add(Entry("A", "old", 10, old_ms), clock.now)
    eng.add(Entry("A", "new", 10, time.time() * 1000), clock.now)
    eng.step(clock.now)
    assert source.given_up == [(["old"], "RecordAgeExceeded")]
    assert source.calls == [["new"]]


def test_the_batching_window_and_batch_size_decide_when_a_batch_is_due():
    clock = Clock()
    source = FakeSource()
    eng = engine(source, clock, BatchSize="3", MaximumBatchingWindowInSeconds="2")
    feed(eng, "A", ["1", "2"], clock.now)
    eng.step(clock.now)
    assert source.calls == []
    assert eng.wait_time(clock.now, 60) == 2.0
    feed(eng, "A", ["3", "4"], clock.now)
    eng.step(clock.now)
    assert source.calls == [["1", "2", "3"]]
    clock.now += 2.0
    eng.step(clock.now)
    assert source.calls == [["1", "2", "3"], ["4"]]
