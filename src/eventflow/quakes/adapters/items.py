"""The earthquake stream's and the regions' items, to and from their domain objects.

The domain (``eventflow.quakes.domain.rules``) knows ``StreamState`` and ``RegionAggregate``, not
the tables; the attribute names come from the pynamodb models (``eventflow.quakes.adapters.tables``)
only. ``data`` is an item as ``eventflow.ddb.from_item`` reads it (plain Python values).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eventflow import tables
from eventflow.quakes.adapters.tables import QuakeRegions, QuakeStream
from eventflow.quakes.domain.rules import RegionAggregate, StreamState

_S, _R = QuakeStream, QuakeRegions


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def stream_state_of(data: Mapping[str, Any] | None) -> StreamState:
    """The stream's state in its item (no item: a stream never started)."""
    if not data:
        return StreamState()

    def get(attribute: Any) -> Any:
        return data.get(tables.name(attribute))

    return StreamState(
        running=bool(get(_S.running) or False),
        rate=_float(get(_S.rate)),
        magnitudes=get(_S.magnitudes),
        run_id=get(_S.run_id),
        started_at_ms=_int(get(_S.started_at_ms)),
        stop_at_ms=_int(get(_S.stop_at_ms)),
        emitted=int(get(_S.emitted) or 0),
        lease_owner=get(_S.lease_owner),
        lease_expires_ms=_int(get(_S.lease_expires_at_ms)),
        last_emit_ms=_int(get(_S.last_emit_at_ms)),
        stopped_at_ms=_int(get(_S.stopped_at_ms)),
        stop_reason=get(_S.stop_reason),
    )


def region_aggregate_of(data: Mapping[str, Any]) -> RegionAggregate:
    """A region's aggregate in its item."""

    def get(attribute: Any) -> Any:
        return data.get(tables.name(attribute))

    return RegionAggregate(
        region=get(_R.region),
        count=int(get(_R.event_count) or 0),
        max_magnitude=_float(get(_R.max_magnitude)),
        max_magnitude_event_id=get(_R.max_magnitude_event_id),
        last_event_at=_int(get(_R.last_event_at)),
        last_event_id=get(_R.last_event_id),
        first_event_at=_int(get(_R.first_event_at)),
        alert_count=int(get(_R.alert_count) or 0),
        magnitude_sum=float(get(_R.magnitude_sum) or 0),
        offsets={str(k): int(v) for k, v in (get(_R.offsets) or {}).items()},
        version=int(get(_R.version) or 0),
    )


def region_item_values(
    aggregate: RegionAggregate, name: str | None = None, updated_at: str | None = None
) -> dict[str, Any]:
    """The aggregate (with the region's display name and when it was written) keyed by the
    item's attribute names, for ``eventflow.tables.item``."""
    return tables.named(
        _R,
        region=aggregate.region,
        name=name,
        event_count=aggregate.count,
        max_magnitude=aggregate.max_magnitude,
        max_magnitude_event_id=aggregate.max_magnitude_event_id,
        last_event_at=aggregate.last_event_at,
        last_event_id=aggregate.last_event_id,
        first_event_at=aggregate.first_event_at,
        alert_count=aggregate.alert_count,
        magnitude_sum=round(aggregate.magnitude_sum, 1),
        offsets=dict(aggregate.offsets),
        version=aggregate.version,
        updated_at=updated_at,
    )
