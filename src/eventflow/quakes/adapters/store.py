"""DynamoDB adapters of the earthquake catalogue. The only quake code that touches those tables.

Tables (declared in template.yaml):

- Quakes        pk ``id``; GSIs ``byTime`` (``listKey``="QUAKE", ``sortKey``) and
                ``byRegion`` (``region``, ``sortKey``); ``sortKey`` = 13-digit epoch ms + "#" + id;
                TTL ``expiresAt``
- QuakeRegions  pk ``region``: the aggregates (count, strongest, latest, alerts), with the
                offsets already folded in and a version
- QuakeAlerts   pk ``id`` (the event's id: one alert per event); GSI ``byTime``
                (``listKey``="ALERT", ``sortKey``); TTL ``expiresAt``

The consumer writes through :class:`QuakeLedger`, in three steps per batch:

1. ``lookup``: one BatchGetItem reads which events are stored already (and from which record)
   and the aggregates of the regions involved.
2. ``store``: BatchWriteItem of the new events and their alerts (25 a request). Writing an
   event again is harmless: same id, same content.
3. ``commit``: one TransactWriteItems on the regions table puts every region's new aggregate,
   each conditional on the version read in step 1. A region changed meanwhile cancels it; the
   reasons say which regions to read again. One request for every region of the batch: a
   transaction costs 2 WCU per region instead of 1, but parallel conditional puts, one request
   per region, made the stream's consumer lag behind a 1,000 events/s stream on the emulator,
   which serves one request at a time (22 s behind against under 1 s, ``make bench``).

An event is counted when its aggregate commits, so a crash between 2 and 3 leaves events stored
but not counted; the redelivered records are then counted (the aggregate's offsets say they were
not). Events are never inside a transaction, so a transaction stays small however large the
catalogue grows.

The API reads through :class:`QuakeCatalog`, which returns domain objects (``StoredQuake``,
``QuakeAlert``, ``RegionSummary``); ``quake_of``, ``alert_of`` and ``region_of`` are each table's
one conversion from item to object.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from eventflow import ddb, tables
from eventflow.aws import dynamodb_client, error_code, is_transient, transient_errors
from eventflow.consumer.concurrency import parallel
from eventflow.errors import InvalidRequestError, TransientError
from eventflow.quakes.adapters.items import region_aggregate_of, region_item_values
from eventflow.quakes.adapters.tables import (
    ALERT_LIST_KEY,
    QUAKE_LIST_KEY,
    AlertsByTime,
    QuakeAlerts,
    QuakeRegions,
    Quakes,
    QuakesByRegion,
    QuakesByTime,
)
from eventflow.quakes.domain.models import Location, QuakeAlert, StoredQuake
from eventflow.quakes.domain.rules import RegionAggregate, RegionSummary, sort_key

# ---------------------------------------------------------------------------------- writes


#: what ``QuakeLedger.commit`` puts for a region: the version it read, the new aggregate, the
#: region's display name and when it was written
RegionCommit = tuple[int, RegionAggregate, str | None, str]


@dataclass
class CommitOutcome:
    committed: list[str] = field(default_factory=list)  # regions
    stale: set[str] = field(default_factory=set)
    transient: list[str] = field(default_factory=list)


#: DynamoDB numbers: magnitude from 1E-130 to 9.9999999999999999999999999999999999999E+125
SMALLEST_DYNAMODB_NUMBER = 1e-130


class QuakeLedger:
    MAX_KEYS = 100  # BatchGetItem
    MAX_WRITES = 25  # BatchWriteItem
    MAX_ITEMS = 100  # TransactWriteItems
    ATTEMPTS = 10

    def __init__(
        self, quakes_table: str, regions_table: str, alerts_table: str, client: Any = None
    ) -> None:
        self.quakes_table = tables.bind(Quakes, quakes_table).Meta.table_name
        self.regions_table = tables.bind(QuakeRegions, regions_table).Meta.table_name
        self.alerts_table = tables.bind(QuakeAlerts, alerts_table).Meta.table_name
        self.client = client or dynamodb_client()
        self.requests = 0
        self.round_trips = 0

    def _sent(self) -> None:
        self.requests += 1

    def lookup(
        self, event_ids: Sequence[str], regions: Sequence[str]
    ) -> tuple[dict[str, str], dict[str, RegionAggregate]]:
        """For the stored ones of ``event_ids``, the record each came from (``source``); and the
        current aggregates of ``regions``. Both tables are read in the same BatchGetItem requests."""
        event_key, region_key = tables.name(Quakes.id), tables.name(QuakeRegions.region)
        source_key = tables.name(Quakes.source)
        wanted = [(self.quakes_table, event_key, i) for i in dict.fromkeys(event_ids)]
        wanted += [(self.regions_table, region_key, r) for r in dict.fromkeys(regions)]
        sources: dict[str, str] = {}
        aggregates: dict[str, RegionAggregate] = {}
        self.round_trips += 1

        def read(chunk: list[tuple[str, str, str]]) -> list[tuple[str, dict[str, Any]]]:
            request: dict[str, Any] = {}
            for table, key, value in chunk:
                entry = request.setdefault(table, {"Keys": [], "ConsistentRead": True})
                entry["Keys"].append({key: {"S": value}})
                if table == self.quakes_table:
                    entry["ProjectionExpression"] = "#id, #src"
                    entry["ExpressionAttributeNames"] = {
                        "#id": tables.name(Quakes.id),
                        "#src": tables.name(Quakes.source),
                    }
            with transient_errors():
                return ddb.batch_get(
                    self.client,
                    request,
                    attempts=self.ATTEMPTS,
                    what="catalogue reads",
                    sent=self._sent,
                )

        chunks = [wanted[i : i + self.MAX_KEYS] for i in range(0, len(wanted), self.MAX_KEYS)]
        for result in parallel(read, chunks):  # 100 keys a request, all at once
            if isinstance(result, BaseException):
                raise result
            for table, item in result:
                if table == self.quakes_table:
                    sources[item[event_key]["S"]] = item.get(source_key, {}).get("S", "")
                else:
                    agg = region_aggregate_of(ddb.from_item(item))
                    aggregates[agg.region] = agg
        return sources, aggregates

    def store(
        self,
        events: Sequence[dict[str, Any]],
        alerts: Sequence[dict[str, Any]],
        expires_at: int,
    ) -> None:
        """Write events and alerts (idempotent puts), with their time index keys and expiry;
        raise TransientError if any stays unwritten."""

        def indexed(item: dict[str, Any]) -> dict[str, Any]:
            return {
                **item,
                tables.name(Quakes.sort_key): sort_key(int(item["timestamp"]), str(item["id"])),
                tables.name(Quakes.expires_at): expires_at,
            }

        requests = [(self.quakes_table, indexed(e)) for e in events] + [
            (self.alerts_table, indexed(a)) for a in alerts
        ]
        self.round_trips += 1

        def write(chunk: list[tuple[str, dict[str, Any]]]) -> None:
            pending: dict[str, list[dict[str, Any]]] = {}
            for table, item in chunk:
                model = Quakes if table == self.quakes_table else QuakeAlerts
                pending.setdefault(table, []).append(
                    {"PutRequest": {"Item": tables.item(model, item)}}
                )
            with transient_errors():
                for _ in range(self.ATTEMPTS):
                    self.requests += 1
                    resp = self.client.batch_write_item(RequestItems=pending)
                    pending = resp.get("UnprocessedItems") or {}
                    if not pending:
                        return
            raise TransientError("catalogue writes stayed unprocessed after 10 attempts")

        chunks = [
            requests[i : i + self.MAX_WRITES] for i in range(0, len(requests), self.MAX_WRITES)
        ]
        for result in parallel(write, chunks):  # 25 items a request, all at once
            if isinstance(result, BaseException):
                raise result

    def commit(self, aggregates: Sequence[RegionCommit]) -> CommitOutcome:
        """Put each ``(expected version, aggregate, region name, updated at)``, up to 100
        regions per transaction."""
        outcome = CommitOutcome()
        self.round_trips += 1
        for start in range(0, len(aggregates), self.MAX_ITEMS):
            group = aggregates[start : start + self.MAX_ITEMS]
            items = []
            for expected, aggregate, name, updated_at in group:
                put: dict[str, Any] = {
                    "TableName": self.regions_table,
                    "Item": tables.item(
                        QuakeRegions, region_item_values(aggregate, name, updated_at)
                    ),
                }
                if expected:
                    put["ConditionExpression"] = "#v = :v"
                    put["ExpressionAttributeNames"] = {"#v": tables.name(QuakeRegions.version)}
                    put["ExpressionAttributeValues"] = {":v": {"N": str(expected)}}
                else:
                    put["ConditionExpression"] = "attribute_not_exists(#r)"
                    put["ExpressionAttributeNames"] = {"#r": tables.name(QuakeRegions.region)}
                items.append({"Put": put})
            regions = [aggregate.region for _, aggregate, _, _ in group]
            try:
                self.requests += 1
                self.client.transact_write_items(TransactItems=items)
            except ClientError as exc:
                code = error_code(exc)
                if code == "TransactionCanceledException":
                    reasons = exc.response.get("CancellationReasons") or []
                    for region, reason in zip(regions, reasons, strict=False):
                        if reason.get("Code") == "ConditionalCheckFailed":
                            outcome.stale.add(region)
                        elif reason.get("Code") not in (None, "None"):
                            outcome.transient.append(
                                f"{reason.get('Code')}: {reason.get('Message', '')}"
                            )
                    if not outcome.stale and not outcome.transient:
                        outcome.transient.append(f"transaction cancelled without reasons: {exc}")
                    continue
                if is_transient(exc):
                    outcome.transient.append(f"{code}: {exc}")
                    continue
                raise
            except Exception as exc:
                if is_transient(exc):
                    outcome.transient.append(repr(exc))
                    continue
                raise
            outcome.committed.extend(regions)
        return outcome


# ---------------------------------------------------------------------------------- reads


def quake_of(item: Mapping[str, Any]) -> StoredQuake:
    """The event in a low-level item of the quakes table."""
    row = tables.from_item(Quakes, item)
    return StoredQuake(
        id=row.id,
        magnitude=row.magnitude,
        location=_location(row.location),
        depthKm=row.depth_km,
        timestamp=int(row.timestamp),
        region=row.region,
        alert=bool(row.alert),
        receivedAt=row.received_at,
    )


def alert_of(item: Mapping[str, Any]) -> QuakeAlert:
    """The alert in a low-level item of the alerts table."""
    row = tables.from_item(QuakeAlerts, item)
    return QuakeAlert(
        id=row.id,
        eventId=row.event_id,
        region=row.region,
        regionName=row.region_name,
        magnitude=row.magnitude,
        severity=row.severity,
        threshold=row.threshold,
        location=_location(row.location),
        depthKm=row.depth_km,
        timestamp=int(row.timestamp),
        raisedAt=row.raised_at,
    )


def region_of(item: Mapping[str, Any]) -> RegionSummary:
    """The region in a low-level item of the regions table (its aggregate read as the consumer
    reads it, ``region_aggregate_of``)."""
    data = ddb.from_item(dict(item))
    return RegionSummary(
        region_aggregate_of(data),
        name=data.get(tables.name(QuakeRegions.name)),
        updated_at=data.get(tables.name(QuakeRegions.updated_at)),
    )


def _location(stored: Any) -> Location:
    return Location(latitude=stored.latitude, longitude=stored.longitude)


T = TypeVar("T")
#: a page of domain objects, and the key to pass for the next page (None: the last page)
Page = tuple[list[T], dict[str, Any] | None]
_n = tables.name


class QuakeCatalog:
    """The read side: events newest first (filters), one event, alerts, region aggregates."""

    #: Items DynamoDB evaluates per request when a filter may discard many of them.
    FILTERED_READ = 200
    #: Requests one page may spend looking for matches before it returns what it has.
    MAX_REQUESTS = 10

    def __init__(
        self, quakes_table: str, regions_table: str, alerts_table: str, client: Any = None
    ) -> None:
        self.quakes_table = tables.bind(Quakes, quakes_table).Meta.table_name
        self.regions_table = tables.bind(QuakeRegions, regions_table).Meta.table_name
        self.alerts_table = tables.bind(QuakeAlerts, alerts_table).Meta.table_name
        self.client = client or dynamodb_client()

    def get(self, event_id: str) -> StoredQuake | None:
        with transient_errors():
            resp = self.client.get_item(
                TableName=self.quakes_table, Key={_n(Quakes.id): {"S": event_id}}
            )
        item = resp.get("Item")
        return quake_of(item) if item else None

    def quakes(
        self,
        limit: int,
        start: dict[str, Any] | None = None,
        *,
        region: str | None = None,
        since_key: str | None = None,
        min_magnitude: float | None = None,
    ) -> Page[StoredQuake]:
        if region:
            index, pk_name, pk_value = QuakesByRegion, _n(QuakesByRegion.region), region
        else:
            index, pk_name, pk_value = QuakesByTime, _n(QuakesByTime.list_key), QUAKE_LIST_KEY
        sk_name = _n(index.sort_key)
        query: dict[str, Any] = {
            "TableName": self.quakes_table,
            "IndexName": index.Meta.index_name,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": pk_name},
            "ExpressionAttributeValues": {":pk": {"S": pk_value}},
        }
        if since_key is not None:
            query["KeyConditionExpression"] += " AND #sk >= :since"
            query["ExpressionAttributeNames"]["#sk"] = sk_name
            query["ExpressionAttributeValues"][":since"] = {"S": since_key}
        if min_magnitude is not None:
            query["FilterExpression"] = "#m >= :m"
            query["ExpressionAttributeNames"]["#m"] = _n(Quakes.magnitude)
            # DynamoDB's smallest positive number is 1E-130 (below it the request fails): a
            # smaller bound selects exactly what 0 does, as no stored magnitude lies under it
            bound = min_magnitude if abs(min_magnitude) >= SMALLEST_DYNAMODB_NUMBER else 0.0
            query["ExpressionAttributeValues"][":m"] = ddb.value(bound)
        if start and since_key is not None and str(start.get(sk_name, "")) < since_key:
            raise InvalidRequestError(_TOKEN_MISMATCH, field="nextToken")
        items, last = self._page(
            query,
            (_n(Quakes.id), pk_name, sk_name),
            {pk_name: pk_value},
            limit,
            start,
            filtered=min_magnitude is not None,
        )
        return [quake_of(i) for i in items], last

    def alerts(self, limit: int, start: dict[str, Any] | None = None) -> Page[QuakeAlert]:
        pk_name = _n(AlertsByTime.list_key)
        query = {
            "TableName": self.alerts_table,
            "IndexName": AlertsByTime.Meta.index_name,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": pk_name},
            "ExpressionAttributeValues": {":pk": {"S": ALERT_LIST_KEY}},
        }
        items, last = self._page(
            query,
            (_n(QuakeAlerts.id), pk_name, _n(AlertsByTime.sort_key)),
            {pk_name: ALERT_LIST_KEY},
            limit,
            start,
            filtered=False,
        )
        return [alert_of(i) for i in items], last

    def regions(self, limit: int, start: dict[str, Any] | None = None) -> Page[RegionSummary]:
        kwargs: dict[str, Any] = {"TableName": self.regions_table, "Limit": limit}
        if start:
            _check_token(start, (_n(QuakeRegions.region),), {})
            kwargs["ExclusiveStartKey"] = ddb.to_item(start)
        with transient_errors():
            resp = self.client.scan(**kwargs)
        last = resp.get("LastEvaluatedKey")
        return [region_of(i) for i in resp.get("Items", [])], (
            ddb.from_item(last) if last else None
        )

    def _page(
        self,
        query: dict[str, Any],
        key_names: tuple[str, ...],
        fixed: dict[str, str],
        limit: int,
        start: dict[str, Any] | None,
        *,
        filtered: bool,
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Newest first, up to ``limit`` matching low-level items. With a filter, keep reading
        (within a budget) until the page is full; the token then points just after the last item
        returned."""
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
                out.append(raw)
                if len(out) == limit:
                    more = last is not None or raw is not resp["Items"][-1]
                    token = ddb.from_item({k: raw[k] for k in key_names}) if more else None
                    return out, token
            cursor = ddb.from_item(last) if last else None
            if cursor is None:
                break
        return out, cursor


_TOKEN_MISMATCH = (
    "nextToken does not belong to this query; pass the value the previous page returned, "
    "with the same region and since"
)


def _check_token(token: dict[str, Any], key_names: tuple[str, ...], fixed: dict[str, str]) -> None:
    """A token is a key of the index being read, with the same partition (region / list)."""
    ddb.check_page_token(token, key_names, fixed, message=_TOKEN_MISMATCH)
