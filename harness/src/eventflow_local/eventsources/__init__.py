"""Lambda event source mappings for streams, emulated locally: one core, thin sources.

* ``config`` — properties parsed and validated once, as AWS does at deploy;
* ``filters`` — Lambda's filter grammar, for every source;
* ``engine`` — batching, retries, bisect, max record age, partial batch responses;
* ``failures`` — the OnFailure destination records of each source;
* ``kafka`` (+ ``kafka_records``, ``kafka_offsets``) — MSK and self-managed Apache Kafka;
* ``dynamodb`` — DynamoDB streams.
"""

from eventflow_local.eventsources.config import EsmConfigError, SourceConfig, parse_config
from eventflow_local.eventsources.filters import FilterError, compile_filters, passes

__all__ = [
    "EsmConfigError",
    "FilterError",
    "SourceConfig",
    "compile_filters",
    "parse_config",
    "passes",
]
