"""SNS subscriptions delivered by the harness: filter policies (policy.py), the template's subscriptions (subscriptions.py) and their deliveries to functions and queues (delivery.py)."""
