"""The fraud use cases: the API's (accounts, transactions, marking fraud) and the account
consumer's (counting fraud events). They talk to the tables only through ``eventflow.fraud.ports``."""
