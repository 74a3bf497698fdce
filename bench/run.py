"""``python -m bench``: every benchmark in one run, on one harness, so the ratios hold.

On each DynamoDB engine (``--engines``, default moto then DynamoDB Local, both in memory), one
harness: its start-up (benchmark 5); the fraud consumer with its baseline, cost, sequential round
trips and the AWS model (1); the engine's own ceiling for the consumer's request mix, bare
(``bench.ceiling``), so the consumer is reported as a share of what the engine allows; the
everyday waits (``bench.everyday``); the earthquake stream's highest sustained rate
(``bench.quake_search``, benchmark 3). On the first engine also: end-to-end latency (2), the
emitter beside a bare producer (3), handler import times (4) and a memory sampler. Then the
report (``bench.report``). Every DynamoDB request goes through the meter's proxy
(``bench/meter.py``), on every engine alike.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import (
    aws_model,
    baseline,
    ceiling,
    coldstart,
    everyday,
    fraud,
    latency,
    machine,
    quake_search,
    quakes,
    reload_save,
    report,
)
from bench.meter import DynamoMeter
from bench.procmem import PeakSampler
from bench.stats import rate
from bench.tap import LogTap
from eventflow.quakes.domain.models import MAX_RATE

ROOT = Path(__file__).resolve().parents[1]
FRAUD_TABLES = ("AccountsTable", "DeadLetterTable")


@dataclass
class Settings:
    events: int = 20_000
    accounts: int = 1_000
    baseline_seconds: float = 30.0
    latency_calls: int = 200
    latency_default_calls: int = 40
    stream_poll_interval: float = 0.02
    emitter_seconds: float = 4.0
    emitter_batches: tuple[int, ...] = (500, 2000)
    #: the sustained-rate search starts here and runs the stream this long at each rate
    stream_rate: float = 250.0
    stream_seconds: int = 10
    ceiling_seconds: float = 10.0
    warmup_seconds: float = 8.0
    idle_poll_seconds: float = 3.0
    everyday_calls: int = 30
    import_runs: int = 3
    reload_saves: int = 20
    reload_restarts: int = 3
    out_dir: Path = ROOT / "docs"
    write: bool = True
    keep_state: bool = False
    #: the fraud consumer and its baseline run on each engine; the other benchmarks on the first
    engines: tuple[str, ...] = ("moto", "local")

    @classmethod
    def quick(cls) -> Settings:
        return cls(
            events=2_000,
            accounts=200,
            baseline_seconds=5.0,
            latency_calls=20,
            latency_default_calls=5,
            emitter_seconds=1.0,
            emitter_batches=(500,),
            stream_rate=200.0,
            stream_seconds=4,
            ceiling_seconds=2.0,
            warmup_seconds=2.0,
            idle_poll_seconds=1.0,
            everyday_calls=5,
            import_runs=1,
            reload_saves=5,
            reload_restarts=1,
            write=False,
        )


def say(text: str) -> None:
    print(text, flush=True)


def run(settings: Settings) -> dict[str, Any]:
    started = time.perf_counter()
    date = datetime.now(UTC)
    results: dict[str, Any] = {"settings": {k: str(v) for k, v in asdict(settings).items()}}
    load_before = os.getloadavg()[0]
    meter = DynamoMeter()
    state = Path(tempfile.mkdtemp(prefix="eventflow-bench-"))
    tap = LogTap(state / "stack.log")
    results["engines"] = {}
    try:
        for index, engine in enumerate(settings.engines):
            first = index == 0
            say(f"5. harness start-up on {engine} (state and harness log in {state}) ...")
            t0 = time.perf_counter()
            stack = metered_stack(engine, meter, state / engine, tap)
            ready_s = time.perf_counter() - t0
            sampler = PeakSampler().start()
            try:
                figures = run_engine(stack, meter, tap, settings, ready_s, first, sampler)
                if first:
                    results["harness"] = {
                        "ready_s": ready_s,
                        "functions": len(stack.runtimes),
                        "dynamodb": engine,
                        "peak_rss_mb_run1": figures.pop("peak_rss_mb_fraud"),
                        "processes_at_peak": figures.pop("processes_at_peak"),
                    }
                    for key in ("latency", "quakes", "imports"):
                        results[key] = figures.pop(key)
                    results["fraud"] = figures
                results["engines"][engine] = figures
            finally:
                stack.stop()
                peak = sampler.stop()
                if first and "harness" in results:
                    results["harness"]["peak_rss_mb_all"] = peak
    finally:
        meter.close()
        tap.close()
    results["reload"] = reload_save.run(settings.reload_saves, settings.reload_restarts, say)
    if not settings.keep_state:  # kept when a benchmark failed: the harness's log is there
        shutil.rmtree(state, ignore_errors=True)
    results["load_average"] = [load_before, os.getloadavg()[0]]
    results["machine"] = machine.facts(ROOT)
    results["date"] = date.strftime("%Y-%m-%d %H:%M UTC")
    results["bench_seconds"] = time.perf_counter() - started
    return results


def run_engine(
    stack: Any,
    meter: DynamoMeter,
    tap: LogTap,
    settings: Settings,
    ready_s: float,
    first: bool,
    sampler: PeakSampler,
) -> dict[str, Any]:
    """Every per-engine figure; on the first engine also latency, the emitter and imports."""
    client = stack.dynamodb_client()
    # DynamoDB Local is a JVM: its first thousands of requests run before the JIT has compiled
    # them; the same warm-up on every engine so the consumer is not measured on a cold one
    ceiling.measure_apart(
        stack.dynamo.url,
        stack.region,
        events_per_batch=100,
        updates_per_batch=86,
        accounts=settings.accounts,
        min_seconds=settings.warmup_seconds,
    )
    out = run_fraud(stack, client, meter, tap, settings, say)
    if first:
        out["peak_rss_mb_fraud"] = sampler.peak_mb
        out["processes_at_peak"] = sampler.peak_processes
    say("   engine ceiling: the consumer's request mix, bare ...")
    harness = out["harness"]
    ops = out["cost"]["operations"]
    invocations = max(1, harness["invocations"])
    # the best of two replays: the engine's figure is its ceiling, and a replay can be slowed by
    # the machine or the harness's own pollers sharing the engine, as the consumer was not
    roof = max(
        (
            ceiling.measure_apart(
                stack.dynamo.url,
                stack.region,
                events_per_batch=harness["mean_batch"],
                updates_per_batch=ops.get("UpdateItem", 0) / invocations,
                reads_per_batch=ops.get("BatchGetItem", 0) / invocations,
                accounts=settings.accounts,
                min_seconds=settings.ceiling_seconds,
            )
            for _ in range(2)
        ),
        key=lambda c: c.events_per_s,
    )
    out["ceiling"] = {
        **asdict(roof),
        "events_per_s": roof.events_per_s,
        "requests_per_s": roof.requests_per_s,
        "consumer_share": harness["events_per_s"] / roof.events_per_s if roof.events_per_s else 0,
    }
    say("   everyday: API write and read, an idle stream poll ...")
    api = everyday.api_write_read(stack, settings.everyday_calls)
    with meter.window() as idle:
        time.sleep(settings.idle_poll_seconds)
    out["stream_poll_ms"] = everyday.stream_poll_ms(idle)
    out["everyday"] = everyday.figures(ready_s, api, out)
    if first:
        out["latency"] = run_latency(stack, client, tap, settings, say)
        out["quakes"] = run_emitter(stack, settings, say)
        say("4. handler import times ...")
        out["imports"] = [
            {**asdict(p), "ms": p.ms} for p in coldstart.profile_stack(stack, settings.import_runs)
        ]
    say(
        f"3. earthquake stream: highest sustained rate (lag p99 < 2 s), {settings.stream_seconds}s runs ..."
    )
    found = quake_search.search(
        lambda r: quakes.stream(stack, tap, meter, r, settings.stream_seconds),
        start=settings.stream_rate,
        ceiling=MAX_RATE,
        log=say,
    )
    out["quake_search"] = found.as_dict()
    if first:
        best = found.best_run
        out["quakes"]["stream"] = (
            {
                **asdict(best),
                "max_lag_s": best.max_lag_s,
                "backlog_at_end": best.backlog_at_end,
                "stored_once": best.stored_once,
            }
            if best is not None
            else {}
        )
    return out


def metered_stack(engine: str, meter: DynamoMeter, state: Path, tap: LogTap) -> Any:
    """This project's stack on ``engine`` (in memory), its DynamoDB requests through the meter."""
    from eventflow_local.stack import Stack

    class MeteredStack(Stack):
        def _start_dynamodb(self) -> None:
            super()._start_dynamodb()
            assert self.dynamo is not None
            self.dynamo.url = meter.proxy(self.dynamo.url)

    return MeteredStack(
        port=0,
        state_dir=state,
        log=tap,
        environ={},
        parameters={"ConsumerBatchingWindow": "0"},
        dynamodb=engine,
        dynamodb_in_memory=True,
    ).start()


def run_fraud(
    stack: Any, client: Any, meter: DynamoMeter, tap: LogTap, settings: Settings, log: Any
) -> dict[str, Any]:
    n = settings.events
    topic = stack.template.parameters.get("TransactionsTopic") or "transaction-service-topic"
    accounts_table = stack.table_name("AccountsTable")
    tables = [stack.table_name(t) for t in FRAUD_TABLES]
    mapping = fraud.find_mapping(stack, fraud.CONSUMER)
    mapping.stop()  # the records go in first; the consumer starts on a full topic

    log(f"1. fraud consumer: {settings.accounts} accounts, {n} events preloaded ...")
    account_ids = fraud.create_accounts(client, accounts_table, settings.accounts)
    messages = fraud.fraud_messages(topic, account_ids, n)
    preload_s = fraud.preload(stack.bootstrap_servers, messages)
    del messages

    log("   raw read (ceiling) ...")
    raw_count, raw_s = fraud.raw_read(stack.bootstrap_servers, topic, n)

    log("   harness: event source mapping + account_consumer ...")
    with meter.window() as window:
        harness = fraud.run_harness(mapping, tap, n)
    verification, sizes = fraud.verify(
        client,
        accounts_table,
        "",
        stack.table_name("DeadLetterTable"),
        account_ids,
        n,
    )
    lookup = fraud.size_lookup({accounts_table: sizes})
    harness_cost, _ = fraud.cost(window, tables, n, lookup)
    streams_calls = window.select(service="streams")
    other_calls = [c for c in window.select() if not (c.tables & set(tables))]

    log(f"   baseline: the seed's consumer (at most {settings.baseline_seconds:.0f}s) ...")
    baseline.create_table(client)
    baseline.load_accounts(client, account_ids)
    with meter.window() as base_window:
        base = baseline.run(
            stack.bootstrap_servers,
            topic,
            stack.dynamodb_client(),
            n,
            time_limit_s=settings.baseline_seconds,
        )
    base_verification, base_sizes = fraud.verify(
        client,
        baseline.BASELINE_TABLE,
        "",
        "",
        account_ids,
        base.processed,
        count_attribute="count",
    )
    base_cost, _ = fraud.cost(
        base_window,
        [baseline.BASELINE_TABLE],
        base.processed,
        fraud.size_lookup({baseline.BASELINE_TABLE: base_sizes}),
    )
    handler_only_s = harness.handler_seconds - harness_cost.server_seconds
    base_client_s = base.seconds - base_cost.server_seconds
    memory_mb = stack.runtimes[fraud.CONSUMER].spec.memory_size
    mean_batch = sum(harness.batches) / len(harness.batches) if harness.batches else 0
    # invocations of one partition run one after another, so the consumer's requests that do not
    # overlap in time are its sequential round trips; the baseline sends one request at a time
    ours_trips = aws_model.sequential_round_trips(window.select(tables=tables))
    base_trips = aws_model.sequential_round_trips(
        base_window.select(tables=[baseline.BASELINE_TABLE])
    )
    partition = aws_model.model(
        aws_model.PartitionModel(
            batch=mean_batch,
            round_trips_per_batch=ours_trips / max(1, harness.invocations),
            cpu_s_per_event=max(0.0, handler_only_s) / n,
        ),
        aws_model.PartitionModel(
            batch=mean_batch,
            round_trips_per_batch=base_trips / max(1, base.processed) * mean_batch,
            cpu_s_per_event=max(0.0, base_client_s) / max(1, base.processed),
        ),
    )
    return {
        "aws_model": partition,
        "stream_poll_ms_under_load": everyday.stream_poll_ms(window),
        "pricing": fraud.pricing(harness, harness_cost, base, base_cost, memory_mb),
        "events": n,
        "accounts": settings.accounts,
        "preload_s": preload_s,
        "raw_read": {"events": raw_count, "seconds": raw_s, "events_per_s": rate(raw_count, raw_s)},
        "harness": {
            **asdict(harness),
            "batches": None,
            "mean_batch": mean_batch,
            "events_per_s": harness.events_per_s,
            "handler_only_events_per_s": rate(n, handler_only_s),
            "ddb_server_s": harness_cost.server_seconds,
            "other_requests_in_window": len(other_calls),
            "stream_poller_requests_in_window": len(streams_calls),
        },
        "verification": {**asdict(verification), "exactly_once": verification.exactly_once},
        "cost": {**asdict(harness_cost), **_per_event(harness_cost)},
        "baseline": {
            **asdict(base),
            "events_per_s": base.events_per_s,
            "client_only_events_per_s": rate(base.processed, base_client_s),
            "ddb_server_s": base_cost.server_seconds,
            "verification": {
                "counted": base_verification.counted,
                "expected": base_verification.expected,
                "blocked_ok": base_verification.blocked_ok,
            },
            "cost": {**asdict(base_cost), **_per_event(base_cost)},
        },
    }


def _per_event(cost: fraud.Cost) -> dict[str, float]:
    return {
        "requests_per_1000": cost.requests_per_1000,
        "write_units_per_event": cost.write_units_per_event,
        "read_units_per_event": cost.read_units_per_event,
    }


def run_latency(
    stack: Any, client: Any, tap: LogTap, settings: Settings, log: Any
) -> dict[str, Any]:
    calls = settings.latency_calls + settings.latency_default_calls
    log(f"2. end-to-end latency: {calls} POST /transactions/{{id}}/fraud ...")
    pairs = latency.create_transactions(
        client,
        stack.table_name("AccountsTable"),
        stack.table_name("TransactionsTable"),
        accounts=50,
        per_account=max(1, -(-calls // 50)),
    )
    accounts_table = stack.table_name("AccountsTable")
    default = latency.run(
        stack.api_url,
        client,
        accounts_table,
        pairs[: settings.latency_default_calls],
        tap,
        stack.api_token,
    )
    old = latency.set_stream_poll_interval(stack, settings.stream_poll_interval)
    tuned = latency.run(
        stack.api_url,
        client,
        accounts_table,
        pairs[settings.latency_default_calls : calls],
        tap,
        stack.api_token,
    )
    return {
        "batching_window_s": 0,
        "default_poll_interval_s": old[0] if old else None,
        "tuned_poll_interval_s": settings.stream_poll_interval,
        "default": default.summary(),
        "tuned": tuned.summary(),
    }


def run_emitter(stack: Any, settings: Settings, log: Any) -> dict[str, Any]:
    """The emitter at full speed, and a bare kafka-python producer with the same messages."""
    from eventflow_local.services.broker import ensure_topics

    log("3. earthquake emitter at full speed, and a bare producer beside it ...")
    topic = "bench-emitter-probe"
    ensure_topics(stack.bootstrap_servers, {topic: stack.partitions})
    probes = []
    bare = []
    for batch in settings.emitter_batches:
        probes.append(
            quakes.emitter_rate(stack.bootstrap_servers, topic, settings.emitter_seconds, batch)
        )
        bare.append(
            quakes.emitter_rate(
                stack.bootstrap_servers, topic, settings.emitter_seconds, batch, bare=True
            )
        )
    installed = probes[0]["crc32c"]
    if installed.startswith("C"):
        probes.append(
            quakes.emitter_rate(
                stack.bootstrap_servers,
                topic,
                settings.emitter_seconds,
                settings.emitter_batches[0],
                pure_python_crc=True,
            )
        )
    best = max((p for p in probes if p["crc32c"] == installed), key=lambda p: p["events_per_s"])
    yardstick = next((b for b in bare if b["batch"] == best["batch"]), bare[0])
    return {
        "emitter": {
            "probes": probes,
            "best": best,
            "bare_producer": {"probes": bare, "same_batch": yardstick},
            "share_of_bare_producer": (
                best["events_per_s"] / yardstick["events_per_s"]
                if yardstick["events_per_s"]
                else 0.0
            ),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, a smoke test (writes nothing)"
    )
    parser.add_argument("--out", type=Path, default=None, help="where to write (default docs/)")
    parser.add_argument("--events", type=int, default=None, help="fraud events (default 20,000)")
    parser.add_argument(
        "--keep-state", action="store_true", help="keep the harness's state dir and log"
    )
    parser.add_argument(
        "--engines",
        default="moto,local",
        help="DynamoDB engines the fraud consumer and its baseline run on (default moto,local; "
        "the other benchmarks run on the first)",
    )
    args = parser.parse_args(argv)
    settings = Settings.quick() if args.quick else Settings()
    if args.events:
        settings.events = args.events
    settings.keep_state = args.keep_state
    settings.engines = tuple(e.strip() for e in args.engines.split(",") if e.strip())
    unknown = set(settings.engines) - {"moto", "local"}
    if not settings.engines or unknown:
        parser.error(f"--engines: moto and/or local, not {', '.join(sorted(unknown)) or 'nothing'}")
    if args.out is not None:
        settings.out_dir = args.out
        settings.write = True
    results = run(settings)
    summary = report.headline(results)
    print()
    print(report.table(summary, results))
    if settings.write:
        md, js = report.write(results, summary, settings.out_dir, sys.argv[1:])
        print(f"\nwrote {md} and {js}")
    return 0
