"""The read side of the earthquake API: the catalogue's domain objects as the API shows them."""

from __future__ import annotations

from typing import Any

from eventflow.errors import NotFoundError
from eventflow.quakes.adapters.catalog import QuakeCatalog
from eventflow.quakes.domain.models import QuakeAlert, StoredQuake
from eventflow.quakes.domain.rules import RegionSummary, iso_from_ms, parse_since, sort_key

#: a page as the API returns it: the items' JSON, and the key of the next page
Page = tuple[list[dict[str, Any]], dict[str, Any] | None]


def quake_view(quake: StoredQuake | QuakeAlert) -> dict[str, Any]:
    """A stored event or alert, with ``time``: its timestamp as ISO 8601 (unset optional fields
    left out; decimals stay decimals, 6.0 is not 6)."""
    return {
        **quake.model_dump(mode="json", exclude_none=True),
        "time": iso_from_ms(quake.timestamp),
    }


def region_view(region: RegionSummary) -> dict[str, Any]:
    agg = region.aggregate
    return {
        "region": agg.region,
        "name": region.name,
        "count": agg.count,
        "alertCount": agg.alert_count,
        "maxMagnitude": agg.max_magnitude,
        "maxMagnitudeEventId": agg.max_magnitude_event_id,
        "meanMagnitude": round(agg.magnitude_sum / agg.count, 2) if agg.count else None,
        "firstEventAt": iso_from_ms(agg.first_event_at) if agg.first_event_at is not None else None,
        "lastEventAt": iso_from_ms(agg.last_event_at) if agg.last_event_at is not None else None,
        "lastEventId": agg.last_event_id,
        "updatedAt": region.updated_at,
    }


class QuakeQueries:
    def __init__(self, catalog: QuakeCatalog) -> None:
        self.catalog = catalog

    def list(
        self,
        limit: int,
        start: dict[str, Any] | None,
        *,
        min_magnitude: float | None = None,
        since: str | None = None,
        region: str | None = None,
    ) -> Page:
        since_key = sort_key(parse_since(since), "") if since else None
        quakes, last = self.catalog.quakes(
            limit, start, region=region, since_key=since_key, min_magnitude=min_magnitude
        )
        return [quake_view(q) for q in quakes], last

    def get(self, event_id: str) -> dict[str, Any]:
        quake = self.catalog.get(event_id)
        if quake is None:
            raise NotFoundError(f"earthquake {event_id} not found")
        return quake_view(quake)

    def alerts(self, limit: int, start: dict[str, Any] | None) -> Page:
        alerts, last = self.catalog.alerts(limit, start)
        return [quake_view(a) for a in alerts], last

    def regions(self, limit: int, start: dict[str, Any] | None) -> Page:
        regions, last = self.catalog.regions(limit, start)
        views = sorted((region_view(r) for r in regions), key=lambda v: -v["count"])
        return views, last
