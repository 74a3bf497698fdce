"""SQS long polls on the embedded moto server (its own process, as ``up`` starts it) wait without
holding the server: other requests complete meanwhile, and a message sent during the wait is the
answer at once ("Amazon SQS short and long polling"), in both SQS protocols."""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest

from eventflow_local.services.moto_server import MotoServerProcess

REGION = "us-east-1"


@pytest.fixture(scope="module")
def server() -> Iterator[MotoServerProcess]:
    process = MotoServerProcess()
    try:
        yield process
    finally:
        process.stop()


def client(server: MotoServerProcess, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def in_background(call: Any) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        started = time.monotonic()
        out["answer"] = call()
        out["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def test_a_long_poll_on_an_empty_queue_lets_other_requests_through(server):
    # GIVEN an empty queue and a consumer long-polling it for 3 s
    sqs = client(server, "sqs")
    url = sqs.create_queue(QueueName="empty-long-poll")["QueueUrl"]
    thread, polled = in_background(
        lambda: sqs.receive_message(QueueUrl=url, WaitTimeSeconds=3).get("Messages", [])
    )
    time.sleep(0.3)  # the poll is waiting

    # WHEN other clients call DynamoDB, SNS and SQS meanwhile
    others = []
    for call in (
        lambda: client(server, "dynamodb").list_tables(),
        lambda: client(server, "sns").list_topics(),
        lambda: sqs.create_queue(QueueName="another-queue"),
    ):
        started = time.monotonic()
        call()
        others.append(time.monotonic() - started)

    # THEN each completes at once, and the poll answers empty when its wait ends
    assert max(others) < 1.0, others
    thread.join(10)
    assert polled["answer"] == []
    assert 2.8 <= polled["seconds"] < 5.0, polled


def test_a_message_sent_during_the_wait_is_the_answer_before_the_wait_ends(server):
    # GIVEN a consumer long-polling an empty queue for 10 s
    sqs = client(server, "sqs")
    url = sqs.create_queue(QueueName="send-during-poll")["QueueUrl"]
    thread, polled = in_background(
        lambda: sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10).get("Messages", [])
    )
    time.sleep(0.5)

    # WHEN a producer sends a message
    sqs.send_message(QueueUrl=url, MessageBody="hello")

    # THEN the poll answers with it well before its 10 s
    thread.join(12)
    assert [m["Body"] for m in polled["answer"]] == ["hello"]
    assert polled["seconds"] < 2.0, polled


def query_receive(server: MotoServerProcess, url: str) -> bytes:
    """A ``ReceiveMessage`` in SQS's query protocol, without ``WaitTimeSeconds``."""
    body = urlencode({"Action": "ReceiveMessage", "QueueUrl": url, "Version": "2012-11-05"})
    auth = (
        "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/sqs/aws4_request, "
        "SignedHeaders=host, Signature=0"
    )
    request = urllib.request.Request(
        server.url,
        data=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": auth},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return bytes(answer.read())


def test_the_queue_wait_attribute_makes_a_query_protocol_receive_a_long_poll(server):
    # GIVEN a queue whose ReceiveMessageWaitTimeSeconds is 2 and a query-protocol receive
    # that names no wait
    sqs = client(server, "sqs")
    url = sqs.create_queue(
        QueueName="queue-wait", Attributes={"ReceiveMessageWaitTimeSeconds": "2"}
    )["QueueUrl"]

    # WHEN it polls the empty queue, and polls again while a message is sent
    started = time.monotonic()
    empty = query_receive(server, url)
    waited = time.monotonic() - started
    thread, polled = in_background(lambda: query_receive(server, url))
    time.sleep(0.5)
    sqs.send_message(QueueUrl=url, MessageBody="via-query")
    thread.join(10)

    # THEN the first waited the queue's 2 s for nothing; the second answered with the message
    assert b"<Message>" not in empty and 1.8 <= waited < 4.0, (empty, waited)
    assert b"via-query" in polled["answer"] and polled["seconds"] < 1.8, polled
