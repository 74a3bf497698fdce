"""Lambda's filter grammar, one implementation for Kafka values and DynamoDB stream records."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eventflow_local.eventsources.filters import FilterError, compile_filters


def kafka_filter(pattern: Any) -> Any:
    matches = compile_filters({"Filters": [{"Pattern": json.dumps({"value": pattern})}]}, "kafka")
    assert matches is not None
    return matches


ORDER = {"id": "AB-123", "status": "FRAUD", "amount": 42.5, "tags": ["blue", "red"], "c": {"d": 1}}


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        # JSON values are matched as JSON
        ({"status": ["FRAUD"]}, ORDER, True),
        ({"status": ["OK"]}, ORDER, False),
        ({"id": [{"prefix": "AB"}]}, ORDER, True),
        ({"id": [{"suffix": "123"}]}, ORDER, True),
        ({"id": [{"equals-ignore-case": "ab-123"}]}, ORDER, True),
        ({"id": [{"wildcard": "AB-*"}]}, ORDER, True),
        ({"id": [{"anything-but": {"prefix": "AB"}}]}, ORDER, False),
        ({"id": [{"anything-but": {"suffix": "9"}}]}, ORDER, True),
        ({"id": [{"anything-but": {"wildcard": "*-1*"}}]}, ORDER, False),
        ({"id": [{"anything-but": {"equals-ignore-case": ["ab-123"]}}]}, ORDER, False),
        ({"status": [{"anything-but": ["OK", "DONE"]}]}, ORDER, True),
        ({"amount": [{"numeric": [">", 40, "<=", 42.5]}]}, ORDER, True),
        ({"missing": [{"exists": False}]}, ORDER, True),
        ({"tags": ["red"]}, ORDER, True),
        ({"c": {"d": [1]}}, ORDER, True),
        ({"$or": [{"status": ["OK"]}, {"c": {"d": [1]}}]}, ORDER, True),
        ({"$or": [{"status": ["OK"]}, {"c": {"d": [2]}}]}, ORDER, False),
        # a plain-string value (not JSON) is matched as a string
        ([{"prefix": "OrderNumber"}], "OrderNumber-123", True),
        ([{"prefix": "Hello"}], "OrderNumber-123", False),
        (["plain text"], "plain text", True),
        ([{"wildcard": "Order*-1*"}], "OrderNumber-123", True),
        ([{"anything-but": ["x"]}], "OrderNumber-123", True),
        # a JSON string value is the string
        ([{"suffix": "-7"}], json.dumps("order-7"), True),
        # an object pattern does not match a plain string
        ({"status": ["FRAUD"]}, "status FRAUD", False),
    ],
)
def test_kafka_filters_match_json_values_and_plain_strings(pattern, value, expected):
    # GIVEN a Kafka filter on the value  WHEN a record's value is JSON or a plain string
    raw = value.encode() if isinstance(value, str) else json.dumps(value).encode()
    # THEN it is matched as AWS documents
    assert kafka_filter(pattern)(raw) is expected


def test_kafka_filters_never_match_missing_or_binary_values():
    matches = kafka_filter([{"prefix": ""}])
    assert matches(None) is False
    assert matches(b"") is False
    assert matches(b"\xff\xfe") is False


INSERT = {
    "eventName": "INSERT",
    "dynamodb": {
        "Keys": {"pk": {"S": "order#7"}},
        "NewImage": {"pk": {"S": "order#7"}, "qty": {"N": "3"}, "kind": {"S": "fraud"}},
    },
}
REMOVE = {"eventName": "REMOVE", "dynamodb": {"Keys": {"pk": {"S": "order#8"}}}}


@pytest.mark.parametrize(
    ("pattern", "record", "expected"),
    [
        ({"eventName": ["INSERT"]}, INSERT, True),
        ({"eventName": ["INSERT"]}, REMOVE, False),
        ({"eventName": [{"anything-but": ["REMOVE"]}]}, REMOVE, False),
        ({"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "order#"}]}}}}, REMOVE, True),
        (
            {"dynamodb": {"NewImage": {"kind": {"S": [{"equals-ignore-case": "FRAUD"}]}}}},
            INSERT,
            True,
        ),
        ({"dynamodb": {"NewImage": {"qty": {"N": ["3"]}}}}, INSERT, True),
        ({"dynamodb": {"NewImage": [{"exists": False}]}}, REMOVE, True),
        ({"dynamodb": {"NewImage": {"kind": {"S": [{"wildcard": "f*d"}]}}}}, INSERT, True),
        (
            {
                "$or": [
                    {"eventName": ["MODIFY"]},
                    {"dynamodb": {"Keys": {"pk": {"S": [{"suffix": "#8"}]}}}},
                ]
            },
            REMOVE,
            True,
        ),
    ],
)
def test_dynamodb_filters_match_the_record_in_dynamodb_json(pattern, record, expected):
    matches = compile_filters({"Filters": [{"Pattern": json.dumps(pattern)}]}, "dynamodb")
    assert matches is not None
    assert matches(record) is expected


@pytest.mark.parametrize(
    ("source", "pattern"),
    [
        ("kafka", '{"key": ["a"]}'),
        ("kafka", '{"value": {"a": "not-a-list"}}'),
        ("kafka", '{"value": [{"cidr": "10.0.0.0/8"}]}'),
        ("dynamodb", '{"eventName": [{"numeric": [">"]}]}'),
        ("dynamodb", '{"eventName": [{"wildcard": "a**b"}]}'),
        ("dynamodb", '{"$or": [{"eventName": ["INSERT"]}]}'),
        ("dynamodb", '{"eventName": [{"anything-but": {"exists": true}}]}'),
        ("dynamodb", "{nope"),
        ("dynamodb", "[]"),
    ],
)
def test_invalid_patterns_are_refused(source, pattern):
    with pytest.raises(FilterError):
        compile_filters({"Filters": [{"Pattern": pattern}]}, source)


def test_no_filters_means_everything_passes():
    assert compile_filters(None, "kafka") is None
    assert compile_filters({}, "dynamodb") is None


@pytest.mark.parametrize(
    ("topic", "value", "expected"),
    [
        ("orders-demo", b"OrderNumber-1", True),
        ("other-topic", b"OrderNumber-1", False),
        ("orders-demo", b"Invoice-1", False),
    ],
)
def test_kafka_filters_may_name_the_records_metadata(topic, value, expected):
    # GIVEN a pattern on the topic and a plain-string value, as AWS deploys and applies it
    matches = compile_filters(
        {
            "Filters": [
                {"Pattern": '{"topic": [{"prefix": "orders"}], "value": [{"prefix": "Order"}]}'}
            ]
        }
    )
    assert matches is not None
    # THEN the record matches only when both its topic and its value do
    metadata = {
        "topic": topic,
        "partition": 0,
        "offset": 1,
        "timestamp": 1,
        "timestampType": "CREATE_TIME",
    }
    assert matches(value, metadata) is expected
