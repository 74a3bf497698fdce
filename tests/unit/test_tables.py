"""The pynamodb models are the item schema: they and template.yaml's tables agree, both ways."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from moto import mock_aws
from pynamodb.attributes import TTLAttribute
from pynamodb.exceptions import QueryError
from pynamodb.models import Model

from bench.units import item_size
from eventflow import tables
from eventflow.aws import dynamodb_client
from eventflow.consumer.tables import DeadLetters
from eventflow.errors import InvalidRequestError, TransientError
from eventflow.fraud.adapters.tables import Accounts, Outbox, Transactions
from eventflow.fraud.domain.rules import DIGEST_BYTES, RECENT_EVENTS
from eventflow.quakes.adapters.tables import QuakeAlerts, QuakeRegions, Quakes, QuakeStream
from tests.support import template

MODELS: list[type[Model]] = [
    Accounts,
    Transactions,
    Outbox,
    DeadLetters,
    Quakes,
    QuakeRegions,
    QuakeAlerts,
    QuakeStream,
]


def logical_id(model: type[Model]) -> str:
    return str(model.Meta.table_name)


def keys(schema: list[dict[str, str]]) -> set[tuple[str, str]]:
    return {(k["AttributeName"], k["KeyType"]) for k in schema}


def table_props(logical: str) -> dict:
    return template().doc["Resources"][logical]["Properties"]


def test_every_model_has_a_table_and_every_table_a_model():
    tpl = template()
    declared = {
        lid for lid, r in tpl.doc["Resources"].items() if r["Type"] == "AWS::DynamoDB::Table"
    }
    assert {logical_id(m) for m in MODELS} == declared


@pytest.mark.parametrize("model", MODELS, ids=logical_id)
def test_keys_indexes_and_ttl_match_the_template(model: type[Model]):
    props = table_props(logical_id(model))
    schema = model._get_schema()
    # the table's key, and its attribute definitions (keys of the table and of its indexes)
    assert keys(schema["key_schema"]) == keys(props["KeySchema"])
    assert {(d["AttributeName"], d["AttributeType"]) for d in schema["attribute_definitions"]} == {
        (d["AttributeName"], d["AttributeType"]) for d in props["AttributeDefinitions"]
    }
    # the global secondary indexes: names, keys, projections
    ours = {
        i["index_name"]: (keys(i["key_schema"]), i["projection"]["ProjectionType"])
        for i in schema["global_secondary_indexes"]
    }
    theirs = {
        i["IndexName"]: (keys(i["KeySchema"]), i["Projection"]["ProjectionType"])
        for i in props.get("GlobalSecondaryIndexes", [])
    }
    assert ours == theirs
    assert not schema["local_secondary_indexes"] and "LocalSecondaryIndexes" not in props
    # the TTL attribute
    ttl = [a.attr_name for a in model.get_attributes().values() if isinstance(a, TTLAttribute)]
    spec = props.get("TimeToLiveSpecification")
    assert ttl == ([spec["AttributeName"]] if spec and spec.get("Enabled") else [])


@pytest.mark.parametrize("model", MODELS, ids=logical_id)
def test_each_table_name_comes_from_the_environment_the_template_sets(model: type[Model]):
    env = template().sam_doc["Globals"]["Function"]["Environment"]["Variables"]
    assert env[model.Meta.env] == {"Ref": logical_id(model)}


def test_a_bound_model_reaches_the_deployed_table_through_the_processs_client(monkeypatch):
    # GIVEN a deployed table name and the endpoint a function sees
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:1")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    dynamodb_client.cache_clear()
    try:
        client = dynamodb_client()
        # WHEN the model is bound to it
        bound = tables.bind(Transactions, "stack-TransactionsTable-ABC")
        # THEN it is on that table, at the client's endpoint and region, and sends its requests
        # through that very client (its configuration and pool), not one of its own
        assert (bound.Meta.table_name, bound.Meta.host, bound.Meta.region) == (
            "stack-TransactionsTable-ABC",
            "http://127.0.0.1:1",
            "eu-west-1",
        )
        with Stubber(client) as stub:
            stub.add_response(
                "get_item",
                {"Item": {"id": {"S": "t1"}, "status": {"S": "CREATED"}}},
                {
                    "TableName": "stack-TransactionsTable-ABC",
                    "Key": {"id": {"S": "t1"}},
                    "ConsistentRead": True,
                    "ReturnConsumedCapacity": "TOTAL",
                },
            )
            assert bound.get("t1", consistent_read=True).status == "CREATED"
            stub.assert_no_pending_responses()
        # AND the declared model is left as it was, for the next table or client
        assert Transactions.Meta.table_name == "TransactionsTable"
        assert tables.bind(Transactions, "stack-TransactionsTable-ABC") is bound
        assert tables.bind(Transactions, "other") is not bound
    finally:
        dynamodb_client.cache_clear()


def test_a_bound_index_queries_its_own_table():
    client = stubbed_client()
    # GIVEN two tables of the same model
    one = tables.bind(Transactions, "one", client)
    two = tables.bind(Transactions, "two", client)
    # WHEN each one's index is queried THEN each request names its own table and the index
    with Stubber(client) as stub:
        for table in ("one", "two"):
            stub.add_response(
                "query",
                {"Items": [], "Count": 0, "ScannedCount": 0},
                {
                    "TableName": table,
                    "IndexName": "byAccount",
                    "KeyConditionExpression": "#0 = :0",
                    "ExpressionAttributeNames": {"#0": "accountId"},
                    "ExpressionAttributeValues": {":0": {"S": "a1"}},
                    "ScanIndexForward": False,
                    "Limit": 5,
                    "ReturnConsumedCapacity": "TOTAL",
                },
            )
        assert tables.query_page(one.by_account, "a1", 5) == ([], None)
        assert tables.query_page(two.by_account, "a1", 5) == ([], None)
        stub.assert_no_pending_responses()


def test_create_and_delete_are_conditional_on_the_key(tpl_tables):
    # GIVEN the transactions table, bound
    model = tables.bind(Transactions, "TransactionsTable", tpl_tables)
    row = {"id": "t1", "status": "CREATED", "account_id": "a1", "created_at": T, "updated_at": T}
    # WHEN a row is created twice THEN the second finds its key taken and changes nothing
    assert tables.create(model, row) is True
    assert tables.create(model, {**row, "status": "FRAUD"}) is False
    found = tables.get(model, "t1", consistent=True)
    assert found is not None and (found.status, found.list_key) == ("CREATED", "TRANSACTION")
    # WHEN it is deleted twice THEN the second finds nothing to delete
    assert tables.delete(model, "t1") is True
    assert tables.delete(model, "t1") is False
    assert tables.get(model, "t1") is None


def test_a_page_token_of_another_index_is_the_callers_mistake(tpl_tables):
    model = tables.bind(Transactions, "TransactionsTable", tpl_tables)
    for i in range(3):
        row = {"id": f"t{i}", "status": "CREATED", "account_id": "a1"}
        tables.create(model, {**row, "created_at": f"{T}{i}", "updated_at": T})
    # GIVEN the token of a first page of one account's transactions
    rows, token = tables.query_page(model.by_account, "a1", 2)
    assert [r.id for r in rows] == ["t2", "t1"] and token is not None
    assert set(token) == {"id", "accountId", "createdAt"}
    # THEN it reads the next page, the last one
    rows, last = tables.query_page(model.by_account, "a1", 2, token)
    assert [r.id for r in rows] == ["t0"] and last is None


def test_a_start_key_dynamodb_refuses_is_the_callers_mistake():
    client = stubbed_client()
    model = tables.bind(Transactions, "TransactionsTable", client)
    with Stubber(client) as stub:
        stub.add_client_error(
            "query", "ValidationException", "The provided starting key is invalid"
        )
        # WHEN DynamoDB refuses a page's start key THEN the caller is told to fix nextToken
        with pytest.raises(InvalidRequestError) as refused:
            tables.query_page(model.by_created_at, "TRANSACTION", 2, {"id": "t1"})
        assert refused.value.details == {"field": "nextToken"}
        # AND with no start key the same refusal is not the caller's: it is raised as it is
        stub.add_client_error("query", "ValidationException", "something else")
        with pytest.raises(QueryError):
            tables.query_page(model.by_created_at, "TRANSACTION", 2)


def test_a_throttled_model_request_is_transient_as_a_low_level_one_is():
    client = stubbed_client()
    model = tables.bind(Transactions, "TransactionsTable", client)
    with Stubber(client) as stub:
        # GIVEN DynamoDB throttles the request WHEN a model reads THEN it is a TransientError
        # (the API answers 503, try again), as the low-level paths' throttles are
        stub.add_client_error("get_item", "ProvisionedThroughputExceededException", "slow down")
        with pytest.raises(TransientError, match="ProvisionedThroughputExceededException"):
            tables.get(model, "t1")
        # AND a condition that fails is not transient: create says the key is taken
        stub.add_client_error("put_item", "ConditionalCheckFailedException", "taken")
        values = {"id": "t1", "status": "CREATED", "account_id": "a1"}
        assert tables.create(model, {**values, "created_at": T, "updated_at": T}) is False


def stubbed_client():
    """A client for a Stubber: nothing listens at its endpoint."""
    return boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:1",
        aws_access_key_id="k",
        aws_secret_access_key="s",
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture
def tpl_tables():
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**template().create_table_kwargs("TransactionsTable", None))
        yield client


T = "2026-01-02T03:04:05.000Z"


def test_an_account_with_its_exactly_once_state_stays_under_one_write_unit():
    """1 KB is one write unit: the account's dedupe state must leave room for its fields."""
    item = tables.to_item(
        Accounts,
        {
            "id": "f" * 32,
            "name": "N" * 120,
            "number": "PL" + "9" * 30,
            "type": "root",
            "status": "blocked",
            "fraud_count": 123456,
            "created_at": "2026-11-29T12:00:00.000Z",
            "updated_at": "2026-11-29T12:00:00.000Z",
            "blocked_at": "2026-11-29T12:00:00.000Z",
            "version": 1234567,
            "applied_offsets": {"transaction-service-topic-11": 12345678901},
            "recent_events": b"x" * (RECENT_EVENTS * DIGEST_BYTES),
        },
    )
    assert item_size(item) < 1024
