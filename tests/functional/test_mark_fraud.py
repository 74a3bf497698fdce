"""mark_fraud: one FRAUD transition and one outbox event, whatever the interleaving."""

from __future__ import annotations

import boto3

from eventflow import ddb
from eventflow.fraud.adapters.transactions import TransactionStore
from eventflow.fraud.usecases.transactions import FraudMarker


def outbox(aws):
    return [ddb.from_item(i) for i in aws.scan(TableName="OutboxTable")["Items"]]


def transaction(api, account_status="active"):
    acc = api.post("/accounts", {"name": "Ann", "number": "1", "status": account_status})[1]
    return acc, api.post("/transactions", {"accountId": acc["id"], "description": "tv"})[1]


def test_mark_fraud_updates_and_writes_one_outbox_event(api, aws):
    acc, txn = transaction(api)
    code, marked = api.post(f"/transactions/{txn['id']}/fraud")
    assert code == 200
    assert (
        marked["status"] == "FRAUD"
        and marked["id"] == txn["id"]
        and marked["updatedAt"] >= txn["updatedAt"]
    )
    assert api.get(f"/transactions/{txn['id']}")[1]["status"] == "FRAUD"
    [event] = outbox(aws)
    assert event["accountId"] == acc["id"] and event["transactionId"] == txn["id"]
    assert event["eventType"] == "TransactionMarkedFraud"
    assert event["payload"] == {
        **marked,
        "eventId": event["eventId"],
        "eventType": "TransactionMarkedFraud",
    }
    assert event["expiresAt"] > 0


def test_second_mark_is_409_and_writes_nothing(api, aws):
    _, txn = transaction(api)
    api.post(f"/transactions/{txn['id']}/fraud")
    code, resp = api.post(f"/transactions/{txn['id']}/fraud")
    assert code == 409 and "FRAUD" in resp["message"]
    assert len(outbox(aws)) == 1


def test_failed_transaction_cannot_be_marked(api, aws):
    _, txn = transaction(api, account_status="inactive")
    assert txn["status"] == "FAILED"
    code, resp = api.post(f"/transactions/{txn['id']}/fraud")
    assert code == 409 and "FAILED" in resp["message"]
    assert outbox(aws) == []


def test_unknown_or_malformed_transaction(api):
    code, resp = api.post("/transactions/nope/fraud")
    assert code == 404 and "nope" in resp["message"]
    assert api.post("/transactions/no%20pe/fraud")[0] in (400, 404)


class RacingStore(TransactionStore):
    """Every caller reads the transaction before anyone writes: the worst interleaving."""

    def __init__(self, snapshot, **kw):
        super().__init__(**kw)
        self.snapshot = snapshot

    def get(self, txn_id):
        return self.snapshot


def test_concurrent_marks_commit_exactly_one_transition(api, aws):
    _, txn = transaction(api)
    snapshot = TransactionStore("TransactionsTable", "OutboxTable", client=aws).get(txn["id"])
    client = boto3.client("dynamodb", region_name="us-east-1")
    racers = [
        FraudMarker(
            RacingStore(
                snapshot, table="TransactionsTable", outbox_table="OutboxTable", client=client
            )
        )
        for _ in range(10)
    ]
    results = []
    for racer in racers:
        try:
            results.append(racer.mark(txn["id"])["status"])
        except Exception as exc:
            results.append(type(exc).__name__)
    assert results.count("FRAUD") == 1
    assert results.count("ConflictError") == 9
    assert len(outbox(aws)) == 1
