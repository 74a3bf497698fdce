"""The pynamodb models are the item schema: they and template.yaml's tables agree, both ways."""

from __future__ import annotations

import pytest
from pynamodb.attributes import TTLAttribute
from pynamodb.models import Model

from bench.units import item_size
from eventflow import tables
from eventflow.consumer.tables import DeadLetters
from eventflow.fraud.rules import DIGEST_BYTES, RECENT_EVENTS
from eventflow.fraud.tables import Accounts, Outbox, Transactions
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


def test_bind_points_a_model_at_the_deployed_table_and_the_endpoint(monkeypatch):
    class Probe(Model):
        class Meta:
            table_name = "ProbeTable"

    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:1")
    tables.bind(Probe, "stack-ProbeTable-ABC")
    assert (Probe.Meta.table_name, Probe.Meta.host) == (
        "stack-ProbeTable-ABC",
        "http://127.0.0.1:1",
    )


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
