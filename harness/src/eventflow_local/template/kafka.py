"""What a template says of Kafka: the topics it names (created on the broker), and the values
of the parameters by which a template is pointed at a broker, filled in for the local one."""

from __future__ import annotations

from pathlib import Path

from eventflow_local.aws import KAFKA_EVENT_TYPES, local_msk_arn
from eventflow_local.template.sam import SamTemplate, load_document


def template_topics(template: SamTemplate) -> list[str]:
    """Topics the template names: ``*Topic`` parameters and the Topics of every Kafka event."""
    topics: list[str] = []
    for name, value in template.parameters.items():
        if name.endswith("Topic") and isinstance(value, str) and value:
            topics.append(value)
    for fn in template.functions().values():
        for event in fn.events_of(*KAFKA_EVENT_TYPES):
            topics.extend(str(t) for t in event.properties.get("Topics", []))
    return list(dict.fromkeys(topics))


def local_kafka_parameters(
    template_path: Path, bootstrap_servers: str, region: str
) -> dict[str, str]:
    """``KafkaBootstrapServers``, ``KafkaAuth`` and ``MskClusterArn`` for the local broker,
    those of them the template declares (a user's ``--parameter-overrides`` win over them)."""
    declared = set(load_document(template_path).get("Parameters") or {})
    local = {
        "KafkaBootstrapServers": bootstrap_servers,
        "KafkaAuth": "NONE",
        "MskClusterArn": local_msk_arn(region),
    }
    return {k: v for k, v in local.items() if k in declared}
