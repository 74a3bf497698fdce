"""The fraud domain's rules, as pure functions (no I/O): easy to unit test and to reason about."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from eventflow.errors import ConflictError
from eventflow.fraud.domain.models import AccountStatus, AccountType, TransactionStatus

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

#: How long an outbox event is kept after it is written (its ``expires_at``, DynamoDB's TTL).
OUTBOX_RETENTION_S = 7 * 24 * 3600


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


# ---------------------------------------------------------------------------------- exactly once
#: How many of an account's most recent applied events it remembers by id (as digests): a copy
#: of an event published again with a new offset (the outbox relay after a crash) is recognised
#: as long as fewer than this many later events of the same account were applied in between.
RECENT_EVENTS = 20
#: Bytes of an event id's digest (BLAKE2b-128, as strong as a random UUID)
DIGEST_BYTES = 16


def event_digest(event_id: str) -> bytes:
    return hashlib.blake2b(event_id.encode(), digest_size=DIGEST_BYTES).digest()


@dataclass(frozen=True)
class AccountLedger:
    """An account's fraud tally and what the consumer has applied to it.

    ``offsets``: per ``topic-partition``, the highest offset of the account's records handled;
    a record at or below it was handled already (a redelivery). ``recent``: the digests of the
    last :data:`RECENT_EVENTS` events counted, oldest first. ``version`` grows with every write
    (the consumer's and the operator's): the optimistic lock.
    """

    account_id: str
    count: int
    status: AccountStatus
    version: int = 0
    offsets: Mapping[str, int] = field(default_factory=dict)
    recent: bytes = b""

    def handled(self, partition: str, offset: int) -> bool:
        return offset <= self.offsets.get(partition, -1)

    def digests(self) -> set[bytes]:
        r = self.recent
        return {r[i : i + DIGEST_BYTES] for i in range(0, len(r), DIGEST_BYTES)}


@dataclass(frozen=True)
class FraudDelivery:
    """One fraud event as delivered: its id and where the record sits."""

    event_id: str
    partition: str
    offset: int


@dataclass(frozen=True)
class Settlement:
    """The outcome of applying deliveries to one account: the ledger to write (if anything is
    new), and which deliveries (by position) count now and which were applied before."""

    before: AccountLedger
    after: AccountLedger
    new: tuple[int, ...]
    duplicates: tuple[int, ...]
    blocks: bool

    @property
    def changes(self) -> bool:
        return bool(self.new)


def settle(
    ledger: AccountLedger,
    deliveries: Sequence[FraudDelivery],
    threshold: int = 3,
    window: int = RECENT_EVENTS,
) -> Settlement:
    """Apply ``deliveries`` (one account's, in offset order, distinct event ids) to ``ledger``.

    A delivery is a duplicate when its offset is at or below the account's offset for its
    partition (a redelivered record) or its event id is among the recent ones (a republished
    copy with a new offset); the others count. The new ledger counts them, remembers them, moves
    the offsets past every delivery and is the next version.
    """
    recent = ledger.digests()
    new: list[int] = []
    dups: list[int] = []
    added = b""
    offsets = dict(ledger.offsets)
    for i, d in enumerate(deliveries):
        digest = event_digest(d.event_id)
        if ledger.handled(d.partition, d.offset) or digest in recent:
            dups.append(i)
        else:
            new.append(i)
            recent.add(digest)
            added += digest
        offsets[d.partition] = max(d.offset, offsets.get(d.partition, -1))
    tally, blocks = apply_fraud(FraudTally(ledger.count, ledger.status), len(new), threshold)
    keep = window * DIGEST_BYTES
    after = replace(
        ledger,
        count=tally.count,
        status=tally.status,
        version=ledger.version + 1,
        offsets=offsets,
        recent=(ledger.recent + added)[-keep:] if keep else b"",
    )
    return Settlement(ledger, after, tuple(new), tuple(dups), blocks)
