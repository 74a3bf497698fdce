"""The read side of the earthquake API: views over the catalogue."""

from __future__ import annotations

from typing import Any

from eventflow.errors import NotFoundError
from eventflow.quakes.adapters.store import Page, QuakeCatalog
from eventflow.quakes.domain.rules import RegionAggregate, iso_from_ms, parse_since, sort_key

FLOATS = ("magnitude", "depthKm", "threshold")


def quake_view(item: dict[str, Any]) -> dict[str, Any]:
    """A stored event or alert, with ``time``: its timestamp as ISO 8601. Numbers that are
    decimals on the wire stay decimals (DynamoDB gives 6.0 back as 6)."""
    view = {k: v for k, v in item.items() if k not in ("source",)}
    for key in FLOATS:
        if isinstance(view.get(key), int):
            view[key] = float(view[key])
    if isinstance(view.get("location"), dict):
        view["location"] = {k: float(v) for k, v in view["location"].items()}
    if isinstance(item.get("timestamp"), int):
        view["time"] = iso_from_ms(item["timestamp"])
    return view


def region_view(item: dict[str, Any]) -> dict[str, Any]:
    agg = RegionAggregate.from_item(item)
    return {
        "region": agg.region,
        "name": item.get("name"),
        "count": agg.count,
        "alertCount": agg.alert_count,
        "maxMagnitude": agg.max_magnitude,
        "maxMagnitudeEventId": agg.max_magnitude_event_id,
        "meanMagnitude": round(agg.magnitude_sum / agg.count, 2) if agg.count else None,
        "firstEventAt": iso_from_ms(agg.first_event_at) if agg.first_event_at is not None else None,
        "lastEventAt": iso_from_ms(agg.last_event_at) if agg.last_event_at is not None else None,
        "lastEventId": agg.last_event_id,
        "updatedAt": item.get("updatedAt"),
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
        items, last = self.catalog.quakes(
            limit, start, region=region, since_key=since_key, min_magnitude=min_magnitude
        )
        return [quake_view(i) for i in items], last

    def get(self, event_id: str) -> dict[str, Any]:
        item = self.catalog.get(event_id)
        if item is None:
            raise NotFoundError(f"earthquake {event_id} not found")
        return quake_view(item)

    def alerts(self, limit: int, start: dict[str, Any] | None) -> Page:
        items, last = self.catalog.alerts(limit, start)
        return [quake_view(i) for i in items], last

    def regions(self, limit: int, start: dict[str, Any] | None) -> Page:
        items, last = self.catalog.regions(limit, start)
        views = sorted((region_view(i) for i in items), key=lambda v: -v["count"])
        return views, last
