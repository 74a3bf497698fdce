"""What a started stack tells its user: each function's triggers and the start-up banner."""

from __future__ import annotations

from typing import TYPE_CHECKING

from eventflow_local.apigw.auth_plan import AuthPlan, describe_auth_routes
from eventflow_local.eventsources.factory import KAFKA_EVENT_TYPES

if TYPE_CHECKING:
    from eventflow_local.stack import Stack


def _stream_table(stack: Stack, stream_arn: str) -> str:
    for attrs in stack.tables.values():
        if attrs.get("StreamArn") == stream_arn:
            return str(attrs["Ref"])
    return stream_arn


def triggers(stack: Stack) -> dict[str, list[str]]:
    """Function logical id -> one line per trigger (route, topic, stream, schedule)."""
    out: dict[str, list[str]] = {}
    for logical_id, runtime in stack.runtimes.items():
        items = []
        for event in runtime.spec.events:
            props = event.properties
            if event.type == "Api":
                items.append(f"{props.get('Method', '').upper()} {props.get('Path')}")
            elif event.type in KAFKA_EVENT_TYPES:
                topics = ", ".join(props.get("Topics", []))
                items.append(f"{event.type} {topics} (group {props.get('ConsumerGroupId', '-')})")
            elif event.type == "DynamoDB":
                items.append(f"DynamoDB stream of {_stream_table(stack, str(props.get('Stream')))}")
            elif event.type in ("Schedule", "ScheduleV2"):
                expression = props.get("Schedule") or props.get("ScheduleExpression")
                items.append(f"{event.type} {expression}")
            else:
                items.append(event.type)
        out[logical_id] = items
    return out


def summary(stack: Stack) -> str:
    """The banner ``up`` prints once ready."""
    info = stack.describe()
    lines = ["eventflow local stack is up"]
    if info["apiUrl"]:
        stage = stack.gateway.stage if stack.gateway else ""
        lines.append(f"  API          {info['apiUrl']}   (stage prefix /{stage} optional)")
        lines.append(f"  Console      {info['consoleUrl']}")
        lines.append(f"  OpenAPI      {info['apiUrl']}/openapi.json   (Swagger UI: /swagger)")
        for n, line in enumerate(describe_auth_routes(stack.auth or AuthPlan(), stack.api_token)):
            lines.append(f"  {'Auth' if n == 0 else '':<12} {line}")
        if stack.gateway is not None and stack.gateway.http_routes:
            keys = ", ".join(r.route_key for r in stack.gateway.http_routes)
            lines.append(f"  HTTP API     {info['apiUrl']}   ($default stage, no prefix): {keys}")
        for logical_id, arn in stack.secrets.items():
            lines.append(
                f"  Secret       {logical_id} (made at each start): AWS_ENDPOINT_URL="
                f"{stack.dynamo.services_url if stack.dynamo else ''} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test "
                f"AWS_DEFAULT_REGION={stack.region} aws secretsmanager get-secret-value "
                f"--secret-id {arn} --query SecretString --output text"
            )
    lines.append(f"  Kafka        {info['bootstrapServers']}   ({info['kafka']})")
    lines.append(f"  DynamoDB     {info['dynamodbEndpoint']}   ({info['dynamodb']})")
    lines.append(
        f"  Topics       {', '.join(stack.topics) or '-'}   "
        f"({stack.partitions} partitions when created here)"
    )
    lines.append(f"  Tables       {', '.join(info['tables'].values())}")
    lines.append(f"  State dir    {stack.state_dir}")
    lines.append("  Functions")
    for logical_id, items in info["functions"].items():
        lines.append(f"    {logical_id}")
        for item in items:
            lines.append(f"      <- {item}")
    return "\n".join(lines)
