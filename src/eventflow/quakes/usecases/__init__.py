"""The earthquake use cases: stream control, the emission run, the consumer's ingest and the
API's queries. They talk to the outside world only through ``eventflow.quakes.ports``."""
