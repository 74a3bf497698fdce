"""What keeps one test from seeing another's data (``eventflow_local/testing.py``, the pytest
plugin's ``eventflow_tables`` and ``eventflow_topic_reader``): a table emptied in place on both
embedded engines, and a topic read from a reader's start."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from eventflow_local.testing import TopicReader

pytestmark = pytest.mark.integration

TEMPLATE = Path(__file__).resolve().parent.parent / "apps" / "invoke_app" / "template.yaml"


def test_tables_are_emptied_in_place_on_each_engine(
    eventflow_stack_factory: Callable[..., Any],
    dynamodb_engine: str,
    kafka_bootstrap: str,
    tmp_path: Path,
) -> None:
    # GIVEN the app on the engine, its table holding more items than one BatchWriteItem deletes
    stack = eventflow_stack_factory(
        TEMPLATE,
        fresh=True,
        dynamodb=dynamodb_engine,
        dynamodb_in_memory=dynamodb_engine == "local",
        bootstrap_servers=kafka_bootstrap,
        state_dir=tmp_path / "state",
    )
    try:
        client = stack.client("dynamodb")
        table = stack.tables["NotesTable"]
        created = client.describe_table(TableName=table)["Table"]["CreationDateTime"]
        for n in range(60):
            client.put_item(TableName=table, Item={"id": {"S": f"n{n}"}, "text": {"S": "x"}})
        assert len(stack.items("NotesTable")) == 60
        # WHEN the tables are reset
        stack.reset_tables()
        # THEN the table is empty, and still the same table (its stream, were it to have one,
        # would be the one the pollers read)
        assert stack.items("NotesTable") == []
        assert client.describe_table(TableName=table)["Table"]["CreationDateTime"] == created
        # AND the functions still write to it
        assert stack.invoke("NoteFunction", {"id": "after", "text": "y"}).ok
        assert stack.items(table) == [{"id": "after", "text": "y"}]
    finally:
        stack.stop()


def _produce(bootstrap: str, topic: str, *values: Any) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for value in values:
        producer.send(topic, json.dumps(value).encode())
    producer.flush()
    producer.close()


def test_a_reader_reads_what_was_produced_after_it_was_made(
    kafka_bootstrap: str, make_topic: Callable[..., str]
) -> None:
    # GIVEN a topic of three partitions with records, then a reader made
    old = make_topic(partitions=3)
    _produce(kafka_bootstrap, old, *({"before": n} for n in range(6)))
    reader = TopicReader(kafka_bootstrap)
    # WHEN more is produced to it, and to a topic made after the reader
    _produce(kafka_bootstrap, old, {"after": 1}, {"after": 2})
    new = make_topic()
    _produce(kafka_bootstrap, new, {"new": 1})
    # THEN the reader sees only what came after it, on every partition, and all of the new topic
    assert sorted(v["after"] for v in reader.values(old)) == [1, 2]
    assert reader.values(new) == [{"new": 1}]
    # AND a count waits for records not there yet, up to the timeout, then answers what came
    waited = reader(old, count=3, timeout=0.5)
    assert sorted(json.loads(r.value)["after"] for r in waited) == [1, 2]
