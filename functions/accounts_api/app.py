"""Accounts API: POST/GET /accounts, GET/PATCH/DELETE /accounts/{id}."""

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
from eventflow.fraud.domain.models import Account, CreateAccount, UpdateAccount
from eventflow.fraud.settings import FraudSettings
from eventflow.fraud.usecases.accounts import AccountService
from eventflow.observability import logger, metrics

SETTINGS = FraudSettings.from_env()
app = make_resolver()
AccountPage = page_model(Account, "AccountPage")


@cache
def service() -> AccountService:
    return AccountService(AccountStore(SETTINGS.accounts_table))


@app.post(
    "/accounts",
    summary="Create an account",
    tags=["accounts"],
    responses=openapi_responses(201, Account, 400, 413, 415, 422, description="Created"),
)
def create_account(body: CreateAccount) -> Response[dict[str, Any]]:
    return json_response(201, service().create(body))


@app.get(
    "/accounts",
    summary="List accounts, newest first",
    tags=["accounts"],
    responses=openapi_responses(200, AccountPage, 400, 422),
)
def list_accounts(
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(alias="nextToken")] = None,
) -> dict[str, Any]:
    return page(*service().list(limit, decode_token(next_token)))


@app.get(
    "/accounts/<account_id>",
    summary="Get an account",
    tags=["accounts"],
    responses=openapi_responses(200, Account, 400, 404, 422),
)
def get_account(account_id: str) -> dict[str, Any]:
    return service().get(check_id(account_id))


@app.patch(
    "/accounts/<account_id>",
    summary="Update an account (partial)",
    tags=["accounts"],
    responses=openapi_responses(200, Account, 400, 404, 409, 413, 415, 422),
)
def update_account(account_id: str, body: UpdateAccount) -> dict[str, Any]:
    return service().update(check_id(account_id), body)


@app.delete(
    "/accounts/<account_id>",
    summary="Delete an account",
    tags=["accounts"],
    responses=openapi_responses(204, None, 400, 404, 422, description="Deleted"),
)
def delete_account(account_id: str) -> Response[str]:
    service().delete(check_id(account_id))
    return Response(status_code=204, body="")


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(clear_state=True, correlation_id_path="requestContext.requestId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
