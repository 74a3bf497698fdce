"""Returns what the schedule delivered, so the test can compare it with what AWS sends."""


def handler(event, context):
    return {"received": event}
