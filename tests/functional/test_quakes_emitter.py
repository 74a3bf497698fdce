"""quake_emitter: start / stop / status over API Gateway events, emission runs on the Schedule
event, against moto DynamoDB. Time is simulated: it moves only when the emitter sleeps."""

from __future__ import annotations

import json
import threading
import time
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from eventflow.quakes.adapters.stream import StreamStore
from eventflow.quakes.domain.models import Earthquake
from eventflow.quakes.usecases.control import StreamControl
from eventflow.quakes.usecases.emitter import QuakeEmitter
from eventflow_local.events.apigateway import api_event
from eventflow_local.events.context import LambdaContext
from tests.functional.quakes_support import (
    QUAKES_TOPIC,
    FakeKicker,
    FakePublisher,
    SimulatedTime,
    schedule,
)
from tests.support import ApiClient, Function

EVENTS = Path(__file__).resolve().parents[2] / "events"
FN = "QuakeEmitterFunction"


class Rig:
    """Two execution environments of the emitter function, as Lambda would run them: one serves
    the API, the other an emission run. Both use the same simulated clock and fakes."""

    def __init__(self, tpl: Any, self_invoke: str = "lambda") -> None:
        env = {"QUAKE_SELF_INVOKE": self_invoke}
        self.time = SimulatedTime()
        self.publisher = FakePublisher(clock=self.time.monotonic)
        self.kicker = FakeKicker()
        self.api_fn = Function(tpl, FN, env)
        self.run_fn = Function(tpl, FN, env)
        self.api = ApiClient(tpl, {FN: self.api_fn})
        table = self.api_fn.env["QUAKE_STREAM_TABLE"]
        self.store = StreamStore(table)
        self.api_fn.module.control = cache(
            lambda: StreamControl(StreamStore(table), self.kicker, clock_ms=self.time.clock_ms)
        )
        self.run_fn.module.emitter = cache(lambda: self.make_emitter())

    def make_emitter(self, **kw: Any) -> QuakeEmitter:
        return QuakeEmitter(
            StreamStore(self.api_fn.env["QUAKE_STREAM_TABLE"]),
            self.publisher,
            QUAKES_TOPIC,
            self.kicker,
            clock_ms=self.time.clock_ms,
            monotonic=self.time.monotonic,
            sleep=self.time.sleep,
            **kw,
        )

    def run(self) -> dict[str, Any]:
        """The Schedule event, as EventBridge delivers it."""
        return self.run_fn(schedule())

    def status(self) -> dict[str, Any]:
        code, body = self.api.get("/earthquake-events")
        assert code == 200, body
        return body

    def events(self) -> list[Earthquake]:
        return [Earthquake.model_validate_json(m.value) for m in self.publisher.messages]


@pytest.fixture
def rig(tpl, aws) -> Rig:
    return Rig(tpl)


# ---------------------------------------------------------------------------------- start
def test_status_before_any_start_says_not_running(rig):
    assert rig.status() == {
        "running": False,
        "rate": None,
        "magnitudes": None,
        "emitted": 0,
        "since": None,
        "runId": None,
        "stopsAt": None,
        "emitterActive": False,
        "lastEmitAt": None,
    }


def test_start_without_body_uses_the_seed_rate_and_invokes_the_emitter(rig):
    code, body = rig.api.post("/earthquake-events/start")
    assert code == 200, body
    assert body["started"] is True and body["alreadyRunning"] is False
    assert body["message"] == "stream started at 10 events/s; emitter invoked"
    assert body["stream"]["running"] is True and body["stream"]["rate"] == 10
    assert body["stream"]["magnitudes"] == "gutenberg-richter"
    assert body["stream"]["since"] == "2025-11-25T12:00:00.000Z"
    assert rig.kicker.kicks == ["start"]
    assert rig.status()["running"] is True


def test_starting_a_running_stream_changes_its_rate_never_a_second_stream(rig):
    _, first = rig.api.post("/earthquake-events/start", {"rate": 10})
    code, second = rig.api.post("/earthquake-events/start", {"rate": 250, "magnitudes": "uniform"})
    assert code == 200
    assert second["started"] is False and second["alreadyRunning"] is True
    assert second["message"].startswith(
        "stream already running; rate changed from 10 to 250 events/s"
    )
    assert second["stream"]["runId"] == first["stream"]["runId"]
    assert (second["stream"]["rate"], second["stream"]["magnitudes"]) == (250, "uniform")
    _, third = rig.api.post("/earthquake-events/start", {"rate": 250, "magnitudes": "uniform"})
    assert third["message"].startswith("stream already running at 250 events/s")
    items = rig.api_fn.module.stream().client.scan(TableName=rig.store.table)["Items"]
    assert len(items) == 1


def test_start_does_not_invoke_a_second_emitter_while_one_holds_the_lease(rig):
    rig.api.post("/earthquake-events/start")
    now = rig.time.clock_ms()
    assert rig.store.acquire("emitter-1", now, now + 10_000)[0]
    _, body = rig.api.post("/earthquake-events/start", {"rate": 20})
    assert rig.kicker.kicks == ["start"]  # only the first start
    assert body["message"] == "stream already running; rate changed from 10 to 20 events/s"
    assert body["stream"]["emitterActive"] is True


def test_without_self_invocation_start_says_the_schedule_will_emit(tpl, aws):
    rig = Rig(tpl, self_invoke="none")
    rig.kicker.works = False
    _, body = rig.api.post("/earthquake-events/start")
    assert (
        body["message"]
        == "stream started at 10 events/s; emission begins at the emitter's next scheduled run"
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rate": 0}, "rate"),
        ({"rate": -5}, "rate"),
        ({"rate": 50_000}, "rate"),
        ({"rate": "fast"}, "rate"),
        ({"durationSeconds": 0}, "durationSeconds"),
        ({"durationSeconds": 1.5}, "durationSeconds"),
        ({"magnitudes": "normal"}, "magnitudes"),
        ({"speed": 3}, "speed"),
    ],
)
def test_invalid_start_is_422_naming_the_field(rig, body, field):
    code, resp = rig.api.post("/earthquake-events/start", body)
    assert code == 422
    assert field in resp["message"]
    assert rig.status()["running"] is False


def test_start_with_invalid_json_or_content_type_says_why(rig):
    event = api_event(
        "POST",
        "/earthquake-events/start",
        body='{"rate": ',
        headers={"Content-Type": "application/json"},
    )
    resp = rig.api_fn(event)
    assert resp["statusCode"] == 422 and "not valid JSON" in json.loads(resp["body"])["message"]
    event = api_event(
        "POST",
        "/earthquake-events/start",
        body="rate=5",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    resp = rig.api_fn(event)
    assert resp["statusCode"] == 415 and "application/json" in json.loads(resp["body"])["message"]


# ---------------------------------------------------------------------------------- stop
def test_stop_reports_honestly_whether_a_stream_was_running(rig):
    code, body = rig.api.post("/earthquake-events/stop")
    assert code == 200 and body["stopped"] is False and body["message"] == "no stream was running"
    rig.api.post("/earthquake-events/start")
    code, body = rig.api.post("/earthquake-events/stop")
    assert code == 200 and body["stopped"] is True
    assert body["message"] == "stream stopped (0 events emitted so far)"
    assert (
        body["stream"]["running"] is False and body["stream"]["stopReason"] == "stopped by request"
    )
    _, again = rig.api.post("/earthquake-events/stop")
    assert again["stopped"] is False and again["message"] == "no stream was running"


def test_a_stream_with_a_duration_ends_by_itself(rig):
    rig.api.post("/earthquake-events/start", {"rate": 20, "durationSeconds": 2})
    report = rig.run()
    assert report["reason"] == "duration elapsed"
    assert 39 <= report["emitted"] <= 40  # due at t = 0, 0.05, ..., 1.95; sent per 100 ms tick
    assert all(t < 2.0 for t, _ in rig.publisher.calls)
    status = rig.status()
    assert status["running"] is False and status["stopReason"] == "duration elapsed"
    assert status["stoppedAt"] == "2025-11-25T12:00:02.000Z"
    assert status["emitted"] == report["emitted"]
    _, body = rig.api.post("/earthquake-events/stop")
    assert body["stopped"] is False


def test_after_a_stop_a_start_opens_a_new_run(rig):
    _, first = rig.api.post("/earthquake-events/start")
    rig.api.post("/earthquake-events/stop")
    _, second = rig.api.post("/earthquake-events/start", {"rate": 3})
    assert second["started"] is True and second["stream"]["runId"] != first["stream"]["runId"]
    assert second["stream"]["emitted"] == 0 and "stopReason" not in second["stream"]


# ---------------------------------------------------------------------------------- emission runs
def test_a_run_without_a_stream_returns_at_once(rig):
    report = rig.run()
    assert report == {
        "emitted": 0,
        "reason": "no stream is running",
        "runId": None,
        "batches": 0,
        "handedOver": False,
    }
    assert rig.publisher.messages == []


def test_a_run_emits_at_the_rate_keyed_by_region_until_stopped(rig):
    rig.api.post("/earthquake-events/start", {"rate": 10})
    rig.time.at(5.0, lambda: rig.api.post("/earthquake-events/stop"))
    report = rig.run()
    assert report["reason"] == "stopped"
    events = rig.events()
    assert 50 <= len(events) <= 56  # 10/s for 5 s, plus at most the half second before the check
    assert len({e.id for e in events}) == len(events)
    for msg, event in zip(rig.publisher.messages, events, strict=True):
        assert msg.topic == QUAKES_TOPIC and msg.key == (event.region or "").encode()
        assert dict(msg.headers)["eventId"] == event.id.encode()
    # one event per 100 ms tick, as the original stream did
    assert all(size == 1 for _, size in rig.publisher.calls)
    assert rig.status()["emitted"] == len(events)


def test_stop_takes_effect_within_a_second_during_a_run(rig):
    rig.api.post("/earthquake-events/start", {"rate": 200})
    stopped_at: list[float] = []

    def stop() -> None:
        _, body = rig.api.post("/earthquake-events/stop")
        assert body["stopped"] is True
        stopped_at.append(rig.time.now)

    rig.time.at(2.03, stop)
    report = rig.run()
    assert report["reason"] == "stopped"
    last_publish = max(t for t, _ in rig.publisher.calls)
    assert last_publish < stopped_at[0] + 1.0
    assert rig.time.now < stopped_at[0] + 1.0  # the run itself ended within the second too
    assert rig.status()["emitted"] == report["emitted"] == len(rig.publisher.messages)


def test_a_rate_change_takes_effect_within_a_second(rig):
    rig.api.post("/earthquake-events/start", {"rate": 10})
    rig.time.at(3.0, lambda: rig.api.post("/earthquake-events/start", {"rate": 100}))
    rig.time.at(6.0, lambda: rig.api.post("/earthquake-events/stop"))
    rig.run()
    early = sum(n for t, n in rig.publisher.calls if t < 3.0)
    late = sum(n for t, n in rig.publisher.calls if 4.0 <= t < 6.0)
    assert early == pytest.approx(30, abs=2)
    assert late == pytest.approx(200, abs=10)
    assert rig.status()["emitted"] == len(rig.publisher.messages)


def test_uniform_magnitudes_on_request(rig):
    rig.api.post("/earthquake-events/start", {"rate": 500, "magnitudes": "uniform"})
    rig.time.at(2.0, lambda: rig.api.post("/earthquake-events/stop"))
    rig.run()
    mags = [e.magnitude for e in rig.events()]
    assert len(mags) >= 900 and sum(1 for m in mags if m >= 6.0) / len(mags) == pytest.approx(
        1 / 3, abs=0.05
    )


def test_two_emitters_never_run_at_once(rig):
    rig.api.post("/earthquake-events/start")
    now = rig.time.clock_ms()
    assert rig.store.acquire("emitter-elsewhere", now, now + 10_000)[0]
    report = rig.run()
    assert report["reason"] == "another emitter holds the lease" and report["emitted"] == 0
    # the other emitter died without releasing: once its lease expires a new run takes over
    rig.time.now += 11
    rig.time.at(12.0, lambda: rig.api.post("/earthquake-events/stop"))
    report = rig.run()
    assert report["reason"] == "stopped" and report["emitted"] > 0


def test_an_emitter_that_lost_its_lease_stops(rig):
    rig.api.post("/earthquake-events/start")

    def steal() -> None:  # only possible once the lease has expired; simulated by force
        rig.store.client.update_item(
            TableName=rig.store.table,
            Key=rig.store.key,
            UpdateExpression="SET leaseOwner = :o",
            ExpressionAttributeValues={":o": {"S": "someone-else"}},
        )

    rig.time.at(1.0, steal)
    report = rig.run()
    assert report["reason"] == "lease lost"
    assert max(t for t, _ in rig.publisher.calls) < 1.5


def test_a_run_ends_before_the_function_times_out_and_hands_over(rig):
    rig.api.post("/earthquake-events/start", {"rate": 10})
    emitter = rig.make_emitter(reserve_ms=3000)
    deadline = 60.0
    report = emitter.run("run-1", lambda: int((deadline - rig.time.now) * 1000))
    assert report.reason == "deadline" and report.handedOver is True
    assert rig.kicker.kicks == ["start", "handover"]
    assert 56.9 <= rig.time.now <= 57.1  # 3 s kept for flushing and releasing
    assert report.emitted == pytest.approx(571, abs=1)
    status = rig.status()
    assert (
        status["emitted"] == report.emitted and status["emitterActive"] is False
    )  # lease released
    assert status["running"] is True


def test_a_start_while_the_last_run_is_ending_still_gets_an_emitter(rig):
    """The start sees the ending emitter's lease and invokes nobody; that emitter, letting go,
    sees the new run and invokes the next one."""
    rig.api.post("/earthquake-events/start")
    rig.time.at(1.0, lambda: rig.api.post("/earthquake-events/stop"))
    emitter = rig.make_emitter()
    release = emitter.store.release
    restarted: list[dict[str, Any]] = []

    def start_then_release(*args: Any) -> Any:
        restarted.append(rig.api.post("/earthquake-events/start", {"rate": 5})[1])
        return release(*args)

    emitter.store.release = start_then_release  # type: ignore[method-assign]
    report = emitter.run("run-1", lambda: 60_000)
    assert report.reason == "stopped" and report.handedOver is True
    assert (
        restarted[0]["started"] is True
        and restarted[0]["message"] == "stream started at 5 events/s"
    )
    assert rig.kicker.kicks == ["start", "handover"]


def test_a_failed_publish_fails_the_run_and_frees_the_lease(rig):
    rig.api.post("/earthquake-events/start", {"rate": 10})
    rig.publisher.fail_next = 1
    with pytest.raises(Exception, match="Kafka publish failed"):
        rig.run()
    assert rig.status()["emitterActive"] is False  # the next run can start at once


def test_a_stop_during_a_real_run_takes_effect_within_a_second(tpl, aws):
    """Real time, two threads: a schedule run and an API stop, as two Lambda environments."""
    rig = Rig(tpl)
    publisher = FakePublisher(clock=time.monotonic)
    rig.run_fn.module.emitter = cache(
        lambda: QuakeEmitter(StreamStore(rig.store.table), publisher, QUAKES_TOPIC, rig.kicker)
    )
    rig.api_fn.module.control = cache(
        lambda: StreamControl(StreamStore(rig.store.table), rig.kicker)
    )
    rig.api.post("/earthquake-events/start", {"rate": 100})
    result: dict[str, Any] = {}
    runner = threading.Thread(
        target=lambda: result.update(rig.run_fn.handler(schedule(), LambdaContext(FN, 60)))
    )
    runner.start()
    time.sleep(1.5)
    _, body = rig.api.post("/earthquake-events/stop")
    stopped = time.monotonic()
    runner.join(timeout=5)
    assert not runner.is_alive() and result["reason"] == "stopped"
    assert body["stopped"] is True
    assert all(t < stopped + 1.0 for t, _ in publisher.calls)
    assert len(publisher.messages) >= 100  # it did emit, at about the rate


# ---------------------------------------------------------------------------------- event files
@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("quake_emitter_status.json", 200),
        ("quake_emitter_start.json", 200),
        ("quake_emitter_stop.json", 200),
    ],
)
def test_event_files_invoke_the_function(rig, name, status):
    event = json.loads((EVENTS / name).read_text())
    assert rig.api_fn(event)["statusCode"] == status


def test_schedule_event_file_runs_the_emitter(rig):
    event = json.loads((EVENTS / "quake_emitter_schedule.json").read_text())
    assert rig.run_fn(event)["reason"] == "no stream is running"


def test_other_events_are_refused(rig):
    with pytest.raises(ValueError, match="Schedule event"):
        rig.run_fn({"Records": []})
