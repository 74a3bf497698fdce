"""Transactions API: POST/GET /transactions, GET /transactions/{id}."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from eventflow.api import (
    check_id,
    decode_token,
    json_response,
    make_resolver,
    openapi_responses,
    page,
    page_model,
)
from eventflow.fraud.adapters.accounts import AccountStore
from eventflow.fraud.adapters.transactions import TransactionStore
from eventflow.fraud.domain.models import CreateTransaction, Transaction
from eventflow.fraud.settings import FraudSettings
from eventflow.fraud.usecases.transactions import TransactionService
from eventflow.observability import logger, metrics

SETTINGS = FraudSettings.from_env()
app = make_resolver()
TransactionPage = page_model(Transaction, "TransactionPage")


@cache
def service() -> TransactionService:
    return TransactionService(
        TransactionStore(SETTINGS.transactions_table), AccountStore(SETTINGS.accounts_table)
    )


@app.post(
    "/transactions",
    summary="Create a transaction",
    tags=["transactions"],
    responses=openapi_responses(201, Transaction, 400, 404, 413, 415, 422, description="Created"),
)
def create_transaction(body: CreateTransaction) -> Response[dict[str, Any]]:
    return json_response(201, service().create(body))


@app.get(
    "/transactions",
    summary="List transactions, newest first",
    tags=["transactions"],
    responses=openapi_responses(200, TransactionPage, 400, 422),
)
def list_transactions(
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(alias="nextToken")] = None,
    account_id: Annotated[
        str | None, Query(alias="accountId", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    ] = None,
) -> dict[str, Any]:
    return page(*service().list(limit, decode_token(next_token), account_id))


@app.get(
    "/transactions/<transaction_id>",
    summary="Get a transaction",
    tags=["transactions"],
    responses=openapi_responses(200, Transaction, 400, 404, 422),
)
def get_transaction(transaction_id: str) -> dict[str, Any]:
    return service().get(check_id(transaction_id))


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(clear_state=True, correlation_id_path="requestContext.requestId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
