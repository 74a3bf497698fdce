"""Parsing the Lambda Kafka event: AWS's shape, edge cases, partial batch responses."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    KafkaMskEventModel,
    KafkaSelfManagedEventModel,
)

from eventflow.kafka.events import (
    MalformedEventError,
    batch_item_failures,
    decode_headers,
    parse_kafka_event,
    split_partition_key,
)
from eventflow_local.events.kafka import RawRecord, kafka_event, signed_bytes

EVENTS = Path(__file__).resolve().parents[2] / "events"


def test_topic_names_with_dashes_split_on_the_last_dash():
    assert split_partition_key("transaction-service-topic-12") == ("transaction-service-topic", 12)
    with pytest.raises(MalformedEventError):
        split_partition_key("nodash")


def test_headers_are_java_signed_bytes_and_round_trip():
    raw = [("h", bytes([104, 101, 195, 171])), ("bin", bytes([0, 255, 128, 127]))]
    encoded = [{name: signed_bytes(value)} for name, value in raw]  # as the harness sends them
    assert encoded[0] == {"h": [104, 101, -61, -85]}
    assert decode_headers(encoded) == tuple(raw)


def test_the_event_files_match_powertools_models_and_parse():
    msk = json.loads((EVENTS / "account_consumer_msk.json").read_text())
    smk = json.loads((EVENTS / "account_consumer_self_managed.json").read_text())
    KafkaMskEventModel.model_validate(msk)
    KafkaSelfManagedEventModel.model_validate(smk)
    batch = parse_kafka_event(msk)
    rec = batch.records[0]
    assert (rec.topic, rec.partition, rec.offset) == ("transaction-service-topic", 0, 15)
    assert rec.key == b"662c081370bd2ba6b5f04e94"
    assert rec.json_value()["status"] == "FRAUD"
    assert rec.header("eventType") == b"TransactionMarkedFraud"
    assert parse_kafka_event(smk).event_source == "SelfManagedKafka"


def test_records_keep_partition_order_and_null_keys():
    recs = [RawRecord("t-x", 1, off, b"{}") for off in (5, 6, 7)] + [
        RawRecord("t-x", 0, 3, b"{}", key=None)
    ]
    batch = parse_kafka_event(kafka_event(recs))
    assert [(r.partition, r.offset) for r in batch.records] == [(1, 5), (1, 6), (1, 7), (0, 3)]
    assert batch.records[-1].key is None


def test_bad_base64_and_bad_json_are_record_level_errors_not_crashes():
    event = kafka_event([RawRecord("t", 0, 1, b"x")])
    event["records"]["t-0"][0]["value"] = "%%%not-base64"
    rec = parse_kafka_event(event).records[0]
    with pytest.raises(ValueError, match="base64"):
        rec.json_value()
    rec2 = parse_kafka_event(kafka_event([RawRecord("t", 0, 2, b"{nope")])).records[0]
    with pytest.raises(ValueError, match="not valid JSON"):
        rec2.json_value()
    rec3 = parse_kafka_event(kafka_event([RawRecord("t", 0, 3, b"")])).records[0]
    with pytest.raises(ValueError, match="empty"):
        rec3.json_value()
    rec4 = parse_kafka_event(kafka_event([RawRecord("t", 0, 4, b"\xff\xfe")])).records[0]
    with pytest.raises(ValueError, match="UTF-8"):
        rec4.json_value()


def test_non_kafka_payloads_are_rejected_clearly():
    with pytest.raises(MalformedEventError, match="records"):
        parse_kafka_event({"Records": []})
    with pytest.raises(MalformedEventError, match="eventSource"):
        parse_kafka_event({"eventSource": "aws:sqs", "records": {}})


def test_partial_batch_response_names_the_first_failed_offset_per_partition():
    recs = parse_kafka_event(
        kafka_event(
            [RawRecord("a-b", 0, o, b"{}") for o in (9, 7, 8)] + [RawRecord("a-b", 2, 4, b"{}")]
        )
    ).records
    assert batch_item_failures(recs) == {
        "batchItemFailures": [
            {"itemIdentifier": {"partition": "a-b-0", "offset": 7}},
            {"itemIdentifier": {"partition": "a-b-2", "offset": 4}},
        ]
    }
    assert batch_item_failures([]) == {"batchItemFailures": []}


def test_values_are_base64_in_the_event():
    event = kafka_event([RawRecord("t", 0, 1, b'{"a":1}', key=b"k")])
    rec = event["records"]["t-0"][0]
    assert base64.b64decode(rec["value"]) == b'{"a":1}'
    assert base64.b64decode(rec["key"]) == b"k"
