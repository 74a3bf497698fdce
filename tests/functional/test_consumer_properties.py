"""Property: any interleaving of duplicates, redeliveries and failures ends in the state of
processing the distinct events once, in order."""

from __future__ import annotations

from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventflow import ddb
from eventflow.fraud.counter import FraudCounter
from eventflow.fraud.store import FraudLedger
from eventflow.kafka.events import parse_kafka_event
from local.events import json_record, kafka_event
from tests.dynamodb_engines import fresh_tables
from tests.support import template

TOPIC = "transaction-service-topic"


class Flaky:
    def __init__(self, client, fail_calls):
        self.client, self.fail_calls, self.calls = client, set(fail_calls), 0

    def __getattr__(self, name):
        return getattr(self.client, name)

    def _maybe_fail(self, op):
        self.calls += 1
        if self.calls in self.fail_calls:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "injected"}}, op)

    def transact_write_items(self, **kw):
        self._maybe_fail("TransactWriteItems")
        return self.client.transact_write_items(**kw)

    def batch_get_item(self, **kw):
        self._maybe_fail("BatchGetItem")
        return self.client.batch_get_item(**kw)


scenario = st.fixed_dictionaries(
    {
        "accounts": st.integers(1, 4),
        "events": st.lists(
            st.integers(0, 3), min_size=1, max_size=14
        ),  # account index per distinct event
        "republish": st.lists(st.integers(0, 13), max_size=6),  # events the relay publishes again
        "batch_size": st.integers(1, 6),
        "failures": st.sets(st.integers(1, 40), max_size=8),  # DynamoDB calls that get throttled
        "redeliver": st.lists(st.integers(0, 20), max_size=4),  # positions the ESM rewinds to
    }
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario)
def test_final_state_equals_a_fold_over_distinct_events(dynamodb_engine, dynamodb_server, s):
    tpl = template()
    tables = ("AccountsTable", "ProcessedEventsTable")
    with fresh_tables(dynamodb_engine, tpl, dynamodb_server, tables) as client:
        n_acc = s["accounts"]
        for i in range(n_acc):
            client.put_item(
                TableName="AccountsTable",
                Item=ddb.to_item(
                    {"id": f"a{i}", "status": "active", "fraudCount": 0, "updatedAt": "0"}
                ),
            )
        distinct = [(f"e{j}", f"a{a % n_acc}") for j, a in enumerate(s["events"])]
        log = list(distinct) + [distinct[k % len(distinct)] for k in s["republish"]]
        records = [
            json_record(
                TOPIC, 0, off, {"eventId": e, "id": e, "accountId": a, "status": "FRAUD"}, key=a
            )
            for off, (e, a) in enumerate(log)
        ]
        counter = FraudCounter(
            FraudLedger(
                "AccountsTable", "ProcessedEventsTable", client=Flaky(client, s["failures"])
            )
        )
        rewinds = list(s["redeliver"])
        position, steps = 0, 0
        while position < len(records):
            steps += 1
            assert steps < 500, "the consumer must make progress"
            batch = records[position : position + s["batch_size"]]
            try:
                result = counter.process(list(parse_kafka_event(kafka_event(batch)).records))
                retry_from = min((r.offset for r in result.retry), default=None)
            except Exception:
                retry_from = position  # the handler raised: the whole batch again
            position = retry_from if retry_from is not None else position + len(batch)
            if rewinds and steps % 3 == 0:
                position = min(
                    position, rewinds.pop()
                )  # an at-least-once redelivery of old records

        expected = {f"a{i}": 0 for i in range(n_acc)}
        for _, a in distinct:
            expected[a] += 1
        for account_id, count in expected.items():
            item = ddb.from_item(
                client.get_item(TableName="AccountsTable", Key={"id": {"S": account_id}})["Item"]
            )
            assert item["fraudCount"] == count
            assert item["status"] == ("blocked" if count >= 3 else "active")
            assert ("blockedAt" in item) == (count >= 3)
