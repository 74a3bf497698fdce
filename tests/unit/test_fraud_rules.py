"""The seed's rules, fixed where the seed was wrong. No I/O."""

from __future__ import annotations

import itertools

import pytest

from eventflow.errors import ConflictError
from eventflow.fraud.domain.models import AccountStatus as S
from eventflow.fraud.domain.models import AccountType, TransactionStatus
from eventflow.fraud.domain.rules import (
    RECENT_EVENTS,
    AccountLedger,
    FraudDelivery,
    FraudTally,
    apply_fraud,
    check_can_mark_fraud,
    check_status_transition,
    check_type_transition,
    initial_transaction_status,
    settle,
)

ALLOWED = {
    (S.NEW, S.ACTIVE),
    (S.NEW, S.BLOCKED),
    (S.ACTIVE, S.INACTIVE),
    (S.ACTIVE, S.BLOCKED),
    (S.INACTIVE, S.ACTIVE),
    (S.BLOCKED, S.ACTIVE),
}


@pytest.mark.parametrize(("current", "new"), list(itertools.product(S, S)))
def test_status_transitions_follow_the_seed_rules(current, new):
    if (current, new) in ALLOWED:
        check_status_transition(current, new)
    else:
        with pytest.raises(ConflictError) as err:
            check_status_transition(current, new)
        assert current.value in err.value.message


def test_same_status_is_a_conflict_with_a_clear_message():
    with pytest.raises(ConflictError, match="already active"):
        check_status_transition(S.ACTIVE, S.ACTIVE)


def test_type_changes_both_ways_but_not_to_itself():
    check_type_transition(AccountType.ROOT, AccountType.SUB)
    check_type_transition(AccountType.SUB, AccountType.ROOT)
    with pytest.raises(ConflictError, match="already sub"):
        check_type_transition(AccountType.SUB, AccountType.SUB)


@pytest.mark.parametrize(
    ("account", "expected"),
    [
        (S.NEW, TransactionStatus.CREATED),
        (S.ACTIVE, TransactionStatus.CREATED),
        (S.INACTIVE, TransactionStatus.FAILED),
        (S.BLOCKED, TransactionStatus.FAILED),
    ],
)
def test_transaction_status_depends_on_account_status(account, expected):
    assert initial_transaction_status(account) == expected


@pytest.mark.parametrize("status", list(TransactionStatus))
def test_only_fraud_and_failed_transactions_cannot_be_marked(status):
    if status in (TransactionStatus.FRAUD, TransactionStatus.FAILED):
        with pytest.raises(ConflictError, match=status.value):
            check_can_mark_fraud("t1", status)
    else:
        check_can_mark_fraud("t1", status)


def test_account_is_blocked_at_the_third_event_exactly_once():
    tally = FraudTally(0, S.ACTIVE)
    blocks = []
    for _ in range(5):
        tally, now = apply_fraud(tally, 1)
        blocks.append(now)
    assert blocks == [False, False, True, False, False]
    assert tally == FraudTally(5, S.BLOCKED)


def test_many_events_at_once_cross_the_threshold_once():
    tally, blocks = apply_fraud(FraudTally(1, S.NEW), 7)
    assert (tally, blocks) == (FraudTally(8, S.BLOCKED), True)


def test_already_blocked_account_keeps_counting_without_a_new_block():
    tally, blocks = apply_fraud(FraudTally(0, S.BLOCKED), 3)
    assert (tally, blocks) == (FraudTally(3, S.BLOCKED), False)


def test_unblocked_account_past_the_threshold_is_not_blocked_again():
    tally, blocks = apply_fraud(FraudTally(3, S.ACTIVE), 1)
    assert (tally, blocks) == (FraudTally(4, S.ACTIVE), False)


def test_threshold_is_configurable():
    tally, blocks = apply_fraud(FraudTally(0, S.ACTIVE), 1, threshold=1)
    assert blocks and tally.status == S.BLOCKED


# ---------------------------------------------------------------------------------- settle
P = "transaction-service-topic-0"


def _ledger(**kw):
    return AccountLedger("a", kw.pop("count", 0), kw.pop("status", S.ACTIVE), **kw)


def _run(ledger, events):
    """Settle ``events`` (eventId, offset) one batch at a time; the final ledger."""
    for batch in events:
        s = settle(ledger, [FraudDelivery(e, P, o) for e, o in batch])
        if s.changes:
            ledger = s.after
    return ledger


def test_settle_counts_new_events_and_moves_offset_version_and_recent():
    s = settle(_ledger(), [FraudDelivery("e1", P, 4), FraudDelivery("e2", P, 9)])
    assert (s.new, s.duplicates, s.blocks) == ((0, 1), (), False)
    assert (s.after.count, s.after.version, dict(s.after.offsets)) == (2, 1, {P: 9})
    assert len(s.after.recent) == 2 * 16


def test_a_redelivered_record_is_a_duplicate_by_its_offset():
    after = _run(_ledger(), [[("e1", 0), ("e2", 1), ("e3", 2)]])
    s = settle(after, [FraudDelivery("e2", P, 1), FraudDelivery("e3", P, 2)])
    assert s.duplicates == (0, 1) and not s.changes
    assert after.status == S.BLOCKED


def test_a_republished_copy_is_a_duplicate_by_its_id_within_the_window():
    events = [[(f"e{i}", i)] for i in range(RECENT_EVENTS)]
    after = _run(_ledger(), events)
    s = settle(after, [FraudDelivery("e0", P, 100)])  # RECENT_EVENTS - 1 events since e0
    assert s.duplicates == (0,) and after.count == RECENT_EVENTS


def test_beyond_the_window_a_copy_would_count_again():
    """The assumption the consumer states: a copy older than the window is not recognised."""
    events = [[(f"e{i}", i)] for i in range(RECENT_EVENTS + 1)]
    after = _run(_ledger(), events)
    assert settle(after, [FraudDelivery("e0", P, 100)]).new == (0,)


def test_the_block_happens_once_and_an_operators_unblock_is_kept():
    s = settle(_ledger(count=2), [FraudDelivery("x", P, 0)])
    assert s.blocks and s.after.status == S.BLOCKED
    unblocked = _ledger(count=5, status=S.ACTIVE)
    s = settle(unblocked, [FraudDelivery("y", P, 0)])
    assert not s.blocks and s.after.status == S.ACTIVE and s.after.count == 6
