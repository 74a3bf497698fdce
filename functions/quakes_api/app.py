"""Earthquakes API: GET /earthquakes (filters), /earthquakes/{id}, /earthquakes/alerts,
/earthquakes/regions."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from eventflow.api import check_id, decode_token, make_resolver, openapi_responses, page, page_model
from eventflow.observability import logger, metrics
from eventflow.quakes.adapters.catalog import QuakeCatalog
from eventflow.quakes.domain.models import REGION_PATTERN
from eventflow.quakes.settings import QuakeSettings
from eventflow.quakes.usecases.queries import QuakeQueries

SETTINGS = QuakeSettings.from_env()
app = make_resolver()
ItemPage = page_model(dict[str, Any], "ItemPage")


@cache
def queries() -> QuakeQueries:
    return QuakeQueries(
        QuakeCatalog(SETTINGS.quakes_table, SETTINGS.regions_table, SETTINGS.alerts_table)
    )


@app.get(
    "/earthquakes",
    summary="List earthquakes, newest first",
    tags=["earthquakes"],
    responses=openapi_responses(200, ItemPage, 400, 422),
)
def list_quakes(
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(alias="nextToken")] = None,
    min_magnitude: Annotated[float | None, Query(alias="minMagnitude", ge=0, le=10)] = None,
    since: Annotated[str | None, Query(description="epoch ms or ISO 8601", max_length=40)] = None,
    region: Annotated[str | None, Query(pattern=REGION_PATTERN)] = None,
) -> dict[str, Any]:
    return page(
        *queries().list(
            limit, decode_token(next_token), min_magnitude=min_magnitude, since=since, region=region
        )
    )


@app.get(
    "/earthquakes/alerts",
    summary="List alerts, newest first",
    tags=["earthquakes"],
    responses=openapi_responses(200, ItemPage, 400, 422),
)
def list_alerts(
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(alias="nextToken")] = None,
) -> dict[str, Any]:
    return page(*queries().alerts(limit, decode_token(next_token)))


@app.get(
    "/earthquakes/regions",
    summary="Per-region aggregates",
    tags=["earthquakes"],
    responses=openapi_responses(200, ItemPage, 400, 422),
)
def list_regions(
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(alias="nextToken")] = None,
) -> dict[str, Any]:
    return page(*queries().regions(limit, decode_token(next_token)))


@app.get(
    "/earthquakes/<quake_id>",
    summary="Get an earthquake",
    tags=["earthquakes"],
    responses=openapi_responses(200, dict[str, Any], 400, 404, 422),
)
def get_quake(quake_id: str) -> dict[str, Any]:
    return queries().get(check_id(quake_id))


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(clear_state=True, correlation_id_path="requestContext.requestId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
