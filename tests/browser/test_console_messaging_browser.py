"""The console's messaging page in headless Chromium, on the console_messaging fixture app
(tests/apps/console_messaging): it lists the queues, SNS topics, buses and Kinesis streams, and
its forms publish to a topic, put an event on a bus and a record on a stream, showing the id the
service gave (or the error) — and the recorder function got exactly that message, event, record."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eventflow_local.apigw.local_token import DEFAULT_TOKEN
from tests.browser.conftest import Page

pytestmark = [pytest.mark.integration, pytest.mark.browser]
APP = Path(__file__).resolve().parent.parent / "apps" / "console_messaging" / "template.yaml"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from eventflow_local.stack import Stack

    stack = Stack(
        template_path=APP,
        port=0,
        kafka_port=0,
        environ={},
        state_dir=tmp_path_factory.mktemp("messaging-browser"),
        log=lambda line: None,
    )
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def page(browser: Any, app: Any) -> Iterator[Page]:
    opened = Page(browser, app.api_url)
    try:
        opened.page.goto(f"{app.api_url}/_console/#/messaging")
        opened.page.fill("#token", DEFAULT_TOKEN)
        yield opened
        assert opened.outside == [], "the page reached outside the harness"
        assert opened.errors == [], "script errors on the page"
        assert opened.missing == [], "files the page needs are missing"
    finally:
        opened.close()


def seen_by_recorder(app: Any, via: str, ident: str, timeout: float = 30.0) -> dict:
    """What the recorder wrote to the seen queue for the message, event or record ``ident``."""
    sqs = app.dynamo.client("sqs")
    url = app.queues["SeenQueue"]["QueueUrl"]
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            seen.append(json.loads(message["Body"]))
        found = [s for s in seen if s["via"] == via and s["id"] == ident]
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"the recorder never got {via} {ident}: {seen}")


def result_of(page: Page, kind: str, pattern: str) -> str:
    """The form's result line once it reads as ``pattern``."""
    result = page.page.locator(f"[data-result={kind}]")
    page.page.wait_for_function(
        "([el, p]) => new RegExp(p).test(el.textContent)",
        arg=[result.element_handle(), pattern],
        timeout=15_000,
    )
    return result.inner_text()


def test_the_page_lists_queues_topics_buses_and_streams_with_their_counts(page):
    # WHEN the messaging page is open THEN each kind is listed with what reads it
    p = page.page
    for shown in ("[data-queue='JobsQueue']", "[data-topic='NoticesTopic']", "[data-bus='shop']"):
        p.locator(shown).wait_for(timeout=15_000)  # each panel fills as its list arrives
    p.locator("#streams [data-stream='ClicksStream']").wait_for(timeout=15_000)
    assert p.locator("#queues .count").inner_text() == "4"
    assert p.locator("#sns-topics .count").inner_text() == "2"
    assert p.locator("#buses .count").inner_text() == "2"
    assert p.locator("#streams .count").inner_text() == "1"
    jobs = p.locator("#queues tr", has=p.locator("[data-queue='JobsQueue']")).inner_text()
    assert "JobsDeadLetters (after 3 receives, 0 visible)" in jobs
    dead = p.locator("#queues tr", has=p.locator("[data-queue='JobsDeadLetters']")).inner_text()
    assert "dead-letter queue of JobsQueue" in dead
    notices = p.locator("#sns-topics tr", has=p.locator("[data-topic='NoticesTopic']"))
    assert "lambda → RecorderFunction" in notices.inner_text()
    assert '{"kind":["urgent"]}' in notices.inner_text()
    shop = p.locator("#buses tr", has=p.locator("[data-bus='shop']")).inner_text()
    assert "LargeOrders" in shop and "lambda RecorderFunction" in shop
    clicks = p.locator("#streams tr", has=p.locator("[data-stream='ClicksStream']"))
    assert "RecorderFunction.Clicks" in clicks.inner_text()
    assert clicks.locator("td").nth(1).inner_text().strip() == "2"  # shards


def test_a_message_published_from_the_page_reaches_the_subscribed_function(page, app):
    # GIVEN the publish form, the notices topic chosen
    form = page.page.locator("form.send-topic")
    form.locator("select[name=topic] option[value='NoticesTopic']").wait_for(
        state="attached", timeout=15_000
    )
    form.locator("select[name=topic]").select_option("NoticesTopic")
    form.locator("input[name=subject]").fill("From the page")
    form.locator("textarea[name=message]").fill('{"disk": "full"}')
    form.locator("input[name=attributes]").fill('{"kind": "urgent"}')
    # WHEN it is published
    form.locator("button[type=submit]").click()
    # THEN the page shows SNS's message id, and the recorder ran with that very message
    text = result_of(page, "topic", r"^MessageId [0-9a-f-]{36}$")
    got = seen_by_recorder(app, "sns", text.split()[-1])
    assert got["subject"] == "From the page" and got["body"]["Message"] == '{"disk": "full"}'
    # AND the topic's row counts it as delivered, live
    page.page.wait_for_function(
        "() => document.querySelector(\"#sns-topics [data-topic='NoticesTopic']\")"
        ".closest('tr').querySelectorAll('td')[2].textContent === '1'",
        timeout=15_000,
    )


def test_an_event_and_a_record_sent_from_the_page_reach_the_recorder(page, app):
    # WHEN a large order is put on the shop bus with the page's form
    form = page.page.locator("form.send-event")
    form.locator("select[name=bus] option[value='shop']").wait_for(state="attached", timeout=15_000)
    form.locator("select[name=bus]").select_option("shop")
    form.locator("input[name=source]").fill("shop.orders")
    form.locator("input[name=detailType]").fill("Order")
    form.locator("textarea[name=detail]").fill('{"total": 300}')
    form.locator("button[type=submit]").click()
    # THEN the page shows the event id, and the rule's target got that event
    event_id = result_of(page, "event", r"^EventId \S+$").split()[-1]
    assert seen_by_recorder(app, "events", event_id)["body"]["detail"] == {"total": 300}
    # WHEN a record is put on the clicks stream
    form = page.page.locator("form.send-record")
    form.locator("select[name=stream]").select_option("ClicksStream")
    form.locator("input[name=partitionKey]").fill("user-9")
    form.locator("textarea[name=data]").fill("clicked from the page")
    form.locator("button[type=submit]").click()
    # THEN the page shows its shard and sequence number, and the mapping delivered that record
    text = result_of(page, "record", r"^shardId-\d+, sequence number \S+$")
    got = seen_by_recorder(app, "kinesis", text.split()[-1])
    assert got["data"] == "clicked from the page" and got["key"] == "user-9"


def test_an_error_is_shown_in_the_page_in_one_line(page):
    # GIVEN the stream form without a partition key, and the publish form with bad attributes
    form = page.page.locator("form.send-record")
    form.locator("select[name=stream] option").first.wait_for(state="attached", timeout=15_000)
    form.locator("textarea[name=data]").fill("x")
    # WHEN each is sent THEN each result line names the problem
    form.locator("button[type=submit]").click()
    text = result_of(page, "record", "400")
    assert re.search(r"400 partitionKey: a non-empty string is required", text), text
    form = page.page.locator("form.send-topic")
    form.locator("textarea[name=message]").fill("x")
    form.locator("input[name=attributes]").fill("{not json")
    form.locator("button[type=submit]").click()
    assert result_of(page, "topic", "attributes: not JSON").startswith("attributes: not JSON")
