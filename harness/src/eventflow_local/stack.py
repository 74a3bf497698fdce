"""The whole template running on this machine: ``Stack`` starts everything in-process.

    with Stack(port=0) as stack:
        stack.api_url, stack.bootstrap_servers, stack.dynamodb_endpoint, stack.topics

Start-up order: Kafka (``bootstrap_servers`` / ``KAFKA_BOOTSTRAP_SERVERS``, else the embedded
broker), DynamoDB (``dynamodb_endpoint`` / ``AWS_ENDPOINT_URL_DYNAMODB`` / ``AWS_ENDPOINT_URL``,
else the embedded engine: ``dynamodb="moto"``, the default, a moto server in its own process;
``dynamodb="local"``, DynamoDB Local with its tables under ``<state dir>/dynamodb``, or in memory
with ``dynamodb_in_memory``), the template read with the local parameters, tables and topics
created, one worker process per function, then the event sources (Kafka event source mappings,
DynamoDB streams, schedules) and the API Gateway server. ``stop()`` goes the other way: event
sources, then workers, then the broker and moto.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from eventflow_local.apigw.auth_plan import AuthPlan, plan_auth
from eventflow_local.apigw.gateway import ApiGateway
from eventflow_local.apigw.httpapi import http_routes as http_routes_of
from eventflow_local.apigw.local_token import DEFAULT_TOKEN
from eventflow_local.apigw.openapi import build_openapi
from eventflow_local.console import Activity, ConsoleApp
from eventflow_local.eventsources.destinations import FailureDestinations
from eventflow_local.eventsources.factory import (
    KAFKA_EVENT_TYPES,
    LOCAL_MSK_ARN,
    start_event_sources,
)
from eventflow_local.report import summary, triggers
from eventflow_local.runtime.build import TemplateBuild, cache_dir_for
from eventflow_local.runtime.environment import lambda_environment
from eventflow_local.runtime.functions import FunctionRuntime
from eventflow_local.runtime.invocation import InvocationResult
from eventflow_local.runtime.lambda_api import LambdaApi
from eventflow_local.services.broker import EmbeddedBroker, ensure_topics, wait_for_broker
from eventflow_local.services.dynamodb import (
    ENGINES,
    DynamoEndpoint,
    endpoint_from_env,
    ensure_tables,
)
from eventflow_local.services.secretsmanager import ensure_secrets
from eventflow_local.state import STATE_FILE, resolve_state_dir
from eventflow_local.template.sam import DEFAULT_TEMPLATE, SamTemplate, load_document

DEFAULT_API_PORT = 3000
DEFAULT_PARTITIONS = 3


class Console:
    """Thread-safe line output shared by the harness and the workers' logs."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        stream = self.stream or sys.stdout
        with self._lock:
            stream.write(line + "\n")
            stream.flush()


def template_topics(template: SamTemplate) -> list[str]:
    """Topics the template names: ``*Topic`` parameters and the Topics of every Kafka event."""
    topics: list[str] = []
    for name, value in template.parameters.items():
        if name.endswith("Topic") and isinstance(value, str) and value:
            topics.append(value)
    for fn in template.functions().values():
        for event in fn.events_of(*KAFKA_EVENT_TYPES):
            topics.extend(str(t) for t in event.properties.get("Topics", []))
    return list(dict.fromkeys(topics))


def _int_env(environ: Mapping[str, str], name: str) -> int | None:
    raw = (environ.get(name) or "").strip()
    return int(raw) if raw else None


DEFAULT_STREAM_POLL_INTERVAL = 0.05
DEFAULT_KAFKA_WAIT = 60.0


class Stack:
    """Broker, DynamoDB, functions, event sources and API of ``template.yaml``, on this machine."""

    def __init__(
        self,
        *,
        template_path: Path | str = DEFAULT_TEMPLATE,
        parameters: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        state_dir: Path | str | None = None,
        bootstrap_servers: str | None = None,
        kafka_port: int | None = None,
        dynamodb_endpoint: str | None = None,
        dynamodb: str | None = None,
        dynamodb_in_memory: bool = False,
        region: str = "us-east-1",
        functions: Iterable[str] | None = None,
        api: bool = True,
        event_sources: bool = True,
        partitions: int | None = None,
        table_prefix: str = "",
        log: Callable[[str], None] | None = None,
        environ: Mapping[str, str] | None = None,
        api_token: str | None = None,
        stream_poll_interval: float | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        #: seconds between GetRecords calls of the DynamoDB stream pollers (STREAM_POLL_INTERVAL);
        #: Lambda polls a shard about four times a second, locally a shorter wait costs little
        self.stream_poll_interval = (
            stream_poll_interval
            if stream_poll_interval is not None
            else float(env.get("STREAM_POLL_INTERVAL") or DEFAULT_STREAM_POLL_INTERVAL)
        )
        #: the bearer token of the protected routes (LOCAL_API_TOKEN; "" turns the check off)
        self.api_token = (
            api_token if api_token is not None else env.get("LOCAL_API_TOKEN", DEFAULT_TOKEN)
        )
        self.template_path = Path(template_path).resolve()
        self.extra_parameters = dict(parameters or {})
        self.host = host
        self.port = port if port is not None else (_int_env(env, "PORT") or DEFAULT_API_PORT)
        self.state_dir = resolve_state_dir(state_dir, env, self.template_path)
        self._external_bootstrap = (
            bootstrap_servers or (env.get("KAFKA_BOOTSTRAP_SERVERS") or "").strip() or None
        )
        self._bootstrap: str | None = None
        #: seconds to wait for an external broker that is still booting (KAFKA_WAIT_SECONDS)
        self.kafka_wait = float(env.get("KAFKA_WAIT_SECONDS") or DEFAULT_KAFKA_WAIT)
        self.kafka_port = (
            kafka_port if kafka_port is not None else (_int_env(env, "KAFKA_PORT") or 0)
        )
        #: the embedded engine: "moto" (default) or "local" (DynamoDB Local, eventflow_local/services/dynamodb_local.py)
        self.dynamodb_engine = dynamodb or "moto"
        if self.dynamodb_engine not in ENGINES:
            raise ValueError(f"dynamodb: {dynamodb!r} is not one of {', '.join(ENGINES)}")
        #: DynamoDB Local without -dbPath: nothing kept when it stops (moto keeps nothing anyway)
        self.dynamodb_in_memory = dynamodb_in_memory
        self._dynamodb_url = dynamodb_endpoint or (
            endpoint_from_env(env) if dynamodb is None else None
        )
        self.region = region
        self.only = set(functions) if functions is not None else None
        self.with_api = api
        self.with_event_sources = event_sources
        self.partitions = partitions or _int_env(env, "KAFKA_PARTITIONS") or DEFAULT_PARTITIONS
        self.table_prefix = table_prefix
        self.log = log or Console()

        self.broker: EmbeddedBroker | None = None
        self.dynamo: DynamoEndpoint | None = None
        self.template: SamTemplate | None = None
        self.tables: dict[str, dict[str, Any]] = {}
        self.topics: list[str] = []
        self.runtimes: dict[str, FunctionRuntime] = {}
        self.sources: list[Any] = []
        self.skipped: list[str] = []
        #: configurations AWS would refuse at deploy ("<Function>.<Event>: <Property>: <reason>");
        #: they do not start, the rest does
        self.refused: list[str] = []
        #: the template's Secrets Manager secrets created locally: logical id -> ARN
        self.secrets: dict[str, str] = {}
        self.auth: AuthPlan | None = None
        self.gateway: ApiGateway | None = None
        #: every invocation, for the console (local/console/) served by the API server
        self.activity = Activity()
        self.console: ConsoleApp | None = None
        #: tells this stack's API server from any other's (stack.json, ``Server`` header)
        self.instance = uuid.uuid4().hex
        self.lambda_api: LambdaApi | None = None
        self.destinations: FailureDestinations | None = None
        self._started = False
        #: the embedded broker's topics are saved at stop (set once restored at start)
        self._save_topics_on_stop = False
        self._kafka_groups: list[str] = []

    # ------------------------------------------------------------------ accessors
    @property
    def bootstrap_servers(self) -> str:
        if self._bootstrap is None:
            raise RuntimeError("the stack is not started")
        return self._bootstrap

    @property
    def dynamodb_endpoint(self) -> str:
        if self.dynamo is None:
            raise RuntimeError("the stack is not started")
        return self.dynamo.url

    @property
    def api_url(self) -> str:
        if self.gateway is None:
            raise RuntimeError("the API server is not running")
        return self.gateway.url

    @property
    def kafka_kind(self) -> str:
        return "embedded" if self.broker is not None else "external"

    def table_name(self, logical_id: str) -> str:
        return str(self.tables[logical_id]["Ref"])

    def dynamodb_client(self) -> Any:
        assert self.dynamo is not None
        return self.dynamo.dynamodb()

    def invoke(
        self, logical_id: str, event: dict[str, Any], trigger: str = "direct"
    ) -> InvocationResult:
        return self.runtimes[logical_id].invoke(event, trigger=trigger)

    # ------------------------------------------------------------------ start / stop
    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Stack:
        if self._started:
            return self
        # a template AWS would reject stops here, before anything is started
        self._read_template("127.0.0.1:9092")
        self._started = True
        self.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._start_kafka()
            self._start_dynamodb()
            self.template = self._read_template(self.bootstrap_servers)
            self.tables = ensure_tables(
                self.template,
                self.dynamodb_client(),
                table_prefix=self.table_prefix,
                log=self.log,
            )
            self._create_secrets()
            self._create_topics()
            self._restore_topics()
            self._template_findings()
            self.lambda_api = LambdaApi(host="127.0.0.1", port=0, log=self.log)
            self._start_functions()
            self.lambda_api.register(self.runtimes)
            self.lambda_api.start()
            if self.with_event_sources:
                self._start_event_sources()
            if self.with_api:
                self._start_api()
        except BaseException:
            self.stop()
            raise
        self._print_findings()
        return self

    def _start_kafka(self) -> None:
        self._bootstrap = self._external_bootstrap
        if self._bootstrap is None:
            self.broker = EmbeddedBroker(
                port=self.kafka_port or None, log_path=self.state_dir / "kafka-broker.log"
            )
            self.broker.start()
            self._bootstrap = self.broker.bootstrap_servers
            wait_for_broker(self.bootstrap_servers)
            return
        # a broker of the user's (docker compose, a cluster) may still be booting
        wait_for_broker(
            self.bootstrap_servers,
            self.kafka_wait,
            log=self.log,
            setting="KAFKA_BOOTSTRAP_SERVERS",
        )

    def _start_dynamodb(self) -> None:
        if self._dynamodb_url:
            self.dynamo = DynamoEndpoint.connect(self._dynamodb_url, self.region)
        elif self.dynamodb_engine == "local":
            db_path = None if self.dynamodb_in_memory else self.state_dir / "dynamodb"
            self.dynamo = DynamoEndpoint.dynamodb_local(
                db_path, region=self.region, log_dir=self.state_dir, log=self.log
            )
            self.log(
                f"DynamoDB Local {self.dynamo.url}: "
                + (f"tables kept in {db_path}" if db_path else "in memory, nothing kept")
            )
        else:
            self.dynamo = DynamoEndpoint.embedded(
                region=self.region, log_path=self.state_dir / "moto.log"
            )

    def _read_template(self, bootstrap_servers: str) -> SamTemplate:
        """The template with the parameters that point it at the local resources, then the user's."""
        declared = set(load_document(self.template_path).get("Parameters") or {})
        local = {
            "KafkaBootstrapServers": bootstrap_servers,
            "KafkaAuth": "NONE",
            "MskClusterArn": LOCAL_MSK_ARN,
        }
        parameters = {k: v for k, v in local.items() if k in declared} | self.extra_parameters
        return SamTemplate(self.template_path, parameters, region=self.region)

    def _create_secrets(self) -> None:
        """The template's secrets, before the functions start (``!Ref Secret`` = its ARN)."""
        assert self.template is not None and self.dynamo is not None
        self.secrets, skipped = ensure_secrets(self.template, self.dynamo)
        self.skipped.extend(skipped)

    def secret_value(self, logical_id: str) -> str:
        """The value of one of the template's secrets (e.g. a Lambda authorizer's token)."""
        assert self.dynamo is not None
        client = self.dynamo.client("secretsmanager")
        return str(client.get_secret_value(SecretId=self.secrets[logical_id])["SecretString"])

    def _template_findings(self) -> None:
        """What the template declares that is refused or not emulated, for the start-up report."""
        assert self.template is not None
        self.template.functions()
        self.template.layer_dirs()
        self.refused[:0] = self.template.refused
        self.skipped[:0] = self.template.findings()  # the event sources add theirs after

    def _print_findings(self) -> None:
        for line in self.refused:
            self.log(f"refused: {line}")
        for line in self.skipped:
            self.log(f"not emulated: {line}")

    def _create_topics(self) -> None:
        assert self.template is not None
        self.topics = template_topics(self.template)
        ensure_topics(self.bootstrap_servers, {topic: self.partitions for topic in self.topics})

    @property
    def keeps_tables(self) -> bool:
        """True when DynamoDB keeps this stack's tables after it stops (DynamoDB Local on disk)."""
        return (
            self.dynamo is not None
            and self.dynamo.kind == "dynamodb-local"
            and not self.dynamodb_in_memory
        )

    def _restore_topics(self) -> None:
        """The embedded broker forgets its topics; with tables that survive, the records and
        group offsets saved at the last stop come back first (eventflow_local/services/kafka_snapshot.py)."""
        if self.broker is not None and self.keeps_tables:
            from eventflow_local.services.kafka_snapshot import restore_for

            restore_for(self)
            self._save_topics_on_stop = True

    def _save_topics(self) -> None:
        if self._save_topics_on_stop and self.broker is not None:
            from eventflow_local.services.kafka_snapshot import save_for

            save_for(self, self._kafka_groups)
        self._save_topics_on_stop = False

    def function_environment(self, logical_id: str) -> dict[str, str]:
        assert self.template is not None and self.dynamo is not None
        spec = self.template.functions()[logical_id]
        extra = {
            **self.dynamo.function_env(),
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "KAFKA_AUTH": "NONE",
        }
        if self.lambda_api is not None:
            extra["AWS_ENDPOINT_URL_LAMBDA"] = self.lambda_api.url
        return lambda_environment(spec, region=self.region, extra=extra)

    def _start_functions(self) -> None:
        assert self.template is not None
        specs = self.template.functions()
        unknown = (self.only or set()) - set(specs)
        if unknown:
            raise KeyError(
                f"no function {', '.join(sorted(unknown))} in {self.template_path.name} "
                f"(functions: {', '.join(sorted(specs))})"
            )
        selected = {
            lid: spec for lid, spec in specs.items() if self.only is None or lid in self.only
        }
        # each function's requirements and layers, built as sam build does (cached); a function
        # whose runtime is not Python is named in `skipped` and not started
        builds = TemplateBuild(self.template, cache_dir_for(self.template_path), log=self.log)
        plans = builds.prepare(selected)
        self.skipped.extend(builds.skipped)
        for logical_id, spec in selected.items():
            plan = plans.get(logical_id)
            if plan is None:
                continue
            runtime = FunctionRuntime(
                spec,
                self.function_environment(logical_id),
                plan.paths,
                python=plan.interpreter.path,
                init_error=plan.error,
                log=self.log,
            )
            runtime.recorder = self.activity.record
            runtime.start()  # cold starts run in parallel
            self.runtimes[logical_id] = runtime
        for logical_id, runtime in self.runtimes.items():
            error = runtime.wait_ready()
            if error:
                self.log(
                    f"{logical_id}: init failed: {error.get('errorType')}: {error.get('errorMessage')}"
                )

    def _start_event_sources(self) -> None:
        """Kafka and DynamoDB stream mappings and schedules of every function (eventflow_local/eventsources/factory.py)."""
        start_event_sources(self)

    def _start_api(self) -> None:
        """The REST API with the authorization the template declares (eventflow_local/apigw/auth_plan.py)."""
        assert self.template is not None
        routes = [r for r in self.template.routes() if r.function in self.runtimes]
        self.auth = plan_auth(self.template, routes, running=set(self.runtimes))
        http_routes, http_skipped = http_routes_of(self.template, set(self.runtimes))
        self.auth.skipped.extend(http_skipped)
        self.skipped.extend(self.auth.skipped)
        self.refused.extend(self.auth.refused)
        stage = self._api_stage()
        self.console = ConsoleApp(self, self.activity)
        self.gateway = ApiGateway(
            [route for route, _ in self.auth.routes],
            self.runtimes,
            host=self.host,
            port=self.port,
            stage=stage,
            log=self.log,
            api_token=self.api_token,
            openapi=self._openapi_document,
            auth=self.auth,
            region=self.region,
            http_routes=http_routes,
            instance=self.instance,
            console=self.console,
        )
        self.gateway.start()

    def _openapi_document(self) -> dict[str, Any]:
        assert self.template is not None
        return build_openapi(  # each running function describes itself in its own worker
            self.template,
            self.runtimes,
            server_url=self.api_url,
            auth=self.auth,
            local_token=bool(self.api_token),
            log=self.log,
        )

    def _api_stage(self) -> str:
        assert self.template is not None
        for props in self.template.resources_of("AWS::Serverless::Api").values():
            stage = self.template.resolve(props.get("Properties", {})).get("StageName")
            if stage:
                return str(stage)
        return "Prod"

    def stop(self) -> None:
        """Event sources first (no new invocations), then the API, workers, broker and moto."""
        self._kafka_groups = [str(s.group_id) for s in self.sources if hasattr(s, "group_id")]
        for source in reversed(self.sources):
            try:
                source.stop()
            except Exception as exc:
                self.log(f"stopping {type(source).__name__}: {exc!r}")
        self.sources = []
        if self.console is not None:
            self.console.stop()
            self.console = None
        if self.gateway is not None:
            self.gateway.stop()
            self.gateway = None
        if self.lambda_api is not None:
            self.lambda_api.stop()
            self.lambda_api = None
        for runtime in self.runtimes.values():
            runtime.stop()
        self.runtimes = {}
        if self.destinations is not None:
            self.destinations.close()
        self.destinations = None
        self._save_topics()
        if self.broker is not None:
            self.broker.stop()
            self.broker = None
        if self.dynamo is not None:
            self.dynamo.stop()
        self._started = False

    # ------------------------------------------------------------------ reporting
    def triggers(self) -> dict[str, list[str]]:
        """Each running function's triggers, one line each (eventflow_local/report.py)."""
        return triggers(self)

    def describe(self) -> dict[str, Any]:
        return {
            "apiUrl": self.gateway.url if self.gateway else None,
            "consoleUrl": f"{self.gateway.url}/_console/" if self.gateway else None,
            "bootstrapServers": self._bootstrap,
            "kafka": self.kafka_kind,
            "dynamodbEndpoint": self.dynamo.url if self.dynamo else None,
            "dynamodb": self.dynamo.kind if self.dynamo else None,
            "lambdaEndpoint": self.lambda_api.url if self.lambda_api else None,
            "region": self.region,
            "tables": {lid: attrs["Ref"] for lid, attrs in self.tables.items()},
            "topics": self.topics,
            "stateDir": str(self.state_dir),
            "functions": self.triggers(),
            "pid": os.getpid(),
            #: the API server names it in its ``Server`` header (eventflow_local/state.py checks it)
            "instance": self.instance,
            "startedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }

    def summary(self) -> str:
        """The start-up banner (eventflow_local/report.py)."""
        return summary(self)

    def write_state_file(self) -> Path:
        path = self.state_dir / STATE_FILE
        path.write_text(json.dumps(self.describe(), indent=2))
        return path

    def remove_state_file(self) -> None:
        (self.state_dir / STATE_FILE).unlink(missing_ok=True)
