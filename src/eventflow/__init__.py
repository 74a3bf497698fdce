"""Shared domain code and adapters for the eventflow Lambda functions.

Layout:
- ``config``        settings read once from the environment, failing fast on a bad variable
- ``observability`` the one Logger / Metrics pair every handler uses
- ``api``           Powertools REST resolver factory, error -> HTTP status mapping, pagination
- ``errors``        domain errors (each maps to one HTTP status or one consumer outcome)
- ``tables``        how the tables' pynamodb models find their tables; items built through them
- ``kafka``         Kafka only: Lambda Kafka event parsing, partial batch responses, producer
- ``consumer``      the one consumer pipeline, dead letters and redrive, exactly-once argument
- ``fraud``         accounts, transactions, fraud counting: models, rules, ports, use cases,
                    DynamoDB adapters and tables, the outbox
- ``quakes``        earthquake stream: ``domain`` rules, ``usecases``, ``adapters``
"""

__version__ = "0.1.0"
