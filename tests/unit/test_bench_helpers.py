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
        },
        "latency": {"tuned": {"total_ms": {"p50": 60.0, "p95": 90.0, "p99": 120.0}}},
        "quakes": {
            "emitter": {"best": {"events_per_s": 21000.0}},
            "stream": {"max_lag_s": 0.5, "stored_once": True},
        },
        "imports": [{"function": "mark_fraud", "ms": 250.0, "loads_kafka": False}],
        "harness": {"ready_s": 3.0, "peak_rss_mb_run1": 700.0},
    }
    h = report.headline(results)
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
    assert "10.0x baseline" in text and "NOT met" not in text
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
