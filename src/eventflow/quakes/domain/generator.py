"""Synthetic earthquakes: plausible places, depths and magnitudes.

Magnitudes follow the Gutenberg-Richter law by default: the number of events of magnitude >= M
falls tenfold per unit of M (b-value 1). Drawn from the truncated exponential distribution by
inverting its CDF::

    M = M0 - log10(1 - u * (1 - 10**(-b * (Mmax - M0)))) / b,   u ~ U(0, 1)

so with M0 = 0 and Mmax = 9.5 about 90% of events are below 1, 1 in 1,000 reaches 3, and
1 in a million reaches 6. The uniform law (0..9, as the original stream had it) is an option.

Places: a region is chosen by its share of the world's seismicity, then a point along its
boundary line with a Gaussian scatter, and a depth from the region's tectonic setting. All
randomness comes from one ``random.Random``, so a seeded generator is reproducible.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
import uuid
from collections.abc import Callable

from eventflow.clock import epoch_ms
from eventflow.quakes.domain.models import Earthquake, Location, MagnitudeLaw
from eventflow.quakes.domain.regions import REGIONS, Region, Setting, normalise_longitude

GR_MAX_MAGNITUDE = 9.5
UNIFORM_MAX_MAGNITUDE = 9.0
DEFAULT_B_VALUE = 1.0


def gutenberg_richter_magnitude(
    u: float, b_value: float = DEFAULT_B_VALUE, low: float = 0.0, high: float = GR_MAX_MAGNITUDE
) -> float:
    """The magnitude at quantile ``u`` (0 <= u < 1) of the truncated Gutenberg-Richter law."""
    if not 0 <= u < 1:
        raise ValueError("u must be in [0, 1)")
    if b_value <= 0 or high <= low:
        raise ValueError("b_value must be > 0 and high > low")
    span = 1.0 - 10.0 ** (-b_value * (high - low))
    value = low - math.log10(1.0 - u * span) / b_value
    return _round_magnitude(value, low, high)


def uniform_magnitude(u: float, low: float = 0.0, high: float = UNIFORM_MAX_MAGNITUDE) -> float:
    if not 0 <= u < 1:
        raise ValueError("u must be in [0, 1)")
    return _round_magnitude(low + u * (high - low), low, high)


def _round_magnitude(value: float, low: float, high: float) -> float:
    """Magnitudes are reported with one decimal, as catalogues do."""
    return min(high, max(low, round(value, 1)))


def _segment_length(a: tuple[float, float], b: tuple[float, float]) -> float:
    scale = math.cos(math.radians((a[0] + b[0]) / 2))
    return math.hypot((b[1] - a[1]) * scale, b[0] - a[0])


class _Placer:
    """Chooses a point on a region's boundary line, uniformly along its length."""

    def __init__(self, region: Region) -> None:
        self.region = region
        self.segments = region.segments()
        self.cumulative = list(
            itertools.accumulate(_segment_length(a, b) for a, b in self.segments)
        )

    def point(self, rng: random.Random) -> tuple[float, float]:
        (a, b) = self.segments[
            bisect.bisect_left(self.cumulative, rng.random() * self.cumulative[-1])
        ]
        t = rng.random()
        lat = a[0] + t * (b[0] - a[0]) + rng.gauss(0.0, self.region.spread_deg)
        scale = max(0.2, math.cos(math.radians(lat)))
        lon = a[1] + t * (b[1] - a[1]) + rng.gauss(0.0, self.region.spread_deg) / scale
        return max(-89.9, min(89.9, lat)), normalise_longitude(lon)


def depth_km(setting: Setting, rng: random.Random) -> float:
    """A hypocentre depth typical of the tectonic setting."""
    roll = rng.random()
    if setting is Setting.SUBDUCTION:
        if roll < 0.75:
            depth = min(70.0, rng.expovariate(1 / 22.0))
        elif roll < 0.93:
            depth = rng.uniform(70.0, 300.0)
        else:
            depth = rng.uniform(300.0, 680.0)
    elif setting is Setting.COLLISION:
        depth = rng.triangular(3.0, 45.0, 12.0) if roll < 0.88 else rng.uniform(45.0, 220.0)
    elif setting is Setting.TRANSFORM:
        depth = rng.triangular(1.0, 22.0, 8.0)
    else:
        depth = rng.triangular(1.0, 15.0, 5.0)
    return round(max(0.0, depth), 1)


class QuakeGenerator:
    """An endless source of plausible earthquakes.

    ``law`` picks the magnitude law; ``rng`` makes it reproducible; ``clock_ms`` stamps events.
    Ids are random 128-bit hex strings drawn from ``rng`` (unique across processes with the
    default, OS-seeded ``rng``).
    """

    def __init__(
        self,
        law: MagnitudeLaw = MagnitudeLaw.GUTENBERG_RICHTER,
        rng: random.Random | None = None,
        clock_ms: Callable[[], int] = epoch_ms,
        b_value: float = DEFAULT_B_VALUE,
    ) -> None:
        self.law = MagnitudeLaw(law)
        self.rng = rng or random.Random()
        self.clock_ms = clock_ms
        self.b_value = b_value
        self._placers = [_Placer(r) for r in REGIONS]
        self._cum_weights = list(itertools.accumulate(r.weight for r in REGIONS))

    def magnitude(self) -> float:
        u = self.rng.random()
        if self.law is MagnitudeLaw.UNIFORM:
            return uniform_magnitude(u)
        return gutenberg_richter_magnitude(u, self.b_value)

    def new_id(self) -> str:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4).hex

    def next(self) -> Earthquake:
        placer = self.rng.choices(self._placers, cum_weights=self._cum_weights)[0]
        lat, lon = placer.point(self.rng)
        return Earthquake(
            id=self.new_id(),
            magnitude=self.magnitude(),
            location=Location(latitude=round(lat, 4), longitude=round(lon, 4)),
            depthKm=depth_km(placer.region.setting, self.rng),
            timestamp=self.clock_ms(),
            region=placer.region.key,
        )

    def batch(self, count: int) -> list[Earthquake]:
        return [self.next() for _ in range(count)]
