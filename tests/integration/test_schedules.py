"""Schedules end to end: the schedules_cfn and schedules_sam fixture apps started by the harness,
each schedule fired now (console endpoint, command line) so that no test waits for a minute."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.integration.faults import wait_for

ROOT = Path(__file__).resolve().parents[2]
APPS = ROOT / "tests" / "apps"
AUTH = {"Authorization": "Bearer local-dev-token"}


def fire(stack: Any, schedule: str, *, wait: bool = True, auth: bool = True) -> tuple[int, Any]:
    url = f"{stack.api_url}/_console/api/schedules/{schedule}/fire" + ("?wait=1" if wait else "")
    request = urllib.request.Request(url, data=b"", method="POST", headers=AUTH if auth else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def received(stack: Any, schedule: str) -> Any:
    status, body = fire(stack, schedule)
    assert status == 200, body
    [result] = body["results"]
    assert result["ok"], result
    return result["payload"]["received"]


def test_cloudformation_rules_and_schedules_deliver_what_aws_sends(
    run_app: Callable[..., Any],
) -> None:
    # GIVEN plain CloudFormation rules and Scheduler schedules targeting one function
    stack = run_app("schedules_cfn")
    lines = "\n".join(stack.lines)
    # THEN what does not run is named at start-up, one line each
    assert "Paused: State DISABLED" in lines
    assert "Transformed.Targets[queue]: arn:aws:sqs:" in lines
    assert "OnOrders" not in lines  # an event-pattern rule: delivered (test_eventbridge.py)
    assert "LongAgo: at(2020-01-01T09:00:00): no run left" in lines
    assert "LongAgo.FlexibleTimeWindow: FLEXIBLE" in lines
    assert "ConstantInput.Targets[constant].RetryPolicy: not emulated" in lines
    assert stack.refused == []
    # WHEN each is fired now
    # THEN a constant Input is the event
    assert received(stack, "ConstantInput") == {"job": "compact", "days": 7}
    # AND InputPath selects from the Scheduled Event (through a qualified function ARN)
    # (the rule's ARN is the one !GetAtt PathInput.Arn gives the template)
    assert received(stack, "PathInput") == [stack.template.get_att("PathInput", "Arn")]
    # AND the InputTransformer fills its template (through the function's alias)
    report = received(stack, "Transformed")
    assert report["kind"] == "Scheduled Event" and report["rule"] == "weekday-report"
    assert report["line"] == "Scheduled Event of weekday-report"
    assert report["source"]["source"] == "aws.events" and "detail" not in report["source"]
    # AND a disabled rule still fires on demand, with the Scheduled Event
    paused = received(stack, "Paused")
    assert paused["detail-type"] == "Scheduled Event" and paused["detail"] == {}
    assert paused["resources"] == [stack.template.get_att("Paused", "Arn")]
    assert paused["resources"][0].startswith("arn:aws:events:us-east-1:123456789012:rule/")
    # AND Scheduler replaces its context attributes, and sends {} without an Input
    assert received(stack, "EveryMinute") == {
        "schedule": stack.template.get_att("EveryMinute", "Arn"),
        "attempt": 1,
    }
    assert received(stack, "LongAgo") == {}
    assert received(stack, "FarAhead") == {}


def test_the_console_fires_in_the_background_with_the_token(run_app: Callable[..., Any]) -> None:
    # GIVEN the schedules_cfn app
    stack = run_app("schedules_cfn")
    listed = json.loads(
        urllib.request.urlopen(f"{stack.api_url}/_console/api/schedules", timeout=10).read()
    )["schedules"]
    by_id = {s["schedule"]: s for s in listed}
    assert by_id["Paused"]["enabled"] is False and by_id["Paused"]["nextRun"] is None
    assert by_id["EveryMinute"]["nextRun"] is not None
    # WHEN the console's button fires without and with the token, and an unknown schedule
    assert fire(stack, "ConstantInput", wait=False, auth=False)[0] == 401
    assert fire(stack, "OnOrders")[0] == 404
    status, body = fire(stack, "ConstantInput", wait=False)
    # THEN it is accepted at once, and the invocation shows in the activity with the event
    assert status == 202 and body["fired"] is True
    item = wait_for(
        lambda: next(
            (
                i
                for i in stack.activity.latest(10, "Recorder")
                if i["trigger"] == "fired:ConstantInput"
            ),
            None,
        ),
        20,
        "the fired invocation",
    )
    logs = stack.activity.get(item["seq"])["logs"]
    assert any('received {"days": 7, "job": "compact"}' in line for line in logs), logs


def test_sam_schedule_events_run_as_the_resources_sams_transform_makes(
    run_app: Callable[..., Any],
) -> None:
    # GIVEN SAM's Schedule and ScheduleV2 events
    stack = run_app("schedules_sam")
    assert "TickerStopped: State DISABLED" in "\n".join(stack.lines)
    assert stack.triggers()["Ticker"] == [
        "AWS::Events::Rule TickerHourly rate(1 hour)",
        "AWS::Scheduler::Schedule TickerNightly cron(0 2 * * ? *)",
        "AWS::Events::Rule TickerStopped rate(2 hours)",
    ]
    # THEN they run as the rule and the Scheduler schedule SAM's transform makes of them
    assert received(stack, "TickerHourly") == {"from": "Schedule"}
    assert received(stack, "TickerNightly") == {}
    stopped = received(stack, "TickerStopped")
    assert stopped["source"] == "aws.events"
    assert stopped["resources"] == [stack.template.get_att("TickerStopped", "Arn")]


def test_schedule_fire_on_the_command_line_reaches_the_running_stack(
    run_app: Callable[..., Any],
) -> None:
    # GIVEN a running stack that wrote its stack.json
    stack = run_app("schedules_sam")
    stack.write_state_file()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(ROOT / "harness" / "src"), str(ROOT / "src"), str(ROOT / "dev")]
        ),
    }
    command = [sys.executable, "-m", "eventflow_local", "schedule", "fire"]
    where = [
        "-t",
        str(APPS / "schedules_sam" / "template.yaml"),
        "--state-dir",
        str(stack.state_dir),
    ]
    # WHEN `schedule fire` names a schedule of it
    done = subprocess.run(
        [*command, "TickerHourly", *where], capture_output=True, text=True, env=env, timeout=120
    )
    # THEN the running stack runs it and the result is printed
    assert done.returncode == 0, done.stderr
    assert "in the running stack" in done.stderr
    assert json.loads(done.stdout)["payload"] == {"received": {"from": "Schedule"}}
    assert any(i["trigger"] == "fired:TickerHourly" for i in stack.activity.latest(10, "Ticker"))
    # AND an unknown schedule is one line naming the template's schedules
    bad = subprocess.run(
        [*command, "Nope", *where], capture_output=True, text=True, env=env, timeout=120
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().endswith("TickerHourly, TickerNightly, TickerStopped)")


def test_schedule_fire_without_a_running_stack_invokes_once(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(ROOT / "harness" / "src"), str(ROOT / "src"), str(ROOT / "dev")]
        ),
    }
    # GIVEN no stack running on the state dir WHEN a disabled rule is fired
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "eventflow_local",
            "schedule",
            "fire",
            "Paused",
            "-t",
            str(APPS / "schedules_cfn" / "template.yaml"),
            "--state-dir",
            str(tmp_path / "state"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    # THEN its function ran once with the Scheduled Event
    assert done.returncode == 0, done.stderr
    event = json.loads(done.stdout)["payload"]["received"]
    assert event["detail-type"] == "Scheduled Event"
    assert "invoke Recorder trigger=fired:Paused" in done.stderr
