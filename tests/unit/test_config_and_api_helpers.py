from __future__ import annotations

import pytest

from eventflow.api import decode_token, encode_token
from eventflow.config import ConfigurationError, KafkaSettings
from eventflow.errors import InvalidRequestError
from eventflow.fraud.settings import FraudSettings

BASE = {
    "ACCOUNTS_TABLE": "a",
    "TRANSACTIONS_TABLE": "t",
    "OUTBOX_TABLE": "o",
    "DEAD_LETTER_TABLE": "d",
}


def test_missing_variable_is_named():
    with pytest.raises(ConfigurationError, match="ACCOUNTS_TABLE"):
        FraudSettings.from_env({"TRANSACTIONS_TABLE": "t"})
    for name in BASE:  # every table is required: no placeholder defaults
        with pytest.raises(ConfigurationError, match=f"{name} is required"):
            FraudSettings.from_env({k: v for k, v in BASE.items() if k != name})


def test_bad_integer_is_named_with_its_value():
    with pytest.raises(ConfigurationError, match=r"FRAUD_BLOCK_THRESHOLD.*'three'"):
        FraudSettings.from_env({**BASE, "FRAUD_BLOCK_THRESHOLD": "three"})
    with pytest.raises(ConfigurationError, match="FRAUD_BLOCK_THRESHOLD must be >= 1"):
        FraudSettings.from_env({**BASE, "FRAUD_BLOCK_THRESHOLD": "0"})


def test_defaults_follow_the_seed():
    s = FraudSettings.from_env(BASE)
    assert (s.transactions_topic, s.block_threshold) == ("transaction-service-topic", 3)


def test_kafka_auth_is_checked():
    with pytest.raises(ConfigurationError, match="KAFKA_BOOTSTRAP_SERVERS"):
        KafkaSettings.from_env({})
    with pytest.raises(ConfigurationError, match="KAFKA_AUTH"):
        KafkaSettings.from_env({"KAFKA_BOOTSTRAP_SERVERS": "h:1", "KAFKA_AUTH": "kerberos"})
    with pytest.raises(ConfigurationError, match="KAFKA_SCRAM_SECRET_ARN"):
        KafkaSettings.from_env({"KAFKA_BOOTSTRAP_SERVERS": "h:1", "KAFKA_AUTH": "SCRAM"})
    assert KafkaSettings.from_env({"KAFKA_BOOTSTRAP_SERVERS": "h:1"}).auth == "NONE"


def test_page_tokens_round_trip_and_reject_garbage():
    key = {"id": "abc", "listKey": "ACCOUNT", "createdAt": "2026-01-01T00:00:00.000Z"}
    assert decode_token(encode_token(key)) == key
    assert encode_token(None) is None
    for bad in ("!!!", "bm90IGpzb24", "WzEsMl0"):  # not base64, not JSON, JSON list
        with pytest.raises(InvalidRequestError, match="nextToken"):
            decode_token(bad)
