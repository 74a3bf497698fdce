"""SNS subscription filter policies ("Amazon SNS message filtering"): on message attributes
(String, Number, String.Array) and, with FilterPolicyScope MessageBody, on the JSON body."""

from __future__ import annotations

import json

import pytest

from eventflow_local.eventsources.sns.policy import FilterError, compile_policy


def attrs(**values: object) -> dict[str, dict[str, str]]:
    out = {}
    for name, value in values.items():
        if isinstance(value, list):
            out[name] = {"Type": "String.Array", "Value": json.dumps(value)}
        elif isinstance(value, int | float):
            out[name] = {"Type": "Number", "Value": str(value)}
        else:
            out[name] = {"Type": "String", "Value": str(value)}
    return out


def on_attributes(policy: dict, **values: object) -> bool:
    predicate = compile_policy(policy, None, "Sub")
    assert predicate is not None
    return predicate("{}", attrs(**values))


@pytest.mark.parametrize(
    ("policy", "values", "expected"),
    [
        ({"color": ["red"]}, {"color": "red"}, True),
        ({"color": ["red"]}, {"color": "blue"}, False),
        ({"color": ["red"]}, {}, False),
        ({"color": [{"prefix": "bl"}]}, {"color": "blue"}, True),
        ({"color": [{"suffix": "ue"}]}, {"color": "blue"}, True),
        ({"color": [{"anything-but": ["red"]}]}, {"color": "blue"}, True),
        ({"color": [{"anything-but": ["red"]}]}, {"color": "red"}, False),
        ({"color": [{"anything-but": {"prefix": "r"}}]}, {"color": "red"}, False),
        ({"color": [{"equals-ignore-case": "RED"}]}, {"color": "red"}, True),
        ({"price": [{"numeric": [">", 100, "<=", 200]}]}, {"price": 150}, True),
        ({"price": [{"numeric": [">", 100, "<=", 200]}]}, {"price": 201}, False),
        ({"price": [301.5]}, {"price": 3.015e2}, True),
        ({"store": [{"exists": True}]}, {"store": "x"}, True),
        ({"store": [{"exists": False}]}, {}, True),
        ({"store": [{"exists": False}]}, {"store": "x"}, False),
        ({"tags": ["b"]}, {"tags": ["a", "b"]}, True),
        ({"tags": ["c"]}, {"tags": ["a", "b"]}, False),
        ({"color": ["red"], "size": ["L"]}, {"color": "red", "size": "S"}, False),
        ({"$or": [{"color": ["red"]}, {"size": ["L"]}]}, {"color": "blue", "size": "L"}, True),
        ({"$or": [{"color": ["red"]}, {"size": ["L"]}]}, {"color": "blue"}, False),
    ],
)
def test_attribute_policies_match_as_sns_does(policy, values, expected):
    # GIVEN a policy on message attributes WHEN a message with these attributes is published
    # THEN it is delivered exactly when SNS would deliver it
    assert on_attributes(policy, **values) is expected


def test_a_string_number_is_not_a_number_attribute():
    # GIVEN a numeric policy WHEN the attribute is a String THEN it does not match
    predicate = compile_policy({"price": [{"numeric": [">", 1]}]}, None, "Sub")
    assert predicate is not None
    assert not predicate("{}", {"price": {"Type": "String", "Value": "5"}})
    assert predicate("{}", {"price": {"Type": "Number", "Value": "5"}})


def test_binary_attributes_are_not_matched():
    predicate = compile_policy({"blob": [{"exists": True}]}, None, "Sub")
    assert predicate is not None
    assert not predicate("{}", {"blob": {"Type": "Binary", "Value": "AAE="}})


def test_body_policies_match_nested_keys_of_a_json_body():
    # GIVEN a policy with FilterPolicyScope MessageBody (a JSON string, as SAM passes it too)
    policy = json.dumps({"order": {"kind": ["book"], "total": [{"numeric": [">=", 10]}]}})
    predicate = compile_policy(policy, "MessageBody", "Sub")
    assert predicate is not None
    # THEN the body's nested keys decide; attributes are not looked at
    assert predicate(json.dumps({"order": {"kind": "book", "total": 12}}), {})
    assert not predicate(json.dumps({"order": {"kind": "book", "total": 2}}), attrs(kind="book"))
    # AND a body that is not JSON matches nothing
    assert not predicate("plain text", {})


@pytest.mark.parametrize(
    ("policy", "scope", "message"),
    [
        ({"a": {"b": ["x"]}}, None, "no nested keys"),
        ({"a": ["x"]}, "Body", "FilterPolicyScope"),
        ({"a": [{"unknown-op": 1}]}, None, "unsupported"),
        ({k: ["x"] for k in "abcdef"}, None, "FilterPolicyLimitExceeded"),
        ("{not json", None, "not JSON"),
    ],
)
def test_policies_sns_refuses_are_refused_with_one_line(policy, scope, message):
    with pytest.raises(FilterError, match=message):
        compile_policy(policy, scope, "Sub")


def test_no_policy_delivers_everything():
    assert compile_policy(None, None, "Sub") is None
    assert compile_policy({}, "MessageBody", "Sub") is None
