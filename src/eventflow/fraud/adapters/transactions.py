"""The API's adapter of the transactions table: create, get and list transactions, and mark one
as fraud together with its outbox event.

Transactions: pk ``id``; GSIs ``byCreatedAt`` (``listKey``="TRANSACTION", ``createdAt``) and
``byAccount`` (``accountId``, ``createdAt``), both read newest first. The item is
:class:`~eventflow.fraud.adapters.tables.Transactions`; the store takes and returns the domain's
``Transaction``.

Create, get and list go through the model (``eventflow.tables.bind``). ``commit_fraud`` sends one
low-level TransactWriteItems on the same client (the status change and the outbox item,
:func:`outbox_item`), whose cancellation returns the transaction as it is now.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from eventflow import ddb, tables
from eventflow.aws import dynamodb_client, error_code, transient_errors
from eventflow.errors import ConflictError, TransientError
from eventflow.fraud.adapters.tables import (
    TRANSACTION_LIST_KEY,
    Outbox,
    Transactions,
    TransactionsByAccount,
    TransactionsByCreatedAt,
)
from eventflow.fraud.domain.models import OutboxEvent, Transaction, TransactionStatus
from eventflow.fraud.ports import Page, StaleWriteError

# ------------------------------------------------------------------ items <-> domain objects


def transaction_values(txn: Transaction) -> dict[str, Any]:
    """The transaction by the model's attribute names."""
    return {
        "id": txn.id,
        "status": txn.status.value,
        "account_id": txn.accountId,
        "description": txn.description,
        "created_at": txn.createdAt,
        "updated_at": txn.updatedAt,
    }


def transaction_item(txn: Transaction) -> dict[str, Any]:
    """The transaction's low-level item."""
    return tables.item(Transactions, tables.named(Transactions, **transaction_values(txn)))


def transaction_from(row: Transactions) -> Transaction:
    """The transaction in a row of the model."""
    return Transaction(
        id=row.id,
        status=TransactionStatus(row.status),
        accountId=row.account_id,
        description=row.description,
        createdAt=row.created_at,
        updatedAt=row.updated_at,
    )


def transaction_of(item: Mapping[str, Any]) -> Transaction:
    """The transaction in a low-level item."""
    return transaction_from(tables.from_item(Transactions, item))


def outbox_item(event: OutboxEvent) -> dict[str, Any]:
    """The outbox event's low-level item (the relay reads it back from the stream,
    ``eventflow.fraud.adapters.outbox``)."""
    return tables.item(
        Outbox,
        tables.named(
            Outbox,
            event_id=event.event_id,
            event_type=event.event_type,
            account_id=event.account_id,
            transaction_id=event.transaction_id,
            payload=event.payload,
            created_at=event.created_at,
            expires_at=event.expires_at,
        ),
    )


class TransactionStore:
    def __init__(self, table: str, outbox_table: str | None = None, client: Any = None) -> None:
        self.client = client or dynamodb_client()
        self.model = tables.bind(Transactions, table, self.client)
        self.table = table
        self.outbox_table = outbox_table

    def create(self, txn: Transaction) -> None:
        """Write a new transaction; :class:`ConflictError` if its id exists."""
        if not tables.create(self.model, transaction_values(txn)):
            raise ConflictError(f"transaction {txn.id} already exists")

    def get(self, txn_id: str) -> Transaction | None:
        row = tables.get(self.model, txn_id, consistent=True)
        return transaction_from(row) if row else None

    def list(
        self, limit: int, start: dict[str, Any] | None = None, account_id: str | None = None
    ) -> Page[Transaction]:
        n = tables.name
        index: Any
        if account_id:
            index, value = self.model.by_account, account_id
            pk, sk = TransactionsByAccount.account_id, TransactionsByAccount.created_at
        else:
            index, value = self.model.by_created_at, TRANSACTION_LIST_KEY
            pk, sk = TransactionsByCreatedAt.list_key, TransactionsByCreatedAt.created_at
        ddb.check_page_token(start, {n(Transactions.id), n(pk), n(sk)})
        rows, last = tables.query_page(index, value, limit, start)
        return [transaction_from(r) for r in rows], last

    def commit_fraud(self, before: Transaction, after: Transaction, event: OutboxEvent) -> None:
        """Set the transaction's status and write the outbox event, atomically.

        The condition ``status = <status read>`` makes concurrent calls race safely: exactly one
        transaction commits, the others get :class:`StaleWriteError` with the current item.
        """
        if not self.outbox_table:
            raise RuntimeError("TransactionStore needs outbox_table to commit fraud")
        n = tables.name
        try:
            with transient_errors():
                self.client.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": self.table,
                                "Key": {n(Transactions.id): {"S": after.id}},
                                "UpdateExpression": "SET #s = :new, #ua = :ua",
                                "ConditionExpression": "#s = :old",
                                "ExpressionAttributeNames": {
                                    "#s": n(Transactions.status),
                                    "#ua": n(Transactions.updated_at),
                                },
                                "ExpressionAttributeValues": {
                                    ":new": {"S": after.status.value},
                                    ":old": {"S": before.status.value},
                                    ":ua": {"S": after.updatedAt},
                                },
                                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                            }
                        },
                        {
                            "Put": {
                                "TableName": self.outbox_table,
                                "Item": outbox_item(event),
                                "ConditionExpression": "attribute_not_exists(#e)",
                                "ExpressionAttributeNames": {"#e": n(Outbox.event_id)},
                            }
                        },
                    ]
                )
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons") or []
            first = reasons[0] if reasons else {}
            if first.get("Code") == "ConditionalCheckFailed":
                item = first.get("Item")
                raise StaleWriteError(transaction_of(item) if item else None) from None
            raise TransientError(
                f"fraud commit cancelled: {[r.get('Code') for r in reasons]}"
            ) from exc
