"""Contract: the events the harness builds are the events AWS delivers, as Powertools' parser
models define them, and the app's handlers parse them.

Every ``generate-event`` sample and every event the gateways and pollers build (through the same
builder functions, checked here by identity) validates against its model of
``aws_lambda_powertools.utilities.parser.models``; the app's own parsing (``eventflow.kafka.events``,
``eventflow.fraud.adapters.outbox``, the API resolver of ``eventflow.api``, the emitter's schedule check)
accepts those same events. The records from real service answers (moto's DynamoDB Streams, SQS,
SNS, Kinesis, S3, EventBridge) are in ``test_delivered_event_contracts.py``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser import models
from pydantic import BaseModel

from eventflow_local.apigw.httpapi import HttpAuthorizerSpec, HttpRoute, http_event
from eventflow_local.cli.generate_event import SAMPLES, generate
from eventflow_local.events.apigateway import api_event
from eventflow_local.events.kafka import RawRecord, kafka_event
from eventflow_local.events.schedule import schedule_event

EVENTS = Path(__file__).resolve().parents[2] / "events"

MODELS: dict[tuple[str, str], type[BaseModel]] = {
    ("apigateway", "aws-proxy"): models.APIGatewayProxyEventModel,
    ("apigateway", "http-api-proxy"): models.APIGatewayProxyEventV2Model,
    ("cloudwatch", "scheduled-event"): models.EventBridgeModel,
    ("dynamodb", "update"): models.DynamoDBStreamModel,
    ("eventbridge", "event"): models.EventBridgeModel,
    ("eventbridge", "scheduled-event"): models.EventBridgeModel,
    ("kafka", "msk"): models.KafkaMskEventModel,
    ("kafka", "self-managed"): models.KafkaSelfManagedEventModel,
    ("kinesis", "get-records"): models.KinesisDataStreamModel,
    ("s3", "put"): models.S3Model,
    ("s3", "delete"): models.S3Model,
    ("sns", "notification"): models.SnsModel,
    ("sqs", "receive-message"): models.SqsModel,
}


def test_every_sample_has_its_model() -> None:
    assert set(MODELS) == {(s, e) for s, events in SAMPLES.items() for e in events}


@pytest.mark.parametrize(("service", "event"), sorted(MODELS))
def test_each_sample_validates_against_its_powertools_model(service: str, event: str) -> None:
    MODELS[service, event].model_validate(generate(service, event, []))


@pytest.mark.parametrize(
    ("service", "event", "argv", "where", "expected"),
    [
        (
            "apigateway",
            "aws-proxy",
            ["--method", "put", "--path", "/accounts/a1", "--body", '{"x":1}', "--query", "q=1"],
            lambda e: (e["httpMethod"], e["path"], e["body"], e["queryStringParameters"]),
            ("PUT", "/accounts/a1", '{"x":1}', {"q": "1"}),
        ),
        (
            "apigateway",
            "http-api-proxy",
            ["--method", "GET", "--path", "/quakes", "--header", "X-Id=7", "--query", "a=1&a=2"],
            lambda e: (e["routeKey"], e["headers"]["x-id"], e["queryStringParameters"]),
            ("GET /quakes", "7", {"a": "1,2"}),
        ),
        (
            "kafka",
            "msk",
            ["--topic", "orders", "--partition", "3", "--key", "k1", "--value", "v"],
            lambda e: [*e["records"], e["records"]["orders-3"][0]["key"]],
            ["orders-3", base64.b64encode(b"k1").decode()],
        ),
        (
            "dynamodb",
            "update",
            [
                "--event-name",
                "INSERT",
                "--keys",
                '{"pk": "a"}',
                "--new-image",
                '{"pk":"a","n":1.5}',
            ],
            lambda e: (e["Records"][0]["eventName"], e["Records"][0]["dynamodb"]["NewImage"]),
            ("INSERT", {"pk": {"S": "a"}, "n": {"N": "1.5"}}),
        ),
        (
            "eventbridge",
            "event",
            ["--source", "shop", "--detail-type", "Order", "--detail", '{"id": 2}'],
            lambda e: (e["source"], e["detail-type"], e["detail"]),
            ("shop", "Order", {"id": 2}),
        ),
        (
            "s3",
            "put",
            ["--bucket", "b", "--key", "a file.txt"],
            lambda e: e["Records"][0]["s3"]["object"]["key"],
            "a+file.txt",
        ),
    ],
)
def test_options_change_their_fields_and_the_event_still_validates(
    service: str, event: str, argv: list[str], where: Any, expected: Any
) -> None:
    sample = generate(service, event, argv)
    assert where(sample) == expected
    MODELS[service, event].model_validate(sample)


def test_the_harness_delivers_with_the_builders_the_samples_use() -> None:
    """generated = delivered: the gateways and pollers call these very functions."""
    from eventflow_local.apigw import gateway, http_gateway
    from eventflow_local.events.dynamodb import dynamodb_stream_event
    from eventflow_local.eventsources.dynamodb import mapping as dynamodb_mapping
    from eventflow_local.eventsources.kafka import batches
    from eventflow_local.eventsources.kinesis import mapping as kinesis_mapping
    from eventflow_local.eventsources.kinesis.records import kinesis_event
    from eventflow_local.eventsources.schedule import plan
    from eventflow_local.eventsources.sqs import poller
    from eventflow_local.eventsources.sqs.records import sqs_record

    assert gateway.api_event is api_event and http_gateway.api_event is api_event
    assert http_gateway.http_event is http_event
    assert batches.kafka_event is kafka_event
    assert dynamodb_mapping.dynamodb_stream_event is dynamodb_stream_event
    assert plan.schedule_event is schedule_event
    assert poller.sqs_record is sqs_record
    assert kinesis_mapping.kinesis_event is kinesis_event


def test_rest_requests_as_the_gateway_builds_them_validate() -> None:
    browser = {"Host": "localhost:3000", "User-Agent": "curl/8", "Cookie": "a=1"}
    for event in (
        api_event("GET", "/accounts", headers=browser, query="limit=2&tag=a&tag=b"),
        api_event(
            "POST",
            "/accounts/a1/upload",
            resource="/accounts/{id}/upload",
            path_parameters={"id": "a1"},
            body=b"\xff\x00binary",
            authorizer={"principalId": "user", "role": "admin"},
        ),
        api_event("DELETE", "/accounts/a1"),  # no headers at all: maps, never null
    ):
        models.APIGatewayProxyEventModel.model_validate(event)


def test_http_api_requests_as_the_gateway_builds_them_validate() -> None:
    authorizer = HttpAuthorizerSpec(api="Api", name="Auth", kind="REQUEST", function="Fn")
    route = HttpRoute("POST", "/items/{id}", "Fn", "Items", "Api", authorizer=authorizer)
    headers = [("Host", "h"), ("Cookie", "a=1; b=2"), ("X-Many", "1"), ("X-Many", "2")]
    event = http_event(
        route,
        "POST",
        "/items/7",
        "q=1",
        headers,
        b"\x89PNG",
        {"id": "7"},
        "10.0.0.1",
        "abc",
        stage_variables={"v": "1"},
    )
    assert event["cookies"] == ["a=1", "b=2"] and event["isBase64Encoded"] is True
    models.APIGatewayProxyEventV2Model.model_validate(event)
    # AND with the contexts the gateway adds: a Lambda authorizer's, the local token's JWT
    event["requestContext"]["authorizer"] = {"lambda": {"user": "u"}}
    models.APIGatewayProxyEventV2Model.model_validate(event)
    event["requestContext"]["authorizer"] = {"jwt": {"claims": {"sub": "local"}, "scopes": None}}
    models.APIGatewayProxyEventV2Model.model_validate(event)
    # AND a payload 1.0 route gets the REST event with version 1.0, as http_gateway builds it
    v1 = api_event("POST", "/items/7", resource="/items/{id}", path_parameters={"id": "7"})
    v1["requestContext"].update(apiId="abc", path="/items/7")
    v1.update(version="1.0", stageVariables=None)
    models.APIGatewayProxyEventModel.model_validate(v1)


def _kafka_batch(self_managed: bool) -> dict[str, Any]:
    records = [
        RawRecord("orders", 0, 5, b'{"id": 1}', key=b"acc-1", headers=(("eventId", b"e1"),)),
        RawRecord("orders", 0, 6, b'{"id": 2}', key=None, headers=(("bin", b"\xff\x80"),)),
        RawRecord("my-topic-1", 2, 0, b"not json", timestamp=1700000000000),
    ]
    return kafka_event(records, bootstrap_servers="b1:9092,b2:9092", self_managed=self_managed)


@pytest.mark.parametrize(
    ("self_managed", "model"),
    [(False, models.KafkaMskEventModel), (True, models.KafkaSelfManagedEventModel)],
)
def test_kafka_batches_validate_and_the_app_reads_what_powertools_reads(
    self_managed: bool, model: type[BaseModel]
) -> None:
    from eventflow.kafka.events import parse_kafka_event

    event = _kafka_batch(self_managed)
    parsed: Any = model.model_validate(event)
    batch = parse_kafka_event(event)
    # THEN both see the same records: topic, partition, offset, key, value, headers
    ours = [(r.topic, r.partition, r.offset, r.key, r.value) for r in batch.records]
    theirs = [
        (r.topic, r.partition, r.offset, r.key, r.value.encode())
        for records in parsed.records.values()
        for r in records
    ]
    assert ours == theirs
    assert batch.records[0].json_value() == {"id": 1}
    assert batch.records[0].header("eventId") == b"e1"
    assert batch.records[1].header("bin") == b"\xff\x80"
    assert batch.records[2].topic == "my-topic-1" and batch.records[2].partition == 2


def test_a_tombstone_has_no_value_and_the_app_reads_it_as_none() -> None:
    """AWS leaves ``value`` out of a tombstone's record; Powertools 3.37's ``KafkaRecordModel``
    requires it, so tombstones are outside the model's contract (kept out of the checks above)."""
    from eventflow.kafka.events import parse_kafka_event

    event = kafka_event([RawRecord("orders", 0, 9, None, key=b"acc-1")])
    assert "value" not in event["records"]["orders-0"][0]
    assert parse_kafka_event(event).records[0].value is None


def test_the_outbox_relay_reads_a_generated_insert() -> None:
    from eventflow.fraud.adapters.outbox import outbox_messages

    image = {
        "eventId": "e1",
        "eventType": "TransactionMarkedFraud",
        "accountId": "acc-1",
        "transactionId": "t1",
        "payload": {"id": "t1", "status": "FRAUD", "amount": 12.5},
        "createdAt": "2026-01-01T00:00:00Z",
        "expiresAt": 1900000000,
    }
    event = generate(
        "dynamodb",
        "update",
        ["--event-name", "INSERT", "--keys", '{"eventId": "e1"}', "--new-image", json.dumps(image)],
    )
    models.DynamoDBStreamModel.model_validate(event)
    [message] = outbox_messages(event, "transactions")
    assert (message.topic, message.key) == ("transactions", b"acc-1")
    assert json.loads(message.value)["status"] == "FRAUD"


def test_the_apps_api_resolver_serves_generated_requests() -> None:
    from eventflow.api import make_resolver

    app = make_resolver()

    @app.post("/things")
    def create(body: dict[str, Any]) -> dict[str, Any]:
        return {"got": body}

    @app.get("/things/<thing>")
    def read(thing: str) -> dict[str, Any]:
        return {"id": thing}

    post = generate(
        "apigateway",
        "aws-proxy",
        [
            "--path",
            "/things",
            "--resource",
            "/things",
            "--body",
            '{"n": 1}',
            "--header",
            "Content-Type=application/json",
        ],
    )
    answer = app.resolve(post, {})
    assert answer["statusCode"] == 200 and json.loads(answer["body"]) == {"got": {"n": 1}}
    get = generate(
        "apigateway", "aws-proxy", ["--method", "GET", "--path", "/things/7", "--body", ""]
    )
    answer = app.resolve(get, {})
    assert answer["statusCode"] == 200 and json.loads(answer["body"]) == {"id": "7"}


def test_the_emitter_takes_a_generated_schedule_and_not_a_request() -> None:
    from eventflow.quakes.adapters.kick import is_emit_request

    assert is_emit_request(generate("cloudwatch", "scheduled-event", ["--rule", "Emit"]))
    assert not is_emit_request(generate("apigateway", "aws-proxy", []))


def _model_of(name: str) -> type[BaseModel] | None:
    if name.endswith("_msk.json"):
        return models.KafkaMskEventModel
    if name.endswith("_self_managed.json"):
        return models.KafkaSelfManagedEventModel
    if name.endswith("_stream.json"):
        return models.DynamoDBStreamModel
    if name.endswith("_schedule.json"):
        return models.EventBridgeModel
    if "authorizer" in name:
        return None  # a TOKEN authorizer's event: Powertools has no parser model for it
    return models.APIGatewayProxyEventModel


@pytest.mark.parametrize("path", sorted(EVENTS.glob("*.json")), ids=lambda p: p.name)
def test_the_projects_event_files_validate(path: Path) -> None:
    model = _model_of(path.name)
    if model is not None:
        model.model_validate(json.loads(path.read_text()))
