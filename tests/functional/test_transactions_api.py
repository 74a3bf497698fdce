"""Transactions API: create depends on the account, list newest first, get."""

from __future__ import annotations

import pytest


def account(api, status="new"):
    code, acc = api.post("/accounts", {"name": "Ann", "number": "1", "status": status})
    assert code == 201
    return acc


@pytest.mark.parametrize(
    ("account_status", "expected"),
    [("new", "CREATED"), ("active", "CREATED"), ("inactive", "FAILED"), ("blocked", "FAILED")],
)
def test_transaction_status_follows_the_account(api, account_status, expected):
    acc = account(api, account_status)
    code, txn = api.post("/transactions", {"accountId": acc["id"], "description": "coffee"})
    assert code == 201
    assert (
        txn["status"] == expected
        and txn["accountId"] == acc["id"]
        and txn["description"] == "coffee"
    )
    assert api.get(f"/transactions/{txn['id']}") == (200, txn)


def test_unknown_account_is_404_and_nothing_is_stored(api):
    code, resp = api.post("/transactions", {"accountId": "nobody"})
    assert code == 404 and "nobody" in resp["message"]
    assert api.get("/transactions")[1]["items"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "accountId"),
        ({"accountId": "a b"}, "accountId"),
        ({"accountId": "a", "amount": 3}, "amount"),
        ({"accountId": "a", "description": "x" * 501}, "description"),
    ],
)
def test_invalid_create(api, body, field):
    code, resp = api.post("/transactions", body)
    assert code == 422 and field in resp["message"]


def test_list_newest_first_with_pages_and_account_filter(api):
    a, b = account(api), account(api)
    made = [api.post("/transactions", {"accountId": acc["id"]})[1]["id"] for acc in (a, b, a, b, a)]
    _, page1 = api.get("/transactions", query={"limit": "3"})
    _, page2 = api.get("/transactions", query={"limit": "3", "nextToken": page1["nextToken"]})
    assert [t["id"] for t in page1["items"] + page2["items"]] == list(reversed(made))
    assert page2["nextToken"] is None
    _code, only_a = api.get("/transactions", query={"accountId": a["id"]})
    assert [t["id"] for t in only_a["items"]] == [made[4], made[2], made[0]]


def test_get_unknown_transaction(api):
    code, resp = api.get("/transactions/nope")
    assert code == 404 and "nope" in resp["message"]
