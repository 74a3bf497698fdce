"""Schedules as EventBridge rules and EventBridge Scheduler run them: expressions, target input,
and the schedules read from a template (SAM's events through SAM's own transform, and plain
CloudFormation)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from eventflow_local.eventsources.deliveries import read_schedules
from eventflow_local.eventsources.schedule.expressions import ScheduleError, parse, rate_seconds
from eventflow_local.eventsources.schedule.inputs import fill_template, target_input
from eventflow_local.eventsources.schedule.plan import plan_schedules
from eventflow_local.template.sam import SamTemplate
from tests.unit.template_files import sam_transform, write

APPS = Path(__file__).resolve().parents[1] / "apps"
NOW = datetime(2026, 12, 3, 22, 41, 10, tzinfo=UTC)  # a Thursday


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc,arg-type]


# --------------------------------------------------------------------------------- expressions
@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("rate(5 minutes)", utc(2026, 12, 3, 22, 46, 10)),
        ("rate(1 day)", utc(2026, 12, 4, 22, 41, 10)),
        ("cron(0/5 * * * ? *)", utc(2026, 12, 3, 22, 45)),
        ("cron(0 12 * * ? *)", utc(2026, 12, 4, 12, 0)),
        ("cron(15 10 ? * MON-FRI *)", utc(2026, 12, 4, 10, 15)),
        ("cron(0 10 ? * 6L *)", utc(2026, 12, 25, 10, 0)),  # the last Friday
        ("cron(0 10 ? * 2#1 *)", utc(2026, 12, 7, 10, 0)),  # the first Monday
        ("cron(0 8 L * ? *)", utc(2026, 12, 31, 8, 0)),
        ("cron(0 8 LW * ? *)", utc(2026, 12, 31, 8, 0)),
        ("cron(0 8 5W * ? *)", utc(2026, 12, 4, 8, 0)),  # the 5th is a Saturday: Friday 4th
        ("cron(0 0 29 FEB ? *)", utc(2028, 2, 29, 0, 0)),
        ("cron(0 0 1 1 ? 2020)", None),
    ],
)
def test_the_next_run_of_a_rule_expression_in_utc(
    expression: str, expected: datetime | None
) -> None:
    # GIVEN an EventBridge schedule expression WHEN its next run after NOW is asked
    # THEN it is the one AWS's grammar names (or none left)
    assert parse(expression, allow_at=False).next_after(NOW) == expected


def test_scheduler_reads_cron_and_at_in_the_schedules_time_zone() -> None:
    # GIVEN Paris time (UTC+1 in December)
    paris = ZoneInfo("Europe/Paris")
    # THEN noon in Paris is 11:00 UTC, and at(...) is read in that zone
    assert parse("cron(0 12 * * ? *)", allow_at=True).next_after(NOW, paris) == utc(
        2026, 12, 4, 11, 0
    )
    assert parse("at(2027-01-01T00:00:00)", allow_at=True, tz=paris).next_after(NOW) == utc(
        2026, 12, 31, 23, 0
    )
    assert parse("at(2020-01-01T00:00:00)", allow_at=True).next_after(NOW) is None


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("rate(1 minutes)", "singular"),
        ("rate(0 minutes)", "not a valid rate"),
        ("rate(5 weeks)", "not a valid rate"),
        ("cron(0 12 * * * *)", "must be '?'"),
        ("cron(0 12 ? * ? *)", "must be '?'"),
        ("cron(0 12 * *)", "six fields"),
        ("cron(61 12 * * ? *)", "outside 0-59"),
        ("at(2026-12-03T10:00:00)", "Scheduler's"),
        ("every 5 minutes", "not a schedule expression"),
    ],
)
def test_an_expression_aws_refuses_is_one_line(expression: str, reason: str) -> None:
    with pytest.raises(ScheduleError, match=reason):
        parse(expression, allow_at=False)


def test_rate_seconds() -> None:
    assert rate_seconds("rate(5 minutes)") == 300
    assert rate_seconds("rate(1 hour)") == 3600


# --------------------------------------------------------------------------------- target input
EVENT = {
    "version": "0",
    "id": "e1",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "time": "2026-12-03T22:45:00Z",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/r"],
    "detail": {},
}


def test_input_transformer_quotes_strings_as_eventbridge_does() -> None:
    # GIVEN a JSON template with placeholders inside and outside quotes, and predefined ones
    target = {
        "InputTransformer": {
            "InputPathsMap": {"kind": "$.detail-type", "arn": "$.resources[0]", "gone": "$.nope"},
            "InputTemplate": '{"kind": <kind>, "line": "a <kind> on <aws.events.rule-name>", '
            '"arn": <arn>, "gone": <gone>, "event": <aws.events.event>, "n": [1, <kind>]}',
        }
    }
    # WHEN the target's input is made
    got = target_input(target, EVENT, "arn:aws:events:us-east-1:123456789012:rule/r", "r")
    # THEN strings are quoted outside quotes, inserted as text inside, a missing path is null,
    # and <aws.events.event> is the event without detail
    assert got["kind"] == "Scheduled Event"
    assert got["line"] == "a Scheduled Event on r"
    assert got["arn"] == EVENT["resources"][0]  # type: ignore[index]
    assert got["gone"] is None
    assert got["event"] == {k: v for k, v in EVENT.items() if k != "detail"}
    assert got["n"] == [1, "Scheduled Event"]


def test_a_text_template_reaches_the_function_as_a_string() -> None:
    assert fill_template("<a> is in state <b>", {"a": "i-1", "b": "RUNNING"}) == (
        "i-1 is in state RUNNING"
    )
    target = {"InputTransformer": {"InputTemplate": '"<aws.events.rule-name> triggered"'}}
    assert target_input(target, EVENT, "arn", "example") == "example triggered"


def test_input_and_input_path() -> None:
    assert target_input({"Input": '{"a": 1}'}, EVENT, "arn", "r") == {"a": 1}
    assert target_input({"InputPath": "$.resources"}, EVENT, "arn", "r") == EVENT["resources"]
    assert target_input({}, EVENT, "arn", "r") == EVENT


# --------------------------------------------------------------------------------- templates
SAM_BODY = """
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.13
      AutoPublishAlias: live
      Events:
        Tick:
          Type: Schedule
          Properties:
            Schedule: rate(5 minutes)
            Input: '{"from": "tick"}'
            RetryPolicy: { MaximumRetryAttempts: 1 }
        Stopped:
          Type: Schedule
          Properties: { Schedule: rate(1 hour), Enabled: false }
        Paris:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: cron(0 12 * * ? *)
            ScheduleExpressionTimezone: Europe/Paris
            FlexibleTimeWindow: { Mode: FLEXIBLE, MaximumWindowInMinutes: 5 }
"""


def test_sams_schedule_events_through_sams_own_transform(tmp_path: Path) -> None:
    # GIVEN SAM's Schedule and ScheduleV2 events, turned by SAM's translator into an
    # AWS::Events::Rule and an AWS::Scheduler::Schedule targeting the function's alias
    transformed = sam_transform(write(tmp_path, SAM_BODY))
    kinds = {lid: r["Type"] for lid, r in transformed["Resources"].items()}
    assert kinds["FnTick"] == "AWS::Events::Rule"
    assert kinds["FnParis"] == "AWS::Scheduler::Schedule"
    out = tmp_path / "out"
    out.mkdir()
    (out / "template.json").write_text(json.dumps(transformed))
    # WHEN the schedules are read from that CloudFormation
    plan = plan_schedules(SamTemplate(out / "template.json"), now=NOW)
    by_id = {s.logical_id: s for s in plan.schedules}
    # THEN each reaches the function through its alias, with SAM's input and state
    assert {t.function for s in plan.schedules for t in s.targets} == {"Fn"}
    tick = by_id["FnTick"]
    assert tick.event_for(tick.targets[0]) == {"from": "tick"}
    assert not by_id["FnStopped"].enabled
    paris = by_id["FnParis"]
    assert paris.next_after(NOW) == utc(2026, 12, 4, 11, 0)
    assert paris.event_for(paris.targets[0]) == {}
    assert paris.arn.endswith(":schedule/default/FnParis")
    assert any("FnTick.Targets[" in line and "RetryPolicy" in line for line in plan.skipped)
    assert any("FnStopped: State DISABLED" in line for line in plan.skipped)
    assert any("FnParis.FlexibleTimeWindow: FLEXIBLE" in line for line in plan.skipped)


def test_the_untransformed_sam_template_reads_the_same(tmp_path: Path) -> None:
    # GIVEN the same SAM template read as written
    plan = read_schedules(SamTemplate(write(tmp_path, SAM_BODY)))
    # THEN it has the same schedules SAM's transform makes
    assert sorted(s.logical_id for s in plan.schedules) == ["FnParis", "FnStopped", "FnTick"]


def test_plain_cloudformation_schedules_and_what_is_not_emulated() -> None:
    # GIVEN the schedules_cfn fixture
    plan = read_schedules(SamTemplate(APPS / "schedules_cfn" / "template.yaml"))
    ids = {s.logical_id for s in plan.schedules}
    # THEN every function-targeting rule and schedule is read, the alias and ARN forms included
    assert ids == {
        "ConstantInput",
        "PathInput",
        "Transformed",
        "Paused",
        "EveryMinute",
        "LongAgo",
        "FarAhead",
    }
    # AND what does not run is one line each
    text = "\n".join(plan.skipped)
    assert "Transformed.Targets[queue]: arn:aws:sqs:" in text
    assert "OnOrders" not in text  # an event-pattern rule: eventsources/eventbridge/
    assert "Paused: State DISABLED" in text
    assert "LongAgo: at(2020-01-01T09:00:00): no run left" in text
    assert "ConstantInput.Targets[constant].RetryPolicy: not emulated" in text
    assert plan.refused == []


def test_a_refused_schedule_is_one_line(tmp_path: Path) -> None:
    body = """
    Resources:
      Fn:
        Type: AWS::Lambda::Function
        Properties: { Code: src/, Handler: app.handler, Runtime: python3.13, Role: r }
      Bad:
        Type: AWS::Events::Rule
        Properties:
          ScheduleExpression: cron(0 12 * * * *)
          Targets: [{ Id: a, Arn: !GetAtt Fn.Arn }]
      Both:
        Type: AWS::Events::Rule
        Properties:
          ScheduleExpression: rate(1 hour)
          Targets: [{ Id: b, Arn: !GetAtt Fn.Arn, Input: '{}', InputPath: $.detail }]
      Text:
        Type: AWS::Scheduler::Schedule
        Properties:
          ScheduleExpression: rate(1 hour)
          FlexibleTimeWindow: { Mode: "OFF" }
          Target: { Arn: !GetAtt Fn.Arn, RoleArn: r, Input: not json }
    """
    plan = read_schedules(SamTemplate(write(tmp_path, body)))
    assert [s.logical_id for s in plan.schedules] == []
    assert any(line.startswith("Bad: ScheduleExpression:") for line in plan.refused)
    assert any(
        line == "Both.Targets[b]: Input and InputPath: a target takes at most one of them"
        for line in plan.refused
    )
    assert "Text.Target: Input: a Lambda target's input must be well-formed JSON" in plan.refused


def test_validate_names_the_schedules_up_would_run() -> None:
    # GIVEN the schedules_cfn fixture WHEN `validate` plans it (nothing starts)
    from eventflow_local.planning import plan_stack

    lines = plan_stack(APPS / "schedules_cfn" / "template.yaml").lines()
    # THEN each schedule is an event source of its function, a disabled one said so
    assert "    Recorder <- AWS::Events::Rule ConstantInput rate(5 minutes)" in lines
    assert (
        "    Recorder <- AWS::Events::Rule Paused rate(1 minute) (DISABLED: fired on demand only)"
        in lines
    )
    assert "    Recorder <- AWS::Scheduler::Schedule FarAhead at(2099-06-01T12:00:00)" in lines
    # an event-pattern rule is eventsources/eventbridge/'s: planned as such, not named as not
    # emulated
    assert "    Recorder <- EventBridge rule OnOrders on bus default" in lines
    assert not any("OnOrders" in line for line in lines if line.startswith("not emulated"))
