"""The seed's sample data: account ``662c081370bd2ba6b5f04e94`` and its transaction ``1``.

Written straight to the tables of a running stack (its DynamoDB endpoint comes from
``<state-dir>/stack.json``), idempotently: what already exists is left as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eventflow.errors import ConflictError
from eventflow.fraud.adapters.accounts import AccountStore
from eventflow.fraud.adapters.transactions import TransactionStore
from eventflow.fraud.domain.models import Account, Transaction

SEED_ACCOUNT: dict[str, Any] = {
    "id": "662c081370bd2ba6b5f04e94",
    "name": "AccName1",
    "number": "Ac12345",
    "type": "root",
    "status": "new",
    "fraudCount": 0,
    "createdAt": "2024-05-10T08:43:00.000Z",
    "updatedAt": "2024-05-10T08:43:00.000Z",
}
SEED_TRANSACTION: dict[str, Any] = {
    "id": "1",
    "status": "CREATED",
    "accountId": SEED_ACCOUNT["id"],
    "description": "simple transaction",
    "createdAt": "2024-05-10T08:43:41.389Z",
    "updatedAt": "2024-05-10T08:43:41.389Z",
}


def _created(write: Any, item: Any) -> str:
    try:
        write(item)
    except ConflictError:
        return "already there"
    return "created"


def seed(client: Any, tables: Mapping[str, str]) -> dict[str, str]:
    """Put the seed account and transaction unless they exist; say what happened to each."""
    accounts = AccountStore(tables.get("AccountsTable", "AccountsTable"), client=client)
    transactions = TransactionStore(
        tables.get("TransactionsTable", "TransactionsTable"), client=client
    )
    return {
        f"account {SEED_ACCOUNT['id']}": _created(
            accounts.create, Account.model_validate(SEED_ACCOUNT)
        ),
        f"transaction {SEED_TRANSACTION['id']}": _created(
            transactions.create, Transaction.model_validate(SEED_TRANSACTION)
        ),
    }
