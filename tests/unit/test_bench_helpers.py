"""Pure helpers of the benchmark: statistics, capacity units, log and import-time parsing, report."""

from __future__ import annotations

import pytest

from bench import coldstart, report, stats, units
from bench.tap import parse_invocation


def test_percentile_interpolates_between_closest_ranks():
    values = [5.0, 1.0, 3.0, 2.0, 4.0]
    assert stats.percentile(values, 0) == 1.0
    assert stats.percentile(values, 50) == 3.0
    assert stats.percentile(values, 100) == 5.0
    assert stats.percentile(values, 25) == 2.0
    assert stats.percentile([1.0, 2.0], 99) == pytest.approx(1.99)
    assert stats.percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        stats.percentile([], 50)
    with pytest.raises(ValueError):
        stats.percentile([1.0], 101)


def test_summary_of_nothing_is_zeros():
    assert stats.summary([])["p99"] == 0.0
    s = stats.summary([1.0, 2.0, 3.0])
    assert (s["count"], s["mean"], s["max"]) == (3, 2.0, 3.0)


def test_item_size_follows_dynamodb_rules():
    item = {"id": {"S": "abc"}, "n": {"N": "12345"}, "ok": {"BOOL": True}}
    # names 2+1+2, "abc" 3, 5 digits -> 3+1 = 4, bool 1
    assert units.item_size(item) == 5 + 3 + 4 + 1
    nested = {"m": {"M": {"a": {"S": "x"}}}, "l": {"L": [{"N": "1"}]}}
    assert units.item_size(nested) == (1 + 3 + 1 + 1 + 1) + (1 + 3 + 1 + 2)


def test_transactional_writes_cost_twice():
    put = {"Put": {"TableName": "p", "Item": {"eventId": {"S": "e" * 32}}}}
    update = {"Update": {"TableName": "a", "Key": {"id": {"S": "x"}}, "UpdateExpression": "SET"}}
    body = {"TransactItems": [put, update]}
    sizes = {"x": 3000}
    got = units.request_units(
        "TransactWriteItems", body, lambda table, key: sizes.get(key["id"]["S"])
    )
    assert got.write == 2 * 1 + 2 * 3
    assert units.tables_of("TransactWriteItems", body) == {"p", "a"}


def test_reads_and_plain_writes():
    def lookup(table, key):
        return None

    get = {"TableName": "a", "Key": {"id": {"S": "x"}}, "ConsistentRead": True}
    assert units.request_units("GetItem", get, lookup).read == 1.0
    assert units.request_units("GetItem", {**get, "ConsistentRead": False}, lookup).read == 0.5
    batch = {"RequestItems": {"a": {"Keys": [{"id": {"S": "1"}}, {"id": {"S": "2"}}]}}}
    assert units.request_units("BatchGetItem", batch, lookup).read == 1.0
    update = {"TableName": "a", "Key": {"id": {"S": "x"}}}
    assert units.request_units("UpdateItem", update, lookup).write == 1


def test_invocation_lines_are_parsed_including_api_triggers():
    line = (
        "invoke MarkFraudFunction trigger=api POST /transactions/{id}/fraud batch=- "
        "duration=12ms outcome=ok 200"
    )
    inv = parse_invocation(line, at=10.0)
    assert inv is not None
    assert (inv.function, inv.batch, inv.ok) == ("MarkFraudFunction", None, True)
    assert inv.started == pytest.approx(9.988)
    kafka = parse_invocation(
        "invoke AccountConsumerFunction trigger=kafka:t batch=100 duration=80ms outcome=ok", 1.0
    )
    assert kafka is not None and kafka.batch == 100
    assert parse_invocation("[AccountConsumerFunction] some log line", 1.0) is None


IMPORTTIME = """\
import time: self [us] | cumulative | imported package
import time:       100 |        100 | zipimport
import time:       200 |        200 |     kafka.errors
import time:       300 |        500 |   kafka
import time:        50 |         50 |   eventflow.config
import time:        10 |        560 | app
"""


def test_importtime_report_is_attributed_to_top_level_packages():
    entries = coldstart.parse_importtime(IMPORTTIME)
    app, below = coldstart.module_imports(entries)
    assert app is not None and app.cumulative_us == 560
    assert [e.name for e in below] == ["kafka.errors", "kafka", "eventflow.config"]
    assert coldstart.by_package([app, *below]) == {"kafka": 500, "eventflow": 50, "app": 10}


def test_report_renders_every_headline_key():
    results = {
        "fraud": {
            "harness": {"events_per_s": 1000.0, "handler_only_events_per_s": 3000.0},
            "raw_read": {"events_per_s": 50000.0},
            "cost": {"requests_per_1000": 600.0, "write_units_per_event": 1.05},
            "pricing": {"ours": {"total": 1.2}, "baseline": {"total": 1.5}},
            "baseline": {
                "events_per_s": 100.0,
                "client_only_events_per_s": 150.0,
                "cost": {"requests_per_1000": 2100.0, "write_units_per_event": 1.1},
            },
            "verification": {"exactly_once": True},
            "ceiling": {"consumer_share": 0.9, "events_per_s": 1100.0},
            "quake_search": {"sustained_rate_events_per_s": 2000.0, "first_failed_rate": 4000.0},
            "aws_model": {"ratio": 20.0},
        },
        "latency": {"tuned": {"total_ms": {"p50": 60.0, "p95": 90.0, "p99": 120.0}}},
        "quakes": {
            "emitter": {
                "best": {"events_per_s": 21000.0, "events_per_cpu_s": 25000.0},
                "bare_producer": {"same_batch": {"events_per_s": 30000.0}},
                "share_of_bare_producer": 0.7,
            },
            "stream": {"max_lag_s": 0.5, "stored_once": True},
        },
        "imports": [{"function": "mark_fraud", "ms": 250.0, "loads_kafka": False}],
        "harness": {"ready_s": 3.0, "peak_rss_mb_run1": 700.0},
    }
    results["engines"] = {"moto": results["fraud"]}
    h = report.headline(results)
    assert h["engines"]["moto"]["consumer_share_of_engine_ceiling"] == 0.9
    assert h["engines"]["moto"]["quake_sustained_rate_events_per_s"] == 2000.0
    assert h["emitter_share_of_bare_producer"] == 0.7
    for key in (
        "fraud_events_per_s",
        "baseline_events_per_s",
        "raw_read_events_per_s",
        "ddb_requests_per_1000_events",
        "baseline_ddb_requests_per_1000_events",
        "write_units_per_event",
        "usd_per_million_events",
        "baseline_usd_per_million_events",
        "e2e_p50_ms",
        "e2e_p99_ms",
        "emitter_events_per_s",
        "consumer_max_lag_s",
        "handler_import_ms",
        "harness_ready_s",
        "harness_peak_rss_mb",
    ):
        assert key in h
    assert h["fraud_vs_baseline"] == 10.0
    assert all(report.verdicts(h).values())
    text = report.table(h, results)
    assert "10.0x baseline" in text and "NOT met" not in text and "not met" not in text
    h["write_units_per_event"] = 3.74  # a marker per event inside a transaction: over budget
    assert not report.verdicts(h)["write_units_per_event"]
    assert report.md_table(("a", "b"), [(1, 2.5)]).splitlines()[2] == "| 1 | 2.50 |"


def test_cost_per_million_events_at_on_demand_prices():
    from bench.pricing import per_million

    # 1 WCU + 1 RCU per event, 1 ms of a 512 MB handler per event, one invocation per 100 events
    p = per_million(1.0, 1.0, 0.001, 0.01, 512)
    assert round(p.write_units, 4) == 0.625
    assert round(p.read_units, 4) == 0.125
    assert round(p.lambda_duration, 4) == round(1e6 * 0.001 * 0.5 * 0.0000166667, 4)
    assert round(p.lambda_requests, 4) == 0.002
    assert p.total == p.write_units + p.read_units + p.lambda_duration + p.lambda_requests


def test_the_engine_time_of_parallel_requests_is_the_union_of_their_intervals():
    from bench.meter import Call, Window

    calls = [
        Call("dynamodb", "UpdateItem", 1.0, ended=2.0),  # 1.0 - 2.0
        Call("dynamodb", "UpdateItem", 1.5, ended=2.5),  # 1.0 - 2.5, overlapping
        Call("dynamodb", "UpdateItem", 0.5, ended=4.0),  # 3.5 - 4.0, apart
    ]
    assert Window.server_seconds(calls) == 2.0
    assert Window.server_seconds([]) == 0.0


def test_sequential_round_trips_count_overlapping_requests_once():
    from types import SimpleNamespace

    from bench.aws_model import sequential_round_trips

    def call(start: float, end: float) -> SimpleNamespace:
        return SimpleNamespace(ended=end, seconds=end - start)

    # GIVEN a read, then three writes in flight together, then (after a gap) one more write
    calls = [call(0.0, 1.0), call(2.0, 3.0), call(2.1, 3.5), call(3.4, 4.0), call(5.0, 6.0)]
    # THEN three round trips happened one after another
    assert sequential_round_trips(calls) == 3
    assert sequential_round_trips([]) == 0


def test_partition_model_follows_round_trips_at_the_stated_latency():
    from bench.aws_model import PartitionModel, model

    # GIVEN ours: 2 round trips per 100-event batch; the baseline: 2 per event, same CPU
    ours = PartitionModel(batch=100, round_trips_per_batch=2, cpu_s_per_event=0.0002)
    base = PartitionModel(batch=100, round_trips_per_batch=200, cpu_s_per_event=0.0002)
    # THEN at 10 ms: 100 / (0.02 + 0.02) = 2,500/s against 100 / (2 + 0.02) = 49.5/s
    assert round(ours.events_per_s()) == 2500
    assert round(base.events_per_s(), 1) == 49.5
    assert round(model(ours, base)["ratio"], 1) == 50.5


def test_quake_search_finds_the_highest_sustained_rate():
    from types import SimpleNamespace

    from bench.quake_search import search

    def stream_up_to(limit: float):
        def run(rate: float) -> SimpleNamespace:
            ok = rate <= limit
            return SimpleNamespace(
                rate=rate,
                achieved_rate=rate,
                event_lag_ms={"p99": 300.0 if ok else 9000.0},
                stored_once=True,
                handler_s=10.0,
                ddb_server_s=7.0,
            )

        return run

    # GIVEN a consumer that keeps up to 1,300 events/s
    found = search(stream_up_to(1300), start=250, log=lambda _: None)
    # THEN doubling stops at 2,000, bisection settles between 1,000 and 2,000
    assert found.first_failed_rate == 2000
    assert 1000 <= found.best_rate <= 1300
    assert found.as_dict()["engine_share_at_bound"] == 0.7
    # GIVEN one that keeps up with nothing: the search halves down to its floor, finds none
    none = search(stream_up_to(0), start=250, log=lambda _: None)
    assert none.best_rate == 0 and none.best_run is None
    # GIVEN a run that falls behind the asked rate: not sustained, whatever its lag
    slow = search(
        lambda r: SimpleNamespace(
            rate=r,
            achieved_rate=r * 0.5,
            event_lag_ms={"p99": 10.0},
            stored_once=True,
            handler_s=1.0,
            ddb_server_s=0.5,
        ),
        start=250,
        log=lambda _: None,
    )
    assert slow.best_rate == 0


def test_summary_rows_name_the_bound_of_a_figure_not_met():
    from bench import report_engines

    h = {
        "engines": {
            "moto": {
                "fraud_events_per_s": 180.0,
                "consumer_share_of_engine_ceiling": 0.9,
                "engine_ceiling_events_per_s": 200.0,
                "quake_sustained_rate_events_per_s": 500.0,
                "quake_first_failed_rate": 1000.0,
                "quake_engine_share_at_bound": 0.75,
                "aws_model_ratio": 40.0,
            }
        },
        "emitter_share_of_bare_producer": 0.6,
        "emitter_events_per_s": 20000.0,
        "bare_producer_events_per_s": 33000.0,
        "emitter_events_per_cpu_s": 25000.0,
    }
    rows = {r[0]: r[3] for r in report_engines.summary_rows(h)}
    assert rows["Fraud consumer, share of moto's ceiling"] == "met"
    assert rows["Earthquake stream, sustained rate on moto (lag p99 < 2 s)"] == (
        "bounded by moto: 75% of the consumer's time at 1,000/s was inside the engine"
    )
    assert rows["Emitter, share of a bare kafka-python producer"] == "met"
