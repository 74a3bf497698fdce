"""``Ref`` and ``Fn::GetAtt`` of resources the harness does not create give CloudFormation's
values ("Return values" of each resource page in the CloudFormation User Guide), with the stack's
region, the local account and the name CloudFormation would generate."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from eventflow_local.aws import LOCAL_ACCOUNT
from eventflow_local.template.cfn_names import Scope, generated_name
from eventflow_local.template.cfn_values import TYPES
from eventflow_local.template.sam import SamTemplate, TemplateError
from tests.unit.template_files import write

ACCOUNT = LOCAL_ACCOUNT


def read(tmp_path: Path, body: str, region: str = "us-east-1") -> SamTemplate:
    return SamTemplate(write(tmp_path, body), region=region)


def one(tmp_path: Path, rtype: str, props: dict | None = None, region: str = "us-east-1"):
    body = f"Resources:\n  R:\n    Type: {rtype}\n    Properties: {json.dumps(props or {})}\n"
    return read(tmp_path, body, region)


def suffix_of(name: str, prefix: str) -> str:
    assert name.startswith(prefix), name
    return name[len(prefix) :]


def test_a_function_publishing_to_a_topic_gets_the_topic_arn_not_its_logical_id(tmp_path):
    # GIVEN a function whose environment names a topic, a queue and a bucket of the template
    tpl = read(
        tmp_path,
        """
        Resources:
          MyTopic: {Type: AWS::SNS::Topic}
          MyQueue: {Type: AWS::SQS::Queue}
          Uploads: {Type: AWS::S3::Bucket, Properties: {BucketName: my-uploads}}
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src/
              Runtime: python3.13
              Handler: app.handler
              Environment:
                Variables:
                  TOPIC: !Ref MyTopic
                  QUEUE: !Ref MyQueue
                  BUCKET: !Ref Uploads
                  BUCKET_ARN: !GetAtt Uploads.Arn
        """,
    )
    env = tpl.functions()["Fn"].environment
    # THEN each is CloudFormation's value: the topic's ARN, the queue's URL, the bucket's name
    name = suffix_of(env["TOPIC"], f"arn:aws:sns:us-east-1:{ACCOUNT}:")
    assert re.fullmatch(r"eventflow-local-MyTopic-[A-Z0-9]{12}", name)
    queue = suffix_of(env["QUEUE"], f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/")
    assert re.fullmatch(r"eventflow-local-MyQueue-[A-Z0-9]{12}", queue)
    assert env["BUCKET"] == "my-uploads"
    assert env["BUCKET_ARN"] == "arn:aws:s3:::my-uploads"
    # AND the same on every read (a start, a restart)
    again = read(tmp_path, (tmp_path / "template.yaml").read_text().split("\n", 2)[2])
    assert again.functions()["Fn"].environment == env


def test_the_generated_name_is_per_stack_and_logical_id_and_fits_the_service_limit():
    a = generated_name(Scope("us-east-1", "stack-a"), "Queue", 80)
    assert a != generated_name(Scope("us-east-1", "stack-b"), "Queue", 80)
    assert a != generated_name(Scope("us-east-1", "stack-a"), "Queue2", 80)
    assert a == generated_name(Scope("eu-west-1", "stack-a"), "Queue", 80)
    # a long stack name and logical id are both shortened, the random part kept
    long = generated_name(Scope("us-east-1", "s" * 80), "L" * 80, 63, lower=True)
    assert len(long) == 63 and long == long.lower()
    assert re.fullmatch(r"s+-l+-[a-z0-9]{12}", long)


@pytest.mark.parametrize(
    ("rtype", "props", "ref", "attrs"),
    [
        (
            "AWS::SNS::Topic",
            {"TopicName": "orders", "FifoTopic": False},
            "arn:aws:sns:{r}:{a}:orders",
            {"TopicArn": "arn:aws:sns:{r}:{a}:orders", "TopicName": "orders"},
        ),
        (
            "AWS::SQS::Queue",
            {"QueueName": "jobs.fifo", "FifoQueue": True},
            "https://sqs.{r}.amazonaws.com/{a}/jobs.fifo",
            {
                "Arn": "arn:aws:sqs:{r}:{a}:jobs.fifo",
                "QueueName": "jobs.fifo",
                "QueueUrl": "https://sqs.{r}.amazonaws.com/{a}/jobs.fifo",
            },
        ),
        (
            "AWS::S3::Bucket",
            {"BucketName": "b1"},
            "b1",
            {
                "Arn": "arn:aws:s3:::b1",
                "DomainName": "b1.s3.amazonaws.com",
                "RegionalDomainName": "b1.s3.{r}.amazonaws.com",
                "WebsiteURL": "http://b1.s3-website.{r}.amazonaws.com",
            },
        ),
        ("AWS::Kinesis::Stream", {"Name": "k"}, "k", {"Arn": "arn:aws:kinesis:{r}:{a}:stream/k"}),
        (
            "AWS::Events::EventBus",
            {"Name": "bus"},
            "bus",
            {"Arn": "arn:aws:events:{r}:{a}:event-bus/bus", "Name": "bus"},
        ),
        ("AWS::Events::Rule", {"Name": "r1"}, "r1", {"Arn": "arn:aws:events:{r}:{a}:rule/r1"}),
        (
            "AWS::Events::Rule",
            {"Name": "r1", "EventBusName": "bus"},
            "bus|r1",
            {"Arn": "arn:aws:events:{r}:{a}:rule/bus/r1"},
        ),
        (
            "AWS::Scheduler::Schedule",
            {"Name": "nightly", "GroupName": "g"},
            "nightly",
            {"Arn": "arn:aws:scheduler:{r}:{a}:schedule/g/nightly"},
        ),
        (
            "AWS::StepFunctions::StateMachine",
            {"StateMachineName": "flow"},
            "arn:aws:states:{r}:{a}:stateMachine:flow",
            {"Arn": "arn:aws:states:{r}:{a}:stateMachine:flow", "Name": "flow"},
        ),
        (
            "AWS::IAM::Role",
            {"RoleName": "runner", "Path": "/svc/"},
            "runner",
            {"Arn": "arn:aws:iam::{a}:role/svc/runner"},
        ),
        (
            "AWS::IAM::ManagedPolicy",
            {"ManagedPolicyName": "read"},
            "arn:aws:iam::{a}:policy/read",
            {"PolicyArn": "arn:aws:iam::{a}:policy/read"},
        ),
        (
            "AWS::Lambda::LayerVersion",
            {"LayerName": "deps"},
            "arn:aws:lambda:{r}:{a}:layer:deps:1",
            {"LayerVersionArn": "arn:aws:lambda:{r}:{a}:layer:deps:1"},
        ),
        (
            "AWS::Lambda::Version",
            {"FunctionName": "fn"},
            "arn:aws:lambda:{r}:{a}:function:fn:1",
            {"FunctionArn": "arn:aws:lambda:{r}:{a}:function:fn:1", "Version": "1"},
        ),
        (
            "AWS::Lambda::Alias",
            {"FunctionName": "fn", "Name": "live", "FunctionVersion": "1"},
            "arn:aws:lambda:{r}:{a}:function:fn:live",
            {"AliasArn": "arn:aws:lambda:{r}:{a}:function:fn:live"},
        ),
        (
            "AWS::DynamoDB::Table",
            {"TableName": "t"},
            "t",
            {"Arn": "arn:aws:dynamodb:{r}:{a}:table/t"},
        ),
        (
            "AWS::Logs::LogGroup",
            {"LogGroupName": "/app"},
            "/app",
            {"Arn": "arn:aws:logs:{r}:{a}:log-group:/app:*"},
        ),
        (
            "AWS::SSM::Parameter",
            {"Name": "/cfg/x", "Type": "String", "Value": "v"},
            "/cfg/x",
            {"Type": "String", "Value": "v"},
        ),
        (
            "AWS::CloudWatch::Alarm",
            {"AlarmName": "hot"},
            "hot",
            {"Arn": "arn:aws:cloudwatch:{r}:{a}:alarm:hot"},
        ),
        ("AWS::ApiGateway::Stage", {"StageName": "prod"}, "prod", {}),
    ],
)
def test_declared_names_give_cloudformations_documented_values(tmp_path, rtype, props, ref, attrs):
    # GIVEN one resource of the type, named by the template, in eu-west-2
    tpl = one(tmp_path, rtype, props, region="eu-west-2")

    def fill(text: str) -> str:
        return text.format(r="eu-west-2", a=ACCOUNT)

    # THEN Ref and each documented attribute are CloudFormation's values
    assert tpl.ref("R") == fill(ref)
    for attr, value in attrs.items():
        assert tpl.get_att("R", attr) == fill(value)


@pytest.mark.parametrize(
    ("rtype", "props", "ref_pattern", "attr", "attr_pattern"),
    [
        ("AWS::KMS::Key", {}, r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
         "Arn", r"arn:aws:kms:us-east-1:\d{12}:key/[0-9a-f-]{36}"),
        ("AWS::Cognito::UserPool", {}, r"us-east-1_[A-Za-z0-9]{9}",
         "ProviderURL", r"https://cognito-idp\.us-east-1\.amazonaws\.com/us-east-1_\w{9}"),
        ("AWS::Cognito::UserPoolClient", {"UserPoolId": "p"}, r"[a-z0-9]{26}",
         "ClientId", r"[a-z0-9]{26}"),
        ("AWS::ApiGateway::RestApi", {}, r"[a-z0-9]{10}", "RootResourceId", r"[a-z0-9]{10}"),
        ("AWS::ApiGateway::Deployment", {"RestApiId": "x"}, r"[a-z0-9]{6}",
         "DeploymentId", r"[a-z0-9]{6}"),
        ("AWS::ApiGateway::ApiKey", {}, r"[a-z0-9]{10}", "APIKeyId", r"[a-z0-9]{10}"),
        ("AWS::ApiGateway::UsagePlan", {}, r"[a-z0-9]{6}", "Id", r"[a-z0-9]{6}"),
        ("AWS::ApiGateway::Authorizer", {"RestApiId": "x"}, r"[a-z0-9]{6}",
         "AuthorizerId", r"[a-z0-9]{6}"),
        ("AWS::ApiGatewayV2::Api", {"ProtocolType": "HTTP"}, r"[a-z0-9]{10}",
         "ApiEndpoint", r"https://[a-z0-9]{10}\.execute-api\.us-east-1\.amazonaws\.com"),
        ("AWS::ApiGatewayV2::Api", {"ProtocolType": "WEBSOCKET"}, r"[a-z0-9]{10}",
         "ApiEndpoint", r"wss://[a-z0-9]{10}\.execute-api\.us-east-1\.amazonaws\.com"),
        ("AWS::AppSync::GraphQLApi", {"Name": "g"}, r"arn:aws:appsync:us-east-1:\d{12}:apis/\w{26}",
         "GraphQLUrl", r"https://\w{26}\.appsync-api\.us-east-1\.amazonaws\.com/graphql"),
        ("AWS::Lambda::EventSourceMapping", {"FunctionName": "f"}, r"[0-9a-f-]{36}",
         "EventSourceMappingArn", r"arn:aws:lambda:us-east-1:\d{12}:event-source-mapping:[0-9a-f-]{36}"),
        ("AWS::Lambda::Permission", {"FunctionName": "f"}, r"eventflow-local-R-[A-Z0-9]{12}",
         "Id", r"eventflow-local-R-[A-Z0-9]{12}"),
        ("AWS::IAM::Policy", {}, r"eventflow-local-R-[A-Z0-9]{12}", "Id", r"eventflow-local-R-\w{12}"),
        ("AWS::IAM::Role", {}, r"eventflow-local-R-[A-Z0-9]{12}", "RoleId", r"AROA[A-Z0-9]{17}"),
        ("AWS::SecretsManager::Secret", {}, r"arn:aws:secretsmanager:us-east-1:\d{12}:secret:"
         r"eventflow-local-R-\w{6}", "Id", r"arn:aws:secretsmanager:.*"),
        ("AWS::S3::Bucket", {}, r"eventflow-local-r-[a-z0-9]{12}",
         "Arn", r"arn:aws:s3:::eventflow-local-r-[a-z0-9]{12}"),
    ],
)  # fmt: skip
def test_generated_ids_have_the_services_shape(
    tmp_path, rtype, props, ref_pattern, attr, attr_pattern
):
    tpl = one(tmp_path, rtype, props)
    assert re.fullmatch(ref_pattern, str(tpl.ref("R")))
    assert re.fullmatch(attr_pattern, str(tpl.get_att("R", attr)))


def test_an_unknown_attribute_is_refused_in_one_line_and_an_unknown_type_keeps_its_id(tmp_path):
    # GIVEN a topic and a resource type the table does not know
    tpl = read(
        tmp_path,
        """
        Resources:
          T: {Type: AWS::SNS::Topic, Properties: {DisplayName: Orders}}
          W: {Type: AWS::WAFv2::WebACL}
        """,
    )
    # THEN an attribute the topic does not have is CloudFormation's template error
    with pytest.raises(TemplateError) as error:
        tpl.get_att("T", "Nope")
    assert "resource T does not support attribute type Nope in Fn::GetAtt" in str(error.value)
    assert "\n" not in str(error.value)
    # AND a property of the topic is an attribute too (registry resource types)
    assert tpl.get_att("T", "DisplayName") == "Orders"
    # AND a type outside the table keeps its logical id
    assert tpl.ref("W") == "W"
    assert tpl.get_att("W", "Arn") == "W.Arn"


def test_a_name_that_refers_to_its_own_resource_is_a_circular_dependency(tmp_path):
    tpl = read(
        tmp_path,
        """
        Resources:
          Q:
            Type: AWS::SQS::Queue
            Properties: {QueueName: !Sub "${Q.Arn}-x"}
        """,
    )
    with pytest.raises(TemplateError, match=r"Circular dependency between resources: \[Q\]"):
        tpl.ref("Q")


def test_every_attribute_of_the_registry_schema_is_known():
    # GIVEN CloudFormation's resource schemas as cfn-lint ships them (the registry's)
    cfnlint = pytest.importorskip("cfnlint")
    schemas = Path(cfnlint.__file__).parent / "data" / "schemas"
    providers = json.loads((schemas / "providers" / "us-east-1.json").read_text())
    missing = {}
    for rtype, build in TYPES.items():
        schema = json.loads((schemas / "resources" / f"{providers[rtype]}.json").read_text())
        readonly = {
            path.removeprefix("/properties/").replace("/", ".")
            for path in schema.get("readOnlyProperties", [])
        }
        values = build(Scope("us-east-1", "s"), "R", lambda key: None)
        known = set(values.attributes) | set(values.unvalued)
        # THEN every top-level read-only property is an attribute of the table's entry
        gaps = {a for a in readonly if "." not in a and a not in known}
        if gaps:
            missing[rtype] = sorted(gaps)
    assert missing == {}


def test_a_condition_named_in_turn_is_evaluated_and_a_policy_condition_block_is_kept(tmp_path):
    # GIVEN the Fn::And SAM writes ({"Condition": {"Condition": name}}) and a policy statement
    # whose only key is a Condition block
    tpl = read(
        tmp_path,
        """
        Conditions:
          Yes: !Equals [a, a]
          Both:
            Fn::And:
              - Condition: {Condition: Yes}
              - Condition: Yes
        Resources:
          Q:
            Type: AWS::SQS::Queue
            Properties:
              Tags: [{Condition: {StringEquals: {"aws:SourceAccount": "1"}}}]
        """,
    )
    # THEN the condition holds and the block is a property, not an intrinsic
    assert tpl.conditions["Both"] is True
    assert tpl.properties("Q")["Tags"] == [
        {"Condition": {"StringEquals": {"aws:SourceAccount": "1"}}}
    ]
