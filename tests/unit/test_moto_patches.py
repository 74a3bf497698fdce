"""The embedded emulator's TransactWriteItems answers like moto's own, without copying tables;
the patches live in the harness's moto server process only, never in a test's ``mock_aws``."""

from __future__ import annotations

import boto3
import moto.dynamodb.responses as responses
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from eventflow_local.services import moto_patches
from eventflow_local.services.dynamodb import DynamoEndpoint

ORIGINAL = DynamoDBBackend.transact_write_items
ORIGINAL_CONDITION = responses.create_condition_expression_parser
ORIGINAL_UPDATE_PARSER = responses.UpdateExpressionParser


def restore() -> None:
    DynamoDBBackend.transact_write_items = ORIGINAL  # type: ignore[method-assign]
    responses.create_condition_expression_parser = ORIGINAL_CONDITION
    responses.UpdateExpressionParser = ORIGINAL_UPDATE_PARSER
    moto_patches._APPLIED = False


def scenario(client) -> list:
    """Run the same transactions and return everything a caller can observe."""
    client.create_table(
        TableName="t",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    seen = []

    def run(items):
        try:
            client.transact_write_items(TransactItems=items)
            seen.append("ok")
        except ClientError as exc:
            seen.append((exc.response["Error"]["Code"], exc.response.get("CancellationReasons")))

    put = lambda k, **c: {"Put": {"TableName": "t", "Item": {"id": {"S": k}, "n": {"N": "1"}}, **c}}  # noqa: E731
    run([put("a"), put("b")])
    run(
        [
            put("a", ConditionExpression="attribute_not_exists(id)"),
            put("c"),
            put("b", ConditionExpression="attribute_not_exists(id)"),
        ]
    )
    run(
        [
            {
                "Update": {
                    "TableName": "t",
                    "Key": {"id": {"S": "a"}},
                    "UpdateExpression": "SET n = :v",
                    "ConditionExpression": "n = :two",
                    "ExpressionAttributeValues": {":v": {"N": "5"}, ":two": {"N": "2"}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        ]
    )
    run([put("d"), put("d")])
    run(
        [
            {
                "Update": {
                    "TableName": "t",
                    "Key": {"id": {"S": "a"}},
                    "UpdateExpression": "ADD n :v",
                    "ExpressionAttributeValues": {":v": {"N": "2"}},
                }
            },
            {"Delete": {"TableName": "t", "Key": {"id": {"S": "b"}}}},
        ]
    )
    for _ in range(2):  # the same condition and update text again: parsed once, same answers
        run([put("a", ConditionExpression="attribute_not_exists(id)")])
        run(
            [
                {
                    "Update": {
                        "TableName": "t",
                        "Key": {"id": {"S": "a"}},
                        "UpdateExpression": "SET #n = :v",
                        "ConditionExpression": "#n = :old",
                        "ExpressionAttributeNames": {"#n": "n"},
                        "ExpressionAttributeValues": {":v": {"N": "9"}, ":old": {"N": "8"}},
                    }
                }
            ]
        )
        run(
            [
                {
                    "Update": {
                        "TableName": "t",
                        "Key": {"id": {"S": "a"}},
                        "UpdateExpression": "SET n = = :v",
                        "ExpressionAttributeValues": {":v": {"N": "1"}},
                    }
                }
            ]
        )
        run(
            [
                put(
                    "f",
                    ConditionExpression="attribute_not_exists(id)",
                    ExpressionAttributeNames={"#unused": "x"},
                )
            ]
        )
        names = {"#n": "n", "#m": "m"}
    values = {":v": {"N": "7"}, ":w": {"S": "x"}}
    for key in ("a", "zz"):  # an existing item, and an upsert
        run(
            [
                {
                    "Update": {
                        "TableName": "t",
                        "Key": {"id": {"S": key}},
                        "UpdateExpression": "SET #n = :v, #m = :w",
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                }
            ]
        )
    seen.append(
        sorted(
            sorted((k, str(v)) for k, v in i.items()) for i in client.scan(TableName="t")["Items"]
        )
    )
    seen.append(sorted((i["id"]["S"], i["n"]["N"]) for i in client.scan(TableName="t")["Items"]))
    return seen


def observe(patched: bool) -> list:
    restore()
    if patched:
        moto_patches.apply()
    try:
        with mock_aws():
            return scenario(boto3.client("dynamodb", region_name="us-east-1"))
    finally:
        restore()


def test_same_answers_as_moto():
    expected = observe(patched=False)
    assert expected[-1] == [("a", "7"), ("zz", "7")]  # b deleted, c never written, zz upserted
    assert observe(patched=True) == expected


def test_the_patch_does_not_copy_tables(monkeypatch):
    import copy

    calls = []
    real = copy.deepcopy
    monkeypatch.setattr(
        copy, "deepcopy", lambda x, *a: calls.append(type(x).__name__) or real(x, *a)
    )
    observe(patched=True)
    assert "Table" not in calls


def test_the_harness_server_answers_as_stock_moto():
    expected = observe(patched=False)
    endpoint = DynamoEndpoint.embedded()
    try:
        assert scenario(endpoint.dynamodb()) == expected
    finally:
        endpoint.stop()


def test_mock_aws_beside_a_running_harness_is_stock_moto(monkeypatch):
    # GIVEN a running harness server with a table of its own
    endpoint = DynamoEndpoint.embedded()
    try:
        harness = endpoint.dynamodb()
        harness.create_table(
            TableName="harness-table",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        import copy

        calls = []
        real = copy.deepcopy
        monkeypatch.setattr(
            copy, "deepcopy", lambda x, *a: calls.append(type(x).__name__) or real(x, *a)
        )
        # WHEN a test of the same process uses mock_aws
        with mock_aws():
            client = boto3.client("dynamodb", region_name="us-east-1")
            # THEN it gets moto as released: its own code, its own (empty) data ...
            assert DynamoDBBackend.transact_write_items is ORIGINAL
            assert responses.create_condition_expression_parser is ORIGINAL_CONDITION
            assert responses.UpdateExpressionParser is ORIGINAL_UPDATE_PARSER
            assert client.list_tables()["TableNames"] == []
            scenario(client)
        # ... whose transactions copy whole tables, as stock moto 5 does
        assert "Table" in calls
        # AND mock_aws resetting its backends did not touch the harness's tables
        assert harness.list_tables()["TableNames"] == ["harness-table"]
    finally:
        endpoint.stop()


@pytest.fixture(autouse=True)
def _restore():
    yield
    restore()
