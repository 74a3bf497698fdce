"""DynamoDB for the harness: an embedded engine (moto's server, the default, or AWS's DynamoDB
Local), or an external endpoint (DynamoDB Local, LocalStack), and the template's tables on it.

Credentials are always dummies: nothing here can reach real AWS. Tables that already exist are
reused as they are (a restarted harness keeps its data); missing streams and TTL are switched on.
A SAM ``AWS::Serverless::SimpleTable`` is the DynamoDB table SAM's transform turns it into. Each
table's real name, ARN and stream ARN are returned (``CreatedTables.physical_ids``); the stack
reads the template again with them, so that ``!Ref Table``, ``!GetAtt Table.Arn`` and
``!GetAtt Table.StreamArn`` resolve to it.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from eventflow_local.aws import DEFAULT_REGION
from eventflow_local.template.sam import SamTemplate

DUMMY_CREDENTIALS = {
    "aws_access_key_id": "test",
    "aws_secret_access_key": "test",
    "aws_session_token": "test",
}
# Lambda-like environment entries that keep every AWS SDK call local.
DUMMY_CREDENTIALS_ENV = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_SESSION_TOKEN": "test",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "AWS_EC2_METADATA_DISABLED": "true",
}
_CONFIG = Config(
    retries={"max_attempts": 3, "mode": "standard"},
    connect_timeout=2,
    read_timeout=10,
    account_id_endpoint_mode="disabled",
)


def endpoint_from_env(environ: Mapping[str, str]) -> str | None:
    """``AWS_ENDPOINT_URL_DYNAMODB``, else ``AWS_ENDPOINT_URL``, else None (embedded moto)."""
    for name in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"):
        value = (environ.get(name) or "").strip()
        if value:
            return value.rstrip("/")
    return None


def is_localstack(endpoint: str, timeout: float = 1.0) -> bool:
    """LocalStack answers ``GET /_localstack/health``; DynamoDB Local and moto do not."""
    try:
        with urllib.request.urlopen(f"{endpoint}/_localstack/health", timeout=timeout) as resp:
            body = json.loads(resp.read() or b"{}")
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return isinstance(body, dict) and "services" in body


ENGINES = ("moto", "local")


@dataclass
class DynamoEndpoint:
    """Where the tables live, and how to build clients for it.

    ``url`` serves DynamoDB and DynamoDB Streams; ``services_url`` the other AWS services the
    functions call (Secrets Manager ...): the same moto server when moto is the engine, a moto
    server beside DynamoDB Local when that is the engine, None for an external endpoint.
    """

    url: str
    kind: str  # "moto" (embedded), "dynamodb-local" (embedded), "localstack", or "external"
    region: str = DEFAULT_REGION
    services_url: str | None = None
    _servers: list[Any] = field(default_factory=list, repr=False)
    #: what the engine says of itself at start-up (an embedded moto whose patches do not all fit
    #: the installed version), for the start-up report
    notices: list[str] = field(default_factory=list)

    @classmethod
    def connect(cls, url: str, region: str = DEFAULT_REGION) -> DynamoEndpoint:
        kind = "localstack" if is_localstack(url) else "external"
        return cls(url.rstrip("/"), kind, region, url.rstrip("/") if kind == "localstack" else None)

    @classmethod
    def embedded(
        cls,
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = DEFAULT_REGION,
        log_path: Path | None = None,
    ) -> DynamoEndpoint:
        """Start a moto server (eventflow_local/services/moto_server.py: its own process, its own data) on ``port``
        (0: a free port)."""
        from eventflow_local.services.moto_server import MotoServerProcess

        server = MotoServerProcess(host, port, log_path)
        endpoint = cls(server.url, "moto", region, server.url, [server])
        if server.notice:  # a patch of services/moto_patches.py does not fit the installed moto
            endpoint.notices.append(server.notice)
        return endpoint

    @classmethod
    def dynamodb_local(
        cls,
        db_path: Path | None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = DEFAULT_REGION,
        log_dir: Path | None = None,
        log: Callable[[str], None] = print,
        environ: Mapping[str, str] | None = None,
    ) -> DynamoEndpoint:
        """DynamoDB Local (eventflow_local/services/dynamodb_local.py) with its tables in ``db_path`` (None: in
        memory), and a moto server for the other services the functions call."""
        from eventflow_local.services.dynamodb_local import DynamoDBLocalServer
        from eventflow_local.services.moto_server import MotoServerProcess

        ddb = DynamoDBLocalServer(
            db_path,
            host=host,
            port=port,
            log_path=log_dir / "dynamodb-local.log" if log_dir else None,
            log=log,
            environ=environ,
        )
        try:
            services = MotoServerProcess(host, 0, log_dir / "moto.log" if log_dir else None)
        except BaseException:
            ddb.stop()
            raise
        return cls(ddb.url, "dynamodb-local", region, services.url, [ddb, services])

    def client(self, service: str) -> Any:
        if self.kind == "localstack":
            from localstack_client.session import Session

            parsed = urlparse(self.url)
            session = Session(
                aws_access_key_id="test",
                aws_secret_access_key="test",
                aws_session_token="test",
                region_name=self.region,
                localstack_host=parsed.netloc,
            )
            return session.client(service, config=_CONFIG)
        url = self.url if service in ("dynamodb", "dynamodbstreams") else self.services_url
        boto_session: Any = boto3.session.Session()
        return boto_session.client(
            service,
            region_name=self.region,
            endpoint_url=url or self.url,
            config=_CONFIG,
            **DUMMY_CREDENTIALS,
        )

    def dynamodb(self) -> Any:
        return self.client("dynamodb")

    def service_clients(self) -> Callable[[str], Any] | None:
        """What makes a client of an emulated service, ``clients("sqs")`` (None: this endpoint
        serves only DynamoDB)."""
        return self.client if self.emulates_services else None

    def streams(self) -> Any:
        return self.client("dynamodbstreams")

    @property
    def emulates_services(self) -> bool:
        """True when the other services (Secrets Manager ...) are emulated beside the tables."""
        return self.services_url is not None

    def function_env(self) -> dict[str, str]:
        """What a function needs to reach these tables (and their streams), and the other
        services where they are emulated."""
        env = {
            "AWS_ENDPOINT_URL_DYNAMODB": self.url,
            "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": self.url,
            **DUMMY_CREDENTIALS_ENV,
        }
        if self.services_url:
            env["AWS_ENDPOINT_URL"] = self.services_url
        return env

    def stop(self) -> None:
        """Stop what was started here (an external endpoint is left alone); an in-memory
        engine forgets its data."""
        servers, self._servers = self._servers, []
        for server in reversed(servers):
            server.stop()


def _wait_active(client: Any, name: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        table = client.describe_table(TableName=name)["Table"]
        if table.get("TableStatus") == "ACTIVE" or time.monotonic() > deadline:
            return dict(table)
        time.sleep(0.2)


def _ensure_stream(
    client: Any, name: str, table: dict[str, Any], wanted: dict[str, Any] | None
) -> dict[str, Any]:
    if not wanted or table.get("StreamSpecification", {}).get("StreamEnabled"):
        return table
    client.update_table(TableName=name, StreamSpecification=wanted)
    return _wait_active(client, name)


def _ensure_ttl(client: Any, name: str, attribute: str | None, log: Callable[[str], None]) -> None:
    if not attribute:
        return
    try:
        current = client.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
        if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
            return
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"AttributeName": attribute, "Enabled": True}
        )
    except ClientError as exc:  # some emulators do not implement TTL: the table still works
        log(
            f"TTL on {name} not set ({exc.response.get('Error', {}).get('Code')}); items will not expire"
        )


class CreatedTables(NamedTuple):
    """``tables``: logical id -> ``{"Ref": name, "Arn", "StreamArn"?, "State": "created" |
    "reused"}``; ``refused``: ``"<LogicalId>: <Code>: <Message>"`` for each table DynamoDB
    refused (CloudFormation would not create it either)."""

    tables: dict[str, dict[str, Any]]
    refused: list[str]

    def physical_ids(self) -> dict[str, dict[str, Any]]:
        """What ``!Ref`` / ``!GetAtt`` of each table resolve to (``SamTemplate.physical_ids``)."""
        return {
            lid: {k: v for k, v in attrs.items() if k != "State"}
            for lid, attrs in self.tables.items()
        }


def ensure_tables(
    template: SamTemplate,
    client: Any,
    *,
    table_prefix: str = "",
    log: Callable[[str], None] = print,
) -> CreatedTables:
    """Create (or reuse) every table of the template and return their attributes.

    The table name is the template's ``TableName`` if it sets one, else ``<prefix><LogicalId>``.
    SimpleTables are the tables SAM's transform made of them; a table DynamoDB refuses is returned in
    ``refused`` and the others are still created. The template itself is not changed.
    """
    refused: list[str] = []
    existing: set[str] = set()
    for page in client.get_paginator("list_tables").paginate():
        existing.update(page.get("TableNames", []))
    registered: dict[str, dict[str, Any]] = {}
    for logical_id, props in template.tables().items():
        name = props.get("TableName") or f"{table_prefix}{logical_id}"
        kwargs = template.create_table_kwargs(logical_id, name)
        if name in existing:
            table = _wait_active(client, name)
            table = _ensure_stream(client, name, table, kwargs.get("StreamSpecification"))
            state = "reused"
        else:
            try:
                client.create_table(**kwargs)
                state = "created"
            except ClientError as exc:
                error = exc.response.get("Error", {})
                if error.get("Code") != "ResourceInUseException":
                    # DynamoDB refuses the table (keys, indexes ...): CloudFormation would not
                    # create it either; the rest of the stack still starts
                    refused.append(f"{logical_id}: {error.get('Code')}: {error.get('Message')}")
                    continue
                state = "reused"
            table = _wait_active(client, name)
        _ensure_ttl(client, name, template.ttl_attribute(logical_id), log)
        attrs: dict[str, Any] = {"Ref": name, "Arn": table["TableArn"], "State": state}
        if table.get("LatestStreamArn"):
            attrs["StreamArn"] = table["LatestStreamArn"]
        registered[logical_id] = attrs
    return CreatedTables(registered, refused)
