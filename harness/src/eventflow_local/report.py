"""What a started stack tells its user: each function's triggers, ``stack.json`` and the
start-up banner. Built from plain values the stack hands over (``StackReport``), never from the
stack itself."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventflow_local.aws import KAFKA_EVENT_TYPES
from eventflow_local.template.specs import EventSpec


def _stream_table(tables: Mapping[str, Mapping[str, Any]], stream_arn: str) -> str:
    for attrs in tables.values():
        if attrs.get("StreamArn") == stream_arn:
            return str(attrs["Ref"])
    return stream_arn


def event_line(event: EventSpec, tables: Mapping[str, Mapping[str, Any]]) -> str:
    """One started event source, as its function's trigger line."""
    props = event.properties
    if event.type in KAFKA_EVENT_TYPES:
        topics = ", ".join(props.get("Topics", []))
        return f"{event.type} {topics} (group {props.get('ConsumerGroupId', '-')})"
    if event.type == "DynamoDB":
        return f"DynamoDB stream of {_stream_table(tables, str(props.get('Stream')))}"
    if event.type == "Kinesis":  # eventsources/kinesis/
        return f"Kinesis stream {str(props.get('Stream')).rsplit('/', 1)[-1]}"
    if event.type == "SQS":
        return f"SQS queue {str(props.get('Queue')).rsplit(':', 1)[-1]}"
    if event.type == "SNS":  # eventsources/sns/delivery.py
        policy = " (filter policy)" if props.get("FilterPolicy") else ""
        return f"SNS topic {str(props.get('Topic')).rsplit(':', 1)[-1]}{policy}"
    if event.type == "EventBridgeRule":  # eventsources/eventbridge/delivery.py
        return f"EventBridge rule {event.name} on bus {props.get('EventBus')}"
    if event.type == "S3":  # eventsources/s3/delivery.py
        rules = [f"{k.lower()} {props[k]}" for k in ("Prefix", "Suffix") if props.get(k)]
        where = f" ({', '.join(rules)})" if rules else ""
        return f"S3 bucket {props.get('Bucket')} {props.get('Events')}{where}"
    if event.type in ("AWS::Events::Rule", "AWS::Scheduler::Schedule"):  # schedule/source.py
        return f"{event.type} {event.name} {props.get('ScheduleExpression')}"
    return event.type


@dataclass(frozen=True)
class Started:
    """What actually started: the running functions, the routes the API server serves and the
    event sources running. A function's declared event that did not start (not emulated,
    refused, disabled) is not among them: the start-up lines name it once."""

    functions: Sequence[str]
    #: (function logical id, "GET /path") of each REST route served
    rest_routes: Sequence[tuple[str, str]] = ()
    #: (function logical id, route key) of each HTTP API route served
    http_routes: Sequence[tuple[str, str]] = ()
    #: (function logical id, event) of each event source started
    sources: Sequence[tuple[str, EventSpec]] = ()


def triggers(started: Started, tables: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """Function logical id -> one line per trigger that runs (route, topic, stream, schedule)."""
    out: dict[str, list[str]] = {name: [] for name in started.functions}
    for function, route in sorted(started.rest_routes, key=lambda r: r[1].split(" ", 1)[::-1]):
        out.setdefault(function, []).append(route)
    for function, key in started.http_routes:
        out.setdefault(function, []).append(f"HTTP API {key}")
    for function, event in started.sources:
        out.setdefault(function, []).append(event_line(event, tables))
    return out


@dataclass(frozen=True)
class StackReport:
    """A started stack, as its user is told of it."""

    api_url: str | None
    bootstrap_servers: str | None
    kafka: str  # "embedded" | "external"
    dynamodb_endpoint: str | None
    dynamodb: str | None  # the engine's kind
    lambda_endpoint: str | None
    region: str
    tables: Mapping[str, Mapping[str, Any]]
    topics: list[str]
    partitions: int
    state_dir: Path
    functions: Mapping[str, list[str]]
    instance: str
    #: the API's stage (its routes answer with and without the prefix)
    stage: str = ""
    #: lines saying which routes need what (``apigw.auth_plan.describe_auth_routes``)
    auth: list[str] = field(default_factory=list)
    #: the HTTP API's route keys, served on the $default stage
    http_routes: list[str] = field(default_factory=list)
    #: the template's secrets made here: logical id -> ARN
    secrets: Mapping[str, str] = field(default_factory=dict)
    #: the endpoint of the other emulated services (Secrets Manager ...)
    services_url: str | None = None
    #: the template's SQS queues made here: logical id -> {"Ref": URL, "Arn", "QueueName", ...}
    queues: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """What ``stack.json`` holds (``state.py`` reads it for ``invoke`` and the tests)."""
        return {
            "apiUrl": self.api_url,
            "consoleUrl": f"{self.api_url}/_console/" if self.api_url else None,
            "bootstrapServers": self.bootstrap_servers,
            "kafka": self.kafka,
            "dynamodbEndpoint": self.dynamodb_endpoint,
            "dynamodb": self.dynamodb,
            "lambdaEndpoint": self.lambda_endpoint,
            "region": self.region,
            "tables": {lid: attrs["Ref"] for lid, attrs in self.tables.items()},
            "topics": list(self.topics),
            "queues": {lid: attrs["Ref"] for lid, attrs in self.queues.items()},
            "servicesEndpoint": self.services_url,
            "stateDir": str(self.state_dir),
            "functions": dict(self.functions),
            "pid": os.getpid(),
            #: the API server names it in its ``Server`` header (state.py checks it)
            "instance": self.instance,
            "startedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }

    def banner(self) -> str:
        """The lines ``up`` prints once ready."""
        lines = ["eventflow local stack is up"]
        if self.api_url:
            url = self.api_url
            lines.append(f"  API          {url}   (stage prefix /{self.stage} optional)")
            lines.append(f"  Console      {url}/_console/")
            lines.append(f"  OpenAPI      {url}/openapi.json   (Swagger UI: /swagger)")
            for n, line in enumerate(self.auth):
                lines.append(f"  {'Auth' if n == 0 else '':<12} {line}")
            if self.http_routes:
                keys = ", ".join(self.http_routes)
                lines.append(f"  HTTP API     {url}   ($default stage, no prefix): {keys}")
            for logical_id, arn in self.secrets.items():
                lines.append(
                    f"  Secret       {logical_id} (made at each start): AWS_ENDPOINT_URL="
                    f"{self.services_url or ''} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test "
                    f"AWS_DEFAULT_REGION={self.region} aws secretsmanager get-secret-value "
                    f"--secret-id {arn} --query SecretString --output text"
                )
        lines.append(f"  Kafka        {self.bootstrap_servers or '-'}   ({self.kafka})")
        lines.append(f"  DynamoDB     {self.dynamodb_endpoint}   ({self.dynamodb})")
        lines.append(
            f"  Topics       {', '.join(self.topics) or '-'}   "
            f"({self.partitions} partitions when created here)"
        )
        tables = ", ".join(str(attrs["Ref"]) for attrs in self.tables.values())
        lines.append(f"  Tables       {tables}")
        if self.services_url:
            lines.append(
                f"  AWS services {self.services_url}   (AWS_ENDPOINT_URL of the functions; "
                "SQS, SNS, EventBridge, Kinesis, S3, Secrets Manager)"
            )
        if self.queues:
            names = ", ".join(str(attrs["QueueName"]) for attrs in self.queues.values())
            lines.append(f"  Queues       {names}   (made at each start, empty)")
        lines.append(f"  State dir    {self.state_dir}")
        lines.append("  Functions")
        for logical_id, items in self.functions.items():
            lines.append(f"    {logical_id}")
            for item in items:
                lines.append(f"      <- {item}")
        return "\n".join(lines)


def stack_triggers(stack: Any) -> dict[str, list[str]]:
    """A started ``Stack``'s running functions and the triggers that started for each."""
    gw = stack.gateway
    ops = gw.router.operations() if gw else []
    rest = [(o.function, f"{o.method} {o.path}") for o in ops if o.function is not None]
    http = [(r.function, r.route_key) for r in gw.http_routes] if gw else []
    sources = [(s.function_name, s.event) for s in stack.sources if hasattr(s, "event")]
    sources += [pair for s in stack.sources for pair in getattr(s, "triggers", [])]
    return triggers(Started(list(stack.runtimes), rest, http, sources), stack.tables)


def stack_report(stack: Any) -> StackReport:
    """A started ``Stack`` as its user is told of it: the banner's and ``stack.json``'s facts."""
    gateway = stack.gateway
    dynamo = stack.dynamo
    return StackReport(
        api_url=gateway.url if gateway else None,
        bootstrap_servers=stack._bootstrap,
        kafka="embedded" if stack.broker else "external" if stack._bootstrap else "not started",
        dynamodb_endpoint=dynamo.url if dynamo else None,
        dynamodb=dynamo.kind if dynamo else None,
        lambda_endpoint=stack.lambda_api.url if stack.lambda_api else None,
        region=stack.region,
        tables=stack.tables,
        topics=stack.topics,
        partitions=stack.partitions,
        state_dir=stack.state_dir,
        functions=stack.triggers(),
        instance=stack.instance,
        stage=gateway.stage if gateway else "",
        auth=stack.auth.describe(stack.api_token) if gateway and stack.auth else [],
        http_routes=[r.route_key for r in gateway.http_routes] if gateway else [],
        secrets=stack.secrets,
        services_url=dynamo.services_url if dynamo else None,
        queues=stack.queues,
    )
