"""The earthquake event on the wire, the API's request bodies, and the views the API returns."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
REGION_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
MAX_RATE = 10_000.0
MAX_DURATION_S = 7 * 24 * 3600


class MagnitudeLaw(StrEnum):
    """How magnitudes are drawn.

    ``gutenberg-richter``: the frequency-magnitude law of real catalogues, log10 N(>=M) = a - bM
    (b = 1): each unit of magnitude is ten times rarer than the one below, 0..9.5.
    ``uniform``: every magnitude in 0..9 equally likely, as the original stream did.
    """

    GUTENBERG_RICHTER = "gutenberg-richter"
    UNIFORM = "uniform"


class Location(BaseModel):
    model_config = ConfigDict(extra="ignore")

    latitude: float = Field(ge=-90, le=90, allow_inf_nan=False)
    longitude: float = Field(ge=-180, le=180, allow_inf_nan=False)


class Earthquake(BaseModel):
    """The value of a record on the earthquake topic.

    ``{id, magnitude, location: {latitude, longitude}, timestamp}`` as in the original stream, plus
    ``depthKm`` and ``region`` (both optional for the consumer: an event without a region gets
    the key of the region nearest to its location).
    """

    model_config = ConfigDict(extra="ignore")

    id: str = Field(pattern=ID_PATTERN)
    magnitude: float = Field(ge=0, le=10, allow_inf_nan=False)
    location: Location
    depthKm: float | None = Field(default=None, ge=0, le=800, allow_inf_nan=False)
    timestamp: int = Field(ge=0, lt=10**13, description="epoch milliseconds")
    region: str | None = Field(default=None, pattern=REGION_PATTERN)


class StartStream(BaseModel):
    """Body of ``POST /earthquake-events/start`` (optional: every field has a default).

    Starting a running stream replaces its settings with these (its rate changes at once).
    """

    model_config = ConfigDict(extra="forbid")

    rate: float = Field(default=10.0, gt=0, le=MAX_RATE, description="events per second")
    durationSeconds: int | None = Field(
        default=None, ge=1, le=MAX_DURATION_S, description="stop by itself after this long"
    )
    magnitudes: MagnitudeLaw = MagnitudeLaw.GUTENBERG_RICHTER


class StoredQuake(Earthquake):
    """An event as the catalogue holds it: the region it was counted in, whether it raised an
    alert, and when it was stored."""

    region: str
    alert: bool
    receivedAt: str


class QuakeAlert(BaseModel):
    """An alert, as published to the alerts topic and kept in the catalogue (one per event)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    eventId: str
    region: str
    regionName: str | None = None
    magnitude: float
    severity: str
    threshold: float
    location: Location
    depthKm: float | None = None
    timestamp: int = Field(description="epoch milliseconds")
    raisedAt: str


def event_payload(quake: Earthquake) -> dict[str, Any]:
    """The JSON value as published: the seed's fields first, ``None`` fields left out."""
    return quake.model_dump(mode="json", exclude_none=True)
