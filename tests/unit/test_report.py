"""The start-up banner lists a function's triggers from what started, never from what the
template declares: an event that does not run is named once in the not-emulated lines instead."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from eventflow_local.eventsources.destinations import FailureDestinations
from eventflow_local.eventsources.factory import SourceContext, start_event_sources
from eventflow_local.report import StackReport, Started, triggers
from eventflow_local.template.specs import EventSpec, FunctionSpec


def spec(events: list[EventSpec]) -> FunctionSpec:
    return FunctionSpec("Worker", Path("."), "app.handler", "python3.13", 3, 128, {}, events)


def report(functions: dict[str, list[str]], tmp_path: Path) -> StackReport:
    return StackReport(
        api_url="http://127.0.0.1:3000",
        bootstrap_servers="127.0.0.1:9092",
        kafka="embedded",
        dynamodb_endpoint="http://127.0.0.1:8000",
        dynamodb="moto",
        lambda_endpoint=None,
        region="us-east-1",
        tables={},
        topics=[],
        partitions=1,
        state_dir=tmp_path,
        functions=functions,
        instance="x",
    )


def test_a_declared_sns_event_that_does_not_run_is_not_listed_as_a_trigger(tmp_path: Path):
    # GIVEN a running function with an API route and an SNS event, which the harness does not run
    # (the route is the deployed REST API's, not an event of the function)
    events = [EventSpec("Jobs", "SNS", {"Topic": "arn:aws:sns:us-east-1:123456789012:jobs"})]
    runtime: Any = SimpleNamespace(spec=spec(events))
    context = SourceContext(
        bootstrap_servers="127.0.0.1:9",
        region="us-east-1",
        state_dir=tmp_path,
        streams_client=lambda: None,
        destinations=FailureDestinations(tmp_path),
        log=lambda line: None,
        stream_poll_interval=1.0,
    )
    # WHEN the event sources start and the API server serves the route
    found = start_event_sources({"Worker": runtime}, context)
    started = Started(
        functions=["Worker"],
        rest_routes=[("Worker", "GET /items")],
        sources=[(s.function_name, s.event) for s in found.sources],
    )
    lines = triggers(started, {})
    banner = report(lines, tmp_path).banner()

    # THEN the banner lists the route only, and the SNS event is named once as not emulated
    assert lines == {"Worker": ["GET /items"]}
    assert "<- GET /items" in banner
    assert "SNS" not in banner
    assert found.skipped == ["Worker.Jobs: event type SNS is not emulated"]


def test_triggers_list_routes_http_routes_and_started_sources_per_function():
    # GIVEN what started for two functions, one of them with nothing that triggers it
    stream = "arn:aws:dynamodb:us-east-1:123456789012:table/items/stream/1"
    started = Started(
        functions=["Api", "Consumer", "Idle"],
        rest_routes=[("Api", "POST /items"), ("Api", "GET /items")],
        http_routes=[("Api", "$default")],
        sources=[
            ("Consumer", EventSpec("Tx", "MSK", {"Topics": ["tx"], "ConsumerGroupId": "g"})),
            ("Consumer", EventSpec("Changes", "DynamoDB", {"Stream": stream})),
            (
                "Consumer",
                EventSpec("Tick", "AWS::Events::Rule", {"ScheduleExpression": "rate(1 minute)"}),
            ),
        ],
    )
    # THEN each function lists what runs for it, the table named by its stream
    assert triggers(started, {"Items": {"Ref": "items", "StreamArn": stream}}) == {
        "Api": ["GET /items", "POST /items", "HTTP API $default"],
        "Consumer": [
            "MSK tx (group g)",
            "DynamoDB stream of items",
            "AWS::Events::Rule Tick rate(1 minute)",
        ],
        "Idle": [],
    }
