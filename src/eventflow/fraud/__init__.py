"""Fraud detection: accounts, transactions, fraud marking through an outbox, fraud counting.

- ``settings``                environment of the fraud functions, validated once
- ``ports``                   the interfaces the use cases depend on (repositories, the ledger)
- ``wiring``                  the account consumer's object graph (its use case on its adapters)
- ``domain.models``           accounts, transactions, the fraud event, request bodies
- ``domain.rules``            pure rules: status transitions, fraud counting, exactly-once settlement
- ``usecases.accounts``       create, read, list, update and delete accounts
- ``usecases.transactions``   create, read and list transactions; mark one as fraud
- ``usecases.counter``        the account consumer's use case: count each fraud event once
- ``adapters.tables``         the tables' pynamodb models (accounts, transactions, outbox)
- ``adapters.accounts``       the API's accounts table adapter
- ``adapters.transactions``   the API's transactions table adapter (the fraud commit and its outbox item)
- ``adapters.outbox``         the outbox's stream records as Kafka messages (the relay)
- ``adapters.ledger``         the consumer's accounts table adapter (the hot path)
"""
