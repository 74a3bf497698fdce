"""Synthetic earthquakes: magnitude laws, places, depths, ids and region keys. No I/O."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest

from eventflow.quakes.domain.generator import (
    GR_MAX_MAGNITUDE,
    QuakeGenerator,
    gutenberg_richter_magnitude,
    uniform_magnitude,
)
from eventflow.quakes.domain.models import Earthquake, MagnitudeLaw
from eventflow.quakes.domain.regions import (
    REGION_KEY_PATTERN,
    REGIONS,
    REGIONS_BY_KEY,
    Setting,
    normalise_longitude,
    region_for_location,
)
from eventflow.quakes.usecases.emitter import quake_message


def sample(law: MagnitudeLaw, n: int, seed: int = 7) -> list[Earthquake]:
    return QuakeGenerator(law, rng=random.Random(seed), clock_ms=lambda: 1_700_000_000_000).batch(n)


@pytest.fixture(scope="module")
def gr_magnitudes() -> list[float]:
    gen = QuakeGenerator(rng=random.Random(1))
    return [gen.magnitude() for _ in range(200_000)]


def test_gutenberg_richter_many_small_few_large(gr_magnitudes):
    n = len(gr_magnitudes)
    at_least = {m: sum(1 for x in gr_magnitudes if x >= m) / n for m in (1, 2, 3, 4)}
    # log10 N(>=M) = a - bM with b = 1: each unit of magnitude is ten times rarer. A reported
    # (rounded) magnitude >= M means a true one >= M - 0.05.
    assert at_least[1] == pytest.approx(10**-0.95, rel=0.05)
    assert at_least[2] == pytest.approx(10**-1.95, rel=0.15)
    assert at_least[3] == pytest.approx(10**-2.95, rel=0.4)
    assert at_least[1] > at_least[2] > at_least[3] > at_least[4]
    per_unit = Counter(math.floor(x) for x in gr_magnitudes)
    assert per_unit[0] > per_unit[1] > per_unit[2] > per_unit[3]


def test_gutenberg_richter_b_value_estimate_is_one(gr_magnitudes):
    """Aki-Utsu maximum likelihood, above a completeness magnitude of 1.0 (bins of 0.1)."""
    above = [m for m in gr_magnitudes if m >= 1.0]
    b = math.log10(math.e) / (sum(above) / len(above) - (1.0 - 0.05))
    assert b == pytest.approx(1.0, abs=0.05)


def test_gutenberg_richter_bounds_and_one_decimal(gr_magnitudes):
    assert min(gr_magnitudes) == 0.0
    assert max(gr_magnitudes) <= GR_MAX_MAGNITUDE
    assert all(round(m, 1) == m for m in gr_magnitudes[:1000])
    assert gutenberg_richter_magnitude(0.0) == 0.0
    assert gutenberg_richter_magnitude(1 - 1e-12) == 9.5
    assert gutenberg_richter_magnitude(0.999999) == pytest.approx(6.0, abs=0.05)
    with pytest.raises(ValueError):
        gutenberg_richter_magnitude(1.0)


def test_uniform_mode_is_the_original_streams_0_to_9():
    mags = [q.magnitude for q in sample(MagnitudeLaw.UNIFORM, 20_000)]
    assert min(mags) >= 0.0 and max(mags) <= 9.0
    assert sum(mags) / len(mags) == pytest.approx(4.5, abs=0.1)
    per_unit = Counter(min(8, math.floor(m)) for m in mags)
    assert all(abs(count / len(mags) - 1 / 9) < 0.015 for count in per_unit.values())
    assert uniform_magnitude(0.0) == 0.0 and uniform_magnitude(1 - 1e-12) == 9.0


def test_events_have_the_seed_shape_plus_depth_and_region():
    q = sample(MagnitudeLaw.GUTENBERG_RICHTER, 1)[0]
    payload = q.model_dump(mode="json")
    assert set(payload) == {"id", "magnitude", "location", "timestamp", "depthKm", "region"}
    assert set(payload["location"]) == {"latitude", "longitude"}
    assert payload["timestamp"] == 1_700_000_000_000


def test_ids_are_unique_and_safe_for_urls():
    ids = [q.id for q in sample(MagnitudeLaw.GUTENBERG_RICHTER, 20_000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids[:100])
    # unseeded generators (one per emitter process) never share ids
    assert QuakeGenerator().next().id != QuakeGenerator().next().id


def test_a_seed_reproduces_the_stream():
    assert sample(MagnitudeLaw.GUTENBERG_RICHTER, 50, seed=3) == sample(
        MagnitudeLaw.GUTENBERG_RICHTER, 50, seed=3
    )


def test_locations_and_depths_are_plausible():
    quakes = sample(MagnitudeLaw.GUTENBERG_RICHTER, 20_000)
    for q in quakes:
        assert -90 <= q.location.latitude <= 90 and -180 <= q.location.longitude <= 180
        assert 0 <= (q.depthKm or 0) <= 700
    by_region = Counter(q.region for q in quakes)
    assert set(by_region) <= set(REGIONS_BY_KEY)
    assert len(by_region) == len(REGIONS)  # every region is active
    assert by_region["japan-kuril-kamchatka"] > by_region["east-african-rift"]  # weights hold
    deep = [q for q in quakes if (q.depthKm or 0) > 300]
    assert deep and all(REGIONS_BY_KEY[q.region or ""].setting is Setting.SUBDUCTION for q in deep)
    ridges = [q for q in quakes if REGIONS_BY_KEY[q.region or ""].setting is Setting.RIFT]
    assert all((q.depthKm or 0) <= 15 for q in ridges)


def test_generated_places_lie_near_their_region():
    quakes = sample(MagnitudeLaw.GUTENBERG_RICHTER, 5_000)
    near = sum(
        1
        for q in quakes
        if region_for_location(q.location.latitude, q.location.longitude) != "other"
    )
    assert near / len(quakes) > 0.99
    # where regions do not touch, the nearest region is the event's own
    own = sum(
        1
        for q in quakes
        if region_for_location(q.location.latitude, q.location.longitude) == q.region
    )
    assert own / len(quakes) > 0.85


def test_region_keys_are_stable():
    """Region keys are message keys and aggregate keys: renaming one splits its history."""
    assert [r.key for r in REGIONS] == [
        "japan-kuril-kamchatka",
        "aleutians-alaska",
        "cascadia-california",
        "mexico-central-america",
        "caribbean",
        "andes",
        "sunda-indonesia",
        "philippines-taiwan",
        "melanesia",
        "tonga-kermadec-new-zealand",
        "himalaya",
        "iran-caucasus",
        "mediterranean-anatolia",
        "mid-atlantic-ridge",
        "east-african-rift",
    ]
    assert all(REGION_KEY_PATTERN.match(r.key) for r in REGIONS)


@pytest.mark.parametrize(
    ("lat", "lon", "key"),
    [
        (38.3, 142.4, "japan-kuril-kamchatka"),  # Tohoku 2011
        (-36.1, -72.9, "andes"),  # Maule 2010
        (3.3, 95.9, "sunda-indonesia"),  # Sumatra 2004
        (61.0, -147.7, "aleutians-alaska"),  # Alaska 1964, across the antimeridian line
        (-15.6, -173.2, "tonga-kermadec-new-zealand"),  # Tonga, line written beyond 180
        (35.8, -120.4, "cascadia-california"),  # Parkfield
        (48.0, 2.3, "other"),  # Paris
    ],
)
def test_region_for_location_finds_famous_earthquakes(lat, lon, key):
    assert region_for_location(lat, lon) == key


def test_longitudes_are_normalised():
    assert normalise_longitude(186.5) == pytest.approx(-173.5)
    assert normalise_longitude(-180.0) == -180.0
    assert normalise_longitude(180.0) == -180.0


def test_message_is_keyed_by_region_with_event_headers():
    q = sample(MagnitudeLaw.GUTENBERG_RICHTER, 1)[0]
    msg = quake_message("earthquake-service-topic", q)
    assert msg.key == (q.region or "").encode()
    assert dict(msg.headers) == {"eventId": q.id.encode(), "eventType": b"Earthquake"}
    assert Earthquake.model_validate_json(msg.value) == q
