"""The fraud domain: accounts, transactions, fraud events and the pure rules over them
(status transitions, fraud counting, exactly-once settlement). No I/O."""
