"""Template forms of public SAM apps, read as SAM's transform and CloudFormation read them.

Each test writes a small template to ``tmp_path``. Where SAM's own translator (installed with
``aws-sam-translator``) can say what SAM does, the test compares with it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from samtranslator.plugins.globals.globals import Globals
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from local import sam_globals
from local.dynamo import ensure_tables
from local.template import SamTemplate, TemplateError

ROOT = Path(__file__).resolve().parents[2]
HEADER = "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\n"


def write(tmp_path: Path, body: str, *, folders: tuple[str, ...] = ("src",)) -> Path:
    for folder in folders:
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    path = tmp_path / "template.yaml"
    path.write_text(HEADER + textwrap.dedent(body))
    return path


def load(tmp_path: Path, body: str, **parameters: Any) -> SamTemplate:
    return SamTemplate(write(tmp_path, body), parameters)


class _NoPolicies:
    def get_managed_policy_map(self) -> dict[str, str]:
        return {}


def sam_transform(path: Path) -> dict[str, Any]:
    """What SAM's translator turns the template into (what CloudFormation receives), with local
    CodeUris packaged as `sam package` would."""

    def packaged(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: "s3://bucket/code.zip" if k == "CodeUri" else packaged(v)
                for k, v in node.items()
            }
        return [packaged(v) for v in node] if isinstance(node, list) else node

    return dict(transform(packaged(yaml_parse(path.read_text())), {}, _NoPolicies()))


# ---------------------------------------------------------------------- code forms
def test_inline_code_function_carries_its_code_and_runs_from_the_template_folder(tmp_path):
    # GIVEN a SAM function with InlineCode and no CodeUri
    tpl = load(
        tmp_path,
        """
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              Runtime: python3.13
              Handler: index.handler
              InlineCode: |
                def handler(event, context):
                    return 1
        """,
    )
    # WHEN the functions are read
    fn = tpl.functions()["Fn"]
    # THEN the code is carried as text, with the template's folder as code_uri
    assert fn.inline_code is not None and "def handler" in fn.inline_code
    assert fn.code_uri == tmp_path.resolve()
    assert tpl.refused == []


def test_plain_lambda_function_is_read_like_a_sam_function(tmp_path):
    # GIVEN plain CloudFormation functions: local Code path, Code.ZipFile, Code.S3Bucket
    tpl = load(
        tmp_path,
        """
        Resources:
          Local:
            Type: AWS::Lambda::Function
            Properties:
              Code: src/
              Handler: app.handler
              Runtime: python3.12
              Timeout: 20
              MemorySize: 256
              ReservedConcurrentExecutions: 2
              Layers: [arn:aws:lambda:us-east-1:123456789012:layer:deps:3]
              Environment: {Variables: {MODE: plain, COUNT: 3}}
          Zip:
            Type: AWS::Lambda::Function
            Properties:
              Code: {ZipFile: "def handler(e, c):\\n    return 2\\n"}
              Handler: index.handler
              Runtime: python3.13
          InS3:
            Type: AWS::Lambda::Function
            Properties:
              Code: {S3Bucket: my-bucket, S3Key: code.zip}
              Handler: app.handler
              Runtime: python3.13
        """,
    )
    # WHEN the functions are read
    fns = tpl.functions()
    # THEN each property keeps its meaning, ZipFile is inline code, S3 code is named, not started
    local = fns["Local"]
    assert local.code_uri == (tmp_path / "src").resolve()
    assert (local.handler, local.runtime, local.timeout, local.memory_size) == (
        "app.handler",
        "python3.12",
        20,
        256,
    )
    assert local.environment == {"MODE": "plain", "COUNT": "3"}
    assert local.layers == ["arn:aws:lambda:us-east-1:123456789012:layer:deps:3"]
    assert local.properties["ReservedConcurrentExecutions"] == 2
    assert fns["Zip"].inline_code == "def handler(e, c):\n    return 2\n"
    assert "InS3" not in fns
    assert any(line.startswith("InS3.Code: s3://my-bucket/code.zip") for line in tpl.findings())


def test_handler_in_a_sub_package_points_at_its_module(tmp_path):
    tpl = load(
        tmp_path,
        """
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties: {CodeUri: src/, Runtime: python3.13, Handler: app.handlers.main.lambda_handler}
        """,
    )
    fn = tpl.functions()["Fn"]
    assert fn.module_file == (tmp_path / "src/app/handlers/main.py").resolve()
    assert fn.handler_name == "lambda_handler"


def test_functions_aws_would_refuse_are_refused_and_the_others_still_start(tmp_path):
    # GIVEN a function without Handler, one whose CodeUri does not exist, one setting a
    # reserved variable, and a good one
    tpl = load(
        tmp_path,
        """
        Resources:
          NoHandler:
            Type: AWS::Serverless::Function
            Properties: {CodeUri: src/, Runtime: python3.13}
          Nowhere:
            Type: AWS::Serverless::Function
            Properties: {CodeUri: missing/, Runtime: python3.13, Handler: app.handler}
          Reserved:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src/
              Runtime: python3.13
              Handler: app.handler
              Environment: {Variables: {AWS_REGION: eu-west-1}}
          Good:
            Type: AWS::Serverless::Function
            Properties: {CodeUri: src/, Runtime: python3.13, Handler: app.handler}
        """,
    )
    # WHEN the functions are read
    fns = tpl.functions()
    # THEN only the good one starts; each refusal names the function, property and reason
    assert set(fns) == {"Good"}
    refused = "\n".join(tpl.refused)
    assert (
        "NoHandler: Handler: Runtime and Handler needs to be present when PackageType is of type `Zip`"
        in refused
    )
    assert "Nowhere: CodeUri: Parameter CodeUri of resource Nowhere refers to a file" in refused
    assert "Reserved: Environment: " in refused and "AWS_REGION" in refused


# ---------------------------------------------------------------------- event source mappings
MAPPINGS = """
Parameters:
  Brokers: {Type: String, Default: "127.0.0.1:9092"}
Resources:
  Worker:
    Type: AWS::Lambda::Function
    Properties: {Code: src/, Handler: app.handler, Runtime: python3.13, FunctionName: worker-fn}
  Changes:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      BillingMode: PAY_PER_REQUEST
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  FromSelfManaged:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      FunctionName: !Ref Worker
      Topics: [orders]
      StartingPosition: TRIM_HORIZON
      BatchSize: 10
      SelfManagedEventSource: {Endpoints: {KafkaBootstrapServers: [!Ref Brokers]}}
      SelfManagedKafkaEventSourceConfig: {ConsumerGroupId: orders-group}
  FromMsk:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      FunctionName: !GetAtt Worker.Arn
      EventSourceArn: arn:aws:kafka:us-east-1:123456789012:cluster/demo/abc-1
      Topics: [payments]
      StartingPosition: LATEST
      AmazonManagedKafkaEventSourceConfig: {ConsumerGroupId: payments-group}
      FilterCriteria: {Filters: [{Pattern: '{"value": {"kind": ["x"]}}'}]}
  FromStream:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      FunctionName: worker-fn
      EventSourceArn: !GetAtt Changes.StreamArn
      StartingPosition: TRIM_HORIZON
  FromQueue:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      FunctionName: arn:aws:lambda:us-east-1:123456789012:function:worker-fn
      EventSourceArn: arn:aws:sqs:us-east-1:123456789012:jobs
  ToNobody:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      FunctionName: no-such-function
      EventSourceArn: arn:aws:sqs:us-east-1:123456789012:jobs
"""


def test_event_source_mappings_become_events_of_their_function(tmp_path):
    # GIVEN plain event source mappings naming their function by Ref, GetAtt Arn, name and ARN
    tpl = load(tmp_path, MAPPINGS)
    # WHEN the functions are read
    events = {e.name: e for e in tpl.functions()["Worker"].events}
    # THEN each is an event with SAM's type and property names, the rest kept as given
    smk = events["FromSelfManaged"]
    assert smk.type == "SelfManagedKafka"
    assert smk.properties["KafkaBootstrapServers"] == ["127.0.0.1:9092"]
    assert smk.properties["ConsumerGroupId"] == "orders-group"
    assert (smk.properties["Topics"], smk.properties["BatchSize"]) == (["orders"], 10)
    msk = events["FromMsk"]
    assert msk.type == "MSK"
    assert msk.properties["Stream"] == "arn:aws:kafka:us-east-1:123456789012:cluster/demo/abc-1"
    assert msk.properties["ConsumerGroupId"] == "payments-group"
    assert msk.properties["FilterCriteria"]["Filters"][0]["Pattern"].startswith('{"value"')
    assert events["FromStream"].type == "DynamoDB"
    assert ":dynamodb:" in events["FromStream"].properties["Stream"]
    assert events["FromQueue"].type == "SQS"
    # AND a mapping to a function the template does not have is refused
    assert "ToNobody" not in events
    assert any(line.startswith("ToNobody: FunctionName: no-such-function") for line in tpl.refused)


# ---------------------------------------------------------------------- tables
SIMPLE_TABLES = """
Globals:
  SimpleTable:
    SSESpecification: {SSEEnabled: true}
Resources:
  Defaults:
    Type: AWS::Serverless::SimpleTable
  Numbered:
    Type: AWS::Serverless::SimpleTable
    Properties:
      TableName: numbered-table
      PrimaryKey: {Name: seq, Type: Number}
      ProvisionedThroughput: {ReadCapacityUnits: 2, WriteCapacityUnits: 3}
  Reader:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Runtime: python3.13
      Handler: app.handler
      Environment: {Variables: {DEFAULTS: !Ref Defaults, NUMBERED: !Ref Numbered}}
"""


def test_simple_table_is_the_dynamodb_table_sam_makes_of_it(tmp_path):
    # GIVEN SimpleTables with and without PrimaryKey/ProvisionedThroughput, SSE from Globals
    path = write(tmp_path, SIMPLE_TABLES)
    tpl = SamTemplate(path)
    # WHEN read here and by SAM's translator
    ours = tpl.tables()
    sam = sam_transform(path)["Resources"]
    # THEN the tables are the ones SAM generates
    for lid in ("Defaults", "Numbered"):
        assert sam[lid]["Type"] == "AWS::DynamoDB::Table"
        assert ours[lid] == sam[lid]["Properties"], lid
    assert ours["Defaults"]["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert ours["Defaults"]["BillingMode"] == "PAY_PER_REQUEST"


def test_ref_to_a_simple_table_is_its_table_name_once_created(tmp_path):
    tpl = load(tmp_path, SIMPLE_TABLES)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        created = ensure_tables(tpl, client, table_prefix="app-", log=lambda _: None)
        described = client.describe_table(TableName="numbered-table")["Table"]
    env = tpl.functions()["Reader"].environment
    assert env == {"DEFAULTS": "app-Defaults", "NUMBERED": "numbered-table"}
    assert set(created) == {"Defaults", "Numbered"}
    assert described["KeySchema"] == [{"AttributeName": "seq", "KeyType": "HASH"}]
    assert described["ProvisionedThroughput"]["WriteCapacityUnits"] == 3


def test_simple_table_with_an_unknown_key_type_is_refused(tmp_path):
    tpl = load(
        tmp_path,
        """
        Resources:
          Bad:
            Type: AWS::Serverless::SimpleTable
            Properties: {PrimaryKey: {Name: id, Type: Boolean}}
          Good:
            Type: AWS::Serverless::SimpleTable
        """,
    )
    assert set(tpl.tables()) == {"Good"}
    assert tpl.refused == ["Bad: PrimaryKey.Type: Invalid 'Type' \"Boolean\"."]


# ---------------------------------------------------------------------- Globals
def test_globals_sections_and_properties_are_the_ones_sam_accepts():
    # the copy used when the translator is not installed is the translator's list
    supported = {
        k.replace("AWS::Serverless::", ""): set(v) for k, v in Globals.supported_properties.items()
    }
    assert {k: set(v) for k, v in sam_globals.SAM_1_115.items()} == supported


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
            Properties: {CodeUri: src/, Runtime: python3.13, Handler: app.handler}
          TopicOne: {Type: AWS::SNS::Topic}
          TopicTwo: {Type: AWS::SNS::Topic}
          Bucket: {Type: AWS::S3::Bucket}
          Role: {Type: AWS::IAM::Role, Properties: {AssumeRolePolicyDocument: {}}}
          Logs: {Type: AWS::Logs::LogGroup}
        """,
    )
    tpl.functions()
    tpl.functions()  # read twice: still named once
    lines = tpl.findings()
    assert "TopicOne, TopicTwo (AWS::SNS::Topic): not emulated" in lines
    assert "Bucket (AWS::S3::Bucket): not emulated" in lines
    assert any(
        line.startswith("Role (AWS::IAM::Role), Logs (AWS::Logs::LogGroup): no local use")
        for line in lines
    )
    assert "Tracing of every function: accepted; X-Ray tracing is not emulated" in lines
    assert any(line.startswith("AutoPublishAlias of A: accepted") for line in lines)
    assert any(line.startswith("SnapStart of A: accepted") for line in lines)
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
            "local",
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
    tpl = load(
        tmp_path,
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      CodeUri: src/\n      Runtime: python3.13\n      Handler: app.handler\n"
        "      Events: [not, a, map]\n",
    )
    assert tpl.functions() == {} and tpl.refused == ["Fn: Events: must be a map"]
