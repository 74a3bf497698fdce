"""DynamoDB adapters of the earthquake catalogue. The only quake code that touches those tables.

Tables (declared in template.yaml):

- Quakes        pk ``id``; GSIs ``byTime`` (``listKey``="QUAKE", ``sortKey``) and
                ``byRegion`` (``region``, ``sortKey``); ``sortKey`` = 13-digit epoch ms + "#" + id;
                TTL ``expiresAt``
- QuakeRegions  pk ``region``: the aggregates (count, strongest, latest, alerts)
- QuakeAlerts   pk ``id`` (the event's id: one alert per event); GSI ``byTime``
                (``listKey``="ALERT", ``sortKey``); TTL ``expiresAt``

The consumer writes through :class:`QuakeLedger`: one BatchGetItem reads which events already
exist and the regions' aggregates; then ``TransactWriteItems`` (up to 100 items each) store each
region's new events (``attribute_not_exists(id)``), their alerts, and the region's new aggregate
(conditional on the count read). A duplicate or a concurrent change cancels only its
transaction, and the reasons say which items to drop or re-read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from eventflow import ddb
from eventflow.aws import dynamodb_client, error_code, is_transient, transient_errors
from eventflow.errors import InvalidRequestError, TransientError
from eventflow.quakes.rules import RegionAggregate

QUAKE_LIST_KEY = "QUAKE"
ALERT_LIST_KEY = "ALERT"
Page = tuple[list[dict[str, Any]], dict[str, Any] | None]


# ---------------------------------------------------------------------------------- writes


@dataclass(frozen=True)
class RegionWrite:
    """One region's share of a ledger transaction."""

    region: str
    expected_count: int  # 0: the aggregate must not exist yet
    aggregate: dict[str, Any]
    events: tuple[dict[str, Any], ...]
    alerts: tuple[dict[str, Any], ...] = ()

    @property
    def size(self) -> int:
        return 1 + len(self.events) + len(self.alerts)


@dataclass
class LedgerOutcome:
    committed: list[RegionWrite] = field(default_factory=list)
    duplicate_ids: set[str] = field(default_factory=set)
    stale_regions: set[str] = field(default_factory=set)
    transient: list[str] = field(default_factory=list)


class QuakeLedger:
    MAX_ITEMS = 100
    MAX_KEYS = 100

    def __init__(
        self, quakes_table: str, regions_table: str, alerts_table: str, client: Any = None
    ) -> None:
        self.quakes_table = quakes_table
        self.regions_table = regions_table
        self.alerts_table = alerts_table
        self.client = client or dynamodb_client()
        self.requests = 0

    def lookup(
        self, event_ids: Sequence[str], regions: Sequence[str]
    ) -> tuple[set[str], dict[str, RegionAggregate]]:
        """Which of ``event_ids`` are stored already, and the current aggregates of ``regions``.

        Both tables are read in the same BatchGetItem requests (100 keys each)."""
        wanted = [(self.quakes_table, "id", i) for i in dict.fromkeys(event_ids)]
        wanted += [(self.regions_table, "region", r) for r in dict.fromkeys(regions)]
        existing: set[str] = set()
        aggregates: dict[str, RegionAggregate] = {}
        with transient_errors():
            for start in range(0, len(wanted), self.MAX_KEYS):
                request: dict[str, Any] = {}
                for table, key, value in wanted[start : start + self.MAX_KEYS]:
                    entry = request.setdefault(table, {"Keys": [], "ConsistentRead": True})
                    entry["Keys"].append({key: {"S": value}})
                    if table == self.quakes_table:
                        entry["ProjectionExpression"] = "id"
                for _ in range(10):
                    self.requests += 1
                    resp = self.client.batch_get_item(RequestItems=request)
                    for item in resp.get("Responses", {}).get(self.quakes_table, []):
                        existing.add(item["id"]["S"])
                    for item in resp.get("Responses", {}).get(self.regions_table, []):
                        agg = RegionAggregate.from_item(ddb.from_item(item))
                        aggregates[agg.region] = agg
                    request = resp.get("UnprocessedKeys") or {}
                    if not request:
                        break
                else:
                    raise TransientError("catalogue reads stayed unprocessed after 10 attempts")
        return existing, aggregates

    def _items(self, w: RegionWrite) -> list[tuple[dict[str, Any], str | None]]:
        """The transaction items of one region write, each with the event id it stands for."""
        if w.expected_count:
            condition = "#c = :expected"
            values: dict[str, Any] | None = {":expected": {"N": str(w.expected_count)}}
        else:
            condition, values = "attribute_not_exists(#r)", None
        put: dict[str, Any] = {
            "TableName": self.regions_table,
            "Item": ddb.to_item(w.aggregate),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#c": "count"} if w.expected_count else {"#r": "region"},
        }
        if values:
            put["ExpressionAttributeValues"] = values
        items: list[tuple[dict[str, Any], str | None]] = [({"Put": put}, None)]
        for event in w.events:
            items.append(
                (
                    {
                        "Put": {
                            "TableName": self.quakes_table,
                            "Item": ddb.to_item(event),
                            "ConditionExpression": "attribute_not_exists(id)",
                        }
                    },
                    event["id"],
                )
            )
        for alert in w.alerts:
            items.append(
                ({"Put": {"TableName": self.alerts_table, "Item": ddb.to_item(alert)}}, None)
            )
        return items

    def commit(self, writes: Sequence[RegionWrite]) -> LedgerOutcome:
        """Write several regions per transaction. A cancelled transaction wrote nothing; its
        reasons name the duplicates (event already stored) and stale regions (count changed)."""
        outcome = LedgerOutcome()
        groups: list[list[RegionWrite]] = []
        size = 0
        for w in writes:
            if w.size > self.MAX_ITEMS:
                raise ValueError(f"a region write may hold at most {self.MAX_ITEMS} items")
            if not groups or size + w.size > self.MAX_ITEMS:
                groups.append([])
                size = 0
            groups[-1].append(w)
            size += w.size
        for group in groups:
            items: list[dict[str, Any]] = []
            owners: list[tuple[RegionWrite, str | None]] = []
            for w in group:
                for item, event_id in self._items(w):
                    items.append(item)
                    owners.append((w, event_id))
            try:
                self.requests += 1
                self.client.transact_write_items(TransactItems=items)
            except ClientError as exc:
                code = error_code(exc)
                if code != "TransactionCanceledException":
                    if is_transient(exc):
                        outcome.transient.append(f"{code}: {exc}")
                        continue
                    raise
                self._explain(exc, owners, outcome)
                continue
            except Exception as exc:
                if is_transient(exc):
                    outcome.transient.append(repr(exc))
                    continue
                raise
            outcome.committed.extend(group)
        return outcome

    @staticmethod
    def _explain(
        exc: ClientError, owners: list[tuple[RegionWrite, str | None]], outcome: LedgerOutcome
    ) -> None:
        reasons = exc.response.get("CancellationReasons") or []
        explained = False
        for (w, event_id), reason in zip(owners, reasons, strict=False):
            code = reason.get("Code")
            if code == "ConditionalCheckFailed":
                explained = True
                if event_id is None:
                    outcome.stale_regions.add(w.region)
                else:
                    outcome.duplicate_ids.add(event_id)
            elif code not in (None, "None"):
                explained = True
                outcome.transient.append(f"{code}: {reason.get('Message', '')}")
        if not explained:
            outcome.transient.append(f"transaction cancelled without reasons: {exc}")


# ---------------------------------------------------------------------------------- reads

_PRIVATE = ("listKey", "sortKey", "expiresAt")


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in _PRIVATE}


class QuakeCatalog:
    """The read side: events newest first (filters), one event, alerts, region aggregates."""

    #: Items DynamoDB evaluates per request when a filter may discard many of them.
    FILTERED_READ = 200
    #: Requests one page may spend looking for matches before it returns what it has.
    MAX_REQUESTS = 10

    def __init__(
        self, quakes_table: str, regions_table: str, alerts_table: str, client: Any = None
    ) -> None:
        self.quakes_table = quakes_table
        self.regions_table = regions_table
        self.alerts_table = alerts_table
        self.client = client or dynamodb_client()

    def get(self, event_id: str) -> dict[str, Any] | None:
        with transient_errors():
            resp = self.client.get_item(TableName=self.quakes_table, Key={"id": {"S": event_id}})
        item = resp.get("Item")
        return _public(ddb.from_item(item)) if item else None

    def quakes(
        self,
        limit: int,
        start: dict[str, Any] | None = None,
        *,
        region: str | None = None,
        since_key: str | None = None,
        min_magnitude: float | None = None,
    ) -> Page:
        if region:
            index, pk_name, pk_value = "byRegion", "region", region
        else:
            index, pk_name, pk_value = "byTime", "listKey", QUAKE_LIST_KEY
        query: dict[str, Any] = {
            "TableName": self.quakes_table,
            "IndexName": index,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": pk_name},
            "ExpressionAttributeValues": {":pk": {"S": pk_value}},
        }
        if since_key is not None:
            query["KeyConditionExpression"] += " AND #sk >= :since"
            query["ExpressionAttributeNames"]["#sk"] = "sortKey"
            query["ExpressionAttributeValues"][":since"] = {"S": since_key}
        if min_magnitude is not None:
            query["FilterExpression"] = "#m >= :m"
            query["ExpressionAttributeNames"]["#m"] = "magnitude"
            query["ExpressionAttributeValues"][":m"] = ddb.value(min_magnitude)
        if start and since_key is not None and str(start.get("sortKey", "")) < since_key:
            raise InvalidRequestError(_TOKEN_MISMATCH, field="nextToken")
        return self._page(
            query,
            ("id", pk_name, "sortKey"),
            {pk_name: pk_value},
            limit,
            start,
            filtered=min_magnitude is not None,
        )

    def alerts(self, limit: int, start: dict[str, Any] | None = None) -> Page:
        query = {
            "TableName": self.alerts_table,
            "IndexName": "byTime",
            "KeyConditionExpression": "listKey = :k",
            "ExpressionAttributeValues": {":k": {"S": ALERT_LIST_KEY}},
        }
        return self._page(
            query,
            ("id", "listKey", "sortKey"),
            {"listKey": ALERT_LIST_KEY},
            limit,
            start,
            filtered=False,
        )

    def regions(self, limit: int, start: dict[str, Any] | None = None) -> Page:
        kwargs: dict[str, Any] = {"TableName": self.regions_table, "Limit": limit}
        if start:
            _check_token(start, ("region",), {})
            kwargs["ExclusiveStartKey"] = ddb.to_item(start)
        with transient_errors():
            resp = self.client.scan(**kwargs)
        items = [ddb.from_item(i) for i in resp.get("Items", [])]
        last = resp.get("LastEvaluatedKey")
        return items, (ddb.from_item(last) if last else None)

    def _page(
        self,
        query: dict[str, Any],
        key_names: tuple[str, ...],
        fixed: dict[str, str],
        limit: int,
        start: dict[str, Any] | None,
        *,
        filtered: bool,
    ) -> Page:
        """Newest first, up to ``limit`` matching items. With a filter, keep reading (within a
        budget) until the page is full; the token then points just after the last item returned."""
        if start:
            _check_token(start, key_names, fixed)
        out: list[dict[str, Any]] = []
        cursor = start
        for _ in range(self.MAX_REQUESTS):
            kwargs = {
                **query,
                "ScanIndexForward": False,
                "Limit": self.FILTERED_READ if filtered else limit - len(out),
            }
            if cursor:
                kwargs["ExclusiveStartKey"] = ddb.to_item(cursor)
            with transient_errors():
                resp = self.client.query(**kwargs)
            last = resp.get("LastEvaluatedKey")
            for raw in resp.get("Items", []):
                item = ddb.from_item(raw)
                out.append(item)
                if len(out) == limit:
                    more = last is not None or raw is not resp["Items"][-1]
                    return [_public(i) for i in out], (
                        {k: item[k] for k in key_names} if more else None
                    )
            cursor = ddb.from_item(last) if last else None
            if cursor is None:
                break
        return [_public(i) for i in out], cursor


_TOKEN_MISMATCH = (
    "nextToken does not belong to this query; pass the value the previous page returned, "
    "with the same region and since"
)


def _check_token(token: dict[str, Any], key_names: tuple[str, ...], fixed: dict[str, str]) -> None:
    """A token is a key of the index being read, with the same partition (region / list)."""
    if (
        set(token) != set(key_names)
        or not all(isinstance(v, str) for v in token.values())
        or any(token[k] != v for k, v in fixed.items())
    ):
        raise InvalidRequestError(_TOKEN_MISMATCH, field="nextToken")
