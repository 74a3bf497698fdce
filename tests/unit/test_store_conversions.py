"""Each store's one conversion between a table's item and its domain object, both ways."""

from __future__ import annotations

import pytest

from eventflow import tables
from eventflow.consumer.deadletter import MAX_VALUE_BYTES, DeadLetter, letter_item, letter_of
from eventflow.fraud.adapters.accounts import account_item, account_of
from eventflow.fraud.adapters.ledger import ledger_of
from eventflow.fraud.adapters.tables import Accounts, Outbox
from eventflow.fraud.adapters.transactions import outbox_item, transaction_item, transaction_of
from eventflow.fraud.domain.models import (
    Account,
    AccountStatus,
    AccountType,
    OutboxEvent,
    Transaction,
    TransactionStatus,
)
from eventflow.fraud.domain.rules import AccountLedger
from eventflow.kafka.events import KafkaRecord
from eventflow.quakes.adapters.catalog import alert_of, quake_of, region_of
from eventflow.quakes.adapters.items import region_item_values
from eventflow.quakes.adapters.tables import QuakeAlerts, QuakeRegions, Quakes
from eventflow.quakes.domain.models import Location, QuakeAlert, StoredQuake
from eventflow.quakes.domain.rules import RegionAggregate

T = "2026-01-02T03:04:05.678Z"


def test_an_account_survives_its_item_and_starts_at_version_zero():
    account = Account(
        id="a1",
        name="Ann",
        number="N-1",
        type=AccountType.SUB,
        status=AccountStatus.BLOCKED,
        fraudCount=2,
        createdAt=T,
        updatedAt=T,
        blockedAt=T,
    )
    item = account_item(account)
    assert item[tables.name(Accounts.list_key)] == {"S": "ACCOUNT"}
    assert (account_of(item).account, account_of(item).version) == (account, 0)


def test_an_account_item_carries_the_consumers_version():
    item = account_item(
        Account(
            id="a2",
            name="Bo",
            number="2",
            type=AccountType.ROOT,
            status=AccountStatus.NEW,
            createdAt=T,
            updatedAt=T,
        )
    )
    item[tables.name(Accounts.version)] = {"N": "7"}
    found = account_of(item)
    assert found.version == 7 and found.account.blockedAt is None


def test_a_transaction_survives_its_item_with_or_without_description():
    for description in ("lunch", None):
        txn = Transaction(
            id="t1",
            status=TransactionStatus.FRAUD,
            accountId="a1",
            description=description,
            createdAt=T,
            updatedAt=T,
        )
        assert transaction_of(transaction_item(txn)) == txn


def test_an_outbox_event_becomes_the_item_the_relay_reads():
    event = OutboxEvent("e1", "TransactionMarkedFraud", "a1", "t1", {"id": "t1"}, T, 1_800_000_000)
    row = tables.from_item(Outbox, outbox_item(event))
    assert (row.event_id, row.account_id, row.payload.as_dict()) == ("e1", "a1", {"id": "t1"})
    assert int(row.expires_at.timestamp()) == 1_800_000_000


def test_named_refuses_an_attribute_the_model_does_not_declare():
    with pytest.raises(ValueError, match="Accounts has no attribute fraudCount"):
        tables.named(Accounts, fraudCount=1)


@pytest.mark.parametrize("value", [b'{"x": 1}', None, b"v" * (MAX_VALUE_BYTES + 1)])
def test_a_parked_record_keeps_its_bytes_through_the_item(value):
    record = KafkaRecord(
        "topic", 2, 9, 1_700_000_000_000, "CREATE_TIME", b"k", value, (("h", b"\xff"),)
    )
    letter = letter_of(letter_item(DeadLetter(record, "MALFORMED", "bad"), "fn"))
    assert (letter.id, letter.topic, letter.partition, letter.offset) == (
        "topic-2@9",
        "topic",
        2,
        9,
    )
    assert (letter.key, letter.valueNull, letter.function) == ("aw==", value is None, "fn")
    assert letter.valueTruncated == (len(value or b"") > MAX_VALUE_BYTES)
    assert letter.headers == [{"name": "h", "value": "/w=="}]
    assert letter.redrivenAt is None and letter.expiresAt > 1_700_000_000


def test_quakes_alerts_and_regions_read_from_their_items():
    location = {"latitude": 1.5, "longitude": -70.0}
    quake = tables.item(
        Quakes,
        {
            "id": "q1",
            "magnitude": 6.0,
            "location": location,
            "timestamp": 1_700_000_000_000,
            "region": "andes",
            "alert": True,
            "receivedAt": T,
            "source": "t-0@1",
            "sortKey": "x",
            "expiresAt": 1,
        },
    )
    assert quake_of(quake) == StoredQuake(
        id="q1",
        magnitude=6.0,
        location=Location(**location),
        timestamp=1_700_000_000_000,
        region="andes",
        alert=True,
        receivedAt=T,
    )
    alert = tables.item(
        QuakeAlerts,
        {
            "id": "q1",
            "eventId": "q1",
            "region": "andes",
            "magnitude": 6.0,
            "severity": "strong",
            "threshold": 5.0,
            "location": location,
            "timestamp": 1_700_000_000_000,
            "raisedAt": T,
            "sortKey": "x",
            "expiresAt": 1,
        },
    )
    assert alert_of(alert) == QuakeAlert(
        id="q1",
        eventId="q1",
        region="andes",
        magnitude=6.0,
        severity="strong",
        threshold=5.0,
        location=Location(**location),
        timestamp=1_700_000_000_000,
        raisedAt=T,
    )
    aggregate = RegionAggregate("andes", count=2, magnitude_sum=9.0, version=3)
    summary = region_of(tables.item(QuakeRegions, region_item_values(aggregate, "Andes", T)))
    assert (summary.aggregate, summary.name, summary.updated_at) == (aggregate, "Andes", T)


def test_the_consumers_ledger_reads_the_item_the_model_writes():
    # GIVEN an account item as the model serializes it, with offsets and recent digests
    row = Accounts(
        id="a1",
        status=AccountStatus.BLOCKED.value,
        fraud_count=4,
        version=7,
        applied_offsets={"topic-0": 41, "topic-2": 9},
        recent_events=b"\x00\x01digest",
    )
    item = row.serialize()
    # WHEN the consumer's hot path reads it without the model
    ledger = ledger_of(item)
    # THEN it is what the model holds
    assert ledger == AccountLedger(
        account_id="a1",
        count=4,
        status=AccountStatus.BLOCKED,
        version=7,
        offsets={"topic-0": 41, "topic-2": 9},
        recent=b"\x00\x01digest",
    )
    # AND an account no consumer wrote yet starts at zero, with nothing applied
    fresh = ledger_of(Accounts(id="a2", status=AccountStatus.ACTIVE.value).serialize())
    assert (fresh.count, fresh.version, fresh.offsets, fresh.recent) == (0, 0, {}, b"")
