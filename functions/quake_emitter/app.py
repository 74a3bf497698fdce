"""Earthquake stream emitter: the stream's HTTP controls and its emission runs, one function.

- ``POST /earthquake-events/start``  start the stream, or change the running stream's rate
- ``POST /earthquake-events/stop``   stop it (says whether one was running)
- ``GET  /earthquake-events``        the stream's state: running, rate, emitted, since
- Schedule event (EventBridge) or a self-invocation: an emission run, which publishes events at
  the stream's rate until shortly before this invocation's time runs out.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from eventflow.api import make_resolver, openapi_responses
from eventflow.kafka.events import MalformedEventError
from eventflow.kafka.producer import KafkaPublisher
from eventflow.observability import logger, metrics
from eventflow.quakes.adapters.kick import LambdaKicker, NoKicker, is_emit_request
from eventflow.quakes.adapters.stream import StreamStore
from eventflow.quakes.domain.models import StartStream
from eventflow.quakes.ports import Kicker, Publisher
from eventflow.quakes.settings import QuakeSettings
from eventflow.quakes.usecases.control import StreamControl
from eventflow.quakes.usecases.emitter import QuakeEmitter

SETTINGS = QuakeSettings.from_env()
app = make_resolver()


@cache
def publisher() -> Publisher:
    return KafkaPublisher()


@cache
def kicker() -> Kicker:
    return LambdaKicker() if SETTINGS.self_invoke == "lambda" else NoKicker()


@cache
def stream() -> StreamStore:
    return StreamStore(SETTINGS.stream_table)


@cache
def control() -> StreamControl:
    return StreamControl(stream(), kicker())


@cache
def emitter() -> QuakeEmitter:
    return QuakeEmitter(stream(), publisher(), SETTINGS.quakes_topic, kicker())


@app.post(
    "/earthquake-events/start",
    summary="Start the stream or change its rate",
    tags=["earthquakes"],
    responses=openapi_responses(200, dict[str, Any], 400, 413, 415, 422),
)
def start_stream(body: StartStream | None = None) -> dict[str, Any]:
    result = control().start(body or StartStream())
    logger.info(result["message"], extra={"runId": result["stream"]["runId"]})
    return result


@app.post(
    "/earthquake-events/stop",
    summary="Stop the stream",
    tags=["earthquakes"],
    responses=openapi_responses(200, dict[str, Any], 422),
)
def stop_stream() -> dict[str, Any]:
    result = control().stop()
    logger.info(result["message"])
    return result


@app.get(
    "/earthquake-events",
    summary="The stream's state",
    tags=["earthquakes"],
    responses=openapi_responses(200, dict[str, Any], 422),
)
def stream_status() -> dict[str, Any]:
    return control().status()


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if isinstance(event, dict) and "httpMethod" in event:
        return app.resolve(event, context)
    if not is_emit_request(event):
        raise MalformedEventError(
            "expected an API Gateway request, a Schedule event or an emit request"
        )
    report = emitter().run(context.aws_request_id, context.get_remaining_time_in_millis)
    metrics.add_metric(name="QuakesEmitted", unit="Count", value=report.emitted)
    return report.as_dict()
