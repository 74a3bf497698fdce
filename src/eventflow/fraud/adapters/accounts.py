"""The API's adapter of the accounts table: create, get, list, update and delete an account.

Accounts: pk ``id``; GSI ``byCreatedAt`` (``listKey``="ACCOUNT", ``createdAt``) for listing,
newest first. The item is :class:`~eventflow.fraud.adapters.tables.Accounts`; the store takes and
returns the domain's ``Account`` (read as ``VersionedAccount``: the account and its version).

Create, get, list and delete go through the model (``eventflow.tables.bind``). ``update`` sends a
low-level UpdateItem on the same client: it must return the account as it is now when its
condition fails (``ReturnValuesOnConditionCheckFailure``), which ``Model.update`` cannot ask for.
The consumer's writes to the same items are ``eventflow.fraud.adapters.ledger``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from eventflow import ddb, tables
from eventflow.aws import dynamodb_client, error_code, transient_errors
from eventflow.errors import ConflictError
from eventflow.fraud.adapters.tables import ACCOUNT_LIST_KEY, Accounts, AccountsByCreatedAt
from eventflow.fraud.domain.models import Account, AccountStatus, AccountType
from eventflow.fraud.ports import Page, StaleWriteError, VersionedAccount

# ------------------------------------------------------------------ items <-> domain objects


def account_values(account: Account) -> dict[str, Any]:
    """The account by the model's attribute names (its ledger state left to the defaults)."""
    return {
        "id": account.id,
        "name": account.name,
        "number": account.number,
        "type": account.type.value,
        "status": account.status.value,
        "fraud_count": account.fraudCount,
        "created_at": account.createdAt,
        "updated_at": account.updatedAt,
        "blocked_at": account.blockedAt,
    }


def account_item(account: Account) -> dict[str, Any]:
    """The low-level item of a new account (its ledger state at the model's defaults)."""
    return tables.item(Accounts, tables.named(Accounts, **account_values(account)))


def account_from(row: Accounts) -> VersionedAccount:
    """The account (and its version) in a row of the model."""
    return VersionedAccount(
        Account(
            id=row.id,
            name=row.name,
            number=row.number,
            type=AccountType(row.type),
            status=AccountStatus(row.status),
            fraudCount=int(row.fraud_count or 0),
            createdAt=row.created_at,
            updatedAt=row.updated_at,
            blockedAt=row.blocked_at,
        ),
        int(row.version or 0),
    )


def account_of(item: Mapping[str, Any]) -> VersionedAccount:
    """The account (and its version) in a low-level item."""
    return account_from(tables.from_item(Accounts, item))


#: what an operator's update may change (the consumer owns the tally and the ledger state)
_UPDATABLE = (
    Accounts.name,
    Accounts.number,
    Accounts.type,
    Accounts.status,
    Accounts.updated_at,
    Accounts.blocked_at,
)


class AccountStore:
    def __init__(self, table: str, client: Any = None) -> None:
        self.client = client or dynamodb_client()
        self.model = tables.bind(Accounts, table, self.client)
        self.table = table

    def create(self, account: Account) -> None:
        """Write a new account; :class:`ConflictError` if its id exists."""
        if not tables.create(self.model, account_values(account)):
            raise ConflictError(f"account {account.id} already exists")

    def get(self, account_id: str) -> VersionedAccount | None:
        row = tables.get(self.model, account_id, consistent=True)
        return account_from(row) if row else None

    def list(self, limit: int, start: dict[str, Any] | None = None) -> Page[Account]:
        index = AccountsByCreatedAt
        ddb.check_page_token(
            start,
            {tables.name(Accounts.id), tables.name(index.list_key), tables.name(index.created_at)},
        )
        rows, last = tables.query_page(self.model.by_created_at, ACCOUNT_LIST_KEY, limit, start)
        return [account_from(r).account for r in rows], last

    def update(self, before: VersionedAccount, after: Account) -> VersionedAccount:
        """Write what an operator may change of ``after`` if the account is still at the version
        read (the optimistic lock the consumer shares: either write makes the other's condition
        fail, and the loser gets :class:`StaleWriteError` with the account as it is now); the
        version grows."""
        new = account_item(after)
        names = {
            f"#f{i}": tables.name(a) for i, a in enumerate(_UPDATABLE) if tables.name(a) in new
        }
        values = {f":v{k[2:]}": new[name] for k, name in names.items()}
        sets = ", ".join(f"{k} = :v{k[2:]}" for k in names)
        expected = before.version
        condition = (
            "#ver = :seen"
            if expected
            else "attribute_exists(#id) AND (attribute_not_exists(#ver) OR #ver = :seen)"
        )
        try:
            with transient_errors():
                resp = self.client.update_item(
                    TableName=self.table,
                    Key={tables.name(Accounts.id): {"S": before.account.id}},
                    UpdateExpression=f"SET {sets}, #ver = :next",
                    ConditionExpression=condition,
                    ExpressionAttributeNames={
                        **names,
                        "#ver": tables.name(Accounts.version),
                        **({} if expected else {"#id": tables.name(Accounts.id)}),
                    },
                    ExpressionAttributeValues={
                        **values,
                        ":seen": {"N": str(expected)},
                        ":next": {"N": str(expected + 1)},
                    },
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                old: dict[str, Any] | None = exc.response.get("Item")  # type: ignore[assignment]
                raise StaleWriteError(account_of(old) if old else None) from None
            raise
        return account_of(resp["Attributes"])

    def delete(self, account_id: str) -> bool:
        """Delete the account if it exists; False if it did not."""
        return tables.delete(self.model, account_id)
