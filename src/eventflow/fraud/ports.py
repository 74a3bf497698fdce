"""The interfaces the fraud use cases depend on (DynamoDB adapters in ``fraud.store``, or fakes)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from eventflow.fraud.rules import AccountLedger, Settlement

Page = tuple[list[dict[str, Any]], dict[str, Any] | None]


class StaleWriteError(Exception):
    """A conditional write lost a race: the item changed (or vanished) since it was read."""

    def __init__(self, current: dict[str, Any] | None) -> None:
        super().__init__("item changed since it was read")
        self.current = current


class AccountRepository(Protocol):
    def create(self, account: dict[str, Any]) -> None: ...
    def get(self, account_id: str) -> dict[str, Any] | None: ...
    def list(self, limit: int, start: dict[str, Any] | None = None) -> Page: ...
    def update(
        self, account_id: str, changes: dict[str, Any], expected_version: int
    ) -> dict[str, Any]: ...
    def delete(self, account_id: str) -> bool: ...


class TransactionRepository(Protocol):
    def create(self, txn: dict[str, Any]) -> None: ...
    def get(self, txn_id: str) -> dict[str, Any] | None: ...
    def list(
        self, limit: int, start: dict[str, Any] | None = None, account_id: str | None = None
    ) -> Page: ...
    def commit_fraud(
        self, before: dict[str, Any], after: dict[str, Any], event: dict[str, Any]
    ) -> None: ...


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
