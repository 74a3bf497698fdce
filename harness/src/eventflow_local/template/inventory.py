"""Every resource of the template, accounted for at start-up.

The harness runs a template's functions, their events, API routes, DynamoDB tables and layers.
Anything else a template declares is either of no use to a local run (IAM, permissions, log groups,
API deployments, versions and aliases: summarised in one line) or something the harness does not
emulate: those are named, one line per resource type, so that a user never meets a silent gap (a
topic nobody publishes to, a bucket that does not exist) only when a function first calls it.
"""

from __future__ import annotations

from collections.abc import Iterable

#: what the harness creates or runs
EMULATED = frozenset(
    {
        "AWS::Serverless::Function",
        "AWS::Lambda::Function",
        "AWS::Lambda::EventSourceMapping",
        "AWS::Serverless::SimpleTable",
        "AWS::DynamoDB::Table",
        "AWS::Serverless::Api",
        "AWS::Serverless::LayerVersion",
        "AWS::Serverless::HttpApi",
        "AWS::ApiGateway::ApiKey",
        "AWS::SecretsManager::Secret",
        "AWS::SQS::Queue",
        "AWS::SNS::Topic",
        "AWS::SNS::Subscription",
        "AWS::Kinesis::Stream",
        "AWS::S3::Bucket",
        "AWS::Lambda::LayerVersion",
        "AWS::Lambda::EventInvokeConfig",
        "AWS::ApiGateway::RestApi",
        "AWS::ApiGatewayV2::Api",
        "AWS::Events::Rule",
        "AWS::Events::EventBus",
        "AWS::Scheduler::Schedule",
        "AWS::ApiGatewayV2::Route",
        "AWS::ApiGatewayV2::Integration",
        "AWS::ApiGatewayV2::Authorizer",
        "AWS::ApiGatewayV2::Stage",
        "AWS::ApiGateway::Resource",
        "AWS::ApiGateway::Method",
        "AWS::ApiGateway::Authorizer",
        "AWS::ApiGateway::RequestValidator",
        "AWS::ApiGateway::Model",
        "AWS::ApiGateway::GatewayResponse",
        "AWS::ApiGateway::UsagePlan",
        "AWS::ApiGateway::UsagePlanKey",
        "AWS::ApiGateway::Stage",
    }
)
#: resources a local run has no use for: every function runs with local credentials, as $LATEST,
#: logging to the harness's console, behind the local API server
NO_LOCAL_USE = frozenset(
    {
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::InstanceProfile",
        "AWS::Lambda::Permission",
        "AWS::Lambda::Version",
        "AWS::Lambda::Alias",
        "AWS::Logs::LogGroup",
        "AWS::ApiGateway::Deployment",
        "AWS::ApiGateway::Account",
        "AWS::ApiGatewayV2::Deployment",
        "AWS::Serverless::Connector",
        "AWS::CloudFormation::WaitConditionHandle",
        "AWS::SQS::QueuePolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::S3::BucketPolicy",
    }
)
PARTIAL: dict[str, str] = {}


def resource_lines(resources: Iterable[tuple[str, str]]) -> list[str]:
    """Start-up lines for ``(logical id, type)`` pairs: one summary of the resources of no local
    use, one line per type that is not (or only partly) emulated."""
    unused: list[tuple[str, str]] = []
    by_type: dict[str, list[str]] = {}
    for logical_id, rtype in resources:
        if rtype in EMULATED:
            continue
        if rtype in NO_LOCAL_USE:
            unused.append((logical_id, rtype))
        else:
            by_type.setdefault(rtype, []).append(logical_id)
    lines = []
    for rtype, ids in by_type.items():
        lines.append(f"{', '.join(ids)} ({rtype}): {PARTIAL.get(rtype, 'not emulated')}")
    if unused:
        lines.append(
            f"{_summary(unused)}: no local use (functions run with local credentials, as "
            "$LATEST, logging to this console)"
        )
    return lines


def _summary(resources: list[tuple[str, str]]) -> str:
    """``Id (Type)`` for each, or ``N Types`` for a type of more than three (SAM's transform
    makes a role per function and a permission per route)."""
    by_type: dict[str, list[str]] = {}
    for logical_id, rtype in resources:
        by_type.setdefault(rtype, []).append(logical_id)
    parts = []
    for rtype, ids in by_type.items():
        if len(ids) > 3:
            parts.append(f"{len(ids)} {rtype}")
        else:
            parts.extend(f"{logical_id} ({rtype})" for logical_id in ids)
    return ", ".join(parts)
