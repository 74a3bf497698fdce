"""The dead-letter table over HTTP: list what the consumers parked, and redrive a record once.

- ``GET  /dead-letters``                parked records, newest first, with their reasons
- ``POST /dead-letters/{id}/redrive``   publish the record again to its topic (original key, value,
  headers), once; the item records ``redrivenAt`` and ``redrivenBy`` (the caller's identity from
  the authorizer), and a second redrive answers 409 naming when it was redriven
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from eventflow.api import decode_token, make_resolver, openapi_responses, page, page_model
from eventflow.config import env_str
from eventflow.consumer.deadletter import DeadLetterItem, DeadLetterStore
from eventflow.consumer.redrive import LETTER_ID_PATTERN, Redriver, caller_identity, letter_view
from eventflow.kafka.producer import KafkaPublisher
from eventflow.observability import logger, metrics

TABLE = env_str("DEAD_LETTER_TABLE")
app = make_resolver()
DeadLetterPage = page_model(DeadLetterItem, "DeadLetterPage")


@cache
def store() -> DeadLetterStore:
    return DeadLetterStore(TABLE)


@cache
def publisher() -> KafkaPublisher:
    return KafkaPublisher()


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
    letters, last = store().list(limit, decode_token(next_token))
    return page([letter_view(i) for i in letters], last)


@app.post(
    "/dead-letters/<id>/redrive",
    summary="Publish a parked record again to its topic, once",
    tags=["operations"],
    responses=openapi_responses(200, DeadLetterItem, 400, 401, 403, 404, 409, 422),
)
def redrive_dead_letter(
    id: Annotated[str, Path(pattern=LETTER_ID_PATTERN, max_length=282)],
) -> dict[str, Any]:
    by = caller_identity(app.current_event.raw_event)
    item = Redriver(store(), publisher()).redrive(unquote(id), by)
    logger.info(
        "dead letter redriven",
        extra={"id": item["id"], "topic": item["topic"], "redrivenBy": by},
    )
    metrics.add_metric(name="DeadLettersRedriven", unit="Count", value=1)
    return item


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(clear_state=True, correlation_id_path="requestContext.requestId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
