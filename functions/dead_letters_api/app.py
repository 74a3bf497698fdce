"""GET /dead-letters: the records the consumers parked, newest first, with their reasons."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from eventflow.api import decode_token, make_resolver, openapi_responses, page, page_model
from eventflow.config import env_str
from eventflow.kafka.deadletter import DeadLetterItem, DeadLetterStore
from eventflow.observability import logger, metrics

TABLE = env_str("DEAD_LETTER_TABLE")
app = make_resolver()
DeadLetterPage = page_model(DeadLetterItem, "DeadLetterPage")


@cache
def store() -> DeadLetterStore:
    return DeadLetterStore(TABLE)


@app.get(
    "/dead-letters",
    summary="List parked records, newest first",
    tags=["operations"],
    responses=openapi_responses(200, DeadLetterPage, 400, 422),
)
def list_dead_letters(
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(alias="nextToken")] = None,
) -> dict[str, Any]:
    return page(*store().list(limit, decode_token(next_token)))


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(clear_state=True, correlation_id_path="requestContext.requestId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
