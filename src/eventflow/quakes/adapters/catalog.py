"""The earthquake API's adapter: the catalogue the consumer writes (``adapters.store``), read
through its pynamodb models.

- Quakes        GSIs ``byTime`` (``listKey``="QUAKE", ``sortKey``) and ``byRegion`` (``region``,
                ``sortKey``), read newest first; ``sortKey`` = 13-digit epoch ms + "#" + id
- QuakeRegions  scanned (a few dozen regions)
- QuakeAlerts   GSI ``byTime`` (``listKey``="ALERT", ``sortKey``), read newest first

:class:`QuakeCatalog` returns domain objects (``StoredQuake``, ``QuakeAlert``, ``RegionSummary``);
``quake_of``, ``alert_of`` and ``region_of`` are each table's one conversion from item to object.
The models build each request (key conditions, filters, the page's start key) and send it on the
process's client (``eventflow.tables.bind``); a page is read request by request (the query's
``page_iter``) so that a filtered page stops within its budget of requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pynamodb.pagination import PageIterator

from eventflow import ddb, tables
from eventflow.aws import dynamodb_client, transient_errors
from eventflow.errors import InvalidRequestError
from eventflow.quakes.adapters.items import region_aggregate_of
from eventflow.quakes.adapters.tables import (
    ALERT_LIST_KEY,
    QUAKE_LIST_KEY,
    QuakeAlerts,
    QuakeRegions,
    Quakes,
)
from eventflow.quakes.domain.models import Location, QuakeAlert, StoredQuake
from eventflow.quakes.domain.rules import RegionSummary

#: DynamoDB numbers: magnitude from 1E-130 to 9.9999999999999999999999999999999999999E+125
SMALLEST_DYNAMODB_NUMBER = 1e-130


def quake_of(item: Mapping[str, Any]) -> StoredQuake:
    """The event in a low-level item of the quakes table."""
    return quake_from(tables.from_item(Quakes, item))


def quake_from(row: Quakes) -> StoredQuake:
    """The event in a row of the quakes table."""
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
        client = client or dynamodb_client()
        self._quakes = tables.bind(Quakes, quakes_table, client)
        self._regions = tables.bind(QuakeRegions, regions_table, client)
        self._alerts = tables.bind(QuakeAlerts, alerts_table, client)

    def get(self, event_id: str) -> StoredQuake | None:
        row = tables.get(self._quakes, event_id)
        return quake_from(row) if row else None

    def quakes(
        self,
        limit: int,
        start: dict[str, Any] | None = None,
        *,
        region: str | None = None,
        since_key: str | None = None,
        min_magnitude: float | None = None,
    ) -> Page[StoredQuake]:
        index: Any
        if region:
            index, pk_name, pk_value = self._quakes.by_region, _n(Quakes.region), region
        else:
            index, pk_name, pk_value = self._quakes.by_time, _n(Quakes.list_key), QUAKE_LIST_KEY
        sk_name = _n(Quakes.sort_key)
        if start and since_key is not None and str(start.get(sk_name, "")) < since_key:
            raise InvalidRequestError(_TOKEN_MISMATCH, field="nextToken")
        key_names = (_n(Quakes.id), pk_name, sk_name)
        if start:
            _check_token(start, key_names, {pk_name: pk_value})
        magnitude = None
        if min_magnitude is not None:
            # DynamoDB's smallest positive number is 1E-130 (below it the request fails): a
            # smaller bound selects exactly what 0 does, as no stored magnitude lies under it
            bound = min_magnitude if abs(min_magnitude) >= SMALLEST_DYNAMODB_NUMBER else 0.0
            magnitude = Quakes.magnitude >= bound
        pages = index.query(
            pk_value,
            range_key_condition=None if since_key is None else Quakes.sort_key >= since_key,
            filter_condition=magnitude,
            scan_index_forward=False,
            page_size=self.FILTERED_READ if magnitude is not None else limit,
            last_evaluated_key=ddb.to_item(start) if start else None,
        ).page_iter
        items, last = self._page(pages, key_names, limit, filtered=magnitude is not None)
        return [quake_of(i) for i in items], last

    def alerts(self, limit: int, start: dict[str, Any] | None = None) -> Page[QuakeAlert]:
        pk_name = _n(QuakeAlerts.list_key)
        key_names = (_n(QuakeAlerts.id), pk_name, _n(QuakeAlerts.sort_key))
        if start:
            _check_token(start, key_names, {pk_name: ALERT_LIST_KEY})
        pages = self._alerts.by_time.query(
            ALERT_LIST_KEY,
            scan_index_forward=False,
            page_size=limit,
            last_evaluated_key=ddb.to_item(start) if start else None,
        ).page_iter
        items, last = self._page(pages, key_names, limit, filtered=False)
        return [alert_of(i) for i in items], last

    def regions(self, limit: int, start: dict[str, Any] | None = None) -> Page[RegionSummary]:
        if start:
            _check_token(start, (_n(QuakeRegions.region),), {})
        pages = self._regions.scan(
            page_size=limit, last_evaluated_key=ddb.to_item(start) if start else None
        ).page_iter
        with transient_errors():
            page = next(pages)
        last = page.get("LastEvaluatedKey")
        return [region_of(i) for i in page.get("Items", [])], (
            ddb.from_item(last) if last else None
        )

    def _page(
        self, pages: PageIterator[Any], key_names: tuple[str, ...], limit: int, *, filtered: bool
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Newest first, up to ``limit`` matching low-level items, one request at a time. With a
        filter, keep reading (within a budget) until the page is full; the token then points
        just after the last item returned."""
        out: list[dict[str, Any]] = []
        for _ in range(self.MAX_REQUESTS):
            if not filtered:
                pages.page_size = limit - len(out)
            with transient_errors():
                resp = next(pages, None)
            if resp is None:
                break
            last = resp.get("LastEvaluatedKey")
            for raw in resp.get("Items", []):
                out.append(raw)
                if len(out) == limit:
                    more = last is not None or raw is not resp["Items"][-1]
                    token = ddb.from_item({k: raw[k] for k in key_names}) if more else None
                    return out, token
            if last is None:
                break
        last = pages.last_evaluated_key
        return out, (ddb.from_item(last) if last else None)


_TOKEN_MISMATCH = (
    "nextToken does not belong to this query; pass the value the previous page returned, "
    "with the same region and since"
)


def _check_token(token: dict[str, Any], key_names: tuple[str, ...], fixed: dict[str, str]) -> None:
    """A token is a key of the index being read, with the same partition (region / list)."""
    ddb.check_page_token(token, key_names, fixed, message=_TOKEN_MISMATCH)
