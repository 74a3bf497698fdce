"""DynamoDB adapters of the fraud domain. The only fraud code that talks to DynamoDB.

Tables (declared in template.yaml):

- Accounts       pk ``id``; GSI ``byCreatedAt`` (``listKey``="ACCOUNT", ``createdAt``) for listing
- Transactions   pk ``id``; GSIs ``byCreatedAt`` (``listKey``="TRANSACTION", ``createdAt``)
                 and ``byAccount`` (``accountId``, ``createdAt``)
- Outbox         pk ``eventId``; stream NEW_IMAGE feeds the relay; TTL ``expiresAt``

The item shapes are the pynamodb models of ``eventflow.fraud.tables``. The API's stores take and
return the domain's objects (``Account``, ``Transaction``, ``OutboxEvent``); each table's
conversion between item and object is one pair of functions here (``account_item`` /
``account_of`` ...), built from the model's attributes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from eventflow import ddb, tables
from eventflow.aws import dynamodb_client, error_code, is_transient, transient_errors
from eventflow.consumer.concurrency import parallel
from eventflow.errors import InvalidRequestError, TransientError
from eventflow.fraud.models import (
    Account,
    AccountStatus,
    AccountType,
    OutboxEvent,
    Transaction,
    TransactionStatus,
)
from eventflow.fraud.ports import LedgerWrite, Page, StaleWriteError, VersionedAccount
from eventflow.fraud.rules import AccountLedger, Settlement
from eventflow.fraud.tables import (
    ACCOUNT_LIST_KEY,
    TRANSACTION_LIST_KEY,
    Accounts,
    AccountsByCreatedAt,
    Outbox,
    Transactions,
    TransactionsByAccount,
    TransactionsByCreatedAt,
)

OUTBOX_RETENTION_S = 7 * 24 * 3600


def _query_page(
    client: Any, kwargs: dict[str, Any], limit: int, start: dict[str, Any] | None
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """One page of low-level items, newest first, and the key of the last one (the page token)."""
    kwargs = {**kwargs, "Limit": limit, "ScanIndexForward": False}
    if start:
        kwargs["ExclusiveStartKey"] = ddb.to_item(start)
    try:
        with transient_errors():
            resp = client.query(**kwargs)
    except ClientError as exc:
        if start and error_code(exc) == "ValidationException":
            raise InvalidRequestError(ddb.TOKEN_MISMATCH, field="nextToken") from None
        raise
    last = resp.get("LastEvaluatedKey")
    return resp.get("Items", []), (ddb.from_item(last) if last else None)


# ------------------------------------------------------------------ items <-> domain objects


def account_item(account: Account) -> dict[str, Any]:
    """The item of a new account (its ledger state at the model's defaults)."""
    return tables.item(
        Accounts,
        tables.named(
            Accounts,
            id=account.id,
            name=account.name,
            number=account.number,
            type=account.type.value,
            status=account.status.value,
            fraud_count=account.fraudCount,
            created_at=account.createdAt,
            updated_at=account.updatedAt,
            blocked_at=account.blockedAt,
        ),
    )


def account_of(item: Mapping[str, Any]) -> VersionedAccount:
    """The account (and its version) in a low-level item."""
    row = tables.from_item(Accounts, item)
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


def transaction_item(txn: Transaction) -> dict[str, Any]:
    return tables.item(
        Transactions,
        tables.named(
            Transactions,
            id=txn.id,
            status=txn.status.value,
            account_id=txn.accountId,
            description=txn.description,
            created_at=txn.createdAt,
            updated_at=txn.updatedAt,
        ),
    )


def transaction_of(item: Mapping[str, Any]) -> Transaction:
    row = tables.from_item(Transactions, item)
    return Transaction(
        id=row.id,
        status=TransactionStatus(row.status),
        accountId=row.account_id,
        description=row.description,
        createdAt=row.created_at,
        updatedAt=row.updated_at,
    )


def outbox_item(event: OutboxEvent) -> dict[str, Any]:
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


#: what an operator's update may change (the consumer owns the tally and the ledger state)
_UPDATABLE = (
    Accounts.name,
    Accounts.number,
    Accounts.type,
    Accounts.status,
    Accounts.updated_at,
    Accounts.blocked_at,
)


# ------------------------------------------------------------------------------ the API's stores


class AccountStore:
    def __init__(self, table: str, client: Any = None) -> None:
        self.table = tables.bind(Accounts, table).Meta.table_name
        self.client = client or dynamodb_client()

    def create(self, account: Account) -> None:
        """Write a new account; ``ConditionalCheckFailedException`` if its id exists."""
        with transient_errors():
            self.client.put_item(
                TableName=self.table,
                Item=account_item(account),
                ConditionExpression="attribute_not_exists(#id)",
                ExpressionAttributeNames={"#id": tables.name(Accounts.id)},
            )

    def get(self, account_id: str) -> VersionedAccount | None:
        with transient_errors():
            resp = self.client.get_item(
                TableName=self.table,
                Key={tables.name(Accounts.id): {"S": account_id}},
                ConsistentRead=True,
            )
        item = resp.get("Item")
        return account_of(item) if item else None

    def list(self, limit: int, start: dict[str, Any] | None = None) -> Page[Account]:
        index = AccountsByCreatedAt
        ddb.check_page_token(
            start,
            {tables.name(Accounts.id), tables.name(index.list_key), tables.name(index.created_at)},
        )
        items, last = _query_page(
            self.client,
            {
                "TableName": self.table,
                "IndexName": index.Meta.index_name,
                "KeyConditionExpression": "#k = :k",
                "ExpressionAttributeNames": {"#k": tables.name(index.list_key)},
                "ExpressionAttributeValues": {":k": {"S": ACCOUNT_LIST_KEY}},
            },
            limit,
            start,
        )
        return [account_of(i).account for i in items], last

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
        try:
            with transient_errors():
                self.client.delete_item(
                    TableName=self.table,
                    Key={tables.name(Accounts.id): {"S": account_id}},
                    ConditionExpression="attribute_exists(#id)",
                    ExpressionAttributeNames={"#id": tables.name(Accounts.id)},
                )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True


class TransactionStore:
    def __init__(self, table: str, outbox_table: str | None = None, client: Any = None) -> None:
        self.table = tables.bind(Transactions, table).Meta.table_name
        self.outbox_table = (
            tables.bind(Outbox, outbox_table).Meta.table_name if outbox_table else None
        )
        self.client = client or dynamodb_client()

    def create(self, txn: Transaction) -> None:
        """Write a new transaction; ``ConditionalCheckFailedException`` if its id exists."""
        with transient_errors():
            self.client.put_item(
                TableName=self.table,
                Item=transaction_item(txn),
                ConditionExpression="attribute_not_exists(#id)",
                ExpressionAttributeNames={"#id": tables.name(Transactions.id)},
            )

    def get(self, txn_id: str) -> Transaction | None:
        with transient_errors():
            resp = self.client.get_item(
                TableName=self.table,
                Key={tables.name(Transactions.id): {"S": txn_id}},
                ConsistentRead=True,
            )
        item = resp.get("Item")
        return transaction_of(item) if item else None

    def list(
        self, limit: int, start: dict[str, Any] | None = None, account_id: str | None = None
    ) -> Page[Transaction]:
        n = tables.name
        if account_id:
            by_account = TransactionsByAccount
            index, pk, value = by_account.Meta.index_name, by_account.account_id, account_id
            sk = by_account.created_at
        else:
            by_time = TransactionsByCreatedAt
            index, pk, value = by_time.Meta.index_name, by_time.list_key, TRANSACTION_LIST_KEY
            sk = by_time.created_at
        ddb.check_page_token(start, {n(Transactions.id), n(pk), n(sk)})
        query = {
            "TableName": self.table,
            "IndexName": index,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": n(pk)},
            "ExpressionAttributeValues": {":pk": {"S": value}},
        }
        items, last = _query_page(self.client, query, limit, start)
        return [transaction_of(i) for i in items], last

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


# ---------------------------------------------------------------------------------------------
# Consumer side: the fraud ledger (each account's tally and exactly-once state, in its own item)

_A = Accounts
_LEDGER_ATTRS = (
    _A.id,
    _A.fraud_count,
    _A.status,
    _A.version,
    _A.applied_offsets,
    _A.recent_events,
)


def ledger_of(item: dict[str, Any]) -> AccountLedger:
    """An account's ledger from its (projected) low-level item."""
    row = tables.from_item(Accounts, item)
    offsets = row.applied_offsets.as_dict() if row.applied_offsets is not None else {}
    return AccountLedger(
        account_id=row.id,
        count=int(row.fraud_count or 0),
        status=AccountStatus(row.status),
        version=int(row.version or 0),
        offsets={str(k): int(v) for k, v in offsets.items()},
        recent=bytes(row.recent_events or b""),
    )


class FraudLedger:
    """The consumer's adapter: one BatchGetItem for a batch's accounts, then one conditional
    UpdateItem per account, all in parallel (see ``eventflow.consumer``).

    It keeps the low-level client (no pynamodb ``Model.update``) for two things pynamodb does not
    give: ``ReturnValuesOnConditionCheckFailure`` (a lost race returns the account as it is now,
    so the retry needs no second read) and the tuned client shared with the thread pool; names and
    values still come from :class:`~eventflow.fraud.tables.Accounts`.
    """

    MAX_KEYS = 100  # BatchGetItem
    ATTEMPTS = 10

    def __init__(self, accounts_table: str, client: Any = None) -> None:
        self.table = tables.bind(Accounts, accounts_table).Meta.table_name
        self.client = client or dynamodb_client()
        self.requests = 0
        self.round_trips = 0

    def read(self, account_ids: Sequence[str]) -> dict[str, AccountLedger]:
        ids = list(dict.fromkeys(account_ids))
        if not ids:
            return {}
        self.round_trips += 1
        names = {f"#a{i}": tables.name(a) for i, a in enumerate(_LEDGER_ATTRS)}
        chunks = [ids[i : i + self.MAX_KEYS] for i in range(0, len(ids), self.MAX_KEYS)]

        def read_chunk(chunk: list[str]) -> list[tuple[str, dict[str, Any]]]:
            request = {
                self.table: {
                    "Keys": [{tables.name(_A.id): {"S": a}} for a in chunk],
                    "ConsistentRead": True,
                    "ProjectionExpression": ", ".join(names),
                    "ExpressionAttributeNames": names,
                }
            }
            with transient_errors():
                return ddb.batch_get(
                    self.client,
                    request,
                    attempts=self.ATTEMPTS,
                    what="account reads",
                    sent=self._sent,
                )

        out: dict[str, AccountLedger] = {}
        for result in parallel(read_chunk, chunks):
            if isinstance(result, BaseException):
                raise result
            for _, item in result:
                ledger = ledger_of(item)
                out[ledger.account_id] = ledger
        return out

    def _sent(self) -> None:
        self.requests += 1

    def _update(self, s: Settlement, now: str) -> LedgerWrite:
        before, after = s.before, s.after
        n = tables.name
        names = {
            "#c": n(_A.fraud_count),
            "#v": n(_A.version),
            "#o": n(_A.applied_offsets),
            "#r": n(_A.recent_events),
            "#u": n(_A.updated_at),
        }
        values: dict[str, Any] = {
            ":c": {"N": str(after.count)},
            ":v": {"N": str(before.version)},
            ":nv": {"N": str(after.version)},
            ":o": {"M": {p: {"N": str(o)} for p, o in after.offsets.items()}},
            ":r": {"B": after.recent},
            ":now": {"S": now},
        }
        update = "SET #c = :c, #v = :nv, #o = :o, #r = :r, #u = :now"
        if s.blocks:
            names |= {"#s": n(_A.status), "#b": n(_A.blocked_at)}
            values[":blocked"] = {"S": AccountStatus.BLOCKED.value}
            update += ", #s = :blocked, #b = :now"
        # version 0: an account no consumer or operator wrote since it was created
        condition = "#v = :v"
        if not before.version:
            names["#id"] = n(_A.id)
            condition = "attribute_exists(#id) AND (attribute_not_exists(#v) OR #v = :v)"
        self.requests += 1
        try:
            self.client.update_item(
                TableName=self.table,
                Key={n(_A.id): {"S": before.account_id}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                old: dict[str, Any] | None = exc.response.get("Item")  # type: ignore[assignment]
                return LedgerWrite(
                    before.account_id, stale=True, current=ledger_of(old) if old else None
                )
            if is_transient(exc):
                return LedgerWrite(before.account_id, failed=f"{error_code(exc)}: {exc}")
            raise
        except Exception as exc:
            if is_transient(exc):
                return LedgerWrite(before.account_id, failed=repr(exc))
            raise
        return LedgerWrite(before.account_id, written=True)

    def write(self, settlements: Sequence[Settlement], now: str) -> list[LedgerWrite]:
        if not settlements:
            return []
        self.round_trips += 1
        out: list[LedgerWrite] = []
        for result in parallel(lambda s: self._update(s, now), settlements):
            if isinstance(result, BaseException):
                raise result
            out.append(result)
        return out
