"""DynamoDB for the harness: an external endpoint (DynamoDB Local, LocalStack) or an embedded moto
server, and the template's tables created on it.

Credentials are always dummies: nothing here can reach real AWS. Tables that already exist are
reused as they are (a restarted harness keeps its data); missing streams and TTL are switched on.
SAM's ``AWS::Serverless::SimpleTable`` is created as the DynamoDB table SAM turns it into. Each
table's real name, ARN and stream ARN are registered in ``SamTemplate.attributes`` so that
``!Ref Table``, ``!GetAtt Table.Arn`` and ``!GetAtt Table.StreamArn`` resolve to it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from .template import SamTemplate

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


@dataclass
class DynamoEndpoint:
    """Where the tables live, and how to build clients for it."""

    url: str
    kind: str  # "moto" (embedded), "localstack", or "external"
    region: str = "us-east-1"
    _server: Any = field(default=None, repr=False)

    @classmethod
    def connect(cls, url: str, region: str = "us-east-1") -> DynamoEndpoint:
        return cls(url.rstrip("/"), "localstack" if is_localstack(url) else "external", region)

    @classmethod
    def embedded(
        cls, host: str = "127.0.0.1", port: int = 0, region: str = "us-east-1"
    ) -> DynamoEndpoint:
        """Start a moto server in this process (its own thread) on ``port`` (0: a free port).

        moto's data lives in module state: two embedded servers running at the same time in one
        process see the same tables.
        """
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = SerialMotoServer(host, port)
        server.start()
        return cls(server.url, "moto", region, server)

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
        boto_session: Any = boto3.session.Session()
        return boto_session.client(
            service,
            region_name=self.region,
            endpoint_url=self.url,
            config=_CONFIG,
            **DUMMY_CREDENTIALS,
        )

    def dynamodb(self) -> Any:
        return self.client("dynamodb")

    def streams(self) -> Any:
        return self.client("dynamodbstreams")

    def function_env(self) -> dict[str, str]:
        """What a function needs to reach these tables (and their streams).

        moto and LocalStack emulate every service, so they also get the other AWS calls.
        """
        env = {
            "AWS_ENDPOINT_URL_DYNAMODB": self.url,
            "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": self.url,
            **DUMMY_CREDENTIALS_ENV,
        }
        if self.kind in ("moto", "localstack"):
            env["AWS_ENDPOINT_URL"] = self.url
        return env

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


class SerialMotoServer:
    """moto's server with one request at a time.

    moto is not safe for concurrent requests: ``TransactWriteItems`` deep-copies tables that
    another request may be changing ("dictionary changed size during iteration"). Functions run
    in parallel processes here, so requests are serialised in front of moto.
    """

    def __init__(self, host: str, port: int) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        from . import moto_patches

        moto_patches.apply()  # transactions cost the items they touch, not whole tables
        app = DomainDispatcherApplication(create_backend_app)
        lock = threading.Lock()

        def one_at_a_time(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            with lock:
                return list(app(environ, start_response))

        self.server = make_server(
            host, port, one_at_a_time, True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self.server.serve_forever, name="moto", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and forget the data, as a stopped emulator would.

        moto keeps its data in module state shared by every moto server of the process, so a
        server started later here would otherwise see this one's tables.
        """
        with contextlib.suppress(OSError):
            request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
            urllib.request.urlopen(request, timeout=5).close()
        self.server.shutdown()
        self._thread.join(5)
        self.server.server_close()


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


def ensure_tables(
    template: SamTemplate,
    client: Any,
    *,
    table_prefix: str = "",
    log: Callable[[str], None] = print,
) -> dict[str, dict[str, Any]]:
    """Create (or reuse) every table of the template; register and return their attributes.

    The table name is the template's ``TableName`` if it sets one, else ``<prefix><LogicalId>``.
    ``AWS::Serverless::SimpleTable`` resources are created as SAM creates them (one hash key,
    on-demand unless ``ProvisionedThroughput`` is set); a table DynamoDB refuses is added to
    ``template.refused`` and the others are still created.
    """
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
                    template.refuse(f"{logical_id}: {error.get('Code')}: {error.get('Message')}")
                    continue
                state = "reused"
            table = _wait_active(client, name)
        _ensure_ttl(client, name, template.ttl_attribute(logical_id), log)
        attrs: dict[str, Any] = {"Ref": name, "Arn": table["TableArn"], "State": state}
        if table.get("LatestStreamArn"):
            attrs["StreamArn"] = table["LatestStreamArn"]
        template.attributes[logical_id] = {k: v for k, v in attrs.items() if k != "State"}
        registered[logical_id] = attrs
    return registered
