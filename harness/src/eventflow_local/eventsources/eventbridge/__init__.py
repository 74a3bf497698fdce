"""EventBridge: the template's event-pattern rules (``rules.py``) and the delivery of the events
put on their buses to their targets (``delivery.py``)."""
