"""Books one ledger entry; an entry with a negative amount is refused (a function error)."""


def handler(event, context):
    if event.get("amount", 0) < 0:
        raise ValueError(f"entry {event.get('entry')}: negative amount")
    return {"entry": event.get("entry"), "booked": event.get("amount")}
