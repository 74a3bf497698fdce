"""The command line reads SAM CLI's flags as SAM CLI does, and a user's mistake is one clear line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from eventflow_local.cli.args import (
    UsageError,
    function_overrides,
    parse_parameter_overrides,
    read_env_vars,
    read_event,
    split_function_from_overrides,
    unknown_env_functions,
)
from eventflow_local.cli.main import build_parser


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["Stage=qa"], {"Stage": "qa"}),
        (["Stage=qa Greeting=hi"], {"Stage": "qa", "Greeting": "hi"}),
        (["Stage=qa", "Greeting=hi"], {"Stage": "qa", "Greeting": "hi"}),
        (["ParameterKey=Stage,ParameterValue=qa"], {"Stage": "qa"}),
        (
            ["ParameterKey=Stage,ParameterValue=qa ParameterKey=Greeting,ParameterValue=hi"],
            {"Stage": "qa", "Greeting": "hi"},
        ),
        (["Greeting='good day' Stage=qa"], {"Greeting": "good day", "Stage": "qa"}),
        (['ParameterKey=Greeting,ParameterValue="a b"'], {"Greeting": "a b"}),
        (["Url=http://x/?a=b"], {"Url": "http://x/?a=b"}),
        (["List=a,b,c"], {"List": "a,b,c"}),
        (["Empty="], {"Empty": ""}),
        (["Stage=qa", "Stage=prod"], {"Stage": "prod"}),
    ],
)
def test_parameter_overrides_take_both_of_sam_clis_forms(
    arguments: list[str], expected: dict[str, str]
) -> None:
    assert parse_parameter_overrides(arguments) == expected


@pytest.mark.parametrize("bad", ["Stage", "=qa", "Sta-ge=qa", "Stage='unclosed"])
def test_a_malformed_parameter_override_is_a_usage_error(bad: str) -> None:
    with pytest.raises(UsageError, match="--parameter-overrides"):
        parse_parameter_overrides([bad])


def test_the_flag_gives_back_a_function_id_it_swallowed() -> None:
    # GIVEN `invoke --parameter-overrides A=1 B=2 MyFunction` (the flag takes every argument after it)
    args = build_parser().parse_args(
        ["invoke", "--parameter-overrides", "A=1", "B=2", "MyFunction"]
    )
    assert args.function is None
    # THEN the function id is recognised as such
    assert split_function_from_overrides(args.function, args.parameter_overrides) == (
        "MyFunction",
        ["A=1", "B=2"],
    )
    # AND a function named before the flag is left alone
    assert split_function_from_overrides("Fn", ["A=1"]) == ("Fn", ["A=1"])


def test_sam_clis_short_flags_and_param_alias() -> None:
    args = build_parser().parse_args(
        ["invoke", "Fn", "-e", "ev.json", "-n", "env.json", "-t", "t.yaml", "--param", "A=1"]
    )
    assert (args.function, args.event, args.env_vars, str(args.template)) == (
        "Fn",
        "ev.json",
        "env.json",
        "t.yaml",
    )
    assert args.parameter_overrides == ["A=1"]
    api = build_parser().parse_args(["start-api", "-p", "3001", "--host", "0.0.0.0"])
    assert (api.port, api.host, str(api.template)) == (3001, "0.0.0.0", "template.yaml")


def test_the_event_is_empty_without_a_file_and_read_from_stdin_with_a_dash(
    tmp_path: Path,
) -> None:
    assert read_event(None) == {}
    assert read_event("-", io.StringIO('{"a": 1}')) == {"a": 1}
    event = tmp_path / "event.json"
    event.write_text('{"b": [1, 2]}')
    assert read_event(str(event)) == {"b": [1, 2]}


def test_event_mistakes_name_the_file_and_the_problem(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"event .*missing\.json: no such file"):
        read_event(str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(UsageError, match=r"bad\.json: not valid JSON: .* line 1 column 2"):
        read_event(str(bad))
    with pytest.raises(UsageError, match="is a directory"):
        read_event(str(tmp_path))


def _env_file(tmp_path: Path, doc: object) -> str:
    path = tmp_path / "env.json"
    path.write_text(json.dumps(doc))
    return str(path)


def test_env_vars_override_only_what_the_function_declares(tmp_path: Path) -> None:
    # GIVEN an env-vars file with global Parameters and a function's own values
    overrides = read_env_vars(
        _env_file(
            tmp_path,
            {
                "Parameters": {"STAGE": "prod", "GREETING": "global", "DEBUG": True},
                "HelloFunction": {"GREETING": "own", "UNDECLARED": "x", "N": 3, "O": {"a": 1}},
            },
        )
    )
    # WHEN the overrides of a function declaring STAGE, GREETING, N and O are taken
    env = function_overrides(overrides, "HelloFunction", ["STAGE", "GREETING", "N", "O"])
    # THEN the function's own value wins over Parameters, undeclared variables are dropped,
    # and values become strings as SAM CLI writes them
    assert env == {"STAGE": "prod", "GREETING": "own", "N": "3", "O": ""}
    # AND Parameters reach every function, only where declared
    assert function_overrides(overrides, "Other", ["STAGE", "DEBUG"]) == {
        "STAGE": "prod",
        "DEBUG": "true",
    }
    # AND a function can be named by its FunctionName
    by_name = read_env_vars(_env_file(tmp_path, {"my-fn": {"STAGE": "named"}}))
    assert function_overrides(by_name, "MyFunction", ["STAGE"], "my-fn") == {"STAGE": "named"}
    assert unknown_env_functions(overrides, ["HelloFunction"]) == []
    assert unknown_env_functions({"Typo": {}}, ["HelloFunction"]) == ["Typo"]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([1], "expected an object"),
        ({"Fn": "VALUE"}, "'Fn' must map variable names to values"),
    ],
)
def test_a_malformed_env_vars_file_is_a_usage_error(
    tmp_path: Path, doc: object, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        read_env_vars(_env_file(tmp_path, doc))


def test_start_api_serves_the_route_functions_and_the_authorizers_the_api_names() -> None:
    from eventflow_local.cli.args import api_functions, template_doc, template_functions
    from tests.support import ROOT

    # GIVEN this project's template: routes, a Lambda authorizer, Kafka and stream consumers
    doc = template_doc(ROOT / "template.yaml")
    served = api_functions(doc, template_functions(doc))
    # THEN start-api runs the functions behind routes and the authorizer, and no consumer
    assert {"AccountsApiFunction", "MarkFraudFunction", "ApiAuthorizerFunction"} <= served
    assert not served & {"AccountConsumerFunction", "OutboxRelayFunction", "QuakeConsumerFunction"}


def test_start_api_serves_the_functions_of_an_api_written_in_cloudformation() -> None:
    from eventflow_local.cli.args import api_functions, template_doc, template_functions
    from tests.support import ROOT

    # GIVEN a REST API of plain AWS::ApiGateway::* resources over two AWS::Lambda::Function
    doc = template_doc(ROOT / "tests" / "apps" / "cfn_rest_api" / "template.yaml")
    # THEN start-api runs the integration's function and the authorizer's
    assert api_functions(doc, template_functions(doc)) == {"EchoFunction", "AuthFunction"}


def test_start_api_serves_the_functions_a_local_definition_file_names(tmp_path: Path) -> None:
    from eventflow_local.cli.args import api_functions, template_doc, template_functions

    # GIVEN an Api whose OpenAPI document is a local file naming a function without Api events
    (tmp_path / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n"
        "  Api:\n"
        "    Type: AWS::Serverless::Api\n"
        "    Properties: {StageName: v1, DefinitionUri: api.yaml}\n"
        "  Echo:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties: {CodeUri: ., Handler: app.handler, Runtime: python3.13}\n"
        "  Other:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties: {CodeUri: ., Handler: app.handler, Runtime: python3.13}\n"
    )
    (tmp_path / "api.yaml").write_text(
        "openapi: 3.0.1\npaths:\n  /echo:\n    get:\n      x-amazon-apigateway-integration:\n"
        "        type: aws_proxy\n        httpMethod: POST\n"
        "        uri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
        "${Echo.Arn}/invocations\n"
    )
    doc = template_doc(tmp_path / "template.yaml")
    # THEN start-api runs the function the file names, and only it
    assert api_functions(doc, template_functions(doc), tmp_path) == {"Echo"}
