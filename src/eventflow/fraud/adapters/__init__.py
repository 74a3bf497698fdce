"""The fraud adapters: one module per table (DynamoDB) and what the outbox's stream becomes
(Kafka messages). The API's paths go through the pynamodb models; the consumer's and the relay's
hot paths send low-level requests built from the same models (``eventflow.tables``)."""
