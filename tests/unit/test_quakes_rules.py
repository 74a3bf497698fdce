"""The earthquake rules: stream state, pacing, alerts, aggregates, query parameters. No I/O
(the items the adapters write and read are converted here in memory)."""

from __future__ import annotations

import itertools

import pytest

from eventflow import ddb, tables
from eventflow.config import ConfigurationError
from eventflow.errors import InvalidRequestError
from eventflow.quakes.adapters.items import (
    region_aggregate_of,
    region_item_values,
    stream_state_of,
)
from eventflow.quakes.adapters.tables import QuakeRegions
from eventflow.quakes.domain.models import StartStream
from eventflow.quakes.domain.rules import (
    QuakeFacts,
    RegionAggregate,
    StreamState,
    advance,
    aggregate,
    events_due,
    is_alert,
    iso_from_ms,
    parse_since,
    severity,
    sort_key,
)
from eventflow.quakes.settings import QuakeSettings

T0 = 1_764_072_000_000  # 2025-11-25T12:00:00Z


def stored(agg: RegionAggregate) -> RegionAggregate:
    """The aggregate as the regions table's item keeps it, read back."""
    return region_aggregate_of(ddb.from_item(tables.item(QuakeRegions, region_item_values(agg))))


# ---------------------------------------------------------------------------------- pacing
def test_first_event_goes_at_once_then_one_per_period():
    assert events_due(10, 0.0, 0) == 1
    assert events_due(10, 0.05, 1) == 0
    assert events_due(10, 0.1, 1) == 1
    assert events_due(10, 1.0, 0) == 11  # 0.0, 0.1, ..., 1.0


def test_pacing_keeps_the_rate_whatever_the_ticks():
    sent, t = 0, 0.0
    for step in itertools.islice(itertools.cycle([0.03, 0.17, 0.25, 0.01]), 400):
        t += step
        sent += events_due(37.5, t, sent)
    assert sent == int(37.5 * t) + 1


def test_pacing_never_goes_negative():
    assert events_due(10, 0.5, 100) == 0
    assert events_due(0, 5.0, 0) == 0
    assert events_due(10, -1.0, 0) == 0


# ---------------------------------------------------------------------------------- state
def test_a_stream_never_started_reports_not_running():
    view = StreamState().view(T0)
    assert view["running"] is False and view["emitted"] == 0 and view["since"] is None


def test_running_stream_view():
    state = StreamState(
        running=True,
        rate=10.0,
        magnitudes="uniform",
        run_id="r1",
        started_at_ms=T0,
        emitted=42,
        lease_owner="e1",
        lease_expires_ms=T0 + 10_000,
    )
    view = state.view(T0 + 1_000)
    assert view == {
        "running": True,
        "rate": 10,
        "magnitudes": "uniform",
        "emitted": 42,
        "since": "2025-11-25T12:00:00.000Z",
        "runId": "r1",
        "stopsAt": None,
        "emitterActive": True,
        "lastEmitAt": None,
    }
    assert state.view(T0 + 11_000)["emitterActive"] is False  # lease expired


def test_duration_elapsed_means_not_running_even_before_anyone_writes_it():
    state = StreamState(
        running=True, rate=2.5, run_id="r1", started_at_ms=T0, stop_at_ms=T0 + 5_000
    )
    assert state.active(T0 + 4_999) and not state.duration_elapsed(T0 + 4_999)
    assert state.view(T0 + 4_999)["stopsAt"] == "2025-11-25T12:00:05.000Z"
    assert not state.active(T0 + 5_000) and state.duration_elapsed(T0 + 5_000)
    view = state.view(T0 + 6_000)
    assert view["running"] is False and view["rate"] == 2.5
    assert (view["stoppedAt"], view["stopReason"]) == (
        "2025-11-25T12:00:05.000Z",
        "duration elapsed",
    )


def test_stopped_stream_says_when_and_why():
    state = StreamState(
        running=False, rate=10.0, run_id="r1", stopped_at_ms=T0, stop_reason="stopped by request"
    )
    view = state.view(T0 + 1)
    assert view["running"] is False and view["stopReason"] == "stopped by request"


def test_state_reads_its_item():
    item = {
        "id": "earthquakes",
        "running": True,
        "rate": 500,
        "magnitudes": "gutenberg-richter",
        "runId": "r",
        "startedAtMs": T0,
        "emitted": 7,
        "leaseOwner": "x",
        "leaseExpiresAtMs": T0 + 1,
    }
    state = stream_state_of(item)
    assert (state.running, state.rate, state.emitted, state.lease_owner) == (True, 500.0, 7, "x")


def test_start_body_defaults_and_limits():
    assert StartStream().rate == 10 and StartStream().durationSeconds is None
    assert StartStream().magnitudes.value == "gutenberg-richter"
    for bad in (
        {"rate": 0},
        {"rate": 10_001},
        {"durationSeconds": 0},
        {"speed": 1},
        {"magnitudes": "normal"},
    ):
        with pytest.raises(ValueError):
            StartStream.model_validate(bad)


# ---------------------------------------------------------------------------------- alerts
@pytest.mark.parametrize(
    ("magnitude", "alert"), [(5.9, False), (6.0, True), (9.5, True), (0.0, False)]
)
def test_alert_at_or_above_the_threshold(magnitude, alert):
    assert is_alert(magnitude, 6.0) is alert


@pytest.mark.parametrize(
    ("magnitude", "name"),
    [
        (0.0, "micro"),
        (2.9, "micro"),
        (3.0, "minor"),
        (4.5, "light"),
        (5.0, "moderate"),
        (6.0, "strong"),
        (7.2, "major"),
        (8.0, "great"),
        (9.5, "great"),
    ],
)
def test_severity_follows_the_usgs_classes(magnitude, name):
    assert severity(magnitude) == name


# ---------------------------------------------------------------------------------- aggregates
EVENTS = [
    QuakeFacts("a", 2.1, T0 + 10, False),
    QuakeFacts("b", 6.4, T0 + 5, True),
    QuakeFacts("c", 6.4, T0 + 30, True),
    QuakeFacts("d", 0.3, T0 + 30, False),
]


def test_aggregate_counts_and_keeps_strongest_and_latest():
    agg = aggregate(RegionAggregate("andes"), EVENTS)
    assert (agg.count, agg.alert_count) == (4, 2)
    assert (agg.max_magnitude, agg.max_magnitude_event_id) == (6.4, "b")  # first seen wins a tie
    assert (agg.last_event_at, agg.last_event_id) == (T0 + 30, "d")  # same time: greatest id
    assert agg.first_event_at == T0 + 5
    assert agg.magnitude_sum == pytest.approx(15.2)


def test_aggregate_does_not_depend_on_delivery_order_except_for_ties():
    results = {
        aggregate(RegionAggregate("andes"), order).last_event_id
        for order in itertools.permutations(EVENTS)
    }
    assert results == {"d"}
    counts = {
        aggregate(RegionAggregate("andes"), order).count for order in itertools.permutations(EVENTS)
    }
    assert counts == {4}


def test_aggregate_folds_onto_what_was_stored():
    first = aggregate(RegionAggregate("andes"), EVENTS[:2])
    again = aggregate(stored(first), EVENTS[2:])
    assert again == aggregate(RegionAggregate("andes"), EVENTS)


# ---------------------------------------------------------------------------------- queries
def test_since_accepts_epoch_ms_and_iso_8601():
    assert parse_since(str(T0)) == T0
    assert parse_since("2025-11-25T12:00:00Z") == T0
    assert parse_since("2025-11-25T12:00:00.000+00:00") == T0
    assert parse_since("2025-11-25T13:00:00+01:00") == T0
    assert parse_since("2025-11-25T12:00:00") == T0  # naive means UTC
    assert iso_from_ms(T0) == "2025-11-25T12:00:00.000Z"


@pytest.mark.parametrize("raw", ["yesterday", "2025-13-01", "99999999999999", "-5"])
def test_bad_since_is_a_400_naming_the_parameter(raw):
    with pytest.raises(InvalidRequestError) as err:
        parse_since(raw)
    assert "since" in err.value.message


def test_sort_keys_order_by_time_then_id():
    keys = [sort_key(T0 + 1, "a"), sort_key(T0, "b"), sort_key(999, "z"), sort_key(T0, "a")]
    assert sorted(keys) == [
        sort_key(999, "z"),
        sort_key(T0, "a"),
        sort_key(T0, "b"),
        sort_key(T0 + 1, "a"),
    ]
    assert sort_key(T0, "") <= sort_key(T0, "a")  # "since" includes events of that millisecond


# ---------------------------------------------------------------------------------- settings
TABLES = {
    "QUAKE_STREAM_TABLE": "s",
    "QUAKES_TABLE": "q",
    "QUAKE_REGIONS_TABLE": "r",
    "QUAKE_ALERTS_TABLE": "a",
    "DEAD_LETTER_TABLE": "d",
}


def test_settings_defaults():
    s = QuakeSettings.from_env(TABLES)
    assert (s.quakes_topic, s.alerts_topic, s.alert_magnitude, s.self_invoke) == (
        "earthquake-service-topic",
        "earthquake-alerts-topic",
        6.0,
        "lambda",
    )


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({k: v for k, v in TABLES.items() if k != "QUAKES_TABLE"}, "QUAKES_TABLE"),
        ({**TABLES, "QUAKE_ALERT_MAGNITUDE": "strong"}, "QUAKE_ALERT_MAGNITUDE"),
        ({**TABLES, "QUAKE_ALERT_MAGNITUDE": "11"}, "QUAKE_ALERT_MAGNITUDE"),
        ({**TABLES, "QUAKE_SELF_INVOKE": "sometimes"}, "QUAKE_SELF_INVOKE"),
        ({**TABLES, "QUAKE_RETENTION_DAYS": "0"}, "QUAKE_RETENTION_DAYS"),
    ],
)
def test_bad_settings_fail_naming_the_variable(env, name):
    with pytest.raises(ConfigurationError, match=name):
        QuakeSettings.from_env(env)


def test_offsets_remember_what_was_folded_in_per_partition():
    agg = advance(RegionAggregate("andes"), {"t-0": 41, "t-2": 7})
    assert agg.version == 1
    assert agg.counted("t-0", 41) and agg.counted("t-0", 3) and not agg.counted("t-0", 42)
    assert not agg.counted("t-1", 0)  # another partition: nothing folded in yet
    older = advance(agg, {"t-0": 12})
    assert older.offsets["t-0"] == 41 and older.version == 2  # never goes back
    assert stored(older) == older
