"""DynamoDB adapters of the fraud domain. The only fraud code that talks to DynamoDB.

Tables (declared in template.yaml):

- Accounts       pk ``id``; GSI ``byCreatedAt`` (``listKey``="ACCOUNT", ``createdAt``) for listing
- Transactions   pk ``id``; GSIs ``byCreatedAt`` (``listKey``="TRANSACTION", ``createdAt``)
                 and ``byAccount`` (``accountId``, ``createdAt``)
- Outbox         pk ``eventId``; stream NEW_IMAGE feeds the relay; TTL ``expiresAt``
- ProcessedEvents pk ``eventId``; dedupe markers of the consumer; TTL ``expiresAt``
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from eventflow import ddb
from eventflow.aws import dynamodb_client, error_code, transient_errors
from eventflow.errors import InvalidRequestError, TransientError

ACCOUNT_LIST_KEY = "ACCOUNT"
TRANSACTION_LIST_KEY = "TRANSACTION"
OUTBOX_RETENTION_S = 7 * 24 * 3600
MARKER_RETENTION_S = 30 * 24 * 3600


class StaleWriteError(Exception):
    """A conditional write lost a race: the item changed (or vanished) since it was read."""

    def __init__(self, current: dict[str, Any] | None) -> None:
        super().__init__("item changed since it was read")
        self.current = current


Page = tuple[list[dict[str, Any]], dict[str, Any] | None]


def _query_page(
    client: Any, kwargs: dict[str, Any], limit: int, start: dict[str, Any] | None
) -> Page:
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
    items = [ddb.from_item(i) for i in resp.get("Items", [])]
    last = resp.get("LastEvaluatedKey")
    return items, (ddb.from_item(last) if last else None)


def _strip(item: dict[str, Any]) -> dict[str, Any]:
    item.pop("listKey", None)
    return item


class AccountStore:
    def __init__(self, table: str, client: Any = None) -> None:
        self.table = table
        self.client = client or dynamodb_client()

    def create(self, account: dict[str, Any]) -> None:
        item = {**account, "listKey": ACCOUNT_LIST_KEY}
        with transient_errors():
            self.client.put_item(
                TableName=self.table,
                Item=ddb.to_item(item),
                ConditionExpression="attribute_not_exists(id)",
            )

    def get(self, account_id: str) -> dict[str, Any] | None:
        with transient_errors():
            resp = self.client.get_item(
                TableName=self.table, Key={"id": {"S": account_id}}, ConsistentRead=True
            )
        item = resp.get("Item")
        return _strip(ddb.from_item(item)) if item else None

    def list(self, limit: int, start: dict[str, Any] | None = None) -> Page:
        ddb.check_page_token(start, {"id", "listKey", "createdAt"})
        items, last = _query_page(
            self.client,
            {
                "TableName": self.table,
                "IndexName": "byCreatedAt",
                "KeyConditionExpression": "listKey = :k",
                "ExpressionAttributeValues": {":k": {"S": ACCOUNT_LIST_KEY}},
            },
            limit,
            start,
        )
        return [_strip(i) for i in items], last

    def update(
        self, account_id: str, changes: dict[str, Any], expected_updated_at: str
    ) -> dict[str, Any]:
        """Apply ``changes`` if the account still has ``updatedAt == expected_updated_at``."""
        names = {f"#f{i}": k for i, k in enumerate(changes)}
        values = {f":v{i}": ddb.value(v) for i, v in enumerate(changes.values())}
        sets = ", ".join(f"#f{i} = :v{i}" for i in range(len(changes)))
        try:
            with transient_errors():
                resp = self.client.update_item(
                    TableName=self.table,
                    Key={"id": {"S": account_id}},
                    UpdateExpression=f"SET {sets}",
                    ConditionExpression="#ua = :seen",
                    ExpressionAttributeNames={**names, "#ua": "updatedAt"},
                    ExpressionAttributeValues={**values, ":seen": {"S": expected_updated_at}},
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                old = exc.response.get("Item")
                raise StaleWriteError(_strip(ddb.from_item(old)) if old else None) from None
            raise
        return _strip(ddb.from_item(resp["Attributes"]))

    def delete(self, account_id: str) -> bool:
        try:
            with transient_errors():
                self.client.delete_item(
                    TableName=self.table,
                    Key={"id": {"S": account_id}},
                    ConditionExpression="attribute_exists(id)",
                )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True


class TransactionStore:
    def __init__(self, table: str, outbox_table: str | None = None, client: Any = None) -> None:
        self.table = table
        self.outbox_table = outbox_table
        self.client = client or dynamodb_client()

    def create(self, txn: dict[str, Any]) -> None:
        with transient_errors():
            self.client.put_item(
                TableName=self.table,
                Item=ddb.to_item({**txn, "listKey": TRANSACTION_LIST_KEY}),
                ConditionExpression="attribute_not_exists(id)",
            )

    def get(self, txn_id: str) -> dict[str, Any] | None:
        with transient_errors():
            resp = self.client.get_item(
                TableName=self.table, Key={"id": {"S": txn_id}}, ConsistentRead=True
            )
        item = resp.get("Item")
        return _strip(ddb.from_item(item)) if item else None

    def list(
        self, limit: int, start: dict[str, Any] | None = None, account_id: str | None = None
    ) -> Page:
        keys = {"id", "accountId", "createdAt"} if account_id else {"id", "listKey", "createdAt"}
        ddb.check_page_token(start, keys)
        if account_id:
            query = {
                "TableName": self.table,
                "IndexName": "byAccount",
                "KeyConditionExpression": "accountId = :a",
                "ExpressionAttributeValues": {":a": {"S": account_id}},
            }
        else:
            query = {
                "TableName": self.table,
                "IndexName": "byCreatedAt",
                "KeyConditionExpression": "listKey = :k",
                "ExpressionAttributeValues": {":k": {"S": TRANSACTION_LIST_KEY}},
            }
        items, last = _query_page(self.client, query, limit, start)
        return [_strip(i) for i in items], last

    def commit_fraud(
        self, before: dict[str, Any], after: dict[str, Any], event: dict[str, Any]
    ) -> None:
        """Set the transaction's status and write the outbox event, atomically.

        The condition ``status = <status read>`` makes concurrent calls race safely: exactly one
        transaction commits, the others get :class:`StaleWriteError` with the current item.
        """
        if not self.outbox_table:
            raise RuntimeError("TransactionStore needs outbox_table to commit fraud")
        try:
            with transient_errors():
                self.client.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": self.table,
                                "Key": {"id": {"S": after["id"]}},
                                "UpdateExpression": "SET #s = :new, updatedAt = :ua",
                                "ConditionExpression": "#s = :old",
                                "ExpressionAttributeNames": {"#s": "status"},
                                "ExpressionAttributeValues": {
                                    ":new": {"S": after["status"]},
                                    ":old": {"S": before["status"]},
                                    ":ua": {"S": after["updatedAt"]},
                                },
                                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                            }
                        },
                        {
                            "Put": {
                                "TableName": self.outbox_table,
                                "Item": ddb.to_item(event),
                                "ConditionExpression": "attribute_not_exists(eventId)",
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
                raise StaleWriteError(_strip(ddb.from_item(item)) if item else None) from None
            raise TransientError(
                f"fraud commit cancelled: {[r.get('Code') for r in reasons]}"
            ) from exc


# ---------------------------------------------------------------------------------------------
# Consumer side: the fraud ledger (accounts' counters + dedupe markers)


@dataclass(frozen=True)
class AccountTally:
    account_id: str
    count: int
    status: str


@dataclass(frozen=True)
class LedgerWrite:
    """One account's share of a ledger transaction: its new tally and the events it counts."""

    account_id: str
    expected_count: int
    new_count: int
    block: bool
    event_ids: tuple[str, ...]
    now: str
    expires_at: int

    @property
    def size(self) -> int:
        return len(self.event_ids) + 1


@dataclass
class LedgerOutcome:
    committed: list[LedgerWrite]
    duplicate_event_ids: set[str]
    stale_accounts: set[str]
    transient: list[str]


class FraudLedger:
    """Counters on the accounts table, dedupe markers on the processed-events table.

    ``commit`` packs several accounts' writes into each ``TransactWriteItems`` (up to 100 items),
    so a batch of N events costs about ``1 + 2N/100`` requests instead of ``3N``.
    """

    MAX_ITEMS = 100

    def __init__(self, accounts_table: str, processed_table: str, client: Any = None) -> None:
        self.accounts_table = accounts_table
        self.processed_table = processed_table
        self.client = client or dynamodb_client()
        self.requests = 0

    def tallies(self, account_ids: Sequence[str]) -> dict[str, AccountTally]:
        out: dict[str, AccountTally] = {}
        ids = list(dict.fromkeys(account_ids))
        with transient_errors():
            for i in range(0, len(ids), 100):
                keys: list[dict[str, Any]] = [{"id": {"S": a}} for a in ids[i : i + 100]]
                for _ in range(10):
                    self.requests += 1
                    resp = self.client.batch_get_item(
                        RequestItems={
                            self.accounts_table: {
                                "Keys": keys,
                                "ConsistentRead": True,
                                "ProjectionExpression": "id, fraudCount, #s",
                                "ExpressionAttributeNames": {"#s": "status"},
                            }
                        }
                    )
                    for item in resp.get("Responses", {}).get(self.accounts_table, []):
                        data = ddb.from_item(item)
                        out[data["id"]] = AccountTally(
                            data["id"], int(data.get("fraudCount", 0)), data["status"]
                        )
                    keys = (
                        resp.get("UnprocessedKeys", {}).get(self.accounts_table, {}).get("Keys", [])
                    )
                    if not keys:
                        break
                else:
                    raise TransientError("account reads stayed unprocessed after 10 attempts")
        return out

    def _items(self, w: LedgerWrite) -> list[dict[str, Any]]:
        names = {"#c": "fraudCount", "#ua": "updatedAt"}
        values: dict[str, Any] = {
            ":expected": {"N": str(w.expected_count)},
            ":new": {"N": str(w.new_count)},
            ":now": {"S": w.now},
        }
        update = "SET #c = :new, #ua = :now"
        if w.block:
            names["#s"] = "status"
            values[":blocked"] = {"S": "blocked"}
            update += ", #s = :blocked, blockedAt = :now"
        # The count condition covers accounts created before fraudCount existed (count 0).
        condition = (
            "#c = :expected"
            if w.expected_count
            else "(attribute_exists(id) AND (attribute_not_exists(#c) OR #c = :expected))"
        )
        if w.block:
            condition += " AND #s <> :blocked"
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.accounts_table,
                    "Key": {"id": {"S": w.account_id}},
                    "UpdateExpression": update,
                    "ConditionExpression": condition,
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            }
        ]
        for event_id in w.event_ids:
            items.append(
                {
                    "Put": {
                        "TableName": self.processed_table,
                        "Item": {
                            "eventId": {"S": event_id},
                            "accountId": {"S": w.account_id},
                            "processedAt": {"S": w.now},
                            "expiresAt": {"N": str(w.expires_at)},
                        },
                        "ConditionExpression": "attribute_not_exists(eventId)",
                    }
                }
            )
        return items

    def commit(self, writes: Sequence[LedgerWrite]) -> LedgerOutcome:
        """Write each account's tally with its markers; several accounts per transaction.

        A transaction is all-or-nothing: when it is cancelled, the reasons say which markers
        already existed (duplicates) and which accounts changed since they were read (stale);
        nothing of that transaction was written and the caller tries again without them.
        """
        outcome = LedgerOutcome([], set(), set(), [])
        groups: list[list[LedgerWrite]] = []
        current: list[LedgerWrite] = []
        size = 0
        for w in writes:
            if w.size > self.MAX_ITEMS:
                raise ValueError("a ledger write may hold at most 99 events")
            if size + w.size > self.MAX_ITEMS:
                groups.append(current)
                current, size = [], 0
            current.append(w)
            size += w.size
        if current:
            groups.append(current)

        for group in groups:
            items: list[dict[str, Any]] = []
            owners: list[tuple[LedgerWrite, str | None]] = []
            for w in group:
                for j, item in enumerate(self._items(w)):
                    items.append(item)
                    owners.append((w, None if j == 0 else w.event_ids[j - 1]))
            try:
                self.requests += 1
                self.client.transact_write_items(TransactItems=items)
            except ClientError as exc:
                code = error_code(exc)
                if code != "TransactionCanceledException":
                    from eventflow.aws import is_transient

                    if is_transient(exc):
                        outcome.transient.append(f"{code}: {exc}")
                        continue
                    raise
                reasons = exc.response.get("CancellationReasons") or []
                explained = False
                for (w, event_id), reason in zip(owners, reasons, strict=False):
                    rcode = reason.get("Code")
                    if rcode == "ConditionalCheckFailed":
                        explained = True
                        if event_id is None:
                            outcome.stale_accounts.add(w.account_id)
                        else:
                            outcome.duplicate_event_ids.add(event_id)
                    elif rcode not in (None, "None"):
                        outcome.transient.append(f"{rcode}: {reason.get('Message', '')}")
                        explained = True
                if not explained:
                    outcome.transient.append(f"transaction cancelled without reasons: {exc}")
                continue
            except Exception as exc:
                from eventflow.aws import is_transient

                if is_transient(exc):
                    outcome.transient.append(repr(exc))
                    continue
                raise
            outcome.committed.extend(group)
        return outcome
