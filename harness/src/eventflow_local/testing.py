"""A SAM template's stack for a test suite: what the pytest plugin (``pytest_plugin.py``) hands a
test, usable without pytest too.

``StackPool.get(template, parameters)`` starts a template's stack on free ports (embedded broker,
moto's server or DynamoDB Local, the Invoke API, the API server) with its own state dir and
without the caller's environment (no ``AWS_ENDPOINT_URL`` or ``KAFKA_BOOTSTRAP_SERVERS`` of the
shell leaks in), once per template and parameters; ``fresh=True`` starts one the caller stops.

Between tests, ``EventflowStack.reset_tables()`` empties every table of the template by deleting
its items (scan, then ``BatchWriteItem``) rather than deleting and creating the table: a new table
would have a new stream ARN, and the DynamoDB stream pollers of the stack read the old one; the
deletes reach those pollers as ``REMOVE`` records, as they would on AWS. ``TopicReader`` notes
the end of every topic when made, and reads only what was produced after.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eventflow_local.runtime.invocation import InvocationResult
    from eventflow_local.stack import Stack


#: the module pytest imports for the plugin (``pytest_plugin.py``), its entry point's name
PLUGIN = "eventflow_local.pytest_plugin"
ENTRY_POINT = "eventflow_local"


def autoloaded() -> bool:
    """True when pytest loads the plugin by its entry point in this environment (an installed
    ``eventflow-local``), so that a conftest naming it in ``pytest_plugins`` too would register
    it twice: ``pytest_plugins = [] if autoloaded() else [PLUGIN]``. Here rather than in the
    plugin's module, which a conftest must not import before pytest does (its asserts would not
    be rewritten)."""
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return False
    from importlib.metadata import entry_points

    return any(ep.value == PLUGIN for ep in entry_points(group="pytest11"))


class EventflowStack:
    """A started stack as a test uses it: its endpoints, boto3 clients pointed at it, invoke."""

    def __init__(self, stack: Stack, lines: list[str]) -> None:
        self.stack = stack
        #: what the stack logged (start-up report, one line per invocation)
        self.lines = lines
        self._stopped = False

    # ------------------------------------------------------------------ endpoints
    @property
    def api_url(self) -> str:
        """The REST/HTTP API's base URL (the template's routes, the console at /_console/)."""
        return self.stack.api_url

    @property
    def endpoint_url(self) -> str:
        """The embedded emulator: SQS, SNS, S3, Secrets Manager ... (and DynamoDB with moto)."""
        dynamo = self.stack.dynamo
        assert dynamo is not None, "the stack is not started"
        return dynamo.services_url or dynamo.url

    @property
    def dynamodb_endpoint(self) -> str:
        return self.stack.dynamodb_endpoint

    @property
    def bootstrap_servers(self) -> str:
        return self.stack.bootstrap_servers

    @property
    def lambda_endpoint(self) -> str:
        """The Lambda Invoke API (``boto3.client("lambda", endpoint_url=...)``)."""
        assert self.stack.lambda_api is not None, "the stack is not started"
        return self.stack.lambda_api.url

    @property
    def region(self) -> str:
        return self.stack.region

    @property
    def topics(self) -> list[str]:
        return list(self.stack.topics)

    @property
    def tables(self) -> dict[str, str]:
        """Logical id -> table name, for every table of the template."""
        return {lid: str(attrs["Ref"]) for lid, attrs in self.stack.tables.items()}

    # ------------------------------------------------------------------ clients
    def client(self, service: str) -> Any:
        """A boto3 client of ``service`` pointed at the stack: ``lambda`` at the Invoke API,
        ``dynamodb``/``dynamodbstreams`` at the tables, the others at the emulator (dummy
        credentials, the stack's region)."""
        if service != "lambda":
            assert self.stack.dynamo is not None, "the stack is not started"
            return self.stack.dynamo.client(service)
        import boto3
        from botocore.config import Config

        from eventflow_local.services.dynamodb import DUMMY_CREDENTIALS

        session: Any = boto3.session.Session()
        return session.client(
            "lambda",
            endpoint_url=self.lambda_endpoint,
            region_name=self.region,
            config=Config(retries={"max_attempts": 0}, read_timeout=900),
            **DUMMY_CREDENTIALS,
        )

    @property
    def lambda_client(self) -> Any:
        return self.client("lambda")

    def invoke(self, function: str, event: Any = None) -> InvocationResult:
        """Run ``function`` (logical id, ``FunctionName`` or ARN) once with ``event``: the
        result's ``ok``, ``payload`` (the handler's return) and ``error`` (Lambda's error
        payload when it raised)."""
        api = self.stack.lambda_api
        runtime = api.lookup(function) if api is not None else None
        if runtime is None:
            raise KeyError(f"no function {function} (functions: {', '.join(self.stack.runtimes)})")
        return runtime.invoke({} if event is None else event, trigger="test")

    # ------------------------------------------------------------------ isolation
    def reset_tables(self) -> None:
        """Delete every item of every table of the template (see the module's docstring)."""
        client = self.client("dynamodb")
        for name in self.tables.values():
            _empty_table(client, name)

    def items(self, table: str) -> list[dict[str, Any]]:
        """Every item of a table (logical id or name), as plain Python values."""
        from boto3.dynamodb.types import TypeDeserializer

        name = self.tables.get(table, table)
        plain = TypeDeserializer().deserialize
        return [
            {key: plain(value) for key, value in item.items()}
            for item in _scan(self.client("dynamodb"), name)
        ]

    def topic_reader(self) -> TopicReader:
        """A reader of what is produced to any topic from now on."""
        return TopicReader(self.bootstrap_servers)

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self.stack.stop()


def _scan(client: Any, name: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    start: dict[str, Any] | None = None
    while True:
        page = client.scan(
            TableName=name, **params, **({"ExclusiveStartKey": start} if start else {})
        )
        items.extend(page.get("Items", []))
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def _empty_table(client: Any, name: str) -> None:
    keys = [k["AttributeName"] for k in client.describe_table(TableName=name)["Table"]["KeySchema"]]
    names = {f"#k{n}": key for n, key in enumerate(keys)}
    found = _scan(
        client, name, ProjectionExpression=", ".join(names), ExpressionAttributeNames=names
    )
    for start in range(0, len(found), 25):  # BatchWriteItem's limit
        requests: dict[str, Any] = {
            name: [{"DeleteRequest": {"Key": key}} for key in found[start : start + 25]]
        }
        while requests:
            requests = client.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}


class TopicReader:
    """Records produced since this reader was made: ``reader(topic)`` reads them all (up to the
    topic's end now), ``reader(topic, count=3)`` waits up to ``timeout`` seconds for three.
    Ends are the brokers' high watermarks (``latest_offsets``: the embedded broker answers
    ListOffsets with the last batch's base offset + 1)."""

    def __init__(self, bootstrap_servers: str) -> None:
        from kafka import KafkaConsumer, TopicPartition

        from eventflow_local.eventsources.kafka.offsets import latest_offsets

        self.bootstrap_servers = bootstrap_servers
        consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
        try:
            parts = [
                TopicPartition(topic, p)
                for topic in consumer.topics()
                for p in consumer.partitions_for_topic(topic) or ()
            ]
            ends = latest_offsets(consumer, parts, bootstrap_servers, {}) if parts else {}
        finally:
            consumer.close(autocommit=False)
        #: where each partition ended when the reader was made (a topic made later: 0)
        self.start: dict[tuple[str, int], int] = {
            (tp.topic, tp.partition): o for tp, o in ends.items()
        }

    def __call__(self, topic: str, count: int | None = None, timeout: float = 5.0) -> list[Any]:
        """The ``ConsumerRecord``s in partition then offset order."""
        from kafka import KafkaConsumer, TopicPartition

        from eventflow_local.eventsources.kafka.offsets import latest_offsets

        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap_servers, enable_auto_commit=False)
        try:
            deadline = time.monotonic() + timeout
            partitions = consumer.partitions_for_topic(topic)
            while not partitions and time.monotonic() < deadline:  # a topic not made yet
                time.sleep(0.1)
                partitions = consumer.partitions_for_topic(topic)
            parts = [TopicPartition(topic, p) for p in sorted(partitions or ())]
            if not parts:
                return []
            consumer.assign(parts)
            for tp in parts:
                consumer.seek(tp, self.start.get((topic, tp.partition), 0))
            ends = latest_offsets(consumer, parts, self.bootstrap_servers, {})
            out: list[Any] = []
            while time.monotonic() < deadline:
                for records in consumer.poll(timeout_ms=100).values():
                    out.extend(records)
                if count is not None and len(out) >= count:
                    break
                if count is None and all(consumer.position(tp) >= ends[tp] for tp in parts):
                    break
            return sorted(out, key=lambda r: (r.partition, r.offset))
        finally:
            consumer.close(autocommit=False)

    def values(self, topic: str, count: int | None = None, timeout: float = 5.0) -> list[Any]:
        """The records' values, JSON-decoded."""
        return [json.loads(r.value) for r in self(topic, count, timeout)]


class StackPool:
    """A test session's stacks: one per template, parameters and options, started on first ask
    and stopped by ``close``."""

    def __init__(self, state_root: Path, **defaults: Any) -> None:
        self.state_root = state_root
        self.defaults = defaults
        self._shared: dict[str, EventflowStack] = {}
        self._fresh: list[EventflowStack] = []

    def get(
        self,
        template: Path | str,
        parameters: Mapping[str, str] | None = None,
        *,
        fresh: bool = False,
        **options: Any,
    ) -> EventflowStack:
        """The started stack of ``template``; ``fresh=True``: a new one, the caller's to stop.
        ``options`` are ``Stack``'s (``dynamodb="local"``, ``bootstrap_servers``, ``log`` ...)."""
        path = Path(template).resolve()
        params = dict(parameters or {})
        key = repr((str(path), sorted(params.items()), sorted(options.items(), key=str)))
        if not fresh and key in self._shared:
            return self._shared[key]
        handle = self._start(path, params, options)
        if fresh:
            self._fresh.append(handle)
        else:
            self._shared[key] = handle
        return handle

    def _start(
        self, path: Path, parameters: dict[str, str], options: dict[str, Any]
    ) -> EventflowStack:
        from eventflow_local.stack import Stack

        if not path.is_file():
            raise FileNotFoundError(f"no template {path}")
        lines: list[str] = []

        def log(line: str) -> None:
            lines.append(line)
            print(line, flush=True)

        settings = {**self.defaults, **options}
        settings.setdefault("log", log)
        settings.setdefault("port", 0)
        settings.setdefault("environ", {})
        count = len(self._shared) + len(self._fresh)
        settings.setdefault("state_dir", self.state_root / f"{path.parent.name}-{count}")
        stack = Stack(template_path=path, parameters=parameters, **settings)
        stack.start()
        return EventflowStack(stack, lines)

    def close(self) -> None:
        for handle in [*reversed(self._fresh), *reversed(self._shared.values())]:
            handle.stop()
        self._fresh, self._shared = [], {}
