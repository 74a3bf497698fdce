"""One SAM app with every trigger (tests/apps/all_sources), started as a user starts it, with
``eventflow-local up`` in its folder, and driven with boto3 against the endpoint ``up`` names
(``servicesEndpoint`` in its stack.json, the "AWS services" line of its banner):

- an SQS queue feeding a function with partial batch failures ("Reporting batch item failures
  for Amazon SQS event sources"), its failing message in the queue's dead-letter queue after
  ``maxReceiveCount`` receives ("Using dead-letter queues in Amazon SQS");
- an SNS topic with a ``lambda`` subscription carrying a filter policy (a filtered-out message is
  not delivered) and SAM's ``SqsSubscription: true`` (a queue of SAM's making, every message);
- an EventBridge rule with a pattern on a custom bus (a non-matching event is not delivered);
- a Kinesis stream trigger; an S3 notification with prefix and suffix filters;
- a function invoked asynchronously by another one (``InvocationType=Event``), whose failure
  lands in its ``OnFailure`` queue as Lambda's invocation record ("Capturing records of Lambda
  asynchronous invocations")."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from eventflow_local.state import STATE_DIR_NAME, STATE_FILE
from tests.integration.faults import wait_for

pytestmark = pytest.mark.integration

APP = Path(__file__).resolve().parent.parent / "apps" / "all_sources"


class Running:
    """An ``up`` of the app: its stack.json and boto3 clients on its AWS services endpoint."""

    def __init__(self, info: dict[str, Any], log: Path) -> None:
        self.info = info
        self.log = log

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.info["servicesEndpoint"],
            region_name=self.info["region"],
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def seen(self) -> dict[str, dict[str, Any]]:
        """The seen table: ``<source>#<key>`` -> what the function recorded."""
        table = self.info["tables"]["SeenTable"]
        items = self.client("dynamodb").scan(TableName=table)["Items"]
        return {item["pk"]["S"]: json.loads(item["seen"]["S"]) for item in items}

    def drain(self, queue: str, want: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        """The messages of a template queue, once ``want`` are there (long polls)."""
        sqs = self.client("sqs")
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(got) < want and time.monotonic() < deadline:
            answer = sqs.receive_message(
                QueueUrl=self.info["queues"][queue], MaxNumberOfMessages=10, WaitTimeSeconds=1
            )
            got.extend(answer.get("Messages", []))
        return got


@pytest.fixture
def up(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Running]:
    """``eventflow-local up --port 0`` in a copy of the app's folder, until the test ends."""
    app = tmp_path / "app"
    shutil.copytree(APP, app, ignore=shutil.ignore_patterns("__pycache__", STATE_DIR_NAME))
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("EVENTFLOW_STATE_DIR", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "PORT")
    }
    env["KAFKA_BOOTSTRAP_SERVERS"] = kafka_bootstrap
    log = tmp_path / "up.log"
    with open(log, "wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "eventflow_local", "up", "--port", "0"],
            cwd=app,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    state = app / STATE_DIR_NAME / STATE_FILE
    try:
        wait_for(lambda: "Ready." in log.read_text() or proc.poll() is not None, 90, "up")
        assert proc.poll() is None, log.read_text()
        info = json.loads(state.read_text())
        assert info["pid"] == proc.pid
        yield Running(info, log)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_every_trigger_of_one_app_under_up(up: Running) -> None:
    # GIVEN the app up: its banner names the endpoint and every function's trigger
    banner = up.log.read_text()
    (services,) = [x for x in banner.splitlines() if x.strip().startswith("AWS services")]
    assert f"AWS services {up.info['servicesEndpoint']}" in services
    assert all(name in services for name in ("SQS", "SNS", "EventBridge", "Kinesis", "S3"))
    triggers = {name: " ".join(items) for name, items in up.info["functions"].items()}
    assert triggers["OrdersFunction"].startswith("SQS queue ")
    assert triggers["NotifierFunction"].endswith("(filter policy)")
    assert "AuditorFunctionAllNoticesQueue" in triggers["AuditorFunction"]
    assert triggers["TrackerFunction"] == "EventBridge rule TrackerFunctionShipped on bus shop"
    assert triggers["ClicksFunction"].startswith("Kinesis stream ")
    assert "(prefix incoming/, suffix .csv)" in triggers["ImporterFunction"]
    sqs, sns, events = up.client("sqs"), up.client("sns"), up.client("events")
    kinesis, s3 = up.client("kinesis"), up.client("s3")

    # WHEN a user sends orders: one fine, one that fails, one to ship, one the shipper refuses
    orders = [
        {"id": "o1"},
        {"id": "o2", "fail": True},
        {"id": "o3", "ship": True},
        {"id": "o4", "ship": True, "refuse": True},
    ]
    for order in orders:
        sqs.send_message(QueueUrl=up.info["queues"]["OrdersQueue"], MessageBody=json.dumps(order))
    # ... publishes an alert and an info notice on the topic
    (topic,) = [
        t["TopicArn"] for t in sns.list_topics()["Topics"] if "NoticesTopic" in t["TopicArn"]
    ]
    for notice, kind in (("n1", "alert"), ("n2", "info")):
        sns.publish(
            TopicArn=topic,
            Message=json.dumps({"id": notice}),
            MessageAttributes={"kind": {"DataType": "String", "StringValue": kind}},
        )
    # ... puts an event the rule's pattern does not match on the bus (before the shipments)
    events.put_events(
        Entries=[
            {
                "EventBusName": "shop",
                "Source": "shop.shipping",
                "DetailType": "OrderDelayed",
                "Detail": json.dumps({"id": "late"}),
            }
        ]
    )
    # ... puts a click on the stream and three uploads in the bucket
    (stream,) = kinesis.list_streams()["StreamNames"]
    kinesis.put_record(StreamName=stream, Data=json.dumps({"id": "c1"}).encode(), PartitionKey="u")
    (bucket,) = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    for key in ("incoming/day 1.csv", "incoming/notes.txt", "archive/old.csv"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"a,b\n")

    # THEN each source's function recorded what it should
    want = {
        "sqs#o1#1",
        "sqs#o2#1",
        "sqs#o2#2",
        "sqs#o3#1",
        "sqs#o4#1",
        "sns#n1",
        "audit#n1",
        "audit#n2",
        "events#o3",
        "kinesis#c1",
        "s3#incoming/day 1.csv",
    }
    seen = wait_for(lambda: want <= set(s := up.seen()) and s, 30, f"{sorted(want)}")
    # the SQS event: the batch's records as Lambda gets them
    assert seen["sqs#o1#1"]["eventSource"] == "aws:sqs"
    assert seen["sqs#o2#2"]["attributes"]["ApproximateReceiveCount"] == "2"
    # the filtered SNS subscription: the alert as Lambda's SNS event; the info notice filtered out
    assert seen["sns#n1"]["EventSource"] == "aws:sns"
    assert seen["sns#n1"]["Sns"]["MessageAttributes"]["kind"] == {
        "Type": "String",
        "Value": "alert",
    }
    # SAM's SqsSubscription: the SNS envelope as the queue message's body, every notice
    assert seen["audit#n2"]["Type"] == "Notification" and seen["audit#n2"]["TopicArn"] == topic
    # the rule: the shipper's event as EventBridge delivers it
    assert seen["events#o3"]["source"] == "shop.shipping"
    assert seen["events#o3"]["detail-type"] == "OrderShipped"
    # Kinesis and S3 records
    assert seen["kinesis#c1"]["eventSource"] == "aws:kinesis"
    s3_record = seen["s3#incoming/day 1.csv"]
    assert s3_record["eventSource"] == "aws:s3" and s3_record["s3"]["bucket"]["name"] == bucket
    assert s3_record["eventName"].startswith("ObjectCreated:")

    # AND the failing order is in the dead-letter queue after its two receives, alone
    dead = up.drain("OrdersDeadLetters", want=1)
    assert [json.loads(m["Body"]) for m in dead] == [orders[1]]
    # AND the refused shipment's invocation record is in the OnFailure queue
    (failure,) = up.drain("ShippingFailures", want=1)
    record = json.loads(failure["Body"])
    assert record["version"] == "1.0"
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["requestContext"]["functionArn"].endswith(":function:ShipperFunction:$LATEST")
    assert record["requestPayload"] == orders[3]
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "RuntimeError"
    assert record["responsePayload"]["errorMessage"] == "cannot ship order o4"

    # AND what no subscription, rule or notification matches was delivered nowhere
    time.sleep(1.0)
    seen = up.seen()
    assert "sns#n2" not in seen
    assert "events#late" not in seen
    assert not {k for k in seen if k.startswith("s3#")} - {"s3#incoming/day 1.csv"}
    assert not any(k.startswith("sqs#o2#3") for k in seen)  # no third receive: it left the queue
    assert up.drain("ShippingFailures", want=1, timeout=1) == []
