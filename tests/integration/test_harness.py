"""The local harness end to end: ``Stack`` over real HTTP, the real Kafka protocol and DynamoDB
(the tests that use ``harness`` run on moto, then on DynamoDB Local).

The broker and the DynamoDB emulator are started here, once for the module, and handed to the
stack, so a test can stop the stack and start a new one against the same data (a restart).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamModel, EventBridgeModel
from kafka import KafkaProducer

from eventflow_dev.demo import http_json
from eventflow_dev.seed import SEED_ACCOUNT, seed
from eventflow_local.apigw.auth_plan import RouteAuth
from eventflow_local.apigw.definition import AWS_PROXY, Integration, Operation, RestApi
from eventflow_local.apigw.gateway import ApiGateway
from eventflow_local.events.dynamodb import dynamodb_stream_event
from eventflow_local.events.schedule import schedule_event
from eventflow_local.eventsources.filters import passes
from eventflow_local.eventsources.schedule.expressions import Rate, ScheduleError, rate_seconds
from eventflow_local.eventsources.schedule.plan import RULE, ScheduleSpec, ScheduleTarget
from eventflow_local.eventsources.schedule.source import ScheduleEventSource
from eventflow_local.runtime.environment import lambda_environment
from eventflow_local.runtime.functions import FunctionRuntime
from eventflow_local.runtime.invocation import InvocationResult
from eventflow_local.runtime.lambda_api import LambdaApi
from eventflow_local.services.broker import EmbeddedBroker
from eventflow_local.services.dynamodb import DynamoEndpoint
from eventflow_local.stack import Stack
from eventflow_local.template.sam import SamTemplate
from tests.integration.faults import read_all

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TOPIC = "transaction-service-topic"


class Harness:
    """A running ``Stack`` on a broker and a DynamoDB emulator that outlive it."""

    def __init__(self, broker: EmbeddedBroker, dynamo: DynamoEndpoint, state_dir: Path) -> None:
        self.broker = broker
        self.dynamo = dynamo
        self.state_dir = state_dir
        self.lines: list[str] = []
        self.stack = self._new_stack()

    def _log(self, line: str) -> None:
        self.lines.append(line)
        print(line)

    def _new_stack(self) -> Stack:
        stack = Stack(
            port=0,
            bootstrap_servers=self.broker.bootstrap_servers,
            dynamodb_endpoint=self.dynamo.url,
            state_dir=self.state_dir,
            log=self._log,
            environ={},
        )
        return stack.start()

    def restart(self) -> None:
        self.stack.stop()
        self.lines.clear()
        self.stack = self._new_stack()

    @property
    def api(self) -> str:
        return self.stack.api_url

    def call(self, method: str, path: str, body: Any = None, expect: int | None = None) -> Any:
        status, payload = http_json(method, self.api + path, body)
        if expect is not None:
            assert status == expect, f"{method} {path} -> {status}: {payload}"
        return payload

    def batches_of(self, function: str) -> list[int]:
        """Batch sizes of the invocations of ``function`` since the stack started."""
        pattern = re.compile(rf"^invoke {function} .*batch=(\d+)")
        return [int(m.group(1)) for line in self.lines if (m := pattern.match(line))]


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory, dynamodb_engine: str) -> Iterator[Harness]:
    broker = EmbeddedBroker().start()
    if dynamodb_engine == "local":
        dynamo = DynamoEndpoint.dynamodb_local(None, log=print)
    else:
        dynamo = DynamoEndpoint.embedded()
    h = Harness(broker, dynamo, tmp_path_factory.mktemp("state"))
    try:
        yield h
    finally:
        h.stack.stop()
        dynamo.stop()
        broker.stop()


def wait_for(check: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.25)


def new_account(h: Harness) -> dict[str, Any]:
    return h.call(
        "POST", "/accounts", {"name": "Integration", "number": uuid.uuid4().hex[:12]}, expect=201
    )


def new_transactions(h: Harness, account_id: str, n: int) -> list[dict[str, Any]]:
    return [
        h.call("POST", "/transactions", {"accountId": account_id}, expect=201) for _ in range(n)
    ]


def account_when(
    h: Harness, account_id: str, check: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        account = h.call("GET", f"/accounts/{account_id}", expect=200)
        return account if check(account) else None

    return wait_for(probe, what=what)


def topic_records(bootstrap: str) -> list[Any]:
    """Every record of the transactions topic, read to its end (manual assignment, no group)."""
    return read_all(bootstrap, TOPIC)


def produce(bootstrap: str, value: bytes, key: bytes, partition: int) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        producer.send(TOPIC, value=value, key=key, partition=partition).get(timeout=10)
    finally:
        producer.close()


def fraud_event(account_id: str) -> bytes:
    txn_id = uuid.uuid4().hex
    return json.dumps(
        {
            "eventId": uuid.uuid4().hex,
            "eventType": "TransactionMarkedFraud",
            "id": txn_id,
            "accountId": account_id,
            "status": "FRAUD",
        }
    ).encode()


# --------------------------------------------------------------------------------- the fraud flow
def test_three_frauds_block_the_account_and_a_fourth_only_counts(harness: Harness) -> None:
    # GIVEN an account with four transactions
    account = new_account(harness)
    txns = new_transactions(harness, account["id"], 4)

    # WHEN three of them are marked as fraud
    for txn in txns[:3]:
        assert (
            harness.call("POST", f"/transactions/{txn['id']}/fraud", expect=200)["status"]
            == "FRAUD"
        )

    # THEN the account consumer blocks the account, having counted exactly three
    blocked = account_when(harness, account["id"], lambda a: a["status"] == "blocked", "the block")
    assert blocked["fraudCount"] == 3

    # WHEN a fourth is marked: it counts, and the account stays blocked as it was
    harness.call("POST", f"/transactions/{txns[3]['id']}/fraud", expect=200)
    after = account_when(harness, account["id"], lambda a: a["fraudCount"] == 4, "the fourth count")
    assert after["status"] == "blocked"
    assert after.get("blockedAt") == blocked.get("blockedAt")


def test_outbox_relay_publishes_keyed_by_account_with_event_headers(harness: Harness) -> None:
    account = new_account(harness)
    (txn,) = new_transactions(harness, account["id"], 1)
    harness.call("POST", f"/transactions/{txn['id']}/fraud", expect=200)

    def published() -> Any:
        return [
            r
            for r in topic_records(harness.stack.bootstrap_servers)
            if json.loads(r.value).get("id") == txn["id"]
        ]

    (record,) = wait_for(published, what="the fraud event on the topic")
    headers = {name: value.decode() for name, value in record.headers}
    value = json.loads(record.value)
    assert record.key == account["id"].encode()
    assert headers["eventType"] == "TransactionMarkedFraud"
    assert headers["eventId"] == value["eventId"]
    assert value["accountId"] == account["id"] and value["status"] == "FRAUD"


def test_malformed_record_is_dead_lettered_without_stalling_its_partition(harness: Harness) -> None:
    # GIVEN a record that is not JSON, followed on the same partition by a valid fraud event
    account = new_account(harness)
    produce(harness.stack.bootstrap_servers, b"{not json", key=b"poison", partition=1)
    produce(
        harness.stack.bootstrap_servers,
        fraud_event(account["id"]),
        key=account["id"].encode(),
        partition=1,
    )

    # THEN the valid event behind it is counted ...
    account_when(
        harness, account["id"], lambda a: a["fraudCount"] == 1, "the event behind the poison"
    )

    # ... and the poison is parked where operators can see it
    def parked() -> Any:
        items = harness.call("GET", "/dead-letters", expect=200)["items"]
        return [i for i in items if i.get("key") == "cG9pc29u"]  # base64 of b"poison"

    (letter,) = wait_for(parked, what="the dead letter")
    assert letter["topic"] == TOPIC and letter["partition"] == 1
    assert "JSON" in letter["message"] or "json" in letter["reason"].lower()


# --------------------------------------------------------------------------------- API Gateway
def test_unknown_paths_and_methods_are_api_gateways_missing_authentication_token(
    harness: Harness,
) -> None:
    # an unknown path, and a method the resource does not have, are both API Gateway's 403
    # (https://repost.aws/knowledge-center/api-gateway-authentication-token-errors)
    for method, path in (("GET", "/nowhere"), ("DELETE", "/transactions")):
        status, body = http_json(method, harness.api + path)
        assert (status, body) == (403, {"message": "Missing Authentication Token"})

    # the stage prefix of the deployed URL works too
    status, body = http_json("GET", harness.api + "/v1/accounts")
    assert status == 200 and "items" in body


class _Failing:
    function_name = "Broken"

    def invoke(
        self, event: dict[str, Any], *, trigger: str = "direct", batch_size: int | None = None
    ) -> InvocationResult:
        return InvocationResult(False, error={"errorType": "ValueError", "errorMessage": "boom"})


def test_a_function_error_is_a_502_like_api_gateway() -> None:
    api = RestApi(
        "Api",
        [
            Operation(
                "Api", "GET", "/broken", Integration(AWS_PROXY, function="Broken"), RouteAuth("Api")
            )
        ],
        stages={"v1": {}},
    )
    gateway = ApiGateway([api], {"Broken": _Failing()}, port=0, log=lambda _: None)
    gateway.start()
    try:
        status, body = http_json("GET", gateway.url + "/broken")
    finally:
        gateway.stop()
    assert (status, body) == (502, {"message": "Internal server error"})


# --------------------------------------------------------------------------------- CLI
def _cli(harness: Harness, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": harness.stack.bootstrap_servers,
        "AWS_ENDPOINT_URL_DYNAMODB": harness.dynamo.url,
        "EVENTFLOW_STATE_DIR": str(harness.state_dir / "cli"),
    }
    return subprocess.run(
        [sys.executable, "-m", "eventflow_local", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_invoke_runs_one_function_with_an_event_file(harness: Harness) -> None:
    # GIVEN the seed's account in the tables
    seed(harness.dynamo.dynamodb(), {lid: a["Ref"] for lid, a in harness.stack.tables.items()})

    # WHEN the sample event of GET /accounts/{id} is invoked from the command line
    done = _cli(harness, "invoke", "AccountsApiFunction", "--event", "events/accounts_get.json")

    # THEN the result is on stdout, the logs on stderr, and the exit code says it worked
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["id"] == SEED_ACCOUNT["id"]
    assert "invoke AccountsApiFunction" in done.stderr


def test_invoke_of_an_unknown_function_fails_clearly(harness: Harness) -> None:
    done = _cli(harness, "invoke", "NoSuchFunction", "--event", "events/accounts_get.json")
    assert done.returncode != 0
    assert "NoSuchFunction" in done.stderr


# --------------------------------------------------------------------------------- restart
def test_restart_resumes_from_committed_offsets_without_double_counting(harness: Harness) -> None:
    # GIVEN an account with one fraud counted
    account = new_account(harness)
    txns = new_transactions(harness, account["id"], 2)
    harness.call("POST", f"/transactions/{txns[0]['id']}/fraud", expect=200)
    account_when(harness, account["id"], lambda a: a["fraudCount"] == 1, "the first count")
    published_before = len(topic_records(harness.stack.bootstrap_servers))

    # WHEN the harness stops, a fraud event arrives while it is down, and it starts again
    harness.stack.stop()
    produce(
        harness.broker.bootstrap_servers,
        fraud_event(account["id"]),
        key=account["id"].encode(),
        partition=2,
    )
    harness.restart()

    # THEN the event that arrived meanwhile is counted (no loss) ...
    account_when(
        harness, account["id"], lambda a: a["fraudCount"] == 2, "the event sent while down"
    )
    # ... and a new fraud goes through the new stack
    harness.call("POST", f"/transactions/{txns[1]['id']}/fraud", expect=200)
    blocked = account_when(
        harness, account["id"], lambda a: a["fraudCount"] == 3, "the third count"
    )
    assert blocked["status"] == "blocked"

    # the consumer got only what was new, and the relay did not publish the outbox again (the
    # invocation's log line follows its writes, so wait for it before counting)
    wait_for(
        lambda: sum(harness.batches_of("AccountConsumerFunction")) >= 2,
        what="the log lines of the consumer's invocations",
    )
    assert sum(harness.batches_of("AccountConsumerFunction")) == 2
    assert len(topic_records(harness.stack.bootstrap_servers)) == published_before + 2


# --------------------------------------------------------------------------------- function runtime
ECHO_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.13
    Handler: app.handler
    Timeout: 1
    Environment:
      Variables:
        GREETING: hello
Resources:
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: echo/
      Environment:
        Variables:
          TABLE: !Ref Things
  Things:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
"""
ECHO_APP = """
import os
import time

CALLS = {"n": 0}


def handler(event, context):
    CALLS["n"] += 1
    print("handling", event.get("action"))
    if event.get("action") == "sleep":
        time.sleep(5)
    if event.get("action") == "nap":
        time.sleep(0.6)
    if event.get("action") == "raise":
        raise ValueError("bad input")
    names = ("GREETING", "TABLE", "AWS_LAMBDA_FUNCTION_NAME", "KAFKA_AUTH")
    return {
        "calls": CALLS["n"],
        "pid": os.getpid(),
        "env": {name: os.environ.get(name) for name in names},
        "remainingMs": context.get_remaining_time_in_millis(),
    }
"""


@pytest.fixture
def echo(tmp_path: Path) -> Iterator[tuple[FunctionRuntime, list[str]]]:
    (tmp_path / "echo").mkdir()
    (tmp_path / "echo" / "app.py").write_text(ECHO_APP)
    (tmp_path / "template.yaml").write_text(ECHO_TEMPLATE)
    tpl = SamTemplate(tmp_path / "template.yaml")
    tpl.attributes["Things"] = {"Ref": "local-things"}  # as ensure_tables registers a table
    spec = tpl.functions()["Echo"]
    lines: list[str] = []
    env = lambda_environment(spec, region="us-east-1", extra={"KAFKA_AUTH": "NONE"})
    runtime = FunctionRuntime(spec, env, [], log=lines.append)
    try:
        yield runtime, lines
    finally:
        runtime.stop()


def test_a_worker_stays_warm_with_the_function_environment(
    echo: tuple[FunctionRuntime, list[str]],
) -> None:
    runtime, lines = echo
    first = runtime.invoke({"action": "hello"})
    second = runtime.invoke({"action": "hello"}, trigger="test", batch_size=1)

    assert first.ok and second.ok
    assert second.payload["calls"] == 2 and second.payload["pid"] == first.payload["pid"]
    assert first.payload["env"] == {
        "GREETING": "hello",
        "TABLE": "local-things",
        "AWS_LAMBDA_FUNCTION_NAME": "Echo",
        "KAFKA_AUTH": "NONE",
    }
    assert 0 < first.payload["remainingMs"] <= 1000
    assert "[Echo] handling hello" in lines
    assert any(line.startswith("invoke Echo trigger=test batch=1 duration=") for line in lines)


def test_a_handler_exception_comes_back_as_a_lambda_error(
    echo: tuple[FunctionRuntime, list[str]],
) -> None:
    runtime, _ = echo
    result = runtime.invoke({"action": "raise"})
    assert not result.ok and result.error is not None
    assert result.error["errorType"] == "ValueError"
    assert result.error["errorMessage"] == "bad input"
    assert any("app.py" in frame for frame in result.error["stackTrace"])
    assert runtime.invoke({"action": "hello"}).payload["calls"] == 2  # the environment survived


def test_the_timeout_kills_the_worker_and_a_fresh_one_takes_over(
    echo: tuple[FunctionRuntime, list[str]],
) -> None:
    runtime, _ = echo
    before = runtime.invoke({"action": "hello"}).payload

    started = time.monotonic()
    result = runtime.invoke({"action": "sleep"})
    assert time.monotonic() - started < 4
    assert not result.ok and result.error is not None
    assert "Task timed out after 1.00 seconds" in result.error["errorMessage"]

    after = runtime.invoke({"action": "hello"}).payload
    assert after["calls"] == 1 and after["pid"] != before["pid"]  # a cold start


def test_a_busy_function_scales_out_to_another_environment(
    echo: tuple[FunctionRuntime, list[str]],
) -> None:
    runtime, _ = echo
    runtime.invoke({"action": "hello"})
    results: list[InvocationResult] = []
    threads = [
        threading.Thread(target=lambda: results.append(runtime.invoke({"action": "nap"})))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r.ok for r in results)
    assert len({r.payload["pid"] for r in results}) == 2
    assert runtime.environments == 2


def test_functions_invoke_functions_through_the_local_lambda_api(
    echo: tuple[FunctionRuntime, list[str]],
) -> None:
    runtime, _ = echo
    api = LambdaApi(port=0, log=lambda _: None)
    api.register({"Echo": runtime})
    api.start()
    client = DynamoEndpoint(api.url, "external").client("lambda")
    try:
        done = client.invoke(FunctionName="Echo", Payload=json.dumps({"action": "hello"}))
        assert done["StatusCode"] == 200 and "FunctionError" not in done
        assert json.loads(done["Payload"].read())["env"]["AWS_LAMBDA_FUNCTION_NAME"] == "Echo"

        failed = client.invoke(
            FunctionName="arn:aws:lambda:us-east-1:123456789012:function:Echo",
            Payload=b'{"action": "raise"}',
        )
        assert failed["FunctionError"] == "Unhandled"
        assert json.loads(failed["Payload"].read())["errorMessage"] == "bad input"

        before = runtime.invocations
        queued = client.invoke(FunctionName="Echo", InvocationType="Event", Payload=b"{}")
        assert queued["StatusCode"] == 202
        wait_for(lambda: runtime.invocations > before, timeout=5, what="the async invocation")

        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.invoke(FunctionName="Nobody", Payload=b"{}")
    finally:
        api.stop()


def test_stream_and_schedule_events_validate_against_powertools_models(harness: Harness) -> None:
    client, streams = harness.dynamo.dynamodb(), harness.dynamo.streams()
    table = f"shape-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    arn = client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    client.put_item(TableName=table, Item={"id": {"S": "1"}, "n": {"N": "5"}})
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )
    records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]

    parsed = DynamoDBStreamModel.model_validate(dynamodb_stream_event(records, arn))
    assert parsed.Records[0].eventName == "INSERT"
    assert parsed.Records[0].dynamodb is not None and parsed.Records[0].dynamodb.NewImage == {
        "id": "1",
        "n": 5,
    }
    assert EventBridgeModel.model_validate(
        schedule_event("arn:aws:events:us-east-1:123456789012:rule/r")
    )


# --------------------------------------------------------------------------------- event filtering
@pytest.mark.parametrize(
    ("pattern", "record", "expected"),
    [
        ({"eventName": ["INSERT"]}, {"eventName": "INSERT"}, True),
        ({"eventName": ["INSERT"]}, {"eventName": "REMOVE"}, False),
        (
            {"dynamodb": {"NewImage": {"kind": {"S": [{"prefix": "fr"}]}}}},
            {"dynamodb": {"NewImage": {"kind": {"S": "fraud"}}}},
            True,
        ),
        ({"dynamodb": {"OldImage": [{"exists": False}]}}, {"dynamodb": {"NewImage": {}}}, True),
        ({"n": [{"numeric": [">", 1, "<=", 3]}]}, {"n": 3}, True),
        ({"n": [{"numeric": [">", 1, "<=", 3]}]}, {"n": 4}, False),
        ({"s": [{"anything-but": ["a"]}]}, {"s": "b"}, True),
    ],
)
def test_stream_filter_patterns(
    pattern: dict[str, Any], record: dict[str, Any], expected: bool
) -> None:
    assert passes([pattern], record) is expected


def test_a_rate_schedule_invokes_with_a_scheduled_event() -> None:
    events: list[dict[str, Any]] = []
    triggers: list[str] = []

    class Recorder:
        function_name = "Tick"

        def invoke(
            self, event: dict[str, Any], *, trigger: str = "direct", batch_size: int | None = None
        ) -> InvocationResult:
            events.append(event)
            triggers.append(trigger)
            return InvocationResult(True)

    # GIVEN a rule (as SAM's Schedule event becomes) running every 0.1 s
    spec = ScheduleSpec(
        "TickEvery",
        RULE,
        "tick-every",
        "arn:aws:events:us-east-1:123456789012:rule/tick-every",
        "rate(1 minute)",
        Rate(0.1),
        UTC,
        (ScheduleTarget("t", "Tick", {}),),
    )
    source = ScheduleEventSource(spec, {"Tick": Recorder()})
    assert rate_seconds("rate(5 minutes)") == 300
    with pytest.raises(ScheduleError, match="singular"):
        rate_seconds("rate(1 minutes)")
    # WHEN it runs
    source.start()
    try:
        wait_for(lambda: len(events) >= 2, timeout=5, what="two scheduled runs")
    finally:
        source.stop()
    # THEN the function receives EventBridge's Scheduled Event of the rule
    assert events[0]["detail-type"] == "Scheduled Event"
    assert events[0]["resources"] == [source.rule_arn]
    assert triggers[0] == "schedule:TickEvery"
