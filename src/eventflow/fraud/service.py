"""Use cases of the fraud domain: plain Python over the stores (ports), no AWS types here."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from eventflow.clock import epoch_s, now_iso
from eventflow.errors import ConflictError, NotFoundError, TransientError
from eventflow.fraud.models import (
    FRAUD_EVENT_TYPE,
    AccountStatus,
    AccountType,
    CreateAccount,
    CreateTransaction,
    TransactionStatus,
    UpdateAccount,
)
from eventflow.fraud.ports import AccountRepository, StaleWriteError, TransactionRepository
from eventflow.fraud.rules import (
    check_can_mark_fraud,
    check_status_transition,
    check_type_transition,
    initial_transaction_status,
)
from eventflow.fraud.store import OUTBOX_RETENTION_S

Page = tuple[list[dict[str, Any]], dict[str, Any] | None]
ACCOUNT_FIELDS = (
    "id",
    "name",
    "number",
    "type",
    "status",
    "fraudCount",
    "createdAt",
    "updatedAt",
    "blockedAt",
)
TRANSACTION_FIELDS = ("id", "status", "accountId", "description", "createdAt", "updatedAt")
MAX_OPTIMISTIC_RETRIES = 5


def new_id() -> str:
    return uuid.uuid4().hex


def account_view(item: dict[str, Any]) -> dict[str, Any]:
    view = {k: item[k] for k in ACCOUNT_FIELDS if k in item and item[k] is not None}
    view.setdefault("fraudCount", 0)
    return view


def transaction_view(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item[k] for k in TRANSACTION_FIELDS if k in item and item[k] is not None}


class AccountService:
    def __init__(self, accounts: AccountRepository, ids: Callable[[], str] = new_id) -> None:
        self.accounts = accounts
        self.ids = ids

    def create(self, body: CreateAccount) -> dict[str, Any]:
        now = now_iso()
        account = {
            "id": self.ids(),
            "name": body.name,
            "number": body.number,
            "type": body.type.value,
            "status": body.status.value,
            "fraudCount": 0,
            "createdAt": now,
            "updatedAt": now,
        }
        if body.status == AccountStatus.BLOCKED:
            account["blockedAt"] = now
        self.accounts.create(account)
        return account_view(account)

    def get(self, account_id: str) -> dict[str, Any]:
        item = self.accounts.get(account_id)
        if item is None:
            raise NotFoundError(f"account {account_id} not found")
        return account_view(item)

    def list(self, limit: int, start: dict[str, Any] | None) -> Page:
        items, last = self.accounts.list(limit, start)
        return [account_view(i) for i in items], last

    def update(self, account_id: str, body: UpdateAccount) -> dict[str, Any]:
        changes_requested = body.model_dump(exclude_none=True)
        if not changes_requested:
            from eventflow.errors import InvalidRequestError

            raise InvalidRequestError(
                "nothing to update: give at least one of name, number, type, status"
            )
        current = self.accounts.get(account_id)
        for _ in range(MAX_OPTIMISTIC_RETRIES):
            if current is None:
                raise NotFoundError(f"account {account_id} not found")
            changes: dict[str, Any] = {}
            if body.status is not None:
                check_status_transition(AccountStatus(current["status"]), body.status)
                changes["status"] = body.status.value
            if body.type is not None:
                check_type_transition(AccountType(current["type"]), body.type)
                changes["type"] = body.type.value
            if body.name is not None:
                changes["name"] = body.name
            if body.number is not None:
                changes["number"] = body.number
            now = now_iso()
            if now <= current["updatedAt"]:  # keep updatedAt strictly increasing
                now = (
                    current["updatedAt"][:-1] + "1Z"
                    if now == current["updatedAt"]
                    else current["updatedAt"]
                )
            changes["updatedAt"] = now
            if changes.get("status") == AccountStatus.BLOCKED.value:
                changes["blockedAt"] = now
            try:
                return account_view(
                    self.accounts.update(account_id, changes, int(current.get("version") or 0))
                )
            except StaleWriteError as stale:
                current = stale.current
        raise TransientError(f"account {account_id} kept changing; try again")

    def delete(self, account_id: str) -> None:
        if not self.accounts.delete(account_id):
            raise NotFoundError(f"account {account_id} not found")


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
        account = self.accounts.get(body.accountId)
        if account is None:
            raise NotFoundError(f"account {body.accountId} not found", field="accountId")
        now = now_iso()
        txn = {
            "id": self.ids(),
            "status": initial_transaction_status(AccountStatus(account["status"])).value,
            "accountId": body.accountId,
            "description": body.description,
            "createdAt": now,
            "updatedAt": now,
        }
        self.transactions.create(txn)
        return transaction_view(txn)

    def get(self, txn_id: str) -> dict[str, Any]:
        item = self.transactions.get(txn_id)
        if item is None:
            raise NotFoundError(f"transaction {txn_id} not found")
        return transaction_view(item)

    def list(self, limit: int, start: dict[str, Any] | None, account_id: str | None = None) -> Page:
        items, last = self.transactions.list(limit, start, account_id)
        return [transaction_view(i) for i in items], last


def fraud_event(txn: dict[str, Any], event_id: str) -> dict[str, Any]:
    """The message value: the updated transaction plus ``eventId`` and ``eventType``."""
    return {**transaction_view(txn), "eventId": event_id, "eventType": FRAUD_EVENT_TYPE}


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
            check_can_mark_fraud(txn_id, TransactionStatus(current["status"]))
            now = now_iso()
            after = {**current, "status": TransactionStatus.FRAUD.value, "updatedAt": now}
            event_id = self.ids()
            event = {
                "eventId": event_id,
                "eventType": FRAUD_EVENT_TYPE,
                "accountId": after["accountId"],
                "transactionId": txn_id,
                "payload": fraud_event(after, event_id),
                "createdAt": now,
                "expiresAt": epoch_s() + OUTBOX_RETENTION_S,
            }
            try:
                self.transactions.commit_fraud(current, after, event)
                return transaction_view(after)
            except StaleWriteError as stale:
                current = stale.current
        raise ConflictError(f"transaction {txn_id} kept changing; try again")
