"""boto3 clients, built once per process (as Lambda reuses them across invocations), and the
translation of AWS errors into domain terms (transient vs. the rest).

The pynamodb models send their requests through the same client (``eventflow.tables.bind``);
pynamodb wraps a failed request's botocore error in its own exception (``PutError``,
``QueryError`` ...) with the botocore error as ``cause``: :func:`error_code`, :func:`is_transient`
and :func:`transient_errors` look through that wrapper, so both paths fail alike."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from pynamodb.exceptions import PynamoDBException

from eventflow.errors import TransientError

TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
        "TransactionInProgressException",
        "LimitExceededException",
    }
)

_CONFIG = Config(
    retries={"max_attempts": 4, "mode": "standard"},
    connect_timeout=2,
    read_timeout=5,
    tcp_keepalive=True,
    # the consumers send a batch's independent conditional writes in parallel
    # (eventflow.consumer.concurrency.MAX_PARALLEL)
    max_pool_connections=32,
    # DynamoDB validates every request itself; botocore's client-side pass over a 100-item
    # TransactWriteItems costs milliseconds per call on the consumers' hot path
    parameter_validation=False,
)


@cache
def dynamodb_client(endpoint_url: str | None = None) -> Any:
    """A DynamoDB client. ``AWS_ENDPOINT_URL_DYNAMODB`` / ``AWS_ENDPOINT_URL`` are honoured by
    botocore itself, so the same code reaches AWS, DynamoDB Local, LocalStack or moto."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return boto3.session.Session().client(
        "dynamodb", region_name=region, endpoint_url=endpoint_url, config=_CONFIG
    )


def _cause(exc: BaseException) -> BaseException:
    """The botocore error behind a pynamodb exception (or ``exc`` itself)."""
    if isinstance(exc, PynamoDBException) and exc.cause is not None:
        return exc.cause
    return exc


def error_code(exc: BaseException) -> str:
    exc = _cause(exc)
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def is_transient(exc: BaseException) -> bool:
    exc = _cause(exc)
    if isinstance(
        exc,
        EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError | ConnectionClosedError,
    ):
        return True
    return error_code(exc) in TRANSIENT_CODES


@contextmanager
def transient_errors() -> Iterator[None]:
    """Re-raise throttling, timeouts and unreachable endpoints as :class:`TransientError`."""
    try:
        yield
    except (
        ClientError,
        EndpointConnectionError,
        ConnectTimeoutError,
        ReadTimeoutError,
        ConnectionClosedError,
        PynamoDBException,
    ) as exc:
        if is_transient(exc):
            raise TransientError(f"DynamoDB: {_cause(exc)}") from exc
        raise
