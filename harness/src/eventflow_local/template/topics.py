"""The Kafka topics a template names, which the harness creates on its broker."""

from __future__ import annotations

from eventflow_local.aws import KAFKA_EVENT_TYPES
from eventflow_local.template.sam import SamTemplate


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
