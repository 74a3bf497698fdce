"""How a stack is asked to run: its options, each from the caller or else the environment.

``StackSettings.resolve`` reads the environment once (``PORT``, ``KAFKA_PORT``,
``KAFKA_BOOTSTRAP_SERVERS``, ``KAFKA_WAIT_SECONDS``, ``KAFKA_PARTITIONS``,
``AWS_ENDPOINT_URL_DYNAMODB`` / ``AWS_ENDPOINT_URL``, ``LOCAL_API_TOKEN``,
``STREAM_POLL_INTERVAL``, ``EVENTFLOW_STATE_DIR``); an option given by the caller wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from eventflow_local.apigw.local_token import DEFAULT_TOKEN
from eventflow_local.services.dynamodb import ENGINES, endpoint_from_env
from eventflow_local.state import resolve_state_dir

DEFAULT_API_PORT = 3000
DEFAULT_PARTITIONS = 3
#: Lambda polls a shard about four times a second; locally a shorter wait costs little
DEFAULT_STREAM_POLL_INTERVAL = 0.05
DEFAULT_KAFKA_WAIT = 60.0


def _int_env(environ: Mapping[str, str], name: str) -> int | None:
    raw = (environ.get(name) or "").strip()
    return int(raw) if raw else None


class StackOptions(TypedDict, total=False):
    """What a caller may set; each left out comes from the environment, else its default."""

    port: int | None
    state_dir: Path | str | None
    bootstrap_servers: str | None
    kafka_port: int | None
    dynamodb_endpoint: str | None
    dynamodb: str | None
    dynamodb_in_memory: bool
    partitions: int | None
    api_token: str | None
    stream_poll_interval: float | None


@dataclass(frozen=True)
class StackSettings:
    port: int
    state_dir: Path
    #: a broker of the user's (None: the embedded one)
    external_bootstrap: str | None
    #: seconds to wait for an external broker that is still booting
    kafka_wait: float
    #: port of the embedded broker (0: a free one)
    kafka_port: int
    #: the embedded engine: "moto" (default) or "local" (DynamoDB Local)
    dynamodb_engine: str
    #: DynamoDB Local without -dbPath: nothing kept when it stops
    dynamodb_in_memory: bool
    #: a DynamoDB of the user's (None: the embedded engine)
    dynamodb_url: str | None
    partitions: int
    #: the bearer token of the protected routes ("" turns the check off)
    api_token: str
    #: seconds between GetRecords calls of the DynamoDB stream pollers
    stream_poll_interval: float

    @classmethod
    def resolve(
        cls,
        env: Mapping[str, str],
        template_path: Path,
        *,
        port: int | None = None,
        state_dir: Path | str | None = None,
        bootstrap_servers: str | None = None,
        kafka_port: int | None = None,
        dynamodb_endpoint: str | None = None,
        dynamodb: str | None = None,
        dynamodb_in_memory: bool = False,
        partitions: int | None = None,
        api_token: str | None = None,
        stream_poll_interval: float | None = None,
    ) -> StackSettings:
        engine = dynamodb or "moto"
        if engine not in ENGINES:
            raise ValueError(f"dynamodb: {dynamodb!r} is not one of {', '.join(ENGINES)}")
        return cls(
            port=port if port is not None else (_int_env(env, "PORT") or DEFAULT_API_PORT),
            state_dir=resolve_state_dir(state_dir, env, template_path),
            external_bootstrap=bootstrap_servers
            or (env.get("KAFKA_BOOTSTRAP_SERVERS") or "").strip()
            or None,
            kafka_wait=float(env.get("KAFKA_WAIT_SECONDS") or DEFAULT_KAFKA_WAIT),
            kafka_port=kafka_port if kafka_port is not None else (_int_env(env, "KAFKA_PORT") or 0),
            dynamodb_engine=engine,
            dynamodb_in_memory=dynamodb_in_memory,
            dynamodb_url=dynamodb_endpoint
            or (endpoint_from_env(env) if dynamodb is None else None),
            partitions=partitions or _int_env(env, "KAFKA_PARTITIONS") or DEFAULT_PARTITIONS,
            api_token=api_token
            if api_token is not None
            else env.get("LOCAL_API_TOKEN", DEFAULT_TOKEN),
            stream_poll_interval=stream_poll_interval
            if stream_poll_interval is not None
            else float(env.get("STREAM_POLL_INTERVAL") or DEFAULT_STREAM_POLL_INTERVAL),
        )
