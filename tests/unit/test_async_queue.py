"""A function's event queue (runtime/async_queue.py) with a fake clock: AWS's retries of a failed
event with their waits, the event age that discards, the destination record's shape, and the
EventInvokeConfig values Lambda accepts."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from eventflow_local.eventsources.deliveries import read_schedules
from eventflow_local.eventsources.schedule.source import ScheduleEventSource
from eventflow_local.runtime.async_destinations import AsyncDeliveries
from eventflow_local.runtime.async_queue import (
    AWS_RETRY_DELAYS_S,
    EVENT_AGE_EXCEEDED,
    RETRIES_EXHAUSTED,
    SUCCESS,
    AsyncConfig,
    AsyncEvent,
    EventQueue,
    Outcome,
    attach,
    invocation_record,
)
from eventflow_local.runtime.invocation import InvocationResult
from eventflow_local.template.sam import SamTemplate


class FakeClock:
    """Time that passes only when waited for (or moved by a test)."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.waits: list[float] = []

    def now(self) -> float:
        return self.t

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        self.waits.append(seconds)
        self.t += seconds
        return stop.is_set()


class Script:
    """An invoker answering from a list of outcomes (True: ok), each invocation taking ``takes``
    seconds of the fake clock."""

    function_name = "Fn"

    def __init__(self, clock: FakeClock, outcomes: list[bool], takes: float = 0.0) -> None:
        self.clock, self.outcomes, self.takes = clock, list(outcomes), takes
        self.events: list[Any] = []

    def invoke(
        self, event: dict[str, Any], *, trigger: str = "direct", batch_size: int | None = None
    ) -> InvocationResult:
        self.events.append(event)
        self.clock.t += self.takes
        if self.outcomes.pop(0):
            return InvocationResult(True, payload={"done": event})
        return InvocationResult(False, error={"errorType": "ValueError", "errorMessage": "bad"})


def run(
    outcomes: list[bool], config: AsyncConfig, takes: float = 0.0, scale: float = 1.0
) -> tuple[Outcome | None, Script, FakeClock]:
    clock = FakeClock()
    invoker = Script(clock, outcomes, takes)
    queue = EventQueue(invoker, config, lambda _: None, clock=clock, delay_scale=scale, log=print)
    event = AsyncEvent({"n": 1}, "req-1", clock.now(), "test")
    return queue.process(event), invoker, clock


def test_a_failing_event_is_tried_three_times_with_aws_waits_by_default() -> None:
    # GIVEN a function that always fails and no EventInvokeConfig (AWS's defaults)
    config, lines = AsyncConfig.of("Fn", {})
    assert (config.max_retries, config.max_age_s, lines) == (2, 21600.0, [])
    # WHEN an event is processed at AWS's real delays
    outcome, invoker, clock = run([False, False, False], config)
    # THEN it ran three times, one then two minutes apart, and retries are exhausted
    assert outcome is not None and outcome.condition == RETRIES_EXHAUSTED
    assert len(invoker.events) == 3 and outcome.event.attempts == 3
    assert clock.waits == [60.0, 120.0] == list(AWS_RETRY_DELAYS_S)


def test_local_waits_are_scaled_and_a_retry_that_succeeds_ends_the_event() -> None:
    # GIVEN MaximumRetryAttempts 1 and the local scale (1/60)
    config, _ = AsyncConfig.of("Fn", {"EventInvokeConfig": {"MaximumRetryAttempts": 1}})
    # WHEN the first attempt fails and the second succeeds
    outcome, _, clock = run([False, True], config, scale=1 / 60)
    # THEN the event succeeded on its second attempt after one second
    assert outcome is not None and outcome.condition == SUCCESS
    assert outcome.event.attempts == 2 and clock.waits == [1.0]


def test_no_retries_when_maximum_retry_attempts_is_zero() -> None:
    config, _ = AsyncConfig.of("Fn", {"EventInvokeConfig": {"MaximumRetryAttempts": 0}})
    outcome, invoker, clock = run([False, True], config)
    assert outcome is not None and outcome.condition == RETRIES_EXHAUSTED
    assert len(invoker.events) == 1 and clock.waits == []


def test_an_event_too_old_for_its_next_attempt_is_discarded() -> None:
    # GIVEN a maximum event age of 100 s and an invocation that takes 30 s
    config, _ = AsyncConfig.of("Fn", {"EventInvokeConfig": {"MaximumEventAgeInSeconds": 100}})
    # WHEN it fails: the second attempt is due at 30 + 60 = 90 s, the third at 120 + 120 s
    outcome, invoker, _ = run([False, False, False], config, takes=30.0)
    # THEN the third attempt never runs: the event is discarded for its age
    assert outcome is not None and outcome.condition == EVENT_AGE_EXCEEDED
    assert len(invoker.events) == 2 and outcome.result is not None and not outcome.result.ok


def test_a_stopped_queue_drops_its_waiting_events() -> None:
    clock = FakeClock()
    queue = EventQueue(Script(clock, [False, False]), AsyncConfig(), lambda _: None, clock=clock)
    queue.stop()
    assert queue.process(AsyncEvent({}, "r", clock.now(), "t")) is None


@pytest.mark.parametrize(
    ("config", "expected", "line"),
    [
        ({"MaximumRetryAttempts": 5}, (2, 21600.0), "MaximumRetryAttempts 5 is outside"),
        ({"MaximumEventAgeInSeconds": 30}, (2, 60.0), "range 60-21600"),
        ({"MaximumRetryAttempts": "x"}, (2, 21600.0), "is not a number"),
        ({"MaximumRetryAttempts": "1", "MaximumEventAgeInSeconds": "120"}, (1, 120.0), None),
    ],
)
def test_event_invoke_config_values_outside_lambdas_ranges_are_named(
    config: dict[str, Any], expected: tuple[int, float], line: str | None
) -> None:
    parsed, lines = AsyncConfig.of("Fn", {"EventInvokeConfig": config})
    assert (parsed.max_retries, parsed.max_age_s) == expected
    assert (line is None and not lines) or (len(lines) == 1 and line in lines[0])


def test_destinations_and_dead_letter_queue_are_read_from_the_function() -> None:
    props = {
        "EventInvokeConfig": {
            "DestinationConfig": {
                "OnSuccess": {"Type": "SQS", "Destination": "arn:aws:sqs:us-east-1:1:ok"},
                "OnFailure": {"Type": "Lambda", "Destination": "arn:aws:lambda:r:1:function:f"},
            }
        },
        "DeadLetterConfig": {"TargetArn": "arn:aws:sqs:us-east-1:1:dlq"},
    }
    config, _ = AsyncConfig.of("Fn", props)
    assert config.on_success == "arn:aws:sqs:us-east-1:1:ok"
    assert config.on_failure == "arn:aws:lambda:r:1:function:f"
    assert config.dead_letter == "arn:aws:sqs:us-east-1:1:dlq"


def test_the_invocation_record_has_aws_shape_for_a_failure_and_a_success() -> None:
    # GIVEN an event that exhausted its retries
    config, _ = AsyncConfig.of("Fn", {"EventInvokeConfig": {"MaximumRetryAttempts": 1}})
    failed, _, _ = run([False, False], config)
    assert failed is not None
    # WHEN its record is made
    record = invocation_record(failed, "arn:aws:lambda:us-east-1:123456789012:function:Fn")
    # THEN it is the record AWS sends to an OnFailure destination
    assert record["version"] == "1.0" and record["timestamp"].endswith("Z")
    assert record["requestContext"] == {
        "requestId": "req-1",
        "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:Fn:$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 2,
    }
    assert record["requestPayload"] == {"n": 1}
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["responsePayload"] == {"errorType": "ValueError", "errorMessage": "bad"}
    # ... and a success's record has the function's result and no functionError
    ok, _, _ = run([True], config)
    assert ok is not None
    record = invocation_record(ok, "arn:aws:lambda:us-east-1:123456789012:function:Fn")
    assert record["requestContext"]["condition"] == "Success"
    assert "functionError" not in record["responseContext"]
    assert record["responsePayload"] == {"done": {"n": 1}}


def test_submit_answers_at_once_and_hands_the_outcome_over() -> None:
    # GIVEN a queue on the real clock whose function succeeds
    done: list[Outcome] = []
    finished = threading.Event()

    def on_done(outcome: Outcome) -> None:
        done.append(outcome)
        finished.set()

    queue = EventQueue(Script(FakeClock(), [True]), AsyncConfig(), on_done, log=print)
    # WHEN an event is submitted
    request_id = queue.submit({"x": 1})
    # THEN its request id comes back and the outcome arrives in the background
    assert finished.wait(5)
    assert done[0].event.request_id == request_id and done[0].condition == SUCCESS
    queue.stop()
    assert queue.pending == 0


def test_a_scheduled_run_goes_through_the_functions_event_queue_and_is_retried() -> None:
    # GIVEN the schedules_cfn app's ConstantInput rule, its function failing once then
    # succeeding, with an event queue attached (as the Lambda API attaches one)

    apps = Path(__file__).resolve().parents[1] / "apps"
    plan = read_schedules(SamTemplate(apps / "schedules_cfn" / "template.yaml"))
    (spec,) = [s for s in plan.schedules if s.logical_id == "ConstantInput"]
    clock = FakeClock()
    invoker = Script(clock, [False, True])
    done: list[Outcome] = []
    finished = threading.Event()
    queue = EventQueue(
        invoker,
        AsyncConfig(),
        lambda o: (done.append(o), finished.set()),
        clock=clock,
        delay_scale=0,
        log=print,
    )
    attach(invoker, queue)
    source = ScheduleEventSource(spec, {spec.targets[0].function: invoker}, log=print)
    # WHEN the schedule runs in the background, as on time
    source.fire_async(trigger="schedule:ConstantInput")
    # THEN its event went through the queue: retried after the failure, then a success
    assert finished.wait(5)
    assert done[0].condition == SUCCESS and done[0].event.attempts == 2
    assert done[0].event.trigger == "schedule:ConstantInput"
    assert invoker.events[0] == invoker.events[1] == {"job": "compact", "days": 7}
    assert source.runs == 1


def test_destinations_that_go_nowhere_locally_are_named_at_start_up() -> None:
    # GIVEN destinations of every kind and no emulator serving SQS or SNS
    deliveries = AsyncDeliveries(None, lambda arn: None, log=print)
    config = AsyncConfig(
        on_success="arn:aws:events:us-east-1:123456789012:event-bus/default",
        on_failure="arn:aws:lambda:us-east-1:123456789012:function:Gone",
        dead_letter="arn:aws:sqs:us-east-1:123456789012:dlq",
    )
    # WHEN they are checked
    lines = deliveries.check("Fn", config)
    # THEN each is one line saying why
    assert lines == [
        "Fn: EventInvokeConfig OnSuccess arn:aws:events:us-east-1:123456789012:event-bus/default:"
        " EventBridge destinations are not emulated yet",
        "Fn: EventInvokeConfig OnFailure arn:aws:lambda:us-east-1:123456789012:function:Gone:"
        " no such function runs here",
        "Fn: DeadLetterConfig arn:aws:sqs:us-east-1:123456789012:dlq: SQS is emulated only on"
        " the embedded moto server or LocalStack",
    ]
    assert deliveries.check("Fn", AsyncConfig()) == []


def test_a_fifo_queue_is_no_destination_lambda_supports() -> None:
    deliveries = AsyncDeliveries(None, lambda arn: None, log=print)
    fifo = "arn:aws:sqs:us-east-1:123456789012:records.fifo"
    (line,) = deliveries.check("Fn", AsyncConfig(on_success=fifo))
    assert "FIFO queues and topics are not supported by Lambda" in line
