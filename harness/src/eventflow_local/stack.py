"""The whole template running on this machine: ``Stack`` wires the emulated services together.

    with Stack(port=0) as stack:
        stack.api_url, stack.bootstrap_servers, stack.dynamodb_endpoint, stack.topics

Start-up order: Kafka (``bootstrap_servers`` / ``KAFKA_BOOTSTRAP_SERVERS``, else the embedded
broker), DynamoDB (``dynamodb_endpoint`` / ``AWS_ENDPOINT_URL_DYNAMODB`` / ``AWS_ENDPOINT_URL``,
else the embedded engine: ``dynamodb="moto"``, the default, moto's server in its own process, or
``dynamodb="local"``, DynamoDB Local, tables under ``<state dir>/dynamodb`` or in memory with
``dynamodb_in_memory``), the template's tables, secrets and queues created, the template read again
with their physical ids (so every ``!Ref`` resolves to what exists), topics, a worker process per
function, event sources (Kafka, DynamoDB stream, SQS, schedules), API server; ``stop()`` reverses.

Each part gets narrow inputs and returns what it found (refused and not-emulated lines); only this
module keeps them and changes the stack's fields.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Unpack

from eventflow_local import reapply
from eventflow_local.apigw.gateway import ApiGateway
from eventflow_local.apigw.plan import ApiPlan, plan_api, start_api
from eventflow_local.aws import DEFAULT_REGION
from eventflow_local.console import Activity, ConsoleApp
from eventflow_local.eventsources import factory
from eventflow_local.eventsources.destinations import FailureDestinations
from eventflow_local.output import Console
from eventflow_local.planning import read_template
from eventflow_local.report import StackReport, stack_report, stack_triggers
from eventflow_local.runtime.build import cache_dir_for
from eventflow_local.runtime.environment import lambda_environment
from eventflow_local.runtime.functions import FunctionRuntime
from eventflow_local.runtime.invocation import InvocationResult
from eventflow_local.runtime.lambda_api import LambdaApi
from eventflow_local.runtime.starting import select_functions, start_functions
from eventflow_local.services import kafka_snapshot, startup
from eventflow_local.services.broker import EmbeddedBroker
from eventflow_local.services.dynamodb import DynamoEndpoint
from eventflow_local.settings import StackOptions, StackSettings
from eventflow_local.state import STATE_FILE, write_state_file
from eventflow_local.template.kafka import template_topics
from eventflow_local.template.sam import DEFAULT_TEMPLATE, SamTemplate


class Stack:
    """Broker, DynamoDB, functions, event sources and API of ``template.yaml``, on this machine."""

    make_runtime: Callable[..., FunctionRuntime] = FunctionRuntime  # cli/env_vars.py: -d PORT
    #: how reload applies a saved template's routes, sources and resources (reapply.py)
    structure = reapply

    def __init__(
        self,
        *,
        template_path: Path | str = DEFAULT_TEMPLATE,
        parameters: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        region: str = DEFAULT_REGION,
        functions: Iterable[str] | None = None,
        api: bool = True,
        event_sources: bool = True,
        kafka: bool = True,
        lambda_address: tuple[str, int] = ("127.0.0.1", 0),
        table_prefix: str = "",
        log: Callable[[str], None] | None = None,
        environ: Mapping[str, str] | None = None,
        **options: Unpack[StackOptions],
    ) -> None:
        """``options``: the port, state dir, broker, DynamoDB, partitions, token and stream
        poll interval, each else from the environment (``settings.StackSettings``); ``kafka=False``:
        no broker; ``lambda_address``: the Lambda Invoke API's (host, port; 0: a free port)."""
        self.template_path = Path(template_path).resolve()
        env = os.environ if environ is None else environ
        self.settings = settings = StackSettings.resolve(env, self.template_path, **options)
        self.extra_parameters = dict(parameters or {})
        self.host = host
        self.port = settings.port
        self.state_dir = settings.state_dir
        self.api_token = settings.api_token
        self.partitions = settings.partitions
        self.region = region
        self.only = set(functions) if functions is not None else None
        self.with_api, self.with_event_sources, self.with_kafka = api, event_sources, kafka
        self.lambda_address = lambda_address
        self.table_prefix = table_prefix
        self.log = log or Console()

        self._bootstrap: str | None = None
        self.broker: EmbeddedBroker | None = None
        self.dynamo: DynamoEndpoint | None = None
        self.template: SamTemplate | None = None
        self.tables: dict[str, dict[str, Any]] = {}
        self.topics: list[str] = []
        self.runtimes: dict[str, FunctionRuntime] = {}
        self.sources: list[Any] = []
        #: what is accepted but not emulated, one line each (printed as "not emulated: ...")
        self.skipped: list[str] = []
        #: configurations AWS would refuse at deploy; they do not start, the rest does
        self.refused: list[str] = []
        #: secrets (logical id -> ARN) and queues (-> {"Ref": URL, "Arn", ...}) of the template
        self.secrets: dict[str, str] = {}
        self.queues: dict[str, dict[str, str]] = {}
        self.auth: ApiPlan | None = None
        self.gateway: ApiGateway | None = None
        #: every invocation, for the console served by the API server
        self.activity = Activity()
        self.console: ConsoleApp | None = None
        #: tells this stack's API server from any other's (stack.json, ``Server`` header)
        self.instance = uuid.uuid4().hex
        self.lambda_api: LambdaApi | None = None
        self.destinations: FailureDestinations | None = None
        self._started = False
        #: the embedded broker's topics are saved at stop (set once restored at start)
        self._save_topics_on_stop = False

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

    def table_name(self, logical_id: str) -> str:
        return str(self.tables[logical_id]["Ref"])

    def dynamodb_client(self) -> Any:
        assert self.dynamo is not None
        return self.dynamo.dynamodb()

    def invoke(
        self, logical_id: str, event: dict[str, Any], trigger: str = "direct"
    ) -> InvocationResult:
        return self.runtimes[logical_id].invoke(event, trigger=trigger)

    def secret_value(self, logical_id: str) -> str:
        """The value of one of the template's secrets (e.g. a Lambda authorizer's token)."""
        assert self.dynamo is not None
        client = self.dynamo.client("secretsmanager")
        return str(client.get_secret_value(SecretId=self.secrets[logical_id])["SecretString"])

    @property
    def keeps_tables(self) -> bool:
        """True when DynamoDB keeps this stack's tables after it stops (DynamoDB Local on disk)."""
        return (
            self.dynamo is not None
            and self.dynamo.kind == "dynamodb-local"
            and not self.settings.dynamodb_in_memory
        )

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
            settings = self.settings
            if self.with_kafka:
                self.broker, self._bootstrap = startup.start_kafka(
                    settings.external_bootstrap,
                    port=settings.kafka_port,
                    wait=settings.kafka_wait,
                    state_dir=self.state_dir,
                    log=self.log,
                )
            self._start_dynamodb()
            assert self.dynamo is not None
            self.skipped.extend(self.dynamo.notices)
            created = startup.create_resources(
                self._read_template(self._bootstrap or ""),
                self.dynamo,
                table_prefix=self.table_prefix,
                log=self.log,
            )
            self.template, self.secrets = created.template, created.secrets
            self.tables, self.queues = created.tables.tables, created.queues
            self.refused.extend(created.refused)
            self.skipped.extend(created.skipped)
            if self._bootstrap:
                self._create_topics()
            self._template_findings()
            self.lambda_api = LambdaApi(*self.lambda_address, log=self.log, services=self.dynamo)
            self._start_functions()
            self.skipped.extend(self.lambda_api.register(self.runtimes))
            self.lambda_api.start()
            if self.with_event_sources:
                self._start_event_sources()
            if self.with_api:
                self._start_api()
        except BaseException:
            self.stop()
            raise
        for line in self.refused:
            self.log(f"refused: {line}")
        for line in self.skipped:
            self.log(f"not emulated: {line}")
        return self

    def _start_dynamodb(self) -> None:
        """The stack's DynamoDB (a subclass, the bench's request meter, may wrap its url first)."""
        settings = self.settings
        self.dynamo = startup.start_dynamodb(
            settings.dynamodb_url,
            engine=settings.dynamodb_engine,
            in_memory=settings.dynamodb_in_memory,
            region=self.region,
            state_dir=self.state_dir,
            log=self.log,
        )

    def _read_template(self, bootstrap: str) -> SamTemplate:
        """The template with the parameters that point it at the local resources, then the user's."""
        return read_template(self.template_path, self.extra_parameters, self.region, bootstrap)

    def _template_findings(self) -> None:
        """What the template declares that is refused or not emulated, for the start-up report."""
        assert self.template is not None
        self.template.functions()
        self.template.layer_dirs()
        self.refused[:0] = self.template.refused
        self.skipped[:0] = self.template.findings()  # the event sources add theirs after

    def _create_topics(self) -> None:
        assert self.template is not None
        self.topics = template_topics(self.template)
        restore = self.broker is not None and self.keeps_tables
        finding = startup.create_topics(
            self.bootstrap_servers,
            self.topics,
            self.partitions,
            restore=restore,
            state_dir=self.state_dir,
            tables_reused=any(a.get("State") == "reused" for a in self.tables.values()),
            log=self.log,
        )
        self.skipped.extend([finding] if finding else [])
        self._save_topics_on_stop = restore

    def function_environment(self, logical_id: str) -> dict[str, str]:
        assert self.template is not None and self.dynamo is not None
        spec = self.template.functions()[logical_id]
        kafka = {"KAFKA_BOOTSTRAP_SERVERS": self._bootstrap or "", "KAFKA_AUTH": "NONE"}
        extra = {**self.dynamo.function_env(), **(kafka if self._bootstrap else {})}
        if self.lambda_api is not None:
            extra["AWS_ENDPOINT_URL_LAMBDA"] = self.lambda_api.url
        return lambda_environment(spec, region=self.region, extra=extra)

    def _start_functions(self) -> None:
        assert self.template is not None
        self.runtimes, skipped = start_functions(
            self.template,
            select_functions(self.template.functions(), self.only, self.template_path.name),
            environment=self.function_environment,
            cache_dir=cache_dir_for(self.template_path),
            recorder=self.activity.record,
            log=self.log,
            make_runtime=self.make_runtime,
        )
        self.skipped.extend(skipped)

    def _start_event_sources(self) -> None:
        """Kafka, DynamoDB stream and SQS mappings and schedules of every function."""
        assert self.dynamo is not None and self.template is not None
        self.destinations = FailureDestinations(self.state_dir, self.dynamo.service_clients())
        started = factory.start_event_sources(
            self.runtimes, reapply.source_context(self, self.template)
        )
        self.sources = started.sources
        self.refused.extend(started.refused)
        self.skipped.extend(started.skipped)

    def _start_api(self) -> None:
        """The REST and HTTP APIs with the authorization the template declares (apigw/)."""
        assert self.template is not None
        plan = plan_api(self.template, set(self.runtimes))
        self.auth = plan
        self.skipped.extend(plan.skipped)
        self.refused.extend(plan.refused)
        self.console = ConsoleApp(self, self.activity)
        self.gateway = start_api(
            self.template,
            plan,
            self.runtimes,
            host=self.host,
            port=self.port,
            api_token=self.api_token,
            region=self.region,
            instance=self.instance,
            console=self.console,
            log=self.log,
        )

    def stop(self) -> None:
        """Event sources first (no new invocations), then the API, workers, broker and DynamoDB."""
        groups = [str(s.group_id) for s in self.sources if hasattr(s, "group_id")]
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
        if self._save_topics_on_stop and self.broker is not None:
            kafka_snapshot.save_for(
                self.bootstrap_servers, self.topics, groups, self.state_dir, self.log
            )
        self._save_topics_on_stop = False
        if self.broker is not None:
            self.broker.stop()
            self.broker = None
        if self.dynamo is not None:
            self.dynamo.stop()
        self._started = False

    # ------------------------------------------------------------------ reporting
    def triggers(self) -> dict[str, list[str]]:
        """Each running function's triggers that started, one line each (report.py)."""
        return stack_triggers(self)

    def report(self) -> StackReport:
        """The started stack as its user is told of it (report.py)."""
        return stack_report(self)

    def describe(self) -> dict[str, Any]:
        return self.report().describe()

    def summary(self) -> str:
        """The start-up banner."""
        return self.report().banner()

    def write_state_file(self) -> Path:
        return write_state_file(self.state_dir, self.describe())

    def remove_state_file(self) -> None:
        (self.state_dir / STATE_FILE).unlink(missing_ok=True)
