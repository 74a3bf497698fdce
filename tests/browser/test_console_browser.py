"""What a user sees in the console and in Swagger UI, in headless Chromium, after the fraud demo
(one account, four transactions, three marked as fraud, the account blocked)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eventflow_local.apigw.local_token import DEFAULT_TOKEN
from tests.browser.conftest import Page
from tests.console_support import template_stack
from tests.integration.faults import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.browser]
# `make screenshot` sets CONSOLE_SCREENSHOT=docs/console.png (the README's picture); an ordinary run
# writes it under pytest's temporary folder, so `make test` leaves the working tree as it was
SCREENSHOT_ENV = "CONSOLE_SCREENSHOT"


@pytest.fixture(scope="module")
def fraud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict]]:
    with template_stack(tmp_path_factory.mktemp("browser")) as started:
        yield started


@pytest.fixture
def page(browser: Any, fraud: tuple[Any, dict]) -> Iterator[Page]:
    stack, _ = fraud
    opened = Page(browser, stack.api_url)
    try:
        yield opened
        assert opened.outside == [], "the page reached outside the harness"
        assert opened.errors == [], "script errors on the page"
        assert opened.missing == [], "files the page needs are missing"
    finally:
        opened.close()


def console(fraud: tuple[Any, dict], view: str) -> str:
    return f"{fraud[0].api_url}/_console/#/{view}"


def test_swagger_ui_lists_the_api_routes_offline(page, fraud):
    page.page.goto(f"{fraud[0].api_url}/swagger")
    page.page.wait_for_selector(".opblock-summary-path", timeout=15_000)
    paths = set(page.page.locator(".opblock-summary-path").all_inner_texts())
    paths = {re.sub(r"\s+", "", p) for p in paths}
    assert {"/accounts", "/earthquake-events/start", "/dead-letters"} <= paths
    assert any(re.fullmatch(r"/transactions/\{\w+\}/fraud", p) for p in paths), paths


def test_the_topic_shows_the_three_fraud_messages_with_their_keys(page, fraud):
    _, facts = fraud
    page.page.goto(console(fraud, "topic/transaction-service-topic"))
    messages = page.page.locator("#messages .message")
    messages.nth(2).wait_for(timeout=10_000)
    assert messages.count() == 3
    assert messages.locator(".key").all_inner_texts() == [facts["account"]["id"]] * 3
    text = page.page.locator("#messages").inner_text()
    for txn in facts["transactions"][:3]:
        assert txn["id"] in text
    assert text.count('"status": "FRAUD"') == 3  # the values, pretty-printed JSON


def test_the_account_shows_three_frauds_and_blocked(page, fraud):
    _, facts = fraud
    page.page.goto(console(fraud, "fraud"))
    status = page.page.locator(f'[data-account="{facts["account"]["id"]}"]')
    status.wait_for(timeout=10_000)
    assert status.inner_text() == "blocked"
    row = page.page.locator("#accounts tr", has=status)
    assert row.locator(".fraud-count").inner_text() == "3"


def test_the_board_changes_live_as_a_fraud_is_marked(page, fraud):
    from tests.console_support import request

    stack, _ = fraud
    page.page.goto(console(fraud, "fraud"))
    page.page.locator("#live.on").wait_for(timeout=10_000)  # the event stream is connected
    auth = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    _, _, raw = request(
        "POST",
        f"{stack.api_url}/accounts",
        {"name": "Live", "number": "Li1", "type": "root", "status": "new"},
        auth,
    )
    account = __import__("json").loads(raw)["id"]
    _, _, raw = request(
        "POST", f"{stack.api_url}/transactions", {"accountId": account, "description": "x"}, auth
    )
    txn = __import__("json").loads(raw)["id"]
    request("POST", f"{stack.api_url}/transactions/{txn}/fraud", None, auth)
    row = page.page.locator("#accounts tr", has=page.page.locator(f'[data-account="{account}"]'))
    # no reload: the account consumer's invocation is pushed, and the board follows
    page.page.wait_for_function(
        "id => [...document.querySelectorAll('#accounts tr')].some(r => r.querySelector("
        "`[data-account='${id}']`) && r.querySelector('.fraud-count').textContent === '1')",
        arg=account,
        timeout=20_000,
    )
    assert row.locator(".fraud-count").inner_text() == "1"


def test_an_invocation_of_the_account_consumer_is_listed_with_its_logs(page, fraud):
    page.page.goto(console(fraud, "functions"))
    row = page.page.locator("#invocations tr", has_text="AccountConsumerFunction").first
    row.wait_for(timeout=10_000)
    assert "kafka:transaction-service-topic" in row.inner_text()
    row.click()
    page.page.locator("#invocation-logs").wait_for(timeout=10_000)
    assert "AccountConsumerFunction" in page.page.locator("main").inner_text()


def test_the_emitters_schedule_is_fired_now_from_the_functions_page(page, fraud):
    # GIVEN the token typed in, the functions page lists the emitter's schedule (SAM's Schedule
    # event, an EventBridge rule once transformed) with a Fire now button
    page.page.goto(console(fraud, "functions"))
    page.page.fill("#token", DEFAULT_TOKEN)
    button = page.page.locator("button.fire-schedule[data-schedule$='EmitSchedule']")
    button.wait_for(timeout=10_000)
    # WHEN it is clicked
    button.click()
    # THEN the emitter runs at once, its invocation listed as fired by hand (a run on time is
    # schedule:<id>)
    row = page.page.locator("#invocations tr", has_text="QuakeEmitterFunction").filter(
        has_text="fired:QuakeEmitterFunctionEmitSchedule"
    )
    row.first.wait_for(timeout=20_000)


def test_a_message_produced_from_the_page_is_parked_and_redriven(page, fraud):
    # GIVEN the token typed in, a value that is not JSON produced from the topic's page
    page.page.goto(console(fraud, "topic/transaction-service-topic"))
    page.page.fill("#token", DEFAULT_TOKEN)
    page.page.fill("input[name=key]", "browser-key")
    page.page.fill("textarea[name=value]", "not json from the browser")
    page.page.click("form.inline button[type=submit]")
    page.page.get_by_text(re.compile(r"sent to partition \d+ at offset \d+")).wait_for(
        timeout=10_000
    )
    # WHEN the account consumer parks it, THEN the dead letters view shows reason and raw bytes
    page.page.goto(console(fraud, "dead-letters"))
    letter = page.page.locator("#dead-letters .message", has_text="not json from the browser")
    letter.wait_for(timeout=20_000)
    assert "MALFORMED" in letter.inner_text() and "key: browser-key" in letter.inner_text()
    # AND Redrive sends it back to its topic, once
    letter.get_by_role("button", name="Redrive").click()
    letter.get_by_text("redriven").first.wait_for(timeout=10_000)


def test_an_earthquake_dot_appears_on_the_map_after_start(page, fraud, tmp_path):
    page.page.goto(console(fraud, "quakes"))
    page.page.locator("#quake-map svg path.land").wait_for(timeout=10_000)
    page.page.fill("#token", DEFAULT_TOKEN)
    page.page.select_option("#quake-magnitudes", "uniform")  # a third of them alerts
    page.page.click("#quake-start")
    page.page.locator("#quake-map circle.quake").first.wait_for(timeout=30_000)
    # the dots come as the stream runs, pushed by the consumer's invocations (no reload)
    page.page.locator("#quake-map circle.quake").nth(5).wait_for(timeout=20_000)
    page.page.locator("#quake-map circle.quake.alert").first.wait_for(timeout=20_000)
    page.page.click("#quake-stop")
    wait_for(lambda: "stopped" in page.page.locator("#stream-state").inner_text(), 15, "stop")
    # the overview at a glance, for the README
    page.page.goto(console(fraud, ""))
    page.page.locator("#overview-accounts .fraud-count").first.wait_for(timeout=10_000)
    page.page.locator("#overview-quakes circle.quake").first.wait_for(timeout=10_000)
    page.page.wait_for_timeout(300)
    screenshot = Path(os.environ.get(SCREENSHOT_ENV) or tmp_path / "console.png")
    page.page.screenshot(path=str(screenshot))
    assert screenshot.stat().st_size > 20_000


def test_a_message_sent_to_a_queue_from_the_messaging_page_is_counted(page, fraud):
    # GIVEN the token typed in, the messaging page lists the template's failure queues
    page.page.goto(console(fraud, "messaging"))
    page.page.fill("#token", DEFAULT_TOKEN)
    page.page.locator("#queues [data-queue='RelayFailureQueue']").wait_for(timeout=10_000)
    # WHEN a message is sent to one of them with the page's form
    form = page.page.locator("form.send-queue")
    form.locator("select[name=queue]").select_option("RelayFailureQueue")
    form.locator("textarea[name=body]").fill('{"from": "the browser"}')
    form.locator("button[type=submit]").click()
    # THEN the page shows the message id SQS gave it, and the queue counts it as visible
    result = page.page.locator("[data-result=queue]")
    page.page.wait_for_function(
        "el => /^MessageId [0-9a-f-]{36}$/.test(el.textContent)", arg=result.element_handle()
    )
    page.page.reload()
    row = page.page.locator("#queues tr", has=page.page.locator("[data-queue='RelayFailureQueue']"))
    row.wait_for(timeout=10_000)
    assert row.locator("td").nth(1).inner_text().strip() == "1"
