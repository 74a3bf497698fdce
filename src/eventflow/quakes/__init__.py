"""Earthquake stream: a synthetic generator, the stream's state and lease, the consumer's ledger
(events stored once, per-region aggregates, alerts) and the queries behind the API.

- ``settings``            environment of the quake functions, validated once
- ``ports``               the interfaces the use cases depend on (publisher, kicker)
- ``domain.regions``      seismic regions (plate boundaries) with stable keys
- ``domain.generator``    synthetic events: Gutenberg-Richter or uniform magnitudes
- ``domain.models``       the event on the wire, request bodies, views
- ``domain.rules``        pure rules: stream state, pacing, alerts, aggregates, query parameters
- ``usecases.control``    start / stop / status
- ``usecases.emitter``    the emission run of a scheduled (or self-invoked) emitter invocation
- ``usecases.ingest``     the consumer's use case: store once, aggregate, alert
- ``usecases.queries``    the read side of the API
- ``adapters.store``      the consumer's DynamoDB adapter of events, region aggregates and alerts
- ``adapters.catalog``    the API's reads of the same tables, through their pynamodb models
- ``adapters.stream``     DynamoDB adapter of the stream state and the emitter lease
- ``adapters.kick``       starting an emission run at once (asynchronous self-invocation)
"""
