"""template.yaml is the single source of truth: the code, the events and the tests agree with it."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import template

ROOT = Path(__file__).resolve().parents[2]
FRAUD_ROUTES = {
    ("POST", "/accounts"),
    ("GET", "/accounts"),
    ("GET", "/accounts/{id}"),
    ("PATCH", "/accounts/{id}"),
    ("DELETE", "/accounts/{id}"),
    ("POST", "/transactions"),
    ("GET", "/transactions"),
    ("GET", "/transactions/{id}"),
    ("POST", "/transactions/{id}/fraud"),
}


@pytest.fixture(scope="module")
def tpl():
    return template()


def test_every_function_has_its_handler_on_python313(tpl):
    for fn in tpl.functions().values():
        assert fn.runtime == "python3.13", fn.logical_id
        assert fn.module_file.is_file(), f"{fn.logical_id}: {fn.module_file} missing"
        tree = ast.parse(fn.module_file.read_text())
        names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert fn.handler_name in names, f"{fn.logical_id} has no {fn.handler_name}"
        assert fn.code_uri.parent == ROOT / "functions"


def rest_routes(tpl: Any) -> dict[tuple[str, str], str | None]:
    """(method, path) -> function of the deployed REST APIs' methods."""
    from eventflow_local.apigw.plan import plan_api

    return {(o.method, o.path): o.function for o in plan_api(tpl, set(tpl.functions())).operations}


def test_fraud_routes_are_declared(tpl):
    assert set(rest_routes(tpl)) >= FRAUD_ROUTES


def test_table_variables_point_at_tables_of_the_template(tpl):
    tables = set(tpl.tables())
    for fn in tpl.functions().values():
        for var, value in fn.environment.items():
            if var.endswith("_TABLE"):
                assert value in tables, f"{fn.logical_id}: {var}={value}"


def _statements(policies):
    for policy in policies or []:
        if isinstance(policy, dict):
            yield from policy.get("Statement", [])


def test_no_wildcard_action_on_wildcard_resource(tpl):
    for fn in tpl.functions().values():
        for st in _statements(fn.properties.get("Policies")):
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            assert not any(a == "*" or a.endswith(":*") for a in actions), (fn.logical_id, actions)
            assert "*" not in resources or all(
                a.startswith(("xray:", "ec2:", "logs:")) for a in actions
            ), (fn.logical_id, st)


def test_msk_consumer_event_source(tpl):
    fn = tpl.functions()["AccountConsumerFunction"]
    [ev] = fn.events_of("MSK")
    p = ev.properties
    assert p["Topics"] == ["transaction-service-topic"]
    assert p["ConsumerGroupId"] == "account-group"
    assert p["StartingPosition"] == "TRIM_HORIZON"
    assert p["BatchSize"] == 100 and p["MaximumBatchingWindowInSeconds"] == 1
    assert p["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert p["DestinationConfig"]["OnFailure"]["Destination"].startswith("arn:aws:sqs:")
    assert "AccountConsumerSelfManagedFunction" not in tpl.functions()


def test_self_managed_kafka_is_a_parameter_away():
    tpl = template(
        KafkaMode="SelfManaged",
        KafkaBootstrapServers="b1:9092,b2:9092",
        SubnetIds="subnet-1",
        SecurityGroupIds="sg-1",
        KafkaAuth="SCRAM",
        KafkaScramSecretArn="arn:aws:secretsmanager:us-east-1:123456789012:secret:kafka",
    )
    fns = tpl.functions()
    assert "AccountConsumerFunction" not in fns
    [ev] = fns["AccountConsumerSelfManagedFunction"].events_of("SelfManagedKafka")
    assert ev.properties["KafkaBootstrapServers"] == ["b1:9092", "b2:9092"]
    assert ev.properties["ConsumerGroupId"] == "account-group"
    assert {c["Type"] for c in ev.properties["SourceAccessConfigurations"]} == {
        "VPC_SUBNET",
        "VPC_SECURITY_GROUP",
        "SASL_SCRAM_512_AUTH",
    }


def test_outbox_stream_feeds_the_relay(tpl):
    assert (
        tpl.create_table_kwargs("OutboxTable")["StreamSpecification"]["StreamViewType"]
        == "NEW_IMAGE"
    )
    [ev] = tpl.functions()["OutboxRelayFunction"].events_of("DynamoDB")
    assert (
        ev.properties["Stream"] == "OutboxTable.StreamArn"
        or "OutboxTable" in ev.properties["Stream"]
    )
    assert ev.properties["MaximumRetryAttempts"] == -1


def test_api_event_files_match_template_routes(tpl):
    routes = rest_routes(tpl)
    files = [p for p in (ROOT / "events").glob("*.json") if "httpMethod" in p.read_text()]
    assert files
    for path in files:
        event = json.loads(path.read_text())
        assert (event["httpMethod"], event["resource"]) in routes, path.name


def test_outputs_name_the_api_and_tables(tpl):
    outputs = tpl.doc["Outputs"]
    assert "ApiUrl" in outputs
    for table in ("Accounts", "Transactions", "Outbox", "DeadLetter"):
        assert f"{table}TableName" in outputs
