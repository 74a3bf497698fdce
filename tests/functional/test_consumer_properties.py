"""Property: any interleaving of duplicates, redeliveries, relay republishes, throttling and an
operator's writes racing the consumer ends in the state of processing the distinct events once."""

from __future__ import annotations

from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventflow import ddb
from eventflow.fraud.settings import FraudSettings
from eventflow.fraud.wiring import account_consumer
from eventflow.kafka.events import parse_kafka_event
from eventflow_local.events.kafka import json_record, kafka_event
from tests.dynamodb_engines import fresh_tables
from tests.support import template

TOPIC = "transaction-service-topic"


class Flaky:
    """Throttles the n-th calls; before the m-th UpdateItem calls an operator renames the account
    (a PATCH between the consumer's read and its write)."""

    def __init__(self, client, fail_calls, operator_calls=()):
        self.client, self.fail_calls, self.calls = client, set(fail_calls), 0
        self.operator_calls, self.updates, self.renames = set(operator_calls), 0, 0

    def __getattr__(self, name):
        return getattr(self.client, name)

    def _maybe_fail(self, op):
        self.calls += 1
        if self.calls in self.fail_calls:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "injected"}}, op)

    def update_item(self, **kw):
        self._maybe_fail("UpdateItem")
        self.updates += 1
        if self.updates in self.operator_calls:
            self.renames += 1
            self.client.update_item(
                TableName=kw["TableName"],
                Key=kw["Key"],
                UpdateExpression="SET #n = :n, version = if_not_exists(version, :z) + :one",
                ExpressionAttributeNames={"#n": "name"},
                ExpressionAttributeValues={
                    ":n": {"S": f"renamed {self.renames}"},
                    ":z": {"N": "0"},
                    ":one": {"N": "1"},
                },
            )
        return self.client.update_item(**kw)

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
        "operator": st.sets(st.integers(1, 30), max_size=6),  # writes an operator races
        # a window smaller than the accounts' event counts: only the offsets catch redeliveries
        # (no republished copies then: they would fall outside the window the consumer assumes)
        "small_window": st.booleans(),
        "redeliver": st.lists(st.integers(0, 20), max_size=4),  # positions the ESM rewinds to
    }
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario)
def test_final_state_equals_a_fold_over_distinct_events(dynamodb_engine, dynamodb_server, s):
    tpl = template()
    tables = ("AccountsTable", "DeadLetterTable")
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
        republish = [] if s["small_window"] else s["republish"]
        log = list(distinct) + [distinct[k % len(distinct)] for k in republish]
        records = [
            json_record(
                TOPIC, 0, off, {"eventId": e, "id": e, "accountId": a, "status": "FRAUD"}, key=a
            )
            for off, (e, a) in enumerate(log)
        ]
        settings = FraudSettings("AccountsTable", "-", "-", "DeadLetterTable", TOPIC, 3)
        flaky = Flaky(client, s["failures"], s["operator"])
        pipeline = account_consumer(settings, flaky)
        if s["small_window"]:
            pipeline.consumer.window = 1
        rewinds = list(s["redeliver"])
        position, steps = 0, 0
        while position < len(records):
            steps += 1
            assert steps < 500, "the consumer must make progress"
            batch = records[position : position + s["batch_size"]]
            try:
                result = pipeline.process(parse_kafka_event(kafka_event(batch)).records)
                assert result.made_progress or result.outcome.retry
                if result.outcome.retry and not result.made_progress:
                    raise RuntimeError("no progress: the handler raises")
                retry_from = min((r.offset for r in result.outcome.retry), default=None)
            except Exception as exc:
                assert "injected" in str(exc) or "no progress" in str(exc), exc
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
        assert not client.scan(TableName="DeadLetterTable")["Items"]
