"""Profiles of the hot paths with py-spy (a sampling profiler; ``pip install py-spy``).

    python -m bench.profile emitter  [--seconds 6]        # the emitter's generate + publish path
    python -m bench.profile consumer [--events 8000]      # account_consumer's worker process and
                                                          # the harness process (moto, mapping)

Each prints the frames where the samples fall, inclusive (the frame or anything it called) and
self (the frame itself), as shares of all samples. py-spy samples every thread, including
threads waiting in a system call (a socket read, ``select``): those are time spent waiting, not
computing. Profiling slows the profiled process down; use the figures of ``make bench`` for
rates, these for where the time goes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def frame_name(frame: str) -> str:
    """``func (path/file.py:12)`` -> ``func (path/file.py)``."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.split(':')[0].rstrip(')')})" if where else name


def aggregate(lines: Iterable[str]) -> tuple[int, Counter[str], Counter[str]]:
    """Collapsed stacks (``a;b;c 12``) -> (samples, inclusive counts, self counts)."""
    total = 0
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [
            frame_name(f) for f in stack.split(";") if not f.startswith(("thread (", "process "))
        ]
        if not frames:
            continue
        for name in set(frames):
            inclusive[name] += n
        own[frames[-1]] += n
    return total, inclusive, own


def render(title: str, path: Path, top: int = 30) -> str:
    total, inclusive, own = aggregate(path.read_text().splitlines())
    out = [f"== {title}: {total} samples"]
    if not total:
        return "\n".join(out)
    out.append("-- inclusive")
    out += [f"{100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    out.append("-- self")
    out += [f"{100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top // 2)]
    return "\n".join(out)


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise SystemExit("py-spy is not installed: pip install py-spy")
    return found


def record(target: list[str] | int, out: Path, rate: int = 100) -> subprocess.Popen[bytes]:
    command = [py_spy(), "record", "-o", str(out), "-f", "raw", "-r", str(rate), "--threads"]
    if isinstance(target, int):
        command += ["--pid", str(target)]
    else:
        command += ["--", *target]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def profile_emitter(seconds: float, out_dir: Path) -> None:
    from eventflow_local.services.broker import EmbeddedBroker, ensure_topics

    broker = EmbeddedBroker().start()
    try:
        ensure_topics(broker.bootstrap_servers, {"bench-profile": 3})
        out = out_dir / "emitter.txt"
        probe = [sys.executable, "-m", "bench.emitter_probe", broker.bootstrap_servers]
        spy = record([*probe, "bench-profile", "--seconds", str(seconds)], out, rate=200)
        spy.wait(seconds + 120)
        print(render("emitter path (bench.emitter_probe)", out))
    finally:
        broker.stop()


def profile_consumer(events: int, out_dir: Path) -> None:
    from bench import fraud
    from bench.tap import LogTap
    from eventflow_local.stack import Stack

    state = Path(tempfile.mkdtemp(prefix="eventflow-profile-"))
    stack = Stack(port=0, state_dir=state, log=LogTap(state / "stack.log"), environ={}).start()
    try:
        client = stack.dynamodb_client()
        mapping = fraud.find_mapping(stack, fraud.CONSUMER)
        mapping.stop()
        accounts = fraud.create_accounts(client, stack.table_name("AccountsTable"), 1000)
        topic = "transaction-service-topic"
        fraud.preload(stack.bootstrap_servers, fraud.fraud_messages(topic, accounts, events))
        worker = stack.runtimes[fraud.CONSUMER]._workers.copy().pop().proc.pid
        spies = {
            "account_consumer worker": (record(worker, out_dir / "consumer.txt"), "consumer.txt"),
            "harness process": (record(os.getpid(), out_dir / "harness.txt"), "harness.txt"),
        }
        time.sleep(1.0)
        run = fraud.run_harness(mapping, LogTap(), events)
        for spy, _ in spies.values():
            spy.send_signal(2)  # py-spy writes its output on SIGINT
        for spy, _ in spies.values():
            spy.wait(30)
        print(f"{events} events in {run.seconds:.1f}s while profiled")
        for title, (_, name) in spies.items():
            print(render(title, out_dir / name))
    finally:
        stack.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("target", choices=("emitter", "consumer"))
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--events", type=int, default=8000)
    parser.add_argument("--out", type=Path, default=None, help="keep the raw profiles here")
    args = parser.parse_args(argv)
    out_dir = args.out or Path(tempfile.mkdtemp(prefix="eventflow-profile-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.target == "emitter":
        profile_emitter(args.seconds, out_dir)
    else:
        profile_consumer(args.events, out_dir)
    print(f"raw profiles (collapsed stacks) in {out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
