"""Handles one order; an order marked ``fail`` is refused (a function error)."""


def handler(event, context):
    if event.get("fail"):
        raise ValueError(f"order {event.get('id')} refused")
    return {"id": event.get("id"), "status": "handled"}
