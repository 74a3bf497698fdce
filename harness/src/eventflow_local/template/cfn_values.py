"""What ``Ref`` and ``Fn::GetAtt`` give for a resource the harness does not create.

A function that publishes to an ``AWS::SNS::Topic`` reads the topic's ARN from ``!Ref MyTopic``;
a function that sends to a queue reads its URL. Locally those resources do not exist, but the
values a function is configured with should still have the shape CloudFormation gives them, so
that code which parses an ARN, builds a URL or logs a name behaves as it will when deployed.
Each entry below follows the "Return values" section of the resource's page in the CloudFormation
User Guide (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-template-resource-type-ref.html):
what ``Ref`` returns and which attributes ``Fn::GetAtt`` accepts.

A name the template does not declare is the one CloudFormation generates (``cfn_names.py``).

A resource the harness does create (functions, tables, secrets) is named here as the harness
names it (a function or table by its declared name, else its logical id, as SAM CLI does), and
once created it is registered with its local physical ids, which win over this table
(``CfnTemplate.attributes``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from eventflow_local.template import cfn_values_api as api
from eventflow_local.template.cfn_names import (
    LOWER,
    MIXED,
    UPPER,
    Prop,
    ResourceValues,
    Scope,
    function_arn_of,
    generated_id,
    generated_name,
    generated_uuid,
    name_of,
    name_or_generated,
)


# ---------------------------------------------------------------------- one function per type
def _sns_topic(s: Scope, lid: str, p: Prop) -> ResourceValues:
    name = name_or_generated(s, lid, p, "TopicName", 256, tail=".fifo" if p("FifoTopic") else "")
    arn = s.arn("sns", name)
    return ResourceValues(arn, {"TopicArn": arn, "TopicName": name})


def _sqs_queue(s: Scope, lid: str, p: Prop) -> ResourceValues:
    name = name_or_generated(s, lid, p, "QueueName", 80, tail=".fifo" if p("FifoQueue") else "")
    url = f"https://sqs.{s.region}.amazonaws.com/{s.account}/{name}"
    return ResourceValues(url, {"Arn": s.arn("sqs", name), "QueueName": name, "QueueUrl": url})


#: regions whose S3 website endpoint has a dash before the region (Amazon S3 "Website endpoints")
_S3_WEBSITE_DASH = {
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "sa-east-1",
    "us-gov-west-1",
}


def _s3_bucket(s: Scope, lid: str, p: Prop) -> ResourceValues:
    name = name_or_generated(s, lid, p, "BucketName", 63, lower=True)
    website = "s3-website" + ("-" if s.region in _S3_WEBSITE_DASH else ".") + s.region
    return ResourceValues(
        name,
        {
            "Arn": f"arn:aws:s3:::{name}",
            "DomainName": f"{name}.s3.amazonaws.com",
            "DualStackDomainName": f"{name}.s3.dualstack.{s.region}.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{s.region}.amazonaws.com",
            "WebsiteURL": f"http://{name}.{website}.amazonaws.com",
        },
        frozenset({"MetadataTableConfiguration.S3TablesDestination.TableNamespace"}),
    )


def _kinesis_stream(s: Scope, lid: str, p: Prop) -> ResourceValues:
    name = name_or_generated(s, lid, p, "Name", 128)
    return ResourceValues(
        name, {"Arn": s.arn("kinesis", f"stream/{name}")}, frozenset({"WarmThroughputObject"})
    )


def _event_bus(s: Scope, lid: str, p: Prop) -> ResourceValues:
    name = name_or_generated(s, lid, p, "Name", 256)
    arn = s.arn("events", f"event-bus/{name}")
    return ResourceValues(name, {"Arn": arn, "Name": name, "Policy": p("Policy")})


def _event_rule(s: Scope, lid: str, p: Prop) -> ResourceValues:
    name = name_or_generated(s, lid, p, "Name", 64)
    bus = name_of(p("EventBusName") or "default", "/")
    if bus == "default":
        return ResourceValues(name, {"Arn": s.arn("events", f"rule/{name}"), "RuleName": name})
    # a rule on a custom bus: Ref is "<bus>|<rule>" (AWS::Events::Rule "Return values")
    arn = s.arn("events", f"rule/{bus}/{name}")
    return ResourceValues(f"{bus}|{name}", {"Arn": arn, "RuleName": name})


def _schedule(s: Scope, lid: str, p: Prop) -> ResourceValues:
    name = name_or_generated(s, lid, p, "Name", 64)
    group = p("GroupName") or "default"
    return ResourceValues(name, {"Arn": s.arn("scheduler", f"schedule/{group}/{name}")})


def _schedule_group(s: Scope, lid: str, p: Prop) -> ResourceValues:
    name = name_or_generated(s, lid, p, "Name", 64)
    return ResourceValues(
        name,
        {"Arn": s.arn("scheduler", f"schedule-group/{name}"), "State": "ACTIVE"},
        frozenset({"CreationDate", "LastModificationDate"}),
    )


def _state_machine(s: Scope, lid: str, p: Prop) -> ResourceValues:
    name = name_or_generated(s, lid, p, "StateMachineName", 80)
    arn = s.arn("states", f"stateMachine:{name}")
    return ResourceValues(arn, {"Arn": arn, "Name": name, "StateMachineRevisionId": arn})


def _iam_path(p: Prop) -> str:
    return str(p("Path") or "/")


def _iam_role(s: Scope, lid: str, p: Prop) -> ResourceValues:
    name = name_or_generated(s, lid, p, "RoleName", 64)
    return ResourceValues(
        name,
        {
            "Arn": s.arn("iam", f"role{_iam_path(p)}{name}", region=False),
            "RoleId": "AROA" + generated_id(s, lid, 17, UPPER),
        },
    )


def _iam_policy(s: Scope, lid: str, p: Prop) -> ResourceValues:
    policy_id = generated_name(s, lid, 128)
    return ResourceValues(policy_id, {"Id": policy_id})


def _managed_policy(s: Scope, lid: str, p: Prop) -> ResourceValues:
    name = name_or_generated(s, lid, p, "ManagedPolicyName", 128)
    arn = s.arn("iam", f"policy{_iam_path(p)}{name}", region=False)
    return ResourceValues(
        arn,
        {
            "PolicyArn": arn,
            "PolicyId": "ANPA" + generated_id(s, lid, 17, UPPER),
            "DefaultVersionId": "v1",
            "IsAttachable": True,
        },
        frozenset({"AttachmentCount", "PermissionsBoundaryUsageCount", "CreateDate", "UpdateDate"}),
    )


def _instance_profile(s: Scope, lid: str, p: Prop) -> ResourceValues:
    name = name_or_generated(s, lid, p, "InstanceProfileName", 128)
    arn = s.arn("iam", f"instance-profile{_iam_path(p)}{name}", region=False)
    return ResourceValues(name, {"Arn": arn})


def _lambda_function(s: Scope, lid: str, p: Prop) -> ResourceValues:
    name = str(p("FunctionName") or lid)  # run here under this name, as SAM CLI names it
    return ResourceValues(
        name,
        {"Arn": function_arn_of(s, name)},
        frozenset(
            {
                "SnapStartResponse",
                "SnapStartResponse.ApplyOn",
                "SnapStartResponse.OptimizationStatus",
            }
        ),
    )


def _layer_version(s: Scope, lid: str, p: Prop) -> ResourceValues:
    name = name_or_generated(s, lid, p, "LayerName", 140)
    arn = s.arn("lambda", f"layer:{name_of(name)}:1")
    return ResourceValues(arn, {"LayerVersionArn": arn})


def _permission(s: Scope, lid: str, p: Prop) -> ResourceValues:
    permission_id = generated_name(s, lid, 128)
    return ResourceValues(permission_id, {"Id": permission_id})


def _version(s: Scope, lid: str, p: Prop) -> ResourceValues:
    arn = f"{function_arn_of(s, p('FunctionName'))}:1"
    return ResourceValues(arn, {"FunctionArn": arn, "Version": "1"})


def _alias(s: Scope, lid: str, p: Prop) -> ResourceValues:
    arn = f"{function_arn_of(s, p('FunctionName'))}:{p('Name')}"
    return ResourceValues(arn, {"AliasArn": arn})


def _event_source_mapping(s: Scope, lid: str, p: Prop) -> ResourceValues:
    uuid = generated_uuid(s, lid)
    arn = s.arn("lambda", f"event-source-mapping:{uuid}")
    return ResourceValues(uuid, {"Id": uuid, "EventSourceMappingArn": arn})


def _function_url(s: Scope, lid: str, p: Prop) -> ResourceValues:
    arn = function_arn_of(s, p("TargetFunctionArn"))
    host = generated_id(s, lid, 32, LOWER)
    url = f"https://{host}.lambda-url.{s.region}.on.aws/"
    return ResourceValues(arn, {"FunctionArn": arn, "FunctionUrl": url})


def _dynamodb_table(s: Scope, lid: str, p: Prop) -> ResourceValues:
    name = str(p("TableName") or lid)  # created here under this name (services/dynamodb.py)
    arn = s.arn("dynamodb", f"table/{name}")
    return ResourceValues(name, {"Arn": arn, "StreamArn": f"{arn}/stream/local"})


def _log_group(s: Scope, lid: str, p: Prop) -> ResourceValues:
    name = name_or_generated(s, lid, p, "LogGroupName", 512)
    return ResourceValues(name, {"Arn": s.arn("logs", f"log-group:{name}:*")})


def _kms_key(s: Scope, lid: str, p: Prop) -> ResourceValues:
    key_id = generated_uuid(s, lid)
    return ResourceValues(key_id, {"Arn": s.arn("kms", f"key/{key_id}"), "KeyId": key_id})


def _secret(s: Scope, lid: str, p: Prop) -> ResourceValues:
    name = str(p("Name") or f"{s.stack_name}-{lid}")  # made here so (services/secretsmanager.py)
    arn = s.arn("secretsmanager", f"secret:{name}-{generated_id(s, lid, 6, MIXED)}")
    return ResourceValues(arn, {"Id": arn})


def _ssm_parameter(s: Scope, lid: str, p: Prop) -> ResourceValues:
    name = name_or_generated(s, lid, p, "Name", 2048)
    return ResourceValues(
        name,
        {
            "Arn": s.arn("ssm", f"parameter/{name.lstrip('/')}"),
            "Type": p("Type"),
            "Value": p("Value"),
        },
    )


def _alarm(s: Scope, lid: str, p: Prop) -> ResourceValues:
    name = name_or_generated(s, lid, p, "AlarmName", 255)
    return ResourceValues(name, {"Arn": s.arn("cloudwatch", f"alarm:{name}")})


def _sns_subscription(s: Scope, lid: str, p: Prop) -> ResourceValues:
    arn = f"{p('TopicArn')}:{generated_uuid(s, lid)}"
    return ResourceValues(arn, {"Arn": arn})


def _nested_stack(s: Scope, lid: str, p: Prop) -> ResourceValues:
    name = generated_name(s, lid, 128)
    stack_id = s.arn("cloudformation", f"stack/{name}/{generated_uuid(s, lid)}")
    return ResourceValues(stack_id, {"StackId": stack_id})


TYPES: dict[str, Callable[[Scope, str, Prop], ResourceValues]] = {
    "AWS::SNS::Topic": _sns_topic,
    "AWS::SNS::Subscription": _sns_subscription,
    "AWS::SQS::Queue": _sqs_queue,
    "AWS::S3::Bucket": _s3_bucket,
    "AWS::Kinesis::Stream": _kinesis_stream,
    "AWS::Events::EventBus": _event_bus,
    "AWS::Events::Rule": _event_rule,
    "AWS::Scheduler::Schedule": _schedule,
    "AWS::Scheduler::ScheduleGroup": _schedule_group,
    "AWS::StepFunctions::StateMachine": _state_machine,
    "AWS::IAM::Role": _iam_role,
    "AWS::IAM::Policy": _iam_policy,
    "AWS::IAM::ManagedPolicy": _managed_policy,
    "AWS::IAM::InstanceProfile": _instance_profile,
    "AWS::Lambda::Function": _lambda_function,
    "AWS::Lambda::LayerVersion": _layer_version,
    "AWS::Lambda::Permission": _permission,
    "AWS::Lambda::Version": _version,
    "AWS::Lambda::Alias": _alias,
    "AWS::Lambda::EventSourceMapping": _event_source_mapping,
    "AWS::Lambda::Url": _function_url,
    "AWS::DynamoDB::Table": _dynamodb_table,
    "AWS::Logs::LogGroup": _log_group,
    "AWS::KMS::Key": _kms_key,
    "AWS::SecretsManager::Secret": _secret,
    "AWS::SSM::Parameter": _ssm_parameter,
    "AWS::Cognito::UserPool": api.user_pool,
    "AWS::Cognito::UserPoolClient": api.user_pool_client,
    "AWS::ApiGateway::RestApi": api.rest_api,
    "AWS::ApiGateway::Stage": api.stage,
    "AWS::ApiGateway::Deployment": api.id_resource("DeploymentId"),
    "AWS::ApiGateway::ApiKey": api.id_resource("APIKeyId", 10),
    "AWS::ApiGateway::UsagePlan": api.id_resource("Id"),
    "AWS::ApiGateway::UsagePlanKey": api.id_resource("Id"),
    "AWS::ApiGateway::Authorizer": api.id_resource("AuthorizerId"),
    "AWS::ApiGateway::RequestValidator": api.id_resource("RequestValidatorId"),
    "AWS::ApiGateway::Resource": api.id_resource("ResourceId"),
    "AWS::ApiGatewayV2::Api": api.http_api,
    "AWS::ApiGatewayV2::Stage": api.stage,
    "AWS::ApiGatewayV2::Authorizer": api.id_resource("AuthorizerId"),
    "AWS::ApiGatewayV2::Route": api.id_resource("RouteId"),
    "AWS::ApiGatewayV2::Integration": api.id_resource("IntegrationId"),
    "AWS::AppSync::GraphQLApi": api.graphql_api,
    "AWS::AppSync::DataSource": api.data_source,
    "AWS::AppSync::Resolver": api.resolver,
    "AWS::AppSync::FunctionConfiguration": api.appsync_function,
    "AWS::AppSync::ApiKey": api.appsync_api_key,
    "AWS::CloudWatch::Alarm": _alarm,
    "AWS::CloudFormation::Stack": _nested_stack,
}

#: SAM resource types (a template read before SAM's transform) -> the CloudFormation type SAM
#: makes of them under the same logical id, and {CloudFormation property: SAM property}. SAM's
#: APIs are not here: the local API server is theirs, and it names them by logical id
SAM_TYPES: dict[str, tuple[str, dict[str, str]]] = {
    "AWS::Serverless::Function": ("AWS::Lambda::Function", {}),
    "AWS::Serverless::SimpleTable": ("AWS::DynamoDB::Table", {}),
    "AWS::Serverless::StateMachine": (
        "AWS::StepFunctions::StateMachine",
        {"StateMachineName": "Name"},
    ),
    "AWS::Serverless::LayerVersion": ("AWS::Lambda::LayerVersion", {}),
    "AWS::Serverless::GraphQLApi": ("AWS::AppSync::GraphQLApi", {}),
    "AWS::Serverless::Application": ("AWS::CloudFormation::Stack", {}),
}


def values_of(rtype: str, logical_id: str, prop: Prop, scope: Scope) -> ResourceValues | None:
    """``Ref`` and ``Fn::GetAtt`` of one resource, or None for a type not in the table."""
    renamed: Mapping[str, str] = {}
    if rtype in SAM_TYPES:
        rtype, renamed = SAM_TYPES[rtype]
    build = TYPES.get(rtype)
    if build is None:
        return None
    return build(scope, logical_id, lambda key: prop(renamed.get(key, key)))
