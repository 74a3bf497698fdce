"""The earthquake tables as pynamodb models (see ``eventflow.tables``)."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

QUAKE_LIST_KEY = "QUAKE"
ALERT_LIST_KEY = "ALERT"


class Location(MapAttribute[str, float]):
    latitude = NumberAttribute()
    longitude = NumberAttribute()


class QuakesByTime(GlobalSecondaryIndex["Quakes"]):
    class Meta:
        index_name = "byTime"
        projection = AllProjection()

    list_key = UnicodeAttribute(hash_key=True, attr_name="listKey")
    sort_key = UnicodeAttribute(range_key=True, attr_name="sortKey")


class QuakesByRegion(GlobalSecondaryIndex["Quakes"]):
    class Meta:
        index_name = "byRegion"
        projection = AllProjection()

    region = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True, attr_name="sortKey")


class Quakes(Model):
    """An event, stored once per id; ``source`` is the record it was stored from."""

    class Meta:
        table_name = "QuakesTable"
        env = "QUAKES_TABLE"

    id = UnicodeAttribute(hash_key=True)
    magnitude = NumberAttribute()
    location = Location()
    depth_km = NumberAttribute(attr_name="depthKm", null=True)
    timestamp = NumberAttribute()
    region = UnicodeAttribute()
    alert = BooleanAttribute()
    received_at = UnicodeAttribute(attr_name="receivedAt")
    source = UnicodeAttribute()
    list_key = UnicodeAttribute(attr_name="listKey", default=QUAKE_LIST_KEY)
    sort_key = UnicodeAttribute(attr_name="sortKey")
    expires_at = TTLAttribute(attr_name="expiresAt")
    by_time = QuakesByTime()
    by_region = QuakesByRegion()


class QuakeRegions(Model):
    """A region's aggregate, the offsets folded into it and its version (optimistic lock)."""

    class Meta:
        table_name = "QuakeRegionsTable"
        env = "QUAKE_REGIONS_TABLE"

    region = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(null=True)
    event_count = NumberAttribute(attr_name="count", default=0)
    max_magnitude = NumberAttribute(attr_name="maxMagnitude", null=True)
    max_magnitude_event_id = UnicodeAttribute(attr_name="maxMagnitudeEventId", null=True)
    last_event_at = NumberAttribute(attr_name="lastEventAt", null=True)
    last_event_id = UnicodeAttribute(attr_name="lastEventId", null=True)
    first_event_at = NumberAttribute(attr_name="firstEventAt", null=True)
    alert_count = NumberAttribute(attr_name="alertCount", default=0)
    magnitude_sum = NumberAttribute(attr_name="magnitudeSum", default=0)
    offsets = MapAttribute[str, int](default=dict)
    version = NumberAttribute(default=0)
    updated_at = UnicodeAttribute(attr_name="updatedAt", null=True)


class AlertsByTime(GlobalSecondaryIndex["QuakeAlerts"]):
    class Meta:
        index_name = "byTime"
        projection = AllProjection()

    list_key = UnicodeAttribute(hash_key=True, attr_name="listKey")
    sort_key = UnicodeAttribute(range_key=True, attr_name="sortKey")


class QuakeAlerts(Model):
    """One alert per event (``id`` = the event's id), as published to the alerts topic."""

    class Meta:
        table_name = "QuakeAlertsTable"
        env = "QUAKE_ALERTS_TABLE"

    id = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute(attr_name="eventId")
    region = UnicodeAttribute()
    region_name = UnicodeAttribute(attr_name="regionName", null=True)
    magnitude = NumberAttribute()
    severity = UnicodeAttribute()
    threshold = NumberAttribute()
    location = Location()
    depth_km = NumberAttribute(attr_name="depthKm", null=True)
    timestamp = NumberAttribute()
    raised_at = UnicodeAttribute(attr_name="raisedAt")
    list_key = UnicodeAttribute(attr_name="listKey", default=ALERT_LIST_KEY)
    sort_key = UnicodeAttribute(attr_name="sortKey")
    expires_at = TTLAttribute(attr_name="expiresAt")
    by_time = AlertsByTime()


class QuakeStream(Model):
    """The stream's one item: its state and the emitter's lease."""

    class Meta:
        table_name = "QuakeStreamTable"
        env = "QUAKE_STREAM_TABLE"

    id = UnicodeAttribute(hash_key=True)
    running = BooleanAttribute(default=False)
    rate = NumberAttribute(null=True)
    magnitudes = UnicodeAttribute(null=True)
    run_id = UnicodeAttribute(attr_name="runId", null=True)
    started_at_ms = NumberAttribute(attr_name="startedAtMs", null=True)
    stop_at_ms = NumberAttribute(attr_name="stopAtMs", null=True)
    emitted = NumberAttribute(default=0)
    updated_at_ms = NumberAttribute(attr_name="updatedAtMs", null=True)
    stopped_at_ms = NumberAttribute(attr_name="stoppedAtMs", null=True)
    stop_reason = UnicodeAttribute(attr_name="stopReason", null=True)
    lease_owner = UnicodeAttribute(attr_name="leaseOwner", null=True)
    lease_expires_at_ms = NumberAttribute(attr_name="leaseExpiresAtMs", null=True)
    last_emit_at_ms = NumberAttribute(attr_name="lastEmitAtMs", null=True)
