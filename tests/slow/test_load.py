"""Fault 9, load: 50,000 fraud events across 2,000 accounts through the harness.

Broker (Tansu), DynamoDB (moto) and ``python -m eventflow_local up`` run as separate processes, as
``make up`` runs them for a user with their own broker and tables; the harness runs the template
as it is (batches of 100, one-second window). 500 of the events are published a second time
(new offsets), as a relay that retried would. Every account with three or more distinct events
must end blocked with the exact count, every other one active with its exact count.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from eventflow_local.services.dynamodb import DynamoEndpoint
from tests.integration.faults import (
    FRAUD_TOPIC,
    HarnessProcess,
    account_states,
    backing_services,
    caught_up,
    ems_metric,
    end_offsets,
    fraud_value,
    invoked_records,
    producer,
    put_accounts,
    relay_copies,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.integration]

CONSUMER = "AccountConsumerFunction"
GROUP = "account-group"
ACCOUNTS = 2_000
EVENTS = 50_000
REPUBLISHED = 500
FEW = 400  # accounts that get 0, 1, 2 or 3 events: both sides of the threshold


def plan(accounts: list[str]) -> Counter[str]:
    """Distinct events per account: 0-3 for the first ``FEW``, the rest share what is left."""
    counts = Counter({a: i % 4 for i, a in enumerate(accounts[:FEW])})
    rest = accounts[FEW:]
    left = EVENTS - sum(counts.values())
    for i, a in enumerate(rest):
        counts[a] = left // len(rest) + (1 if i < left % len(rest) else 0)
    assert sum(counts.values()) == EVENTS
    return counts


def test_50000_events_over_2000_accounts_none_lost_none_doubled_blocked_exactly_at_three(
    tmp_path: Path,
) -> None:
    with backing_services(tmp_path) as (tansu, moto):
        bootstrap = tansu.bootstrap
        client = DynamoEndpoint.connect(moto.url).dynamodb()
        harness = HarnessProcess(tmp_path / "state", bootstrap, moto.url, tmp_path / "harness.log")
        harness.start()
        try:
            accounts_table = harness.table("AccountsTable")
            accounts = put_accounts(client, accounts_table, ACCOUNTS)
            expected = plan(accounts)
            rng = random.Random(9)
            distinct = [(uuid.uuid4().hex, a) for a, n in expected.items() for _ in range(n)]
            rng.shuffle(distinct)
            copies = relay_copies(distinct, REPUBLISHED)

            # WHEN 50,500 records (50,000 distinct events) are published
            started = time.monotonic()
            p = producer(bootstrap, linger_ms=20, batch_size=256 * 1024)
            try:
                for event_id, account_id in distinct + copies:
                    p.send(
                        FRAUD_TOPIC,
                        key=account_id.encode(),
                        value=fraud_value(account_id, event_id),
                    )
                p.flush()
            finally:
                p.close()
            published_s = time.monotonic() - started

            # THEN the consumer works through them all
            wait_for(
                lambda: caught_up(bootstrap, GROUP, FRAUD_TOPIC),
                900,
                "the consumer to commit every record",
                every=2.0,
            )
            elapsed_s = time.monotonic() - started
            lines = harness.log_lines()
        finally:
            harness.stop()

        states = account_states(client, accounts_table)
        have = {a: states[a][0] for a in accounts}
        lost = sum(max(0, n - have[a]) for a, n in expected.items())
        doubled = sum(max(0, have[a] - n) for a, n in expected.items())
        wrong_status = [
            a for a in accounts if states[a][1] != ("blocked" if expected[a] >= 3 else "active")
        ]
        counted = sum(have.values())
        records = sum(end_offsets(bootstrap, FRAUD_TOPIC).values())
        print(
            "FIGURES "
            + json.dumps(
                {
                    "test": "load",
                    "accounts": ACCOUNTS,
                    "distinct_events": EVENTS,
                    "records": records,
                    "delivered": invoked_records(lines, CONSUMER),
                    "counted": ems_metric(lines, "FraudEventsCounted"),
                    "duplicates_dropped": ems_metric(lines, "FraudEventsDuplicate"),
                    "counted_total": counted,
                    "lost": lost,
                    "doubled": doubled,
                    "blocked": sum(1 for a in accounts if states[a][1] == "blocked"),
                    "expected_blocked": sum(1 for a in accounts if expected[a] >= 3),
                    "wrong_status": len(wrong_status),
                    "publish_s": round(published_s, 1),
                    "elapsed_s": round(elapsed_s, 1),
                    "events_per_s": round(EVENTS / elapsed_s),
                },
                sort_keys=True,
            )
        )
        assert records == EVENTS + REPUBLISHED
        assert (lost, doubled) == (0, 0)
        assert counted == EVENTS
        assert not wrong_status, wrong_status[:5]
