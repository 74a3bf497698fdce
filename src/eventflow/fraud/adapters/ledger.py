"""The account consumer's adapter of the accounts table: each account's fraud tally and
exactly-once state, read in one BatchGetItem per batch and written with one conditional
UpdateItem per account, all in parallel (see ``eventflow.consumer``).

The consumer's hot path: it keeps the low-level client and reads items without the model (see
:class:`FraudLedger`, :func:`ledger_of`); the attribute names still come from
:class:`~eventflow.fraud.adapters.tables.Accounts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from eventflow import ddb, tables
from eventflow.aws import dynamodb_client, error_code, is_transient, transient_errors
from eventflow.consumer.concurrency import parallel
from eventflow.fraud.adapters.tables import Accounts
from eventflow.fraud.domain.models import AccountStatus
from eventflow.fraud.domain.rules import AccountLedger, Settlement
from eventflow.fraud.ports import LedgerWrite

_A = Accounts
_LEDGER_ATTRS = (
    _A.id,
    _A.fraud_count,
    _A.status,
    _A.version,
    _A.applied_offsets,
    _A.recent_events,
)


_ID, _COUNT, _STATUS, _VERSION, _OFFSETS, _RECENT = (tables.name(a) for a in _LEDGER_ATTRS)


def ledger_of(item: dict[str, Any]) -> AccountLedger:
    """An account's ledger from its (projected) low-level item.

    The attribute names are the model's; the six values are read from DynamoDB's JSON directly:
    a pynamodb ``Model.from_raw_data`` per item cost about 40 us, 4 ms of a 100-account batch,
    while DynamoDB Local waits for the batch's writes (``make bench``, fraud consumer).
    """
    offsets = item.get(_OFFSETS, {}).get("M") or {}
    count = item.get(_COUNT, {}).get("N")
    version = item.get(_VERSION, {}).get("N")
    return AccountLedger(
        account_id=item[_ID]["S"],
        count=int(count) if count else 0,
        status=AccountStatus(item.get(_STATUS, {}).get("S")),
        version=int(version) if version else 0,
        offsets={str(k): int(v["N"]) for k, v in offsets.items()},
        recent=bytes(item.get(_RECENT, {}).get("B") or b""),
    )


class FraudLedger:
    """The consumer's adapter: one BatchGetItem for a batch's accounts, then one conditional
    UpdateItem per account, all in parallel (see ``eventflow.consumer``).

    It keeps the low-level client (no pynamodb ``Model.update``): ``Model.update`` cannot ask for
    ``ReturnValuesOnConditionCheckFailure`` (here a lost race returns the account as it is now,
    so the retry needs no second read), and costs about 1 ms more per write (README, "The item
    schema"); the attribute names still come from
    :class:`~eventflow.fraud.adapters.tables.Accounts`.
    """

    MAX_KEYS = 100  # BatchGetItem
    ATTEMPTS = 10

    def __init__(self, accounts_table: str, client: Any = None) -> None:
        self.table = accounts_table
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
