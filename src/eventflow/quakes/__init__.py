"""Earthquake stream: a synthetic generator, the stream's state and lease, the consumer's ledger
(events stored once, per-region aggregates, alerts) and the queries behind the API.

- ``settings``   environment of the quake functions, validated once
- ``regions``    seismic regions (plate boundaries) with stable keys
- ``generator``  synthetic events: Gutenberg-Richter or uniform magnitudes, plausible places
- ``models``     the event on the wire, request bodies, views
- ``rules``      pure rules: stream state, pacing, alerts, aggregates, query parameters
- ``stream``     DynamoDB adapter of the stream state and the emitter lease
- ``control``    start / stop / status use cases
- ``emitter``    the emission run of a scheduled (or self-invoked) emitter invocation
- ``kick``       starting an emission run at once (asynchronous self-invocation)
- ``store``      DynamoDB adapters of events, region aggregates and alerts
- ``ingest``     the consumer's use case: store once, aggregate, alert
- ``queries``    the read side of the API
"""
