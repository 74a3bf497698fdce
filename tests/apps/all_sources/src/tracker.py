"""Records each shipment event the bus rule delivers."""

from seen import record


def handler(event, context):
    record("events", event["detail"]["id"], event)
