"""The accounts API's use cases: plain Python over the stores (ports), no AWS types here.

The stores take and return domain objects (``Account``, ``Transaction``); :func:`view` turns one
into the JSON the API returns (the transactions' use cases share it)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from eventflow.clock import now_iso
from eventflow.errors import InvalidRequestError, NotFoundError, TransientError
from eventflow.fraud.domain.models import (
    Account,
    AccountStatus,
    CreateAccount,
    Transaction,
    UpdateAccount,
)
from eventflow.fraud.domain.rules import check_status_transition, check_type_transition
from eventflow.fraud.ports import AccountRepository, StaleWriteError

MAX_OPTIMISTIC_RETRIES = 5

#: a page as the API returns it: the items' JSON, and the key of the next page
Page = tuple[list[dict[str, Any]], dict[str, Any] | None]


def new_id() -> str:
    return uuid.uuid4().hex


def view(obj: Account | Transaction) -> dict[str, Any]:
    """An account or transaction as the API shows it (unset optional fields left out)."""
    return obj.model_dump(mode="json", exclude_none=True)


class AccountService:
    def __init__(self, accounts: AccountRepository, ids: Callable[[], str] = new_id) -> None:
        self.accounts = accounts
        self.ids = ids

    def create(self, body: CreateAccount) -> dict[str, Any]:
        now = now_iso()
        account = Account(
            id=self.ids(),
            name=body.name,
            number=body.number,
            type=body.type,
            status=body.status,
            fraudCount=0,
            createdAt=now,
            updatedAt=now,
            blockedAt=now if body.status == AccountStatus.BLOCKED else None,
        )
        self.accounts.create(account)
        return view(account)

    def get(self, account_id: str) -> dict[str, Any]:
        found = self.accounts.get(account_id)
        if found is None:
            raise NotFoundError(f"account {account_id} not found")
        return view(found.account)

    def list(self, limit: int, start: dict[str, Any] | None) -> Page:
        accounts, last = self.accounts.list(limit, start)
        return [view(a) for a in accounts], last

    def update(self, account_id: str, body: UpdateAccount) -> dict[str, Any]:
        if not body.model_dump(exclude_none=True):
            raise InvalidRequestError(
                "nothing to update: give at least one of name, number, type, status"
            )
        current = self.accounts.get(account_id)
        for _ in range(MAX_OPTIMISTIC_RETRIES):
            if current is None:
                raise NotFoundError(f"account {account_id} not found")
            account = current.account
            changes: dict[str, Any] = {}
            if body.status is not None:
                check_status_transition(account.status, body.status)
                changes["status"] = body.status
            if body.type is not None:
                check_type_transition(account.type, body.type)
                changes["type"] = body.type
            if body.name is not None:
                changes["name"] = body.name
            if body.number is not None:
                changes["number"] = body.number
            now = now_iso()
            if now <= account.updatedAt:  # keep updatedAt strictly increasing
                now = (
                    account.updatedAt[:-1] + "1Z" if now == account.updatedAt else account.updatedAt
                )
            changes["updatedAt"] = now
            if body.status == AccountStatus.BLOCKED:
                changes["blockedAt"] = now
            try:
                return view(
                    self.accounts.update(current, account.model_copy(update=changes)).account
                )
            except StaleWriteError as stale:
                current = stale.current
        raise TransientError(f"account {account_id} kept changing; try again")

    def delete(self, account_id: str) -> None:
        if not self.accounts.delete(account_id):
            raise NotFoundError(f"account {account_id} not found")
