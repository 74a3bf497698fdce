"""POST /transactions/{id}/fraud: mark a transaction as FRAUD.

The status change and the outbox event commit in one DynamoDB transaction; the outbox relay
publishes the event. This function never talks to Kafka (and does not import a Kafka client).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from eventflow.api import check_id, make_resolver, openapi_responses
from eventflow.fraud.adapters.transactions import TransactionStore
from eventflow.fraud.domain.models import Transaction
from eventflow.fraud.settings import FraudSettings
from eventflow.fraud.usecases.transactions import FraudMarker
from eventflow.observability import logger, metrics

SETTINGS = FraudSettings.from_env()
app = make_resolver()


@cache
def marker() -> FraudMarker:
    return FraudMarker(TransactionStore(SETTINGS.transactions_table, SETTINGS.outbox_table))


@app.post(
    "/transactions/<transaction_id>/fraud",
    summary="Mark a transaction as fraud",
    tags=["transactions"],
    responses=openapi_responses(200, Transaction, 400, 404, 409, 422),
)
def mark_fraud(transaction_id: str) -> dict[str, Any]:
    txn = marker().mark(check_id(transaction_id))
    metrics.add_metric(name="TransactionsMarkedFraud", unit="Count", value=1)
    logger.info(
        "transaction marked as fraud",
        extra={"transactionId": txn["id"], "accountId": txn["accountId"]},
    )
    return txn


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(clear_state=True, correlation_id_path="requestContext.requestId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
