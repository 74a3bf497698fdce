"""The fraud domain's rules, as pure functions (no I/O): easy to unit test and to reason about."""

from __future__ import annotations

from dataclasses import dataclass

from eventflow.errors import ConflictError
from eventflow.fraud.models import AccountStatus, AccountType, TransactionStatus

#: Allowed account status changes (the seed's rules).
STATUS_TRANSITIONS: dict[AccountStatus, frozenset[AccountStatus]] = {
    AccountStatus.NEW: frozenset({AccountStatus.ACTIVE, AccountStatus.BLOCKED}),
    AccountStatus.ACTIVE: frozenset({AccountStatus.INACTIVE, AccountStatus.BLOCKED}),
    AccountStatus.INACTIVE: frozenset({AccountStatus.ACTIVE}),
    AccountStatus.BLOCKED: frozenset({AccountStatus.ACTIVE}),
}

#: Accounts in these states may transact; others get FAILED transactions.
TRANSACTING_STATUSES = frozenset({AccountStatus.NEW, AccountStatus.ACTIVE})

#: A transaction in one of these states can no longer be marked as fraud.
FRAUD_FORBIDDEN = frozenset({TransactionStatus.FRAUD, TransactionStatus.FAILED})


def check_status_transition(current: AccountStatus, new: AccountStatus) -> None:
    if current == new:
        raise ConflictError(f"account status is already {current.value}", field="status")
    if new not in STATUS_TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in STATUS_TRANSITIONS[current]))
        raise ConflictError(
            f"account status cannot change from {current.value} to {new.value} (allowed: {allowed})",
            field="status",
        )


def check_type_transition(current: AccountType, new: AccountType) -> None:
    if current == new:
        raise ConflictError(f"account type is already {current.value}", field="type")


def initial_transaction_status(account_status: AccountStatus) -> TransactionStatus:
    """``new``/``active`` accounts get CREATED transactions; others are stored as FAILED."""
    return (
        TransactionStatus.CREATED
        if account_status in TRANSACTING_STATUSES
        else TransactionStatus.FAILED
    )


def check_can_mark_fraud(transaction_id: str, status: TransactionStatus) -> None:
    if status in FRAUD_FORBIDDEN:
        raise ConflictError(
            f"transaction {transaction_id} is {status.value} and cannot be marked as fraud",
            status=status.value,
        )


@dataclass(frozen=True)
class FraudTally:
    """An account's fraud state as the consumer sees it."""

    count: int
    status: AccountStatus


def apply_fraud(tally: FraudTally, new_events: int, threshold: int = 3) -> tuple[FraudTally, bool]:
    """Count ``new_events`` distinct fraud events; return the new tally and whether it blocks now.

    The account is blocked once, when its count first reaches ``threshold`` (from below). An
    account that is already blocked keeps counting but nothing else changes. An account that
    was unblocked by an operator after reaching the threshold is not blocked again by the
    counter: that is the operator's decision to keep.
    """
    if new_events < 0:
        raise ValueError("new_events must be >= 0")
    new_count = tally.count + new_events
    crosses = tally.count < threshold <= new_count
    blocks_now = crosses and tally.status != AccountStatus.BLOCKED
    status = AccountStatus.BLOCKED if blocks_now else tally.status
    return FraudTally(count=new_count, status=status), blocks_now
