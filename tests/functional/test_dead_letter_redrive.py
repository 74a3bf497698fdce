"""POST /dead-letters/{id}/redrive: a parked record goes back to its topic, whole and once.

The account consumer parks records (moto DynamoDB from template.yaml); the dead-letter API
function, loaded as Lambda loads it, republishes them to a real embedded broker, where a separate
consumer reads them back byte for byte.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote

import pytest

from eventflow.consumer.deadletter import MAX_VALUE_BYTES, DeadLetterItem, DeadLetterStore
from eventflow.consumer.redrive import Redriver
from eventflow_local.events.apigateway import api_event
from eventflow_local.events.kafka import RawRecord, kafka_event
from eventflow_local.services.broker import ensure_topics, free_port
from tests.functional.broker_support import broker, fresh_settings, read_back
from tests.support import Function

__all__ = ["broker", "fresh_settings"]  # fixtures used by the tests below
HEADERS = (("eventId", b"e-1"), ("trace", b"\x00\xff\xfe binary"))


@pytest.fixture
def topic(broker: str) -> str:
    """A topic of this test's own (the consumer parks records of any topic)."""
    name = f"transactions-{uuid.uuid4().hex[:8]}"
    ensure_topics(broker, {name: 3})
    return name


@pytest.fixture
def dead_letters(tpl, aws, broker) -> Function:
    return Function(tpl, "DeadLettersApiFunction", {"KAFKA_BOOTSTRAP_SERVERS": broker})


@pytest.fixture
def park(tpl, aws):
    """``park(RawRecord, ...)`` runs the account consumer on them; they are parked as poison."""
    consumer = Function(tpl, "AccountConsumerFunction")

    def run(*records: RawRecord) -> None:
        event = kafka_event(list(records))
        for rec, entry in zip(records, _entries(event), strict=True):
            if rec.value is None:
                entry["value"] = None  # a tombstone: no value at all, not an empty one
        assert consumer(event) == {"batchItemFailures": []}

    return run


def _entries(event: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry for entries in event["records"].values() for entry in entries]


def redrive(fn: Function, letter_id: str, principal: str = "ops-alice") -> tuple[int, Any]:
    path = f"/dead-letters/{quote(letter_id, safe='')}/redrive"
    event = api_event(
        "POST",
        path,
        resource="/dead-letters/{id}/redrive",
        path_parameters={"id": quote(letter_id, safe="")},
        authorizer={"principalId": principal},
    )
    resp = fn(event)
    return resp["statusCode"], json.loads(resp["body"])


def item(aws, letter_id: str) -> DeadLetterItem:
    found = DeadLetterStore("DeadLetterTable", client=aws).get(letter_id)
    assert found is not None
    return found


def test_a_parked_record_is_republished_whole_and_marked(dead_letters, park, aws, broker, topic):
    # GIVEN a record the consumer parked: a key, a value of the wrong shape, binary headers
    park(RawRecord(topic, 1, 7, b'{"hello": "world"}', key=b"acct-1", headers=HEADERS))
    # WHEN an operator redrives it
    code, body = redrive(dead_letters, f"{topic}-1@7")
    # THEN it is on its topic again with the same key, value and headers
    assert code == 200, body
    [record] = read_back(broker, topic, 1)
    assert (record.key, record.value) == (b"acct-1", b'{"hello": "world"}')
    assert list(record.headers) == list(HEADERS)
    # AND the parked item says when and by whom
    assert body["redrivenBy"] == "ops-alice" and body["redrivenAt"].endswith("Z")
    stored = item(aws, f"{topic}-1@7")
    assert (stored.redrivenAt, stored.redrivenBy) == (body["redrivenAt"], "ops-alice")


def test_a_second_redrive_answers_409_and_publishes_nothing(dead_letters, park, broker, topic):
    # GIVEN a parked record redriven once
    park(RawRecord(topic, 0, 3, b"{not json", key=b"acct-2"))
    assert redrive(dead_letters, f"{topic}-0@3")[0] == 200
    # WHEN it is redriven again, by someone else
    code, body = redrive(dead_letters, f"{topic}-0@3", principal="ops-bob")
    # THEN 409 names when and by whom it was redriven, and the topic holds one copy
    assert code == 409
    assert body["message"].startswith(f"dead letter {topic}-0@3 was already redriven at ")
    assert body["message"].endswith(" by ops-alice")
    assert body["redrivenBy"] == "ops-alice"
    assert len(read_back(broker, topic, 0)) == 1


def test_a_redrive_that_loses_the_race_publishes_nothing(aws, park, broker, topic):
    # GIVEN a parked record another caller claims between our read and our write
    park(RawRecord(topic, 2, 9, b"[1]"))
    store = DeadLetterStore("DeadLetterTable", client=aws)
    sent: list[Any] = []

    class Racing(DeadLetterStore):
        def claim_redrive(self, letter_id: str, at: str, by: str) -> bool:
            assert store.claim_redrive(letter_id, "2026-01-01T00:00:00.000Z", "winner")
            return super().claim_redrive(letter_id, at, by)

    class Recorder:
        def publish(self, messages: Any, timeout_s: float = 20.0) -> int:
            sent.extend(messages)
            return len(sent)

    redriver = Redriver(Racing("DeadLetterTable", client=aws), Recorder())
    # WHEN we redrive it
    with pytest.raises(Exception) as caught:
        redriver.redrive(f"{topic}-2@9", "loser")
    # THEN the conditional write refuses us, naming the winner, and nothing is published
    assert getattr(caught.value, "status_code", None) == 409
    assert "by winner" in str(caught.value)
    assert sent == []


def test_a_tombstone_is_redriven_as_a_tombstone(dead_letters, park, broker, topic):
    # GIVEN a parked tombstone: a key and a null value
    park(RawRecord(topic, 0, 11, None, key=b"acct-3"))
    # WHEN it is redriven
    code, body = redrive(dead_letters, f"{topic}-0@11")
    # THEN the topic holds a tombstone again, not an empty value
    assert code == 200, body
    [record] = read_back(broker, topic, 1)
    assert (record.key, record.value) == (b"acct-3", None)


def test_a_record_without_key_or_value_is_refused(dead_letters, park, aws, topic):
    # GIVEN a parked record with neither key nor value
    park(RawRecord(topic, 0, 12, None))
    # WHEN it is redriven
    code, body = redrive(dead_letters, f"{topic}-0@12")
    # THEN 409 says there is nothing to send, and it is not marked
    assert code == 409 and "neither key nor value" in body["message"]
    assert item(aws, f"{topic}-0@12").redrivenAt is None


def test_a_failed_publish_releases_the_claim(tpl, aws, park, dead_letters, broker, topic):
    # GIVEN a parked record and a dead-letter API whose KAFKA_BOOTSTRAP_SERVERS is wrong
    park(RawRecord(topic, 1, 5, b"oops"))
    wrong = Function(
        tpl, "DeadLettersApiFunction", {"KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}"}
    )
    # WHEN it redrives the record
    code, body = redrive(wrong, f"{topic}-1@5")
    # THEN 503 names the setting, the record is not marked, and a later redrive works
    assert code == 503 and "KAFKA_BOOTSTRAP_SERVERS" in body["message"]
    assert item(aws, f"{topic}-1@5").redrivenAt is None
    from eventflow.config import kafka_settings

    kafka_settings.cache_clear()
    assert redrive(dead_letters, f"{topic}-1@5")[0] == 200
    assert [r.value for r in read_back(broker, topic, 1)] == [b"oops"]


def test_a_truncated_value_cannot_be_redriven(dead_letters, park, aws, topic):
    # GIVEN a parked record whose value was over what the table keeps
    park(RawRecord(topic, 0, 1, b"x" * (MAX_VALUE_BYTES + 1)))
    # WHEN it is redriven
    code, body = redrive(dead_letters, f"{topic}-0@1")
    # THEN 409 says why and nothing is marked
    assert code == 409
    assert "was truncated when it was parked" in body["message"]
    assert item(aws, f"{topic}-0@1").redrivenAt is None


def test_unknown_and_malformed_ids(dead_letters, topic):
    assert redrive(dead_letters, f"{topic}-0@404")[0] == 404
    code, body = redrive(dead_letters, "not-a-letter")
    assert code == 422 and "id" in body["message"]
