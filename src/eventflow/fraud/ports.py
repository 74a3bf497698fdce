"""The interfaces the fraud use cases depend on (DynamoDB adapters in ``fraud.adapters``, or fakes)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from eventflow.fraud.domain.models import Account, OutboxEvent, Transaction
from eventflow.fraud.domain.rules import AccountLedger, Settlement

T = TypeVar("T")

#: a page of domain objects, and the key to pass for the next page (None: the last page)
Page = tuple[list[T], dict[str, Any] | None]


@dataclass(frozen=True)
class VersionedAccount:
    """An account as read, and its ``version``: the optimistic lock the API's updates and the
    consumer's ledger writes share (each write needs the version it read and increments it)."""

    account: Account
    version: int = 0


class StaleWriteError(Exception):
    """A conditional write lost a race: the item changed (or vanished) since it was read.
    ``current`` is what is stored now (a :class:`VersionedAccount` or a ``Transaction``)."""

    def __init__(self, current: Any) -> None:
        super().__init__("item changed since it was read")
        self.current = current


class AccountRepository(Protocol):
    def create(self, account: Account) -> None: ...
    def get(self, account_id: str) -> VersionedAccount | None: ...
    def list(self, limit: int, start: dict[str, Any] | None = None) -> Page[Account]: ...
    def update(self, before: VersionedAccount, after: Account) -> VersionedAccount: ...
    def delete(self, account_id: str) -> bool: ...


class TransactionRepository(Protocol):
    def create(self, txn: Transaction) -> None: ...
    def get(self, txn_id: str) -> Transaction | None: ...
    def list(
        self, limit: int, start: dict[str, Any] | None = None, account_id: str | None = None
    ) -> Page[Transaction]: ...
    def commit_fraud(self, before: Transaction, after: Transaction, event: OutboxEvent) -> None: ...


@dataclass(frozen=True)
class LedgerWrite:
    """How one account's conditional write ended: ``written``; else ``stale`` with the account as
    it is now (``current`` None: it was deleted); else ``failed`` with a transient reason."""

    account_id: str
    written: bool = False
    stale: bool = False
    current: AccountLedger | None = None
    failed: str | None = None


class FraudLedgerPort(Protocol):
    """The consumer's view of the accounts: read tallies, write settlements conditionally."""

    def read(self, account_ids: Sequence[str]) -> dict[str, AccountLedger]:
        """One strongly consistent read of every account (absent ones are left out)."""
        ...

    def write(self, settlements: Sequence[Settlement], now: str) -> list[LedgerWrite]:
        """Each settlement as one conditional write on the version read, all in parallel."""
        ...
