"""The transactions API's use cases: create, read and list transactions, and mark one as fraud
(the status change and its outbox event in one write). Plain Python over the stores (ports)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventflow.clock import epoch_s, now_iso
from eventflow.errors import ConflictError, NotFoundError
from eventflow.fraud.domain.models import (
    FRAUD_EVENT_TYPE,
    CreateTransaction,
    OutboxEvent,
    Transaction,
    TransactionStatus,
)
from eventflow.fraud.domain.rules import (
    OUTBOX_RETENTION_S,
    check_can_mark_fraud,
    initial_transaction_status,
)
from eventflow.fraud.ports import AccountRepository, StaleWriteError, TransactionRepository
from eventflow.fraud.usecases.accounts import MAX_OPTIMISTIC_RETRIES, Page, new_id, view


class TransactionService:
    def __init__(
        self,
        transactions: TransactionRepository,
        accounts: AccountRepository,
        ids: Callable[[], str] = new_id,
    ) -> None:
        self.transactions = transactions
        self.accounts = accounts
        self.ids = ids

    def create(self, body: CreateTransaction) -> dict[str, Any]:
        found = self.accounts.get(body.accountId)
        if found is None:
            raise NotFoundError(f"account {body.accountId} not found", field="accountId")
        now = now_iso()
        txn = Transaction(
            id=self.ids(),
            status=initial_transaction_status(found.account.status),
            accountId=body.accountId,
            description=body.description,
            createdAt=now,
            updatedAt=now,
        )
        self.transactions.create(txn)
        return view(txn)

    def get(self, txn_id: str) -> dict[str, Any]:
        txn = self.transactions.get(txn_id)
        if txn is None:
            raise NotFoundError(f"transaction {txn_id} not found")
        return view(txn)

    def list(self, limit: int, start: dict[str, Any] | None, account_id: str | None = None) -> Page:
        txns, last = self.transactions.list(limit, start, account_id)
        return [view(t) for t in txns], last


def fraud_event(txn: Transaction, event_id: str) -> dict[str, Any]:
    """The message value: the updated transaction plus ``eventId`` and ``eventType``."""
    return {**view(txn), "eventId": event_id, "eventType": FRAUD_EVENT_TYPE}


class FraudMarker:
    """Marks a transaction as FRAUD and records the event in the outbox, in one transaction."""

    def __init__(
        self, transactions: TransactionRepository, ids: Callable[[], str] = new_id
    ) -> None:
        self.transactions = transactions
        self.ids = ids

    def mark(self, txn_id: str) -> dict[str, Any]:
        current = self.transactions.get(txn_id)
        for _ in range(MAX_OPTIMISTIC_RETRIES):
            if current is None:
                raise NotFoundError(f"transaction {txn_id} not found")
            check_can_mark_fraud(txn_id, current.status)
            now = now_iso()
            after = current.model_copy(update={"status": TransactionStatus.FRAUD, "updatedAt": now})
            event_id = self.ids()
            event = OutboxEvent(
                event_id=event_id,
                event_type=FRAUD_EVENT_TYPE,
                account_id=after.accountId,
                transaction_id=txn_id,
                payload=fraud_event(after, event_id),
                created_at=now,
                expires_at=epoch_s() + OUTBOX_RETENTION_S,
            )
            try:
                self.transactions.commit_fraud(current, after, event)
                return view(after)
            except StaleWriteError as stale:
                current = stale.current
        raise ConflictError(f"transaction {txn_id} kept changing; try again")
