"""Template rules of SAM and CloudFormation: Globals, conditions, intrinsic functions, templates
rejected whole, and what is named at start-up.

Each test writes a small template to ``tmp_path``; SAM's own translator is the reference where it
can say what SAM does.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from eventflow_local.template.sam import SamTemplate, TemplateError
from tests.unit.template_files import ROOT, load, sam_transform, write


# ---------------------------------------------------------------------- Globals
def test_globals_merge_maps_concatenate_lists_and_override_primitives(tmp_path):
    # GIVEN Globals with variables, layers and a timeout, and a function with its own
    path = write(
        tmp_path,
        """
        Globals:
          Function:
            Runtime: python3.13
            Handler: app.handler
            CodeUri: src/
            Timeout: 10
            Layers: [arn:aws:lambda:us-east-1:123456789012:layer:one:1]
            Environment: {Variables: {SHARED: global, OVERRIDDEN: global}}
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              Timeout: 20
              Layers: [arn:aws:lambda:us-east-1:123456789012:layer:two:1]
              Environment: {Variables: {OVERRIDDEN: local, OWN: local}}
          Ignoring:
            Type: AWS::Serverless::Function
            IgnoreGlobals: [Layers]
            Properties: {}
        """,
    )
    # WHEN read here and by SAM's translator
    fns = SamTemplate(path).functions()
    generated = sam_transform(path)["Resources"]["Fn"]["Properties"]
    # THEN both agree: maps merged, lists concatenated (global first), primitives overridden
    fn = fns["Fn"]
    assert fn.environment == generated["Environment"]["Variables"]
    assert fn.environment == {"SHARED": "global", "OVERRIDDEN": "local", "OWN": "local"}
    assert fn.layers == generated["Layers"]
    assert fn.timeout == generated["Timeout"] == 20
    assert fns["Ignoring"].layers == []


@pytest.mark.parametrize(
    ("globals_", "message"),
    [
        (
            "Function: {Role: arn:aws:iam::123456789012:role/r}",
            "'Role' is not a supported property",
        ),
        ("Function: {InlineCode: 'x'}", "'InlineCode' is not a supported property"),
        ("Api: {StageName: v1}", "'StageName' is not a supported property of 'Api'"),
        ("Queue: {Delay: 1}", "'Queue' is not supported"),
    ],
)
def test_globals_sam_does_not_accept_reject_the_template(tmp_path, globals_, message):
    body = f"Globals:\n  {globals_}\nResources:\n  T:\n    Type: AWS::Serverless::SimpleTable\n"
    with pytest.raises(TemplateError, match=message):
        load(tmp_path, body)


# ---------------------------------------------------------------------- conditions & intrinsics
def test_conditions_on_resources_and_properties(tmp_path):
    body = """
        Parameters:
          Stage: {Type: String, AllowedValues: [dev, prod], Default: dev}
        Conditions:
          IsProd: !Equals [!Ref Stage, prod]
        Resources:
          OnlyInProd:
            Type: AWS::Serverless::SimpleTable
            Condition: IsProd
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src/
              Runtime: python3.13
              Handler: app.handler
              ReservedConcurrentExecutions: !If [IsProd, 10, !Ref AWS::NoValue]
              Environment:
                Variables:
                  LEVEL: !If [IsProd, INFO, DEBUG]
                  EXTRA: !If [IsProd, yes, !Ref AWS::NoValue]
        """
    dev = load(tmp_path, body)
    assert "OnlyInProd" not in dev.tables()
    fn = dev.functions()["Fn"]
    assert fn.environment == {"LEVEL": "DEBUG"}
    assert "ReservedConcurrentExecutions" not in fn.properties
    prod = load(tmp_path, body, Stage="prod")
    assert "OnlyInProd" in prod.tables()
    assert prod.functions()["Fn"].properties["ReservedConcurrentExecutions"] == 10


def test_intrinsic_functions_resolve_as_cloudformation_does(tmp_path):
    tpl = load(
        tmp_path,
        """
        Parameters:
          Hosts: {Type: CommaDelimitedList, Default: "a.example:9092,b.example:9092"}
        Mappings:
          RegionMap:
            us-east-1: {Size: large}
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src/
              Runtime: python3.13
              Handler: app.handler
              Environment:
                Variables:
                  SUB: !Sub "${AWS::StackName}-${AWS::Region}-${Fn.Arn}-${!Literal}"
                  SUB_VARS: !Sub ["${A}/${B}", {A: x, B: !Select [1, !Ref Hosts]}]
                  JOINED: !Join ["|", !Split [",", "p,q"]]
                  SIZE: !FindInMap [RegionMap, !Ref AWS::Region, Size]
                  DEFAULTED: !FindInMap [RegionMap, eu-west-1, Size, {DefaultValue: small}]
                  ZONE: !Select [0, !GetAZs ""]
                  ENCODED: !Base64 hello
                  SUBNET: !Select [1, !Cidr ["10.0.0.0/16", 2, 8]]
                  IMPORTED: !ImportValue shared-vpc-id
        """,
    )
    env = tpl.functions()["Fn"].environment
    assert env["SUB"] == (
        "eventflow-local-us-east-1-arn:aws:lambda:us-east-1:123456789012:function:Fn-${Literal}"
    )
    assert env["SUB_VARS"] == "x/b.example:9092"
    assert env["JOINED"] == "p|q"
    assert (env["SIZE"], env["DEFAULTED"]) == ("large", "small")
    assert env["ZONE"] == "us-east-1a"
    assert env["ENCODED"] == "aGVsbG8="
    assert env["SUBNET"] == "10.0.1.0/24"
    assert env["IMPORTED"] == "shared-vpc-id"
    assert any("Fn::ImportValue shared-vpc-id" in line for line in tpl.findings())


@pytest.mark.parametrize(
    ("body", "parameters", "message"),
    [
        (
            "Resources:\n  Fn:\n    Type: AWS::SNS::Topic\n    Properties: {TopicName: !Ref Nope}\n",
            {},
            r"Unresolved resource dependencies \['Nope'\] in the Resources block",
        ),
        (
            "Parameters:\n  Env: {Type: String}\nResources:\n  T:\n    Type: AWS::SNS::Topic\n",
            {},
            r"Parameters: \['Env'\] must have values",
        ),
        (
            "Parameters:\n  Env: {Type: String, AllowedValues: [dev, prod], Default: dev}\n"
            "Resources:\n  T:\n    Type: AWS::SNS::Topic\n",
            {"Env": "test"},
            "Parameter 'Env' must be one of AllowedValues",
        ),
        (
            "Mappings:\n  M: {us-east-1: {K: v}}\nResources:\n  Fn:\n"
            "    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: src/\n"
            "      Runtime: python3.13\n      Handler: app.handler\n"
            "      Description: !FindInMap [M, eu-west-1, K]\n",
            {},
            "Fn: Fn::FindInMap: Template error: Unable to get mapping for M::eu-west-1::K",
        ),
    ],
)
def test_templates_cloudformation_rejects_are_rejected_whole(tmp_path, body, parameters, message):
    with pytest.raises(TemplateError, match=message):
        tpl = load(tmp_path, body, **parameters)
        tpl.functions()


def test_references_to_resources_sam_generates_are_accepted(tmp_path):
    tpl = load(
        tmp_path,
        """
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties: {CodeUri: src/, Runtime: python3.13, Handler: app.handler}
        Outputs:
          Url:
            Value: !Sub "https://${ServerlessRestApi}.execute-api.${AWS::Region}.amazonaws.com/Prod/"
          Role:
            Value: !GetAtt FnRole.Arn
        """,
    )
    assert (
        tpl.outputs()["Url"]
        == "https://ServerlessRestApi.execute-api.us-east-1.amazonaws.com/Prod/"
    )


# ---------------------------------------------------------------------- start-up findings
def test_unemulated_resource_types_and_accepted_properties_are_named_once(tmp_path):
    tpl = load(
        tmp_path,
        """
        Globals:
          Function:
            Tracing: Active
            Architectures: [arm64]
        Resources:
          A:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src/
              Runtime: python3.13
              Handler: app.handler
              AutoPublishAlias: live
              SnapStart: {ApplyOn: PublishedVersions}
          B:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src/
              Runtime: python3.13
              Handler: app.handler
              TenancyConfig: {TenantIsolationMode: PER_TENANT}
          AlarmOne: {Type: AWS::CloudWatch::Alarm}
          AlarmTwo: {Type: AWS::CloudWatch::Alarm}
          Machine: {Type: AWS::StepFunctions::StateMachine}
          Role: {Type: AWS::IAM::Role, Properties: {AssumeRolePolicyDocument: {}}}
          Logs: {Type: AWS::Logs::LogGroup}
        """,
    )
    tpl.functions()
    tpl.functions()  # read twice: still named once
    lines = tpl.findings()
    assert "AlarmOne, AlarmTwo (AWS::CloudWatch::Alarm): not emulated" in lines
    assert "Machine (AWS::StepFunctions::StateMachine): not emulated" in lines
    assert any(
        "Role (AWS::IAM::Role)" in line
        and "Logs (AWS::Logs::LogGroup)" in line
        and line.endswith("$LATEST, logging to this console)")
        for line in lines
    )
    assert "Tracing of every function: accepted; X-Ray tracing is not emulated" in lines
    assert any(line.startswith("AutoPublishAlias of A: accepted") for line in lines)
    assert any(line.startswith("SnapStart of A: accepted") for line in lines)
    assert (
        "TenancyConfig of B: accepted; tenants share the function's execution environments; "
        "context.tenant_id is not set"
    ) in lines
    assert len(lines) == len(set(lines))


def test_cli_stops_with_one_message_and_exit_code_2_on_a_rejected_template(tmp_path):
    # GIVEN a template with a Ref to nothing
    path = write(
        tmp_path,
        "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties: {TopicName: !Ref Nope}\n",
    )
    # WHEN the harness is started on it
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "eventflow_local",
            "up",
            "--template",
            str(path),
            "--state-dir",
            str(tmp_path / "s"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # THEN it stops at once with CloudFormation's reason, no traceback
    assert done.returncode == 2, done.stderr
    assert "Unresolved resource dependencies ['Nope']" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_layers_entries_are_the_layer_logical_ids_of_the_template():
    from tests.support import template

    fns = template().functions()
    assert {tuple(fn.layers) for fn in fns.values()} == {("SharedLayer",)}


def test_a_language_extensions_loop_is_named_not_misread(tmp_path):
    body = (
        "Resources:\n  Fn::ForEach::Topics:\n    - Name\n    - [a, b]\n"
        "    - Topic${Name}: {Type: AWS::SNS::Topic}\n"
    )
    with pytest.raises(TemplateError, match=r"Fn::ForEach .* is not supported"):
        load(tmp_path, body)


def test_malformed_intrinsic_and_properties_are_named_not_tracebacks(tmp_path):
    body = (
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      CodeUri: src/\n      Runtime: python3.13\n      Handler: app.handler\n"
        "      Description: !Join [only-one-argument]\n"
    )
    with pytest.raises(TemplateError, match="Fn: Template error: malformed Fn::Join"):
        load(tmp_path, body).functions()
    # SAM's own transform rejects a malformed SAM property, with its own message on one line
    with pytest.raises(TemplateError, match=r"^SAM's transform rejects the template: .*\[Fn\]"):
        load(
            tmp_path,
            "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
            "      CodeUri: src/\n      Runtime: python3.13\n      Handler: app.handler\n"
            "      Events: [not, a, map]\n",
        )
