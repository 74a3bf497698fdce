"""The earthquake domain: the event on the wire, regions, the synthetic generator and the pure
rules (stream state, pacing, alerts, aggregates). No I/O."""
