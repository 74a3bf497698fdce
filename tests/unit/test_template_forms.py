"""Template forms of public SAM apps, read as SAM's transform and CloudFormation read them:
code forms, plain CloudFormation functions and event source mappings, tables.

Each test writes a small template to ``tmp_path``. Where SAM's own translator (installed with
``aws-sam-translator``) can say what SAM does, the test compares with it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from eventflow_local.services.dynamodb import ensure_tables
from eventflow_local.template.sam import SamTemplate, TemplateError
from tests.unit.template_files import load, sam_transform, write


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
    # GIVEN a function whose CodeUri does not exist, one setting a reserved variable, a plain
    # Lambda function without Handler, and a good one
    tpl = load(
        tmp_path,
        """
        Resources:
          NoHandler:
            Type: AWS::Lambda::Function
            Properties: {Code: src/, Runtime: python3.13}
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


def test_a_sam_function_sam_rejects_rejects_the_template_with_sams_message(tmp_path):
    # GIVEN a SAM function without Handler: SAM's transform fails, so nothing deploys
    body = """
        Resources:
          NoHandler:
            Type: AWS::Serverless::Function
            Properties: {CodeUri: src/, Runtime: python3.13}
        """
    # THEN the template is rejected with SAM's own message, on one line
    with pytest.raises(TemplateError) as caught:
        load(tmp_path, body)
    message = str(caught.value)
    assert message == (
        "SAM's transform rejects the template: Resource with id [NoHandler] is invalid. "
        "Runtime and Handler needs to be present when PackageType is of type `Zip`"
    )


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
    # (the template is read again with the created tables' physical ids, as the stack does)
    env = tpl.with_physical_ids(created.physical_ids()).functions()["Reader"].environment
    assert env == {"DEFAULTS": "app-Defaults", "NUMBERED": "numbered-table"}
    assert set(created.tables) == {"Defaults", "Numbered"}
    assert described["KeySchema"] == [{"AttributeName": "seq", "KeyType": "HASH"}]
    assert described["ProvisionedThroughput"]["WriteCapacityUnits"] == 3


def test_simple_table_with_an_unknown_key_type_is_refused(tmp_path):
    body = """
        Resources:
          Bad:
            Type: AWS::Serverless::SimpleTable
            Properties: {PrimaryKey: {Name: id, Type: Boolean}}
          Good:
            Type: AWS::Serverless::SimpleTable
        """
    with pytest.raises(TemplateError, match=r"\[Bad\] is invalid. Invalid 'Type' \"Boolean\""):
        load(tmp_path, body)


def test_an_api_from_its_own_openapi_body_translates_without_samtranslator_warnings(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a REST API and an HTTP API each defined by its own OpenAPI DefinitionBody
    body = """
    Resources:
      Rest:
        Type: AWS::Serverless::Api
        Properties:
          StageName: prod
          DefinitionBody:
            openapi: "3.0.1"
            info: {title: rest, version: "1"}
            paths: {}
      Http:
        Type: AWS::Serverless::HttpApi
        Properties:
          DefinitionBody:
            openapi: "3.0.1"
            info: {title: http, version: "1"}
            paths: {}
    """
    # WHEN the template is read
    with caplog.at_level(logging.INFO):
        template = load(tmp_path, body)
    # THEN both APIs are deployed, and SAM's feature toggles said nothing (no warning per API)
    assert set(template.resources_of("AWS::ApiGateway::RestApi")) == {"Rest"}
    assert set(template.resources_of("AWS::ApiGatewayV2::Api")) == {"Http"}
    assert [r.getMessage() for r in caplog.records if "Feature" in r.getMessage()] == []


def test_sam_resources_without_the_transform_are_rejected_as_cloudformation_does(tmp_path):
    # GIVEN a template of SAM resources that does not declare SAM's transform
    path = tmp_path / "template.yaml"
    path.write_text(
        "Resources:\n  T:\n    Type: AWS::Serverless::SimpleTable\n"
        "  Q:\n    Type: AWS::SQS::Queue\n"
    )
    # THEN CloudFormation's reason, naming the types and the missing line
    with pytest.raises(TemplateError) as caught:
        SamTemplate(path)
    assert str(caught.value) == (
        "Template format error: Unrecognized resource types: [AWS::Serverless::SimpleTable] "
        "(add 'Transform: AWS::Serverless-2016-10-31')"
    )
