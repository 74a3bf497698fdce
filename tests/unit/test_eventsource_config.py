"""Event source configuration: AWS's validation, once, for Kafka and DynamoDB stream sources."""

from __future__ import annotations

from typing import Any

import pytest

from eventflow_local.eventsources.config import EsmConfigError, parse_config

ARN = "arn:aws:kafka:us-east-1:123456789012:cluster/c/00000000-0000-0000-0000-000000000000-1"
STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/T/stream/2026-01-01T00:00:00.000"
PROVISIONED = {"ProvisionedPollerConfig": {"MinimumPollers": 1, "MaximumPollers": 2}}


def kafka(**props: Any) -> dict[str, Any]:
    return {"Stream": ARN, "Topics": ["t"], "StartingPosition": "TRIM_HORIZON", **props}


def stream(**props: Any) -> dict[str, Any]:
    return {"Stream": STREAM, "StartingPosition": "TRIM_HORIZON", **props}


def parse(event_type: str, props: dict[str, Any]) -> Any:
    return parse_config("Fn", "Ev", event_type, props)


# ----------------------------------------------------------------------------------- accepted
@pytest.mark.parametrize(
    ("event_type", "props", "attr", "expected"),
    [
        ("DynamoDB", stream(BisectBatchOnFunctionError="false"), "bisect", False),
        ("DynamoDB", stream(BisectBatchOnFunctionError="true"), "bisect", True),
        ("DynamoDB", stream(BisectBatchOnFunctionError=True), "bisect", True),
        ("DynamoDB", stream(BatchSize="10"), "batch_size", 10),
        ("DynamoDB", stream(BatchSize=10_000), "batch_size", 10_000),
        ("DynamoDB", stream(), "batching_window", 0.0),
        ("DynamoDB", stream(MaximumBatchingWindowInSeconds="300"), "batching_window", 300.0),
        ("DynamoDB", stream(MaximumRetryAttempts="-1"), "max_retries", -1),
        ("DynamoDB", stream(MaximumRecordAgeInSeconds="60"), "max_record_age", 60),
        ("DynamoDB", stream(ParallelizationFactor="1"), "parallelization_factor", 1),
        ("MSK", kafka(), "batching_window", 0.5),
        ("MSK", kafka(), "batch_size", 100),
        ("MSK", kafka(BatchSize="10000"), "batch_size", 10_000),
        ("MSK", kafka(ConsumerGroupId="g"), "group_id", "g"),
        ("MSK", kafka(StartingPosition="LATEST"), "starting_position", "LATEST"),
        ("MSK", kafka(**PROVISIONED, MaximumRetryAttempts="3"), "max_retries", 3),
        ("MSK", kafka(**PROVISIONED, BisectBatchOnFunctionError="false"), "bisect", False),
        (
            "MSK",
            kafka(DestinationConfig={"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:1:q"}}),
            "max_retries",
            10,  # infinite retries with an OnFailure destination: at most 10
        ),
        (
            "SelfManagedKafka",
            {"KafkaBootstrapServers": ["b:9092"], "Topics": ["t"]},
            "topics",
            ("t",),
        ),
    ],
)
def test_valid_properties_are_read_as_aws_reads_them(event_type, props, attr, expected):
    # GIVEN an event's properties (strings as template parameters give them)
    # WHEN parsed  THEN the value is AWS's
    assert getattr(parse(event_type, props), attr) == expected


# ----------------------------------------------------------------------------------- refused
@pytest.mark.parametrize(
    ("event_type", "props", "prop", "words"),
    [
        ("DynamoDB", stream(BatchSize=0), "BatchSize", "out of range"),
        ("DynamoDB", stream(BatchSize=10_001), "BatchSize", "out of range"),
        ("MSK", kafka(BatchSize=10_001), "BatchSize", "out of range"),
        ("DynamoDB", stream(BatchSize="ten"), "BatchSize", "integer"),
        ("DynamoDB", stream(BatchSize=True), "BatchSize", "integer"),
        (
            "DynamoDB",
            stream(BisectBatchOnFunctionError="yes"),
            "BisectBatchOnFunctionError",
            "boolean",
        ),
        (
            "DynamoDB",
            stream(MaximumBatchingWindowInSeconds=301),
            "MaximumBatchingWindowInSeconds",
            "range",
        ),
        (
            "MSK",
            kafka(MaximumBatchingWindowInSeconds=0.5),
            "MaximumBatchingWindowInSeconds",
            "integer",
        ),
        ("DynamoDB", stream(MaximumRetryAttempts=10_001), "MaximumRetryAttempts", "range"),
        ("DynamoDB", stream(MaximumRetryAttempts=-2), "MaximumRetryAttempts", "range"),
        (
            "DynamoDB",
            stream(MaximumRecordAgeInSeconds=59),
            "MaximumRecordAgeInSeconds",
            "minimum 60",
        ),
        (
            "DynamoDB",
            stream(MaximumRecordAgeInSeconds=604_801),
            "MaximumRecordAgeInSeconds",
            "range",
        ),
        ("DynamoDB", stream(ParallelizationFactor=11), "ParallelizationFactor", "range"),
        ("DynamoDB", stream(TumblingWindowInSeconds=901), "TumblingWindowInSeconds", "range"),
        ("DynamoDB", stream(StartingPosition="AT_TIMESTAMP"), "StartingPosition", "not one of"),
        ("DynamoDB", {"Stream": STREAM}, "StartingPosition", "required"),
        ("DynamoDB", stream(Topics=["t"]), "Topics", "not a property"),
        ("MSK", kafka(ParallelizationFactor=2), "ParallelizationFactor", "not a property"),
        ("MSK", kafka(TumblingWindowInSeconds=60), "TumblingWindowInSeconds", "not a property"),
        ("MSK", kafka(Topics=["a", "b"]), "Topics", "exactly one"),
        ("MSK", kafka(Topics=[]), "Topics", "exactly one"),
        ("MSK", kafka(StartingPosition="AT_TIMESTAMP"), "StartingPositionTimestamp", "required"),
        (
            "MSK",
            kafka(FunctionResponseTypes=["Nope"]),
            "FunctionResponseTypes",
            "ReportBatchItemFailures",
        ),
        ("MSK", kafka(MaximumRetryAttempts=3), "MaximumRetryAttempts", "provisioned mode"),
        (
            "MSK",
            kafka(MaximumRecordAgeInSeconds=60),
            "MaximumRecordAgeInSeconds",
            "provisioned mode",
        ),
        (
            "MSK",
            kafka(BisectBatchOnFunctionError=True),
            "BisectBatchOnFunctionError",
            "provisioned",
        ),
        (
            "MSK",
            kafka(FunctionResponseTypes=["ReportBatchItemFailures"]),
            "FunctionResponseTypes",
            "ProvisionedPollerConfig",
        ),
        (
            "MSK",
            kafka(ProvisionedPollerConfig={"MinimumPollers": 3, "MaximumPollers": 2}),
            "ProvisionedPollerConfig",
            "exceeds",
        ),
        (
            "MSK",
            kafka(FilterCriteria={"Filters": [{"Pattern": "{nope"}]}),
            "FilterCriteria",
            "JSON",
        ),
        (
            "MSK",
            kafka(FilterCriteria={"Filters": [{"Pattern": '{"key": ["a"]}'}]}),
            "FilterCriteria",
            "value",
        ),
        ("MSK", {"Topics": ["t"]}, "Stream", "required"),
        ("SelfManagedKafka", {"Topics": ["t"]}, "KafkaBootstrapServers", "required"),
    ],
)
def test_invalid_properties_are_refused_naming_function_event_property_and_reason(
    event_type, props, prop, words
):
    # GIVEN a configuration AWS refuses at deploy  WHEN parsed
    with pytest.raises(EsmConfigError) as caught:
        parse(event_type, props)
    # THEN the error names function, event, property and AWS's reason
    assert caught.value.prop == prop
    assert str(caught.value).startswith(f"Fn.Ev: {prop}: ")
    assert words in caught.value.reason


# ----------------------------------------------------------------------------------- not emulated
@pytest.mark.parametrize(
    ("event_type", "props", "words", "enabled"),
    [
        ("DynamoDB", stream(ParallelizationFactor="4"), "ParallelizationFactor", True),
        ("DynamoDB", stream(TumblingWindowInSeconds="60"), "TumblingWindowInSeconds", False),
        ("DynamoDB", stream(Enabled="false"), "Enabled is false", False),
        ("MSK", kafka(Enabled=False), "Enabled is false", False),
        (
            "MSK",
            kafka(SourceAccessConfigurations=[{"Type": "SASL_SCRAM_512_AUTH", "URI": "x"}]),
            "SourceAccessConfigurations",
            True,
        ),
        ("MSK", kafka(**PROVISIONED), "ProvisionedPollerConfig", True),
        (
            "MSK",
            kafka(SchemaRegistryConfig={"SchemaRegistryURI": "x"}),
            "SchemaRegistryConfig",
            True,
        ),
    ],
)
def test_what_the_harness_does_not_emulate_is_named(event_type, props, words, enabled):
    cfg = parse(event_type, props)
    assert any(line.startswith("Fn.Ev") and words in line for line in cfg.not_emulated)
    assert cfg.enabled is enabled
