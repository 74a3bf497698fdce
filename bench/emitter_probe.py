"""The earthquake emitter's generation + publish path at full speed, in a fresh process.

    python -m bench.emitter_probe BOOTSTRAP TOPIC [--seconds S] [--batch N] [--pure-python-crc]
                                  [--bare]

Does what an emission run does per tick, with no rate limit: ``QuakeGenerator.batch``, one
``quake_message`` per event, ``KafkaPublisher.publish`` (acks=all, idempotent, flushed, every
acknowledgement checked), for ``--seconds``. Prints one JSON object: events acknowledged, seconds,
and the time spent generating vs publishing, and the process's CPU time. ``--pure-python-crc`` hides the ``crc32c`` module so
kafka-python falls back to its pure-Python CRC32C (what it uses when ``crc32c`` is not installed).

``--bare`` is the yardstick: a plain kafka-python ``KafkaProducer`` with the publisher's delivery
settings (acks=all, idempotent, the same linger and batch size) sending, ``--batch`` at a time with
a flush and every acknowledgement checked, messages already encoded: one batch of real quake
messages (same keys, values and headers, so the same sizes) built once and sent again and again.
The emitter's rate as a share of it is what generating, encoding and the publisher cost.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.emitter_probe")
    parser.add_argument("bootstrap")
    parser.add_argument("topic")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--pure-python-crc", action="store_true")
    parser.add_argument("--bare", action="store_true")
    args = parser.parse_args(argv)
    if args.pure_python_crc:
        sys.modules["crc32c"] = None  # type: ignore[assignment]

    from kafka.record import util

    from eventflow.config import KafkaSettings
    from eventflow.kafka.producer import KafkaPublisher
    from eventflow.quakes.domain.generator import QuakeGenerator
    from eventflow.quakes.usecases.emitter import quake_message

    settings = KafkaSettings.from_env(
        {"KAFKA_BOOTSTRAP_SERVERS": args.bootstrap, "KAFKA_AUTH": "NONE"}
    )
    generator = QuakeGenerator()
    if args.bare:
        return bare(args, [quake_message(args.topic, q) for q in generator.batch(args.batch)])
    publisher = KafkaPublisher(settings)
    publisher.publish([quake_message(args.topic, q) for q in generator.batch(10)])  # connect
    events = batches = 0
    generate_s = publish_s = 0.0
    started = time.perf_counter()
    cpu_started = time.process_time()
    while time.perf_counter() - started < args.seconds:
        t0 = time.perf_counter()
        messages = [quake_message(args.topic, q) for q in generator.batch(args.batch)]
        t1 = time.perf_counter()
        events += publisher.publish(messages)
        t2 = time.perf_counter()
        generate_s += t1 - t0
        publish_s += t2 - t1
        batches += 1
    elapsed = time.perf_counter() - started
    cpu_s = time.process_time() - cpu_started
    publisher.reset()
    crc = getattr(util, "crc32c_c", None)
    print(
        json.dumps(
            {
                "events": events,
                "seconds": elapsed,
                "batches": batches,
                "batch": args.batch,
                "generate_s": generate_s,
                "publish_s": publish_s,
                "cpu_s": cpu_s,
                "crc32c": "C (crc32c)" if crc is not None else "pure Python",
            }
        )
    )
    return 0


def bare(args: argparse.Namespace, messages: list[Any]) -> int:
    from kafka import KafkaProducer
    from kafka.record import util

    producer = KafkaProducer(
        bootstrap_servers=args.bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        batch_size=256 * 1024,
        max_request_size=4 * 1024 * 1024,
    )
    encoded = [(m.key, m.value, list(m.headers)) for m in messages]
    for future in [producer.send(args.topic, key=k, value=v, headers=h) for k, v, h in encoded]:
        future.get(timeout=20)  # connected, topic known
    events = batches = 0
    started = time.perf_counter()
    cpu_started = time.process_time()
    while time.perf_counter() - started < args.seconds:
        futures = [producer.send(args.topic, key=k, value=v, headers=h) for k, v, h in encoded]
        producer.flush(timeout=20)
        for future in futures:
            future.get(timeout=20)
        events += len(futures)
        batches += 1
    elapsed = time.perf_counter() - started
    cpu_s = time.process_time() - cpu_started
    producer.close(timeout=5)
    crc = getattr(util, "crc32c_c", None)
    value_bytes = sum(len(v or b"") for _, v, _ in encoded) / max(1, len(encoded))
    print(
        json.dumps(
            {
                "events": events,
                "seconds": elapsed,
                "batches": batches,
                "batch": args.batch,
                "cpu_s": cpu_s,
                "mean_value_bytes": value_bytes,
                "crc32c": "C (crc32c)" if crc is not None else "pure Python",
                "bare": True,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
