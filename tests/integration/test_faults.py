"""Fault injection on the whole local stack: the promises hold when things break.

The stack runs on a Tansu broker that advertises a ``TcpProxy`` in front of it, so every Kafka
client (the relay, the emitter, the event source mappings, the tests) reaches the broker through
the proxy; cutting it is a broker outage. DynamoDB is the embedded moto server, and the tests
call the API over HTTP with the local bearer token. The SIGKILL test runs the broker, DynamoDB
and ``python -m eventflow_local up`` as three separate processes instead, so that the harness can be
killed and started again on the same data.

Each test prints one ``FIGURES`` line with what it injected and what it measured
(``pytest -s`` shows them; docs/RELIABILITY.md quotes them).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from eventflow_local.apigw.local_token import local_token
from eventflow_local.events.kafka import json_record, kafka_event
from eventflow_local.eventsources.destinations import FailureDestinations
from eventflow_local.eventsources.kafka.mapping import EsmOptions, KafkaEventSourceMapping
from eventflow_local.eventsources.schedule.source import ScheduleEventSource
from eventflow_local.runtime.invocation import InvocationResult
from eventflow_local.services.dynamodb import DynamoEndpoint
from eventflow_local.stack import Stack
from eventflow_local.template.specs import EventSpec
from tests.integration.faults import (
    FRAUD_TOPIC,
    QUAKES_TOPIC,
    ROOT,
    Api,
    HarnessProcess,
    TcpProxy,
    account_states,
    backing_services,
    caught_up,
    committed_offsets,
    count_items,
    counted_total,
    ems_metric,
    end_offsets,
    event_ids,
    fraud_value,
    function_workers,
    http,
    invoked_records,
    producer,
    proxied_broker,
    read_all,
    relay_copies,
    scan_all,
    sigkill,
    wait_for,
)

pytestmark = pytest.mark.integration

RELAY = "OutboxRelayFunction"
CONSUMER = "AccountConsumerFunction"
EMITTER = "QuakeEmitterFunction"
ACCOUNT_GROUP = "account-group"
QUAKE_GROUP = "earthquake-consumer-group"
ALERTS_TOPIC = "earthquake-alerts-topic"


class Rig:
    """A ``Stack`` on a proxied broker and a DynamoDB that outlive it (so it can restart)."""

    def __init__(self, proxy: TcpProxy, dynamo: DynamoEndpoint, state_dir: Path) -> None:
        self.proxy = proxy
        self.dynamo = dynamo
        self.state_dir = state_dir
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._file = (state_dir.parent / "stack.log").open("a")
        self.stack = self._new_stack()
        self.client = self.stack.dynamodb_client()

    def _log(self, line: str) -> None:
        with self._lock:
            self.lines.append(line)
            self._file.write(line + "\n")
            self._file.flush()

    def _new_stack(self) -> Stack:
        return Stack(
            port=0,
            bootstrap_servers=self.proxy.address,
            dynamodb_endpoint=self.dynamo.url,
            state_dir=self.state_dir,
            log=self._log,
            environ={},
            api_token=local_token(),
        ).start()

    def restart(self) -> None:
        self.stack.stop()
        self.stack = self._new_stack()

    def close(self) -> None:
        self.stack.stop()
        self._file.close()

    @property
    def api(self) -> Api:
        return Api(self.stack.api_url)

    @property
    def bootstrap(self) -> str:
        return self.proxy.address

    def table(self, logical_id: str) -> str:
        return self.stack.table_name(logical_id)

    def mark(self) -> int:
        """A position in the log, for ``lines_since``."""
        with self._lock:
            return len(self.lines)

    def lines_since(self, mark: int, pattern: str) -> list[str]:
        regex = re.compile(pattern)
        with self._lock:
            return [line for line in self.lines[mark:] if regex.search(line)]

    def wait_line(self, mark: int, pattern: str, timeout: float, what: str) -> list[str]:
        return list(wait_for(lambda: self.lines_since(mark, pattern), timeout, what, every=0.1))

    def schedule(self, function: str) -> ScheduleEventSource:
        return next(
            s
            for s in self.stack.sources
            if isinstance(s, ScheduleEventSource) and s.function_name == function
        )

    def outbox_events(self, transaction_ids: set[str]) -> dict[str, str]:
        """eventId -> transactionId of the outbox items of ``transaction_ids``."""
        items = scan_all(self.client, self.table("OutboxTable"))
        out = {}
        for item in items:
            txn = item.get("transactionId", {}).get("S")
            if txn in transaction_ids:
                out[item["eventId"]["S"]] = txn
        return out

    def stop_quakes(self) -> None:
        self.api.call("POST", "/earthquake-events/stop", expect=200)
        wait_for(
            lambda: not self.api.call("GET", "/earthquake-events", expect=200)["emitterActive"],
            15,
            "the emitter to end its run",
        )


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    tmp = tmp_path_factory.mktemp("faults")
    with proxied_broker(tmp) as (_tansu, proxy):
        dynamo = DynamoEndpoint.embedded()
        r = Rig(proxy, dynamo, tmp / "state")
        try:
            yield r
        finally:
            r.close()
            dynamo.stop()


@pytest.fixture(autouse=True)
def _broker_back(request: pytest.FixtureRequest) -> Iterator[None]:
    """Whatever a test did to the proxy, the next one starts with the broker reachable."""
    yield
    if "rig" in request.fixturenames:
        request.getfixturevalue("rig").proxy.restore()


def figures(**values: Any) -> None:
    print("FIGURES " + json.dumps(values, sort_keys=True))


def topic_by_event(rig: Rig, wanted: set[str]) -> Counter[str]:
    """How many times each wanted eventId is on the transactions topic."""
    return Counter(e for e in event_ids(read_all(rig.bootstrap, FRAUD_TOPIC)) if e in wanted)


# ------------------------------------------------------------------------------- 3. concurrency
def warm(rig: Rig, function: str, call: Any) -> int:
    """Run ``call`` concurrently until ``function`` has all its execution environments warm, so
    that what follows really runs in parallel (a cold start takes longer than a request)."""
    runtime = rig.stack.runtimes[function]
    width = runtime.max_concurrency * 2
    for _ in range(5):
        gate = threading.Barrier(width)

        def one(_: int, gate: threading.Barrier = gate) -> None:
            gate.wait()
            call()

        with ThreadPoolExecutor(width) as pool:
            list(pool.map(one, range(width)))
        if runtime.environments >= runtime.max_concurrency:
            break
    return runtime.environments


def test_concurrent_mark_fraud_calls_make_one_transition_and_one_event(rig: Rig) -> None:
    # GIVEN one transaction, and the mark-fraud function with all its environments warm
    api = rig.api
    account = api.account()
    txn = api.transaction(account["id"])
    environments = warm(
        rig, "MarkFraudFunction", lambda: api.call("POST", f"/transactions/{'0' * 32}/fraud")
    )
    url = f"{rig.stack.api_url}/transactions/{txn['id']}/fraud"
    calls = 20
    gate = threading.Barrier(calls)

    def mark(_: int) -> int:
        gate.wait()
        return http("POST", url)[0]

    # WHEN 20 clients mark it as fraud at the same moment
    with ThreadPoolExecutor(calls) as pool:
        statuses = Counter(pool.map(mark, range(calls)))

    # THEN exactly one wins, the others are told it already is FRAUD
    assert statuses == Counter({200: 1, 409: calls - 1}), statuses
    # ... one outbox event, one record on the topic, one count
    outbox = rig.outbox_events({txn["id"]})
    assert len(outbox) == 1, outbox
    wait_for(lambda: api.fraud_count(account["id"]) == 1, 30, "the count")
    time.sleep(1.5)  # a second event, had there been one, would be relayed by now
    on_topic = topic_by_event(rig, set(outbox))
    assert list(on_topic.values()) == [1], on_topic
    assert api.fraud_count(account["id"]) == 1
    figures(
        test="concurrent_mark_fraud",
        calls=calls,
        environments=environments,
        ok=statuses[200],
        conflicts=statuses[409],
        events=sum(on_topic.values()),
    )


def _batch(events: list[tuple[str, str]], partition: int) -> dict[str, Any]:
    """A Kafka event holding ``events`` (eventId, accountId) as the relay publishes them."""
    return kafka_event(
        json_record(FRAUD_TOPIC, partition, offset, json.loads(fraud_value(a, e)), key=a)
        for offset, (e, a) in enumerate(events)
    )


def test_concurrent_batches_on_the_same_accounts_count_each_distinct_event_once(
    rig: Rig, tmp_path: Path
) -> None:
    api = rig.api
    accounts = [api.account()["id"] for _ in range(6)]
    runtime = rig.stack.runtimes[CONSUMER]
    environments = warm(rig, CONSUMER, lambda: rig.stack.invoke(CONSUMER, kafka_event([])))
    mark = rig.mark()

    # WHEN eight disjoint batches over the same six accounts, from eight partitions (as Lambda
    # runs the batches of different partitions at once), then the same eight again (a
    # redelivery), are handed to the consumer's warm environments all at once
    direct = [(uuid.uuid4().hex, accounts[i % 6]) for i in range(240)]
    batches = [_batch(direct[i * 30 : (i + 1) * 30], 9 + i) for i in range(8)]
    with ThreadPoolExecutor(len(batches) * 2) as pool:
        gate = threading.Barrier(len(batches) * 2)

        def run(event: dict[str, Any]) -> InvocationResult:
            gate.wait()
            return rig.stack.invoke(CONSUMER, event)

        results = list(pool.map(run, batches + batches))
    assert all(r.ok and not r.payload["batchItemFailures"] for r in results), results

    # THEN no increment was lost and none doubled
    after_direct = Counter(a for _, a in direct)
    assert {a: api.fraud_count(a) for a in accounts} == dict(after_direct)

    # WHEN besides the template's mapping a second one, in another consumer group, feeds the
    # same function from the same topic (every record processed twice, concurrently), and 240
    # more distinct events and 60 republished copies (the relay sending its last batch again)
    # are published
    event = next(e for e in runtime.spec.events if e.type == "MSK")
    group = f"twin-{uuid.uuid4().hex[:8]}"
    twin_event = EventSpec(
        event.name,
        event.type,
        {**event.properties, "ConsumerGroupId": group, "StartingPosition": "LATEST"},
    )
    destinations = FailureDestinations(tmp_path)
    twin = KafkaEventSourceMapping(
        CONSUMER,
        twin_event,
        runtime,
        rig.bootstrap,
        destinations=destinations,
        log=rig._log,
        options=EsmOptions(log_invocations=False),
    )
    twin.start()
    published = [(uuid.uuid4().hex, accounts[i % 6]) for i in range(240)]
    copies = relay_copies(published, 60)  # the relay's last batch, published again
    try:
        p = producer(rig.bootstrap)
        try:
            for event_id, account_id in published + copies:
                p.send(
                    FRAUD_TOPIC, key=account_id.encode(), value=fraud_value(account_id, event_id)
                )
            p.flush()
        finally:
            p.close()

        # THEN each account counts its distinct events, whoever processed them first
        expected = after_direct + Counter(a for _, a in published)
        try:
            wait_for(
                lambda: all(api.fraud_count(a) == n for a, n in expected.items()),
                60,
                "the counts of the distinct events",
            )
        except AssertionError:
            have = {a: api.fraud_count(a) for a in expected}
            raise AssertionError(f"counts {have} != expected {dict(expected)}") from None
        wait_for(
            lambda: (
                caught_up(rig.bootstrap, group, FRAUD_TOPIC)
                and caught_up(rig.bootstrap, ACCOUNT_GROUP, FRAUD_TOPIC)
            ),
            60,
            "both consumer groups to commit everything",
        )
    finally:
        twin.stop()
        destinations.close()
    assert {a: api.fraud_count(a) for a in expected} == dict(expected)
    consumer_lines = rig.lines_since(mark, rf"^\[{CONSUMER}\] ")
    # every invocation of every consumer together counted each distinct event once
    assert ems_metric(consumer_lines, "FraudEventsCounted") == len(direct) + len(published)
    for a in accounts:
        assert api.call("GET", f"/accounts/{a}", expect=200)["status"] == "blocked"
    figures(
        test="concurrent_batches",
        environments=environments,
        distinct=len(direct) + len(published),
        republished=len(copies),
        direct_invocations=len(results),
        consumer_groups=2,
        deliveries=invoked_records(rig.lines_since(mark, "^invoke "), CONSUMER) + 30 * len(results),
        counted=ems_metric(consumer_lines, "FraudEventsCounted"),
        duplicates_dropped=ems_metric(consumer_lines, "FraudEventsDuplicate"),
    )


# ------------------------------------------------------------------------------- 4. crash after commit
def test_relay_killed_after_the_commit_publishes_the_event_later(rig: Rig) -> None:
    # GIVEN an account, three transactions, and a relay that cannot reach the broker
    api = rig.api
    account = api.account()["id"]
    txns = [api.transaction(account) for _ in range(3)]
    mark = rig.mark()
    rig.proxy.cut()

    # WHEN they are marked as fraud (committed with their outbox events) ...
    for txn in txns:
        api.call("POST", f"/transactions/{txn['id']}/fraud", expect=200)
    outbox = rig.outbox_events({t["id"] for t in txns})
    assert len(outbox) == 3
    # ... and the relay's execution environment is killed while it is publishing them
    # (a publish to an unreachable broker takes 10 s or more; a worker killed while still idle
    # is replaced at the next invocation, which the next round kills)
    crash = rf"^invoke {RELAY} .*outcome=error Runtime\.ExitError"
    killed: list[int] = []
    deadline = time.monotonic() + 40
    while not rig.lines_since(mark, crash):
        assert time.monotonic() < deadline, "the relay was never caught publishing"
        time.sleep(1.0)
        workers = function_workers(os.getpid(), RELAY)
        sigkill(workers)
        killed.extend(workers)
        with contextlib.suppress(AssertionError):
            rig.wait_line(mark, crash, 1.5, "the crash")

    # THEN the invocation fails, the stream keeps the batch and retries it
    rig.wait_line(mark, rf"^\[stream\] {RELAY} dynamodb shard=\S+ .*outcome=error", 20, "the retry")
    assert api.fraud_count(account) == 0
    rig.proxy.restore()

    # ... and once the broker is reachable every event is published and counted exactly once
    wait_for(lambda: api.fraud_count(account) == 3, 60, "the three counts")
    on_topic = topic_by_event(rig, set(outbox))
    assert set(on_topic) == set(outbox)
    final = api.call("GET", f"/accounts/{account}", expect=200)
    assert (final["fraudCount"], final["status"]) == (3, "blocked")
    figures(
        test="relay_killed_after_commit",
        events=3,
        killed_workers=len(killed),
        lost=3 - len(on_topic),
        published_copies=sum(on_topic.values()),
        counted=final["fraudCount"],
    )


# ------------------------------------------------------------------------------- 5. broker outage
def test_broker_outage_the_api_works_the_relay_and_emitter_fail_loudly_then_deliver_everything(
    rig: Rig,
) -> None:
    api = rig.api
    rig.stop_quakes()
    # GIVEN four accounts that will get 1, 2, 3 and 4 frauds
    plan = {api.account()["id"]: n for n in (1, 2, 3, 4)}
    txns = [api.transaction(a) for a, n in plan.items() for _ in range(n)]
    mark = rig.mark()

    # WHEN the broker becomes unreachable
    rig.proxy.cut()
    cut_at = time.monotonic()
    # ... the API still marks every transaction (it never talks to Kafka) ...
    for txn in txns:
        assert api.call("POST", f"/transactions/{txn['id']}/fraud", expect=200)["status"] == "FRAUD"
    # ... and the earthquake stream is started
    assert api.call("POST", "/earthquake-events/start", {"rate": 50}, expect=200)["started"]

    # THEN the relay and the emitter fail loudly, and nothing is counted yet
    rig.wait_line(
        mark, rf"^\[stream\] {RELAY} dynamodb shard=\S+ .*outcome=error", 60, "a relay failure"
    )
    rig.wait_line(mark, rf"^invoke {EMITTER} .*outcome=error", 60, "an emitter failure")
    relay_errors = rig.lines_since(mark, rf"^invoke {RELAY} .*outcome=error")
    assert relay_errors and all("Kafka" in line for line in relay_errors), relay_errors
    assert all(api.fraud_count(a) == 0 for a in plan)
    outage_s = time.monotonic() - cut_at

    # WHEN the broker is back (and the emitter's schedule runs again)
    rig.proxy.restore()
    runner = threading.Thread(target=rig.schedule(EMITTER).fire, daemon=True)
    runner.start()

    # THEN every fraud is delivered and counted exactly once; three or more block the account
    wait_for(
        lambda: all(api.fraud_count(a) == n for a, n in plan.items()), 90, "every fraud counted"
    )
    outbox = rig.outbox_events({t["id"] for t in txns})
    assert len(outbox) == len(txns)
    on_topic = wait_for(
        lambda: (c := topic_by_event(rig, set(outbox))) and set(c) == set(outbox) and c,
        30,
        "every event on the topic",
    )
    for account_id, n in plan.items():
        account = api.call("GET", f"/accounts/{account_id}", expect=200)
        assert (account["fraudCount"], account["status"]) == (
            n,
            "blocked" if n >= 3 else "active",
        )

    # ... and the earthquake stream resumes: every published event is stored exactly once
    quake_table = rig.table("QuakesTable")
    wait_for(lambda: count_items(rig.client, quake_table) >= 50, 60, "earthquakes after the outage")
    rig.stop_quakes()
    runner.join(15)
    published = [json.loads(r.value)["id"] for r in read_all(rig.bootstrap, QUAKES_TOPIC)]
    assert len(published) == len(set(published)), "an earthquake was published twice"
    wait_for(
        lambda: count_items(rig.client, quake_table) >= len(published),
        60,
        "every earthquake stored",
    )
    stored = Counter(i["id"]["S"] for i in scan_all(rig.client, quake_table))
    assert set(stored) == set(published) and max(stored.values()) == 1
    regions = api.call("GET", "/earthquakes/regions?limit=100", expect=200)["items"]
    assert sum(r["count"] for r in regions) == len(published)
    figures(
        test="broker_outage",
        frauds=len(txns),
        outage_s=round(outage_s, 1),
        relay_failed_invocations=len(relay_errors),
        emitter_failed_invocations=len(
            rig.lines_since(mark, rf"^invoke {EMITTER} .*outcome=error")
        ),
        lost=len(outbox) - len(on_topic),
        published_copies=sum(on_topic.values()),
        counted=sum(api.fraud_count(a) for a in plan),
        quakes_published=len(published),
        quakes_stored=sum(stored.values()),
    )


# ------------------------------------------------------------------------------- 7. poison records
def test_poison_records_are_parked_with_a_reason_and_the_partition_moves_on(rig: Rig) -> None:
    api = rig.api
    account = api.account()["id"]
    tag = uuid.uuid4().hex[:8]
    big = b"{" + b"x" * (1024 * 1024)  # 1 MiB of not-JSON
    odd_headers = [("eventId", b"\xff\xfe\xfd"), ("trace", b"\xc3\x28\xa0")]
    poison: list[tuple[str, bytes | None, list[tuple[str, bytes]], str, str]] = [
        ("invalid JSON", b"{not json", [], "MALFORMED", "not valid JSON"),
        ("wrong shape", b'{"hello": "world"}', [], "SCHEMA", "eventId"),
        ("JSON array", b"[1, 2]", [], "MALFORMED", "expected an object"),
        ("wrong status", fraud_value(account, status="CREATED"), [], "SCHEMA", "status"),
        ("unknown account", fraud_value(f"nobody-{tag}"), [], "UNKNOWN_ACCOUNT", "does not exist"),
        ("empty value", b"", [], "MALFORMED", "empty"),
        ("null value", None, [], "MALFORMED", "empty"),
        ("1 MiB value", big, [], "MALFORMED", "not valid JSON"),
        ("non-UTF-8 value and headers", b"\xff\xfe\x00\x01", odd_headers, "MALFORMED", "UTF-8"),
    ]
    mark = rig.mark()
    # WHEN they are published to one partition, followed by two valid events (one of them with
    # headers that are not UTF-8: the value is what counts)
    p = producer(rig.bootstrap, max_request_size=8 * 1024 * 1024)
    try:
        offsets = [
            p.send(
                FRAUD_TOPIC,
                key=f"poison-{tag}-{i}".encode(),
                value=value,
                headers=headers,
                partition=0,
            )
            .get(30)
            .offset
            for i, (_, value, headers, _, _) in enumerate(poison)
        ]
        for headers in (odd_headers, []):
            p.send(
                FRAUD_TOPIC,
                key=account.encode(),
                value=fraud_value(account),
                headers=headers,
                partition=0,
            ).get(30)
    finally:
        p.close()

    # THEN the valid events behind them are counted: the partition kept moving
    wait_for(lambda: api.fraud_count(account) == 2, 60, "the valid events behind the poison")

    # ... and every poison record is on the dead-letter table with its reason and raw record
    def parked() -> dict[int, dict[str, Any]] | None:
        found = {
            d["offset"]: d
            for d in api.dead_letters()
            if d["topic"] == FRAUD_TOPIC and d["partition"] == 0 and d["offset"] in offsets
        }
        return found if len(found) == len(poison) else None

    letters = wait_for(parked, 30, "the dead letters")
    for i, (what, value, headers, reason, words) in enumerate(poison):
        letter = letters[offsets[i]]
        raw = value or b""
        assert letter["reason"] == reason, (what, letter)
        assert words in letter["message"], (what, letter["message"])
        assert base64.b64decode(letter["key"]) == f"poison-{tag}-{i}".encode(), what
        assert letter["valueSize"] == len(raw), what
        assert letter["valueSha256"] == hashlib.sha256(raw).hexdigest(), what
        assert base64.b64decode(letter["value"]) == raw[: len(base64.b64decode(letter["value"]))]
        assert letter["valueTruncated"] is (len(raw) > 64 * 1024), what
        assert [(h["name"], base64.b64decode(h["value"])) for h in letter["headers"]] == headers
    # ... parked, not retried: nothing went to the consumer's OnFailure destination
    assert not rig.lines_since(mark, rf"^\[esm\] {CONSUMER}: sent \d+ record")
    assert not rig.lines_since(mark, rf"^invoke {CONSUMER} .*outcome=error")
    figures(
        test="poison_records",
        poison=len(poison),
        parked=len(letters),
        valid_after=2,
        counted=api.fraud_count(account),
        largest_value=len(big),
    )


class _Utf8Breaker(str):
    """A header name whose wire bytes are not UTF-8 (Kafka clients in other languages can
    send such names; kafka-python only sends ``str``)."""

    def encode(self, *args: Any, **kwargs: Any) -> bytes:
        return b"\xff\xfe"


MAPPING_PROBE = """
import base64, json, sys, time
from eventflow_local.eventsources.kafka.mapping import KafkaEventSourceMapping
from eventflow_local.runtime.invocation import InvocationResult
from eventflow_local.template.sam import EventSpec

seen = []

class Recorder:
    function_name = "Recorder"

    def invoke(self, event, *, trigger="direct", batch_size=None):
        for records in event["records"].values():
            seen.extend(base64.b64decode(r["value"]).decode() for r in records)
        return InvocationResult(True, payload={"batchItemFailures": []})

props = {"Topics": [sys.argv[2]], "BatchSize": 10, "KafkaBootstrapServers": [sys.argv[1]]}
spec = EventSpec("E", "SelfManagedKafka", props)
mapping = KafkaEventSourceMapping("Recorder", spec, Recorder(), sys.argv[1], log=lambda _: None)
deadline = time.monotonic() + 4
while len(seen) < 2 and time.monotonic() < deadline:
    try:
        mapping.poll_once(0.2)
    except Exception:
        time.sleep(0.2)
print(json.dumps(seen))
"""


def test_a_header_name_that_is_not_utf8_does_not_stall_the_local_mapping(
    make_topic: Any, kafka_bootstrap: str, kafka_producer: Any
) -> None:
    topic = make_topic(1)
    kafka_producer.send(topic, b"odd header name", headers=[(_Utf8Breaker("k"), b"v")]).get(10)
    kafka_producer.send(topic, b"after it").get(10)
    try:
        done = subprocess.run(
            [sys.executable, "-c", MAPPING_PROBE, kafka_bootstrap, topic],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=8,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the mapping hung on the record")
    assert json.loads(done.stdout) == ["odd header name", "after it"], done.stderr


# ------------------------------------------------------------------------------- 6. SIGKILL
# The broker (Tansu), DynamoDB (moto) and ``python -m eventflow_local up`` are separate processes; the
# harness's process and every worker it started are killed at once, mid-stream, and a new harness
# is started against the same broker, tables and state directory.
KILL_ACCOUNTS = 200
KILL_EVENTS = 5_000
KILL_REPUBLISHED = 250
KILL_MARKED = 20
KILL_BATCH = 500
KILL_FIRST_WAVE = 2_000


def settled_total(client: Any, table: str, quiet_s: float = 2.0, limit_s: float = 60.0) -> int:
    """The accounts' total count once it has not moved for ``quiet_s``."""
    deadline = time.monotonic() + limit_s
    total = counted_total(client, table)
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        again = counted_total(client, table)
        if again == total:
            return total
        total = again
    return total


def test_sigkill_mid_batch_then_restart_resumes_from_committed_offsets_and_counts_exactly(
    tmp_path: Path,
) -> None:
    with backing_services(tmp_path) as (tansu, moto):
        bootstrap = tansu.bootstrap
        client = DynamoEndpoint.connect(moto.url).dynamodb()
        state = tmp_path / "state"
        params = {"ConsumerBatchSize": str(KILL_BATCH)}
        first = HarnessProcess(state, bootstrap, moto.url, tmp_path / "harness-1.log", params)
        first.start()
        try:
            api = first.api
            with ThreadPoolExecutor(4) as pool:
                accounts = [
                    a["id"] for a in pool.map(lambda _: api.account(), range(KILL_ACCOUNTS))
                ]
            marked = [api.transaction(accounts[i]) for i in range(KILL_MARKED)]
            accounts_table = first.table("AccountsTable")

            # GIVEN 5,000 distinct fraud events over 200 accounts, then 250 of them published
            # again (new offsets, as the relay republishes after a crash), on the topic the
            # consumer reads in batches of 500: the first 2,000 counted and committed, the rest
            # published in one go
            rng = random.Random(6)
            distinct = [(uuid.uuid4().hex, rng.choice(accounts)) for _ in range(KILL_EVENTS)]
            copies = relay_copies(distinct, KILL_REPUBLISHED)
            first_wave, second_wave = (
                distinct[:KILL_FIRST_WAVE],
                distinct[KILL_FIRST_WAVE:] + copies,
            )
            p = producer(bootstrap)
            try:
                for wave in (first_wave, second_wave):
                    for event_id, account_id in wave:
                        p.send(
                            FRAUD_TOPIC,
                            key=account_id.encode(),
                            value=fraud_value(account_id, event_id),
                        )
                    p.flush()
                    if wave is first_wave:
                        wait_for(
                            lambda: caught_up(bootstrap, ACCOUNT_GROUP, FRAUD_TOPIC),
                            120,
                            "the first wave committed",
                            every=0.2,
                        )
            finally:
                p.close()

            # WHEN, in the middle of the second wave, 20 frauds are marked over HTTP (committed
            # with their outbox events) and at once the harness and all its workers are killed
            wait_for(
                lambda: counted_total(client, accounts_table) >= KILL_FIRST_WAVE + 300,
                120,
                "the second wave under way",
                every=0.1,
            )
            fraud_paths = [f"/transactions/{t['id']}/fraud" for t in marked]
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda path: api.call("POST", path, expect=200), fraud_paths))
            killed_at = time.monotonic()
            killed = first.kill()
        finally:
            first.stop()
        committed_at_kill = sum(
            v or 0 for v in committed_offsets(bootstrap, ACCOUNT_GROUP, FRAUD_TOPIC).values()
        )
        # a worker in the middle of an invocation when its harness was killed finishes that
        # invocation's writes (as on AWS, an invocation under way completes): counted by the
        # first harness, so read once nothing moves any more
        counted_at_kill = settled_total(client, accounts_table)
        records_at_kill = sum(end_offsets(bootstrap, FRAUD_TOPIC).values())
        assert 0 < committed_at_kill < records_at_kill, "killed mid-stream, after some commits"
        assert counted_at_kill < KILL_EVENTS + KILL_MARKED

        # THEN a new harness on the same broker, tables and state directory finishes the work
        second = HarnessProcess(state, bootstrap, moto.url, tmp_path / "harness-2.log", params)
        second.start()
        try:
            wait_for(
                lambda: (
                    counted_total(client, accounts_table) == KILL_EVENTS + KILL_MARKED
                    and caught_up(bootstrap, ACCOUNT_GROUP, FRAUD_TOPIC)
                ),
                300,
                "every event counted and committed",
                every=1.0,
            )
            recovered_s = time.monotonic() - killed_at
            time.sleep(2)  # anything still arriving would show now
            lines = second.log_lines()
        finally:
            second.stop()

        # ... each account's count is the fold over its distinct events; blocked iff >= 3
        expected = Counter(a for _, a in distinct) + Counter(t["accountId"] for t in marked)
        states = account_states(client, accounts_table)
        mine = {a: states[a] for a in accounts}
        wrong = {
            a: (have, expected.get(a, 0))
            for a, (have, _) in mine.items()
            if have != expected.get(a, 0)
        }
        assert not wrong, f"{len(wrong)} accounts off: {list(wrong.items())[:5]}"
        for a, (count, status) in mine.items():
            assert status == ("blocked" if count >= 3 else "active"), (a, count, status)
        assert counted_total(client, accounts_table) == KILL_EVENTS + KILL_MARKED
        # ... the frauds marked just before the kill were relayed after all
        outbox = {item["eventId"]["S"] for item in scan_all(client, first.table("OutboxTable"))}
        on_topic = Counter(e for e in event_ids(read_all(bootstrap, FRAUD_TOPIC)) if e in outbox)
        assert set(on_topic) == outbox and len(outbox) == KILL_MARKED
        # ... and the consumer resumed from its committed offsets, not from the beginning
        records_final = sum(end_offsets(bootstrap, FRAUD_TOPIC).values())
        delivered_after = invoked_records(lines, CONSUMER)
        assert delivered_after >= records_final - committed_at_kill
        assert delivered_after < records_final
        duplicates_after = ems_metric(lines, "FraudEventsDuplicate")
        counted_after = ems_metric(lines, "FraudEventsCounted")
        assert counted_after == KILL_EVENTS + KILL_MARKED - counted_at_kill
        print(
            "FIGURES "
            + json.dumps(
                {
                    "test": "sigkill_restart",
                    "records": records_final,
                    "distinct_events": KILL_EVENTS + KILL_MARKED,
                    "killed_processes": len(killed),
                    "committed_at_kill": committed_at_kill,
                    "counted_at_kill": counted_at_kill,
                    "delivered_after_restart": delivered_after,
                    "duplicates_dropped_after_restart": duplicates_after,
                    "counted_after_restart": counted_after,
                    "lost": sum(max(0, n - mine[a][0]) for a, n in expected.items()),
                    "doubled": sum(max(0, mine[a][0] - n) for a, n in expected.items()),
                    "recovery_s": round(recovered_s, 1),
                },
                sort_keys=True,
            )
        )


# ------------------------------------------------------------------------------- restart
def _rewind_group(bootstrap: str, group: str, topic: str) -> int:
    """Commit offset 0 on every partition of ``topic`` for ``group``; returns the records behind."""
    ends = end_offsets(bootstrap, topic)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in ends]
        consumer.assign(parts)
        consumer.commit({tp: OffsetAndMetadata(0, "", -1) for tp in parts})
    finally:
        consumer.close(autocommit=False)
    return sum(ends.values())


def test_a_restart_that_republishes_the_outbox_and_redelivers_both_topics_changes_nothing(
    rig: Rig,
) -> None:
    """The worst replay after a crash: the relay lost its stream position (it crashed after
    publishing, before its checkpoint) and both consumers lost their committed offsets."""
    api = rig.api
    rig.stop_quakes()
    # GIVEN some earthquakes stored and frauds counted (by this and earlier tests)
    if count_items(rig.client, rig.table("QuakesTable")) == 0:
        api.call("POST", "/earthquake-events/start", {"rate": 50}, expect=200)
        wait_for(lambda: count_items(rig.client, rig.table("QuakesTable")) >= 20, 30, "earthquakes")
        rig.stop_quakes()
    account = api.account()["id"]
    for txn in [api.transaction(account) for _ in range(2)]:
        api.call("POST", f"/transactions/{txn['id']}/fraud", expect=200)
    wait_for(lambda: api.fraud_count(account) == 2, 30, "the counts")
    wait_for(
        lambda: caught_up(rig.bootstrap, QUAKE_GROUP, QUAKES_TOPIC),
        30,
        "the earthquake consumer to commit everything",
    )

    def snapshot() -> dict[str, Any]:
        accounts = {
            i["id"]["S"]: (int(i.get("fraudCount", {}).get("N", 0)), i["status"]["S"])
            for i in scan_all(rig.client, rig.table("AccountsTable"))
        }
        regions = {
            i["region"]["S"]: {k: v for k, v in i.items() if k not in ("updatedAt", "version")}
            for i in scan_all(rig.client, rig.table("QuakeRegionsTable"))
        }
        return {
            "accounts": accounts,
            "quakes": count_items(rig.client, rig.table("QuakesTable")),
            "alerts": count_items(rig.client, rig.table("QuakeAlertsTable")),
            "regions": regions,
            "deadLetters": count_items(rig.client, rig.table("DeadLetterTable")),
            "alertsPublished": sum(end_offsets(rig.bootstrap, ALERTS_TOPIC).values()),
        }

    before = snapshot()
    outbox_items = count_items(rig.client, rig.table("OutboxTable"))
    fraud_records_before = sum(end_offsets(rig.bootstrap, FRAUD_TOPIC).values())

    # WHEN the stack stops, the relay's checkpoint is gone and both groups are rewound to 0
    rig.stack.stop()
    for checkpoint in (rig.state_dir / "checkpoints").glob(f"dynamodb-{RELAY}.*.json"):
        checkpoint.unlink()
    fraud_replayed = _rewind_group(rig.bootstrap, ACCOUNT_GROUP, FRAUD_TOPIC)
    quakes_replayed = _rewind_group(rig.bootstrap, QUAKE_GROUP, QUAKES_TOPIC)
    rig.stack = rig._new_stack()

    # THEN the relay publishes every outbox event again, the consumers read both topics again
    wait_for(
        lambda: (
            sum(end_offsets(rig.bootstrap, FRAUD_TOPIC).values())
            >= fraud_records_before + outbox_items
        ),
        60,
        "the relay to republish the outbox",
    )
    for group, topic in ((ACCOUNT_GROUP, FRAUD_TOPIC), (QUAKE_GROUP, QUAKES_TOPIC)):
        wait_for(
            lambda g=group, t=topic: caught_up(rig.bootstrap, g, t),
            90,
            f"{group} to commit the replay",
        )
    # ... and nothing changed: no count, earthquake, aggregate or dead letter doubled
    after = snapshot()
    assert after == before
    figures(
        test="restart_replay",
        outbox_republished=outbox_items,
        fraud_records_redelivered=fraud_replayed + outbox_items,
        quake_records_redelivered=quakes_replayed,
        accounts=len(before["accounts"]),
        quakes_stored=after["quakes"],
        changed=0 if after == before else 1,
    )
