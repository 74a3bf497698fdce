"""Kafka at the edges: the Lambda Kafka event, batch outcomes, dead letters and the producer."""
