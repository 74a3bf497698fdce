"""Shared domain code and adapters for the eventflow Lambda functions.

Layout:
- ``config``        settings read once from the environment, failing fast on a bad variable
- ``observability`` the one Logger / Metrics pair every handler uses
- ``api``           Powertools REST resolver factory, error -> HTTP status mapping, pagination
- ``errors``        domain errors (each maps to one HTTP status or one consumer outcome)
- ``kafka``         MSK/self-managed Kafka event parsing, batch outcomes, producer adapter
- ``fraud``         accounts, transactions, fraud counting: models, rules, DynamoDB stores
- ``quakes``        earthquake stream: generator, state, stores
"""

__version__ = "0.1.0"
