"""What both Kafka consumers share: the pipeline, dead letters, and exactly-once on at-least-once.

- ``pipeline``     parse -> dead-letter -> in-batch dedupe -> apply -> partial batch response
- ``records``      decoding a record into a pydantic model; dead letters' reasons; their log lines
- ``deadletter``   the dead-letter table (parked records, raw bytes kept for replay)
- ``redrive``      publishing a parked record again, once
- ``concurrency``  independent requests of one phase sent together (one round trip)
- ``tables``       the dead-letter table's pynamodb model

Exactly once for the price of at-least-once (the account consumer, ``eventflow.fraud.usecases.counter``)
-----------------------------------------------------------------------------------------------

Kafka and the event source mapping deliver at least once; the relay may publish an event twice.
Each account's item carries, next to its count, the state that makes counting idempotent, and
every change to the item is one conditional write of that item, so no second item (no marker,
no transaction: 1 WCU per account and batch, not 2 per event) is needed:

- ``appliedOffsets``: per ``topic-partition``, the highest offset of the account's records that
  were handled (counted, or found to be duplicates);
- ``recentEvents``: the 128-bit digests of the last ``RECENT_EVENTS`` (20) events counted;
- ``version``: grows with every write, the consumer's and the operator's (``PATCH``).

Assumptions:

A. *Per partition, in order.* The event source mapping hands a partition's records to the
   function in offset order and starts the next batch of a partition only after the previous one
   succeeded; after a failure it delivers again from an offset at or before the first unhandled
   one (at-least-once). Batches of different partitions, or different consumer groups reading the
   same records, may run at the same time. (Lambda's Kafka event source mapping: records of a
   partition are processed in order; partial batch responses resume a partition at the reported
   offset.) A given ``(partition, offset)`` always holds the same record.
B. *Bounded republish window.* An event published again under a new offset (the relay after a
   crash, a producer retry) reaches the consumer before ``RECENT_EVENTS`` later events of the same
   account were counted. The relay republishes at most one stream batch (100 records) per retry,
   and one account's share of it is a few events; the tests assert the window they use
   (``tests.integration.faults.relay_copies``).
C. A digest collision between two different event ids of one account is ignored
   (probability about 20 / 2^128 per event).

Why no event is counted twice. An event is counted only by a write that adds it to
``recentEvents`` and moves ``appliedOffsets`` past its record, and only if the version the
decision was based on is still the item's version (the condition); so every count rests on the
item's latest state. A second delivery of the same event is either
(1) the same record again (redelivery, rewind, a second consumer group, a concurrent retry): its
offset is at or below the account's offset for that partition, because the write that counted
it moved the offset past it and offsets only grow, so it is a duplicate; or (2) a new record of
the same event (republish): by B its digest is still in ``recentEvents``, so it is a duplicate.
Two invocations that read the same version race on the condition: one wins, the other gets the
item back as it is now (``ReturnValuesOnConditionCheckFailure``) and decides again on that, where
the winner's events are now visible through (1) or (2).

Why no event is lost. A record is reported as handled only when the write that covers it
succeeded or it was found to be a duplicate of a counted event; every other record is reported
for retry (the partial batch response names its partition's first unhandled offset) or, when
nothing in the batch could be done, the invocation fails and the whole batch is delivered again.
A record is found to be a duplicate by its offset only if that offset was moved past by a
successful write of the same account, which by A covered every record of that account and
partition up to it: records are never skipped, because offsets move only over records that were
in the batch being written. An operator's ``PATCH`` (status, name) bumps the version, so a
consumer write based on the older state fails its condition and is decided again on the
operator's state: neither change is lost (``blockedAt`` and the status follow
``eventflow.fraud.domain.rules.apply_fraud``).

The earthquake consumer (``eventflow.quakes.usecases.ingest``) applies the same offsets rule to
its region aggregates; there the event's own item (keyed by event id, and naming the record it
was stored from) recognises republished copies without a window.
"""
