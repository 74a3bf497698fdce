"""``Ref`` and ``Fn::GetAtt`` of the API services' resources (Cognito user pools, API Gateway
REST and HTTP APIs, AppSync), each as the "Return values" section of its page in the
CloudFormation User Guide gives them (``cfn_values.py`` says why)."""

from __future__ import annotations

from collections.abc import Callable

from eventflow_local.template.cfn_names import (
    LOWER,
    MIXED,
    Prop,
    ResourceValues,
    Scope,
    generated_id,
    generated_name,
)


def user_pool(s: Scope, lid: str, p: Prop) -> ResourceValues:
    pool_id = f"{s.region}_{generated_id(s, lid, 9, MIXED)}"
    provider = f"cognito-idp.{s.region}.amazonaws.com/{pool_id}"
    return ResourceValues(
        pool_id,
        {
            "Arn": s.arn("cognito-idp", f"userpool/{pool_id}"),
            "ProviderName": provider,
            "ProviderURL": f"https://{provider}",
            "UserPoolId": pool_id,
        },
    )


def user_pool_client(s: Scope, lid: str, p: Prop) -> ResourceValues:
    client_id = generated_id(s, lid, 26, LOWER)
    return ResourceValues(
        client_id,
        {
            "ClientId": client_id,
            "ClientSecret": generated_id(s, lid, 51, LOWER, "secret"),
            "Name": p("ClientName") or generated_name(s, lid, 128),
        },
    )


def id_resource(attribute: str | None, length: int = 6) -> Callable[..., ResourceValues]:
    """A resource whose ``Ref`` is an id API Gateway assigns (and ``attribute`` returns)."""

    def values(s: Scope, lid: str, p: Prop) -> ResourceValues:
        value = generated_id(s, lid, length, LOWER)
        return ResourceValues(value, {attribute: value} if attribute else {})

    return values


def rest_api(s: Scope, lid: str, p: Prop) -> ResourceValues:
    api_id = generated_id(s, lid, 10, LOWER)
    root = generated_id(s, lid, 10, LOWER, "root")
    return ResourceValues(api_id, {"RestApiId": api_id, "RootResourceId": root})


def stage(s: Scope, lid: str, p: Prop) -> ResourceValues:
    return ResourceValues(p("StageName") or generated_id(s, lid, 10, LOWER), {})


def http_api(s: Scope, lid: str, p: Prop) -> ResourceValues:
    api_id = generated_id(s, lid, 10, LOWER)
    scheme = "wss" if p("ProtocolType") == "WEBSOCKET" else "https"
    return ResourceValues(
        api_id,
        {
            "ApiId": api_id,
            "ApiEndpoint": f"{scheme}://{api_id}.execute-api.{s.region}.amazonaws.com",
            "ExecuteApiArn": s.arn("execute-api", api_id),
        },
    )


def _appsync_api_arn(s: Scope, p: Prop) -> str:
    return s.arn("appsync", f"apis/{p('ApiId')}")


def graphql_api(s: Scope, lid: str, p: Prop) -> ResourceValues:
    api_id = generated_id(s, lid, 26, LOWER)
    host = generated_id(s, lid, 26, LOWER, "host")
    dns = f"{host}.appsync-api.{s.region}.amazonaws.com"
    realtime = f"{host}.appsync-realtime-api.{s.region}.amazonaws.com"
    arn = s.arn("appsync", f"apis/{api_id}")
    return ResourceValues(
        arn,
        {
            "ApiId": api_id,
            "Arn": arn,
            "GraphQLDns": dns,
            "GraphQLUrl": f"https://{dns}/graphql",
            "RealtimeDns": realtime,
            "RealtimeUrl": f"wss://{realtime}/graphql",
            "GraphQLEndpointArn": arn,
        },
    )


def data_source(s: Scope, lid: str, p: Prop) -> ResourceValues:
    arn = f"{_appsync_api_arn(s, p)}/datasources/{p('Name')}"
    return ResourceValues(arn, {"DataSourceArn": arn, "Name": p("Name")})


def resolver(s: Scope, lid: str, p: Prop) -> ResourceValues:
    arn = f"{_appsync_api_arn(s, p)}/types/{p('TypeName')}/resolvers/{p('FieldName')}"
    return ResourceValues(
        arn, {"ResolverArn": arn, "TypeName": p("TypeName"), "FieldName": p("FieldName")}
    )


def appsync_function(s: Scope, lid: str, p: Prop) -> ResourceValues:
    function_id = generated_id(s, lid, 26, LOWER)
    arn = f"{_appsync_api_arn(s, p)}/functions/{function_id}"
    attrs = {"FunctionArn": arn, "FunctionId": function_id, "Name": p("Name")}
    return ResourceValues(arn, attrs | {"DataSourceName": p("DataSourceName")})


def appsync_api_key(s: Scope, lid: str, p: Prop) -> ResourceValues:
    key = "da2-" + generated_id(s, lid, 26, LOWER)
    arn = f"{_appsync_api_arn(s, p)}/apikeys/{key}"
    return ResourceValues(arn, {"ApiKey": key, "ApiKeyId": key, "Arn": arn})
