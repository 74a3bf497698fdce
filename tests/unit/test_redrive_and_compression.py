"""The redrive route and the compression setting, as deployed and as read from the environment."""

from __future__ import annotations

import pytest

from eventflow.config import ConfigurationError, KafkaSettings
from eventflow.consumer.deadletter import DeadLetterItem
from eventflow.consumer.redrive import LETTER_ID, caller_identity, message_of
from tests.support import template
from tests.unit.test_template_security import transformed

PARAMS = {"KafkaAuth": "IAM"}


@pytest.fixture(autouse=True)
def _region(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def _role_statements(out: dict, role: str) -> list[dict]:
    statements = []
    for policy in out["Resources"][role]["Properties"].get("Policies", []):
        branches = policy["Fn::If"][1:] if "Fn::If" in policy else [policy]
        for branch in branches:
            if isinstance(branch, dict) and "PolicyDocument" in branch:
                statements += branch["PolicyDocument"]["Statement"]
    return statements


def test_the_redrive_route_is_a_protected_write_route():
    # GIVEN the template WHEN its routes are read THEN redrive is a POST of the dead-letter API
    from eventflow_local.apigw.plan import plan_api

    tpl = template()
    routes = {(o.method, o.path): o for o in plan_api(tpl, set(tpl.functions())).operations}
    route = routes[("POST", "/dead-letters/{id}/redrive")]
    assert route.function == "DeadLettersApiFunction"
    # no Authorizer: NONE, so the API's default authorizer guards it like every write route
    # (test_template_security checks the translated API in each ApiAuth mode)
    assert route.auth.authorizer is not None


def test_the_redrive_role_reads_and_claims_letters_and_writes_only_the_parked_topics():
    # GIVEN the template deployed with MSK IAM WHEN SAM translates it
    out = transformed(**PARAMS)
    statements = _role_statements(out, "DeadLettersApiFunctionRole")
    by_action = {a: st for st in statements for a in st["Action"]}
    # THEN the table is read by key and updated (the conditional claim), nothing more
    assert by_action["dynamodb:GetItem"]["Resource"] == {"Fn::GetAtt": ["DeadLetterTable", "Arn"]}
    assert "dynamodb:UpdateItem" in by_action and "dynamodb:PutItem" not in by_action
    assert "dynamodb:DeleteItem" not in by_action
    # AND Kafka: connect and write, on the two topics the consumers park records from
    assert by_action["kafka-cluster:Connect"]["Resource"] == {"Ref": "MskClusterArn"}
    write = by_action["kafka-cluster:WriteData"]
    assert len(write["Resource"]) == 2
    text = str(write["Resource"])
    assert "TransactionsTopic" in text and "QuakesTopic" in text
    assert not any(a.startswith("kafka-cluster:Read") for a in by_action)


def test_every_producer_gets_the_compression_parameter():
    tpl = template(KafkaCompression="zstd")
    for lid in ("OutboxRelayFunction", "QuakeEmitterFunction", "DeadLettersApiFunction"):
        assert tpl.functions()[lid].environment["KAFKA_COMPRESSION"] == "zstd"


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd", "LZ4"])
def test_compression_accepts_the_codecs(codec):
    env = {"KAFKA_BOOTSTRAP_SERVERS": "b:9092", "KAFKA_COMPRESSION": codec}
    assert KafkaSettings.from_env(env).compression == codec.lower()


def test_compression_defaults_to_none_and_names_a_bad_value():
    assert KafkaSettings.from_env({"KAFKA_BOOTSTRAP_SERVERS": "b:9092"}).compression == "none"
    with pytest.raises(ConfigurationError) as caught:
        KafkaSettings.from_env({"KAFKA_BOOTSTRAP_SERVERS": "b:9092", "KAFKA_COMPRESSION": "brotli"})
    assert str(caught.value) == (
        "environment variable KAFKA_COMPRESSION must be one of none, gzip, snappy, lz4, zstd, "
        "got 'brotli'"
    )


@pytest.mark.parametrize(
    ("context", "who"),
    [
        ({"authorizer": {"principalId": "token-user"}}, "token-user"),
        ({"authorizer": {"claims": {"cognito:username": "ann", "sub": "1"}}}, "ann"),
        ({"authorizer": {"claims": {"sub": "uuid-1"}}}, "uuid-1"),
        ({"identity": {"userArn": "arn:aws:iam::1:user/ops"}}, "arn:aws:iam::1:user/ops"),
        ({"identity": {"caller": "AIDAEXAMPLE"}}, "AIDAEXAMPLE"),
        ({}, "anonymous"),
    ],
)
def test_the_caller_is_named_by_whichever_authorizer_ran(context, who):
    assert caller_identity({"requestContext": context}) == who


def test_letter_ids_are_topic_partition_at_offset():
    assert LETTER_ID.match("transaction-service-topic-2@15")
    assert LETTER_ID.match("a.b_c-0@0")
    assert not LETTER_ID.match("transaction-service-topic@15")
    assert not LETTER_ID.match("../etc-1@2")


def test_a_parked_item_becomes_the_original_message():
    item = DeadLetterItem(
        id="t-0@1",
        failedAt="2026-01-01T00:00:00.000Z",
        reason="MALFORMED",
        message="not JSON",
        function="f",
        topic="t",
        partition=0,
        offset=1,
        timestamp=0,
        key="YQ==",
        value="",
        valueSize=0,
        valueTruncated=False,
        valueSha256="",
        valueNull=True,
        headers=[{"name": "h", "value": "/w=="}],
        expiresAt=0,
    )
    msg = message_of(item)
    assert (msg.topic, msg.key, msg.value, list(msg.headers)) == ("t", b"a", None, [("h", b"\xff")])
