"""S3 event notifications of the template's buckets (``plan.py``: what the template configures;
``delivery.py``: how object events reach functions, queues and topics)."""
