"""Seismic regions: the plate boundaries and zones where most earthquakes happen.

Each region is a polyline traced along its boundary (trench, transform fault, collision front or
ridge), a share of the world's seismicity, a scatter around the line and a depth profile. The
region ``key`` is stable (it never depends on a generated value): it is the Kafka message key, so
one region's events stay ordered on one partition, and the key of the per-region aggregates.

Longitudes of lines that cross the antimeridian are written unwrapped (beyond 180) and
normalised when a point is produced.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

REGION_KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
OTHER_REGION = "other"
#: How far (degrees, along the surface) from a region's line a place still belongs to it.
NEAR_DEGREES = 6.0


class Setting(StrEnum):
    """The tectonic setting, which decides the depth profile."""

    SUBDUCTION = "subduction"  # shallow mostly, with intermediate and deep events down to ~700 km
    TRANSFORM = "transform"  # strike-slip faults: shallow crust
    COLLISION = "collision"  # continental collision: crust, some intermediate depth
    RIFT = "rift"  # ridges and rifts: very shallow


@dataclass(frozen=True)
class Region:
    key: str
    name: str
    setting: Setting
    weight: float  # share of the generated events, relative to the other regions
    spread_deg: float  # standard deviation of the scatter around the line
    line: tuple[tuple[float, float], ...]  # (latitude, longitude) vertices

    def segments(self) -> list[tuple[tuple[float, float], tuple[float, float]]]:
        return list(zip(self.line, self.line[1:], strict=False))


# fmt: off
REGIONS: tuple[Region, ...] = (
    Region("japan-kuril-kamchatka", "Japan, Kuril Islands and Kamchatka", Setting.SUBDUCTION, 14, 1.0, (
        (33.0, 138.0), (35.5, 141.0), (38.5, 142.5), (41.5, 143.8), (44.0, 147.5), (47.0, 153.0),
        (51.0, 158.0), (55.5, 162.5),
    )),
    Region("aleutians-alaska", "Aleutian Islands and Alaska", Setting.SUBDUCTION, 9, 0.8, (
        (51.0, 172.0), (51.3, 180.0), (51.6, 186.0), (52.5, 192.0), (54.5, 199.0), (57.5, 205.0),
        (60.5, 211.0), (61.5, 213.5),
    )),
    Region("cascadia-california", "Cascadia and California", Setting.TRANSFORM, 6, 0.6, (
        (49.0, -127.5), (45.0, -125.0), (40.5, -124.3), (37.5, -122.2), (35.5, -120.5),
        (34.0, -117.5), (32.5, -115.5),
    )),
    Region("mexico-central-america", "Mexico and Central America", Setting.SUBDUCTION, 8, 0.8, (
        (20.0, -105.5), (17.0, -100.5), (15.8, -96.5), (14.5, -92.5), (12.5, -89.0), (10.5, -86.0),
        (8.5, -83.0),
    )),
    Region("caribbean", "Caribbean", Setting.SUBDUCTION, 3, 0.7, (
        (18.0, -78.0), (19.5, -73.0), (19.0, -68.0), (18.0, -64.5), (15.5, -61.0), (12.5, -61.0),
    )),
    Region("andes", "Andes (Colombia to southern Chile)", Setting.SUBDUCTION, 12, 1.0, (
        (6.0, -77.5), (1.0, -79.5), (-3.0, -80.5), (-9.0, -79.0), (-15.5, -75.0), (-19.0, -70.5),
        (-24.0, -70.5), (-30.0, -71.5), (-36.0, -73.0), (-42.0, -74.0), (-46.0, -75.5),
    )),
    Region("sunda-indonesia", "Sumatra, Java and the Banda Sea", Setting.SUBDUCTION, 14, 1.0, (
        (6.0, 94.5), (2.0, 96.5), (-2.0, 99.5), (-5.5, 102.5), (-8.5, 108.0), (-10.0, 114.0),
        (-10.5, 119.0), (-9.0, 125.0), (-7.0, 129.5), (-4.0, 131.0),
    )),
    Region("philippines-taiwan", "Philippines and Taiwan", Setting.SUBDUCTION, 8, 0.8, (
        (24.5, 122.0), (21.0, 121.5), (17.5, 122.5), (14.0, 124.5), (10.0, 126.5), (6.5, 126.8),
        (3.0, 126.5),
    )),
    Region("melanesia", "New Guinea, Solomon Islands and Vanuatu", Setting.SUBDUCTION, 9, 0.9, (
        (-3.5, 141.0), (-5.5, 147.0), (-6.0, 152.0), (-7.5, 156.0), (-10.5, 161.5), (-14.0, 166.5),
        (-18.0, 168.5), (-21.5, 170.0),
    )),
    Region("tonga-kermadec-new-zealand", "Tonga, Kermadec Islands and New Zealand", Setting.SUBDUCTION, 10, 0.9, (
        (-15.0, 186.5), (-19.0, 186.0), (-23.5, 184.5), (-28.5, 183.0), (-34.0, 181.0),
        (-38.0, 178.5), (-41.5, 174.5), (-44.5, 169.0),
    )),
    Region("himalaya", "Himalaya and Tibet", Setting.COLLISION, 4, 1.2, (
        (36.0, 70.5), (34.0, 74.0), (31.0, 78.0), (28.8, 83.0), (27.8, 88.0), (27.8, 92.0),
        (28.0, 96.0), (26.0, 99.5),
    )),
    Region("iran-caucasus", "Iran and the Caucasus", Setting.COLLISION, 4, 1.0, (
        (26.5, 57.0), (28.5, 53.0), (31.0, 50.0), (34.0, 46.5), (36.5, 45.5), (39.0, 44.0),
        (41.5, 45.5), (42.5, 47.0),
    )),
    Region("mediterranean-anatolia", "Anatolia, Greece and Italy", Setting.COLLISION, 4, 0.8, (
        (39.5, 41.0), (40.0, 37.0), (40.7, 32.0), (40.6, 27.5), (38.5, 23.5), (37.0, 21.5),
        (38.5, 16.0), (41.0, 15.0), (43.0, 13.0),
    )),
    Region("mid-atlantic-ridge", "Mid-Atlantic Ridge", Setting.RIFT, 3, 0.5, (
        (66.5, -18.0), (60.0, -29.0), (52.5, -31.0), (45.0, -28.0), (35.0, -35.0), (24.0, -45.5),
        (10.5, -40.5), (1.0, -25.0), (-8.0, -13.5), (-20.0, -12.5), (-35.0, -16.0), (-47.0, -13.0),
    )),
    Region("east-african-rift", "East African Rift", Setting.RIFT, 2, 0.8, (
        (13.0, 41.5), (9.5, 40.0), (6.0, 37.5), (2.0, 36.0), (-2.0, 35.5), (-6.0, 34.5),
        (-9.5, 33.8), (-14.0, 34.8),
    )),
)
# fmt: on

REGIONS_BY_KEY: dict[str, Region] = {r.key: r for r in REGIONS}


def normalise_longitude(lon: float) -> float:
    """Into [-180, 180)."""
    return ((lon + 180.0) % 360.0) - 180.0


def _segment_distance_deg(
    lat: float, lon: float, a: tuple[float, float], b: tuple[float, float]
) -> float:
    """Approximate angular distance from a point to a segment (local equirectangular projection)."""
    scale = math.cos(math.radians(lat))
    # lines are continuous (unwrapped): wrap the first vertex only, keep the segment's own span
    a_lon = normalise_longitude(a[1] - lon)
    ax, ay = a_lon * scale, a[0] - lat
    bx, by = (a_lon + b[1] - a[1]) * scale, b[0] - lat
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length2))
    return math.hypot(ax + t * dx, ay + t * dy)


def region_for_location(latitude: float, longitude: float) -> str:
    """The key of the region whose line is nearest (within NEAR_DEGREES), else ``other``.

    Used for events that arrive without a region (the seed's shape): the same place always gets
    the same key.
    """
    best, best_d = OTHER_REGION, NEAR_DEGREES
    for region in REGIONS:
        for a, b in region.segments():
            d = _segment_distance_deg(latitude, longitude, a, b)
            if d < best_d:
                best, best_d = region.key, d
    return best


def region_name(key: str) -> str | None:
    region = REGIONS_BY_KEY.get(key)
    return region.name if region else None
