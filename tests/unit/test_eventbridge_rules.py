"""Event-pattern rules read as EventBridge takes them, events matched and shaped as it delivers
them, and PutEvents entries as the CLI and the console build them (no server)."""

from __future__ import annotations

import json

import pytest

from eventflow_local.eventsources.eventbridge.delivery import aws_event
from eventflow_local.eventsources.eventbridge.put import PutEventError, entry_of
from eventflow_local.eventsources.eventbridge.rules import parse_pattern
from eventflow_local.eventsources.filters import FilterError, matches

PAID = {"source": ["shop.orders"], "detail": {"status": [{"prefix": "PAID"}]}}


def event(source: str, status: str) -> dict:
    body = {
        "id": "e1",
        "time": "2024-01-01T00:00:00Z",
        "version": "0",
        "detail-type": "Order",
        "source": source,
        "region": "us-east-1",
        "resources": [],
        "detail": {"status": status},
    }
    return aws_event(body, "123456789012")


def test_a_pattern_matches_on_source_and_a_prefix_of_a_detail_field() -> None:
    # GIVEN the pattern as CloudFormation gives it (an object) and as JSON text
    for raw in (PAID, json.dumps(PAID)):
        pattern = parse_pattern(raw, "Rule.EventPattern")
        # THEN a paid order matches; a pending one and another source do not
        assert matches(pattern, event("shop.orders", "PAID-CARD"))
        assert not matches(pattern, event("shop.orders", "PENDING"))
        assert not matches(pattern, event("shop.refunds", "PAID-CARD"))


def test_a_pattern_eventbridge_refuses_is_one_line() -> None:
    # GIVEN patterns EventBridge refuses WHEN read THEN each is a FilterError naming the rule
    for raw in ("{not json", {}, {"source": "shop.orders"}, {"source": []}):
        with pytest.raises(FilterError, match=r"Rule\.EventPattern"):
            parse_pattern(raw, "Rule.EventPattern")


def test_the_event_has_eventbridges_keys_in_order_with_the_account() -> None:
    # GIVEN moto's event (no account) WHEN shaped THEN it is EventBridge's event
    shaped = event("shop.orders", "PAID")
    assert list(shaped) == [
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    ]
    assert shaped["account"] == "123456789012"


def test_put_entries_are_checked_as_put_events_checks_them() -> None:
    # GIVEN a CLI-like request WHEN made an entry THEN the detail is JSON text, default bus
    entry = entry_of({"source": "s", "detailType": "t", "detail": '{"a": 1}'})
    assert entry == {
        "Source": "s",
        "DetailType": "t",
        "Detail": '{"a": 1}',
        "EventBusName": "default",
    }
    # AND what PutEvents refuses is one line
    for bad, why in (
        ({"detailType": "t"}, "source"),
        ({"source": "s"}, "detailType"),
        ({"source": "s", "detailType": "t", "detail": "[1]"}, "JSON object"),
        ({"source": "s", "detailType": "t", "detail": "{x"}, "not JSON"),
    ):
        with pytest.raises(PutEventError, match=why):
            entry_of(bad)
