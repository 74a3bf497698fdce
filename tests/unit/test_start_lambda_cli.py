"""``start-lambda``'s flags read as ``sam local start-lambda`` reads them, and the one choice it
makes from the template before anything starts: whether the template names Kafka (the broker
starts only then)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eventflow_local.cli.args import uses_kafka
from eventflow_local.cli.main import build_parser
from eventflow_local.template.sam import DEFAULT_TEMPLATE


def test_defaults_are_sam_clis() -> None:
    # WHEN start-lambda is given no flag
    args = build_parser().parse_args(["start-lambda"])
    # THEN it listens where SAM CLI's does, on the template of the current folder
    assert (args.host, args.port) == ("127.0.0.1", 3001)
    assert args.template == DEFAULT_TEMPLATE
    assert args.warm_containers is None


def test_sam_clis_flags_are_taken() -> None:
    args = build_parser().parse_args(
        [
            *("start-lambda", "-t", "app/template.yaml", "-p", "0", "--host", "0.0.0.0"),
            *("--parameter-overrides", "A=1", "-n", "env.json", "--warm-containers", "lazy"),
        ]
    )
    assert args.template == Path("app/template.yaml")
    assert (args.host, args.port) == ("0.0.0.0", 0)
    assert args.parameter_overrides == ["A=1"]
    assert args.env_vars == "env.json"
    assert args.warm_containers == "LAZY"


def test_a_bad_port_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["start-lambda", "-p", "70000"])
    assert exited.value.code == 2
    assert "'70000' is not a port" in capsys.readouterr().err


def _doc(**parts: Any) -> dict[str, Any]:
    function = {"Type": "AWS::Serverless::Function", "Properties": parts.pop("function", {})}
    return {"Resources": {"Fn": function, **parts.pop("resources", {})}, **parts}


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (_doc(), False),
        (_doc(Parameters={"Greeting": {"Type": "String"}}), False),
        (_doc(Parameters={"KafkaBootstrapServers": {"Type": "String"}}), True),
        (_doc(Parameters={"OrdersTopic": {"Type": "String"}}), True),
        (_doc(function={"Events": {"K": {"Type": "MSK", "Properties": {}}}}), True),
        (_doc(function={"Events": {"Q": {"Type": "SQS", "Properties": {}}}}), False),
        (_doc(function={"Events": {"K": {"Type": "SelfManagedKafka"}}}), True),
        (_doc(function={"Environment": {"Variables": {"KAFKA_BROKERS": "x"}}}), True),
        (_doc(Globals={"Function": {"Environment": {"Variables": {"kafka_url": "x"}}}}), True),
        (
            _doc(
                resources={
                    "Mapping": {
                        "Type": "AWS::Lambda::EventSourceMapping",
                        "Properties": {"EventSourceArn": "arn:aws:kafka:us-east-1:1:cluster/c"},
                    }
                }
            ),
            True,
        ),
        (
            _doc(
                resources={
                    "Mapping": {
                        "Type": "AWS::Lambda::EventSourceMapping",
                        "Properties": {"EventSourceArn": {"Fn::GetAtt": ["Queue", "Arn"]}},
                    }
                }
            ),
            False,
        ),
    ],
)
def test_the_broker_starts_only_for_a_template_that_names_kafka(
    doc: dict[str, Any], expected: bool
) -> None:
    assert uses_kafka(doc) is expected
