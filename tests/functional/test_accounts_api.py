"""Accounts API through API Gateway proxy events, against moto DynamoDB."""

from __future__ import annotations

import json

import pytest

from eventflow_local.events.apigateway import api_event


def create(api, **fields):
    status, body = api.post("/accounts", {"name": "Ann", "number": "PL001", **fields})
    assert status == 201, body
    return body


def test_create_applies_defaults_and_shows_fraud_count(api):
    acc = create(api)
    assert acc["type"] == "root" and acc["status"] == "new" and acc["fraudCount"] == 0
    assert acc["createdAt"] == acc["updatedAt"]
    status, again = api.get(f"/accounts/{acc['id']}")
    assert status == 200 and again == acc


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"number": "1"}, "name"),
        ({"name": "A"}, "number"),
        ({"name": "A", "number": "1", "type": "leaf"}, "type"),
        ({"name": "A", "number": "1", "status": "deleted"}, "status"),
        ({"name": "   ", "number": "1"}, "name"),
        ({"name": "A", "number": "1", "fraudCount": 3}, "fraudCount"),
        ({"name": "A", "number": "1", "surname": "x"}, "surname"),
    ],
)
def test_invalid_create_is_422_naming_the_field(api, body, field):
    status, resp = api.post("/accounts", body)
    assert status == 422
    assert field in resp["message"]
    assert any(e["field"] == field for e in resp["errors"])


def test_invalid_json_is_422_with_a_message(functions):
    event = api_event(
        "POST", "/accounts", body='{"name": ', headers={"Content-Type": "application/json"}
    )
    resp = functions["AccountsApiFunction"](event)
    assert resp["statusCode"] == 422
    assert "not valid JSON" in json.loads(resp["body"])["message"]


def test_wrong_content_type_is_415(functions):
    event = api_event(
        "POST",
        "/accounts",
        body="name=A",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    resp = functions["AccountsApiFunction"](event)
    assert resp["statusCode"] == 415
    assert "application/json" in json.loads(resp["body"])["message"]


def test_oversized_body_is_413(api):
    status, resp = api.post("/accounts", {"name": "A" * 70_000, "number": "1"})
    assert status == 413 and "exceeds" in resp["message"]


def test_unknown_and_malformed_ids(api):
    status, resp = api.get("/accounts/doesnotexist")
    assert status == 404 and "doesnotexist" in resp["message"]
    status, resp = api.get("/accounts/bad$id")
    assert status == 400 and "id must be" in resp["message"]
    assert api.delete("/accounts/doesnotexist")[0] == 404
    assert api.patch("/accounts/doesnotexist", {"name": "x"})[0] == 404


def test_partial_update_changes_only_what_is_given(api):
    acc = create(api)
    status, updated = api.patch(f"/accounts/{acc['id']}", {"name": "Bea"})
    assert status == 200
    assert (
        updated["name"] == "Bea"
        and updated["number"] == acc["number"]
        and updated["status"] == "new"
    )
    assert updated["updatedAt"] > acc["updatedAt"]


def test_status_and_type_transitions_through_the_api(api):
    acc = create(api)
    path = f"/accounts/{acc['id']}"
    assert api.patch(path, {"status": "inactive"})[0] == 409  # new -> inactive is not allowed
    assert api.patch(path, {"status": "active"})[1]["status"] == "active"
    status, resp = api.patch(path, {"status": "active"})
    assert status == 409 and "already active" in resp["message"]
    assert api.patch(path, {"status": "blocked"})[1]["status"] == "blocked"
    assert api.patch(path, {"status": "inactive"})[0] == 409
    assert api.patch(path, {"status": "active"})[1]["status"] == "active"
    assert api.patch(path, {"type": "sub"})[1]["type"] == "sub"
    assert api.patch(path, {"type": "sub"})[0] == 409
    assert api.patch(path, {"type": "root"})[1]["type"] == "root"


def test_update_rejects_fraud_count_and_empty_bodies(api):
    acc = create(api)
    status, resp = api.patch(f"/accounts/{acc['id']}", {"fraudCount": 0})
    assert status == 422 and "fraudCount" in resp["message"]
    status, resp = api.patch(f"/accounts/{acc['id']}", {})
    assert status == 400 and "nothing to update" in resp["message"]


def test_delete_then_gone(api):
    acc = create(api)
    assert api.delete(f"/accounts/{acc['id']}") == (204, None)
    assert api.get(f"/accounts/{acc['id']}")[0] == 404
    assert api.delete(f"/accounts/{acc['id']}")[0] == 404


def test_list_is_paginated_newest_first(api):
    ids = [create(api, number=str(i))["id"] for i in range(5)]
    seen, token = [], None
    while True:
        status, page = api.get(
            "/accounts", query={"limit": "2", **({"nextToken": token} if token else {})}
        )
        assert status == 200 and len(page["items"]) <= 2
        seen += [a["id"] for a in page["items"]]
        token = page["nextToken"]
        if not token:
            break
    assert seen == list(reversed(ids))


@pytest.mark.parametrize(
    ("query", "status"),
    [({"limit": "0"}, 422), ({"limit": "x"}, 422), ({"nextToken": "garbage!"}, 400)],
)
def test_bad_list_parameters(api, query, status):
    code, resp = api.get("/accounts", query=query)
    assert code == status and resp["message"]
