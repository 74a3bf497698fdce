"""``python -m bench`` (``make bench``): the project's benchmarks, in one run.

Fraud consumer throughput against the seed's one-at-a-time consumer and the raw broker read rate,
its DynamoDB cost, end-to-end latency of ``POST /transactions/{id}/fraud``, the earthquake
emitter's rate and the consumer's lag, handler import times, and the harness's start-up time and
memory. Writes ``docs/BENCHMARKS.md`` and ``docs/benchmarks.json``.
"""
