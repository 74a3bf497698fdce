"""Kinesis event source configuration and filters ("Kinesis event source mapping parameters",
"Using event filtering with a Kinesis event source") and the stream's CreateStream request."""

from __future__ import annotations

import pytest

from eventflow_local.eventsources.config import EsmConfigError, parse_config
from eventflow_local.services.kinesis import create_request

STREAM = "arn:aws:kinesis:us-east-1:123456789012:stream/readings"


def test_at_timestamp_is_a_kinesis_starting_position_but_not_a_dynamodb_one():
    # GIVEN a Kinesis and a DynamoDB event starting AT_TIMESTAMP
    props = {"Stream": STREAM, "StartingPosition": "AT_TIMESTAMP", "StartingPositionTimestamp": 5}
    # WHEN parsed THEN Kinesis keeps the timestamp and DynamoDB is refused
    assert parse_config("Fn", "Ev", "Kinesis", props).starting_timestamp == 5.0
    with pytest.raises(EsmConfigError, match="StartingPosition"):
        parse_config("Fn", "Ev", "DynamoDB", props)


def test_kinesis_filters_match_json_data_only_and_only_on_the_data_key():
    # GIVEN a filter on data.kind
    criteria = {"Filters": [{"Pattern": '{"data": {"kind": ["order"]}}'}]}
    cfg = parse_config(
        "Fn",
        "Ev",
        "Kinesis",
        {"Stream": STREAM, "StartingPosition": "LATEST", "FilterCriteria": criteria},
    )
    assert cfg.filter is not None
    # THEN JSON data is matched, data that is not JSON never matches
    assert cfg.filter(b'{"kind": "order"}')
    assert not cfg.filter(b'{"kind": "test"}')
    assert not cfg.filter(b"order")
    # ... and a pattern on another key is refused at deploy
    other = {"Filters": [{"Pattern": '{"partitionKey": ["a"]}'}]}
    with pytest.raises(EsmConfigError, match="FilterCriteria"):
        parse_config(
            "Fn",
            "Ev",
            "Kinesis",
            {"Stream": STREAM, "StartingPosition": "LATEST", "FilterCriteria": other},
        )


def test_a_stream_is_provisioned_with_one_shard_unless_told_otherwise():
    assert create_request("s", {}) == {"StreamName": "s", "ShardCount": 1}
    assert create_request("s", {"ShardCount": "2"})["ShardCount"] == 2
    on_demand = create_request("s", {"StreamModeDetails": {"StreamMode": "ON_DEMAND"}})
    assert on_demand == {"StreamName": "s", "StreamModeDetails": {"StreamMode": "ON_DEMAND"}}


def test_tumbling_windows_are_named_and_the_mapping_not_started():
    cfg = parse_config(
        "Fn",
        "Ev",
        "Kinesis",
        {"Stream": STREAM, "StartingPosition": "LATEST", "TumblingWindowInSeconds": 30},
    )
    assert not cfg.enabled
    assert any("TumblingWindowInSeconds" in line for line in cfg.not_emulated)
