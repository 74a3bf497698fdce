"""``eventflow-local generate-event`` as ``sam local generate-event``: services, their events,
pretty JSON on stdout, a wrong name or option is one line and exit 2."""

from __future__ import annotations

import json

import pytest

from eventflow_local.cli.main import main


def test_no_service_lists_the_services_and_a_service_its_events(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["generate-event"]) == 0
    out = capsys.readouterr().out
    for service in ("apigateway", "kafka", "dynamodb", "cloudwatch", "sqs", "sns", "s3"):
        assert f"\n  {service} " in out
    assert main(["generate-event", "kafka"]) == 0
    out = capsys.readouterr().out
    assert "msk" in out and "self-managed" in out


def test_an_event_is_pretty_json_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate-event", "kafka", "self-managed", "--topic", "quakes"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("{\n  ")
    event = json.loads(out)
    assert event["eventSource"] == "SelfManagedKafka" and list(event["records"]) == ["quakes-0"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["generate-event", "nope"], "error: generate-event: no service 'nope' (one of "),
        (["generate-event", "s3", "get"], "error: generate-event: s3 has no event 'get' (one of "),
        (
            ["generate-event", "dynamodb", "update", "--keys", "[1]"],
            "error: generate-event dynamodb update: --keys is not a JSON object",
        ),
        (
            ["generate-event", "kafka", "msk", "--header", "novalue"],
            "error: generate-event kafka msk: --header 'novalue' is not NAME=VALUE",
        ),
    ],
)
def test_a_wrong_name_or_value_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(message) and captured.err.count("\n") == 1
    assert captured.out == ""
