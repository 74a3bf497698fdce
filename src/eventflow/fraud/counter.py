"""The account consumer's use case: count each fraud event exactly once, block at the threshold.

Input: a batch of Kafka records. Output: which records were counted, which were duplicates,
which are permanent failures (parked as dead letters), which must be retried (transient).

Per batch it reads every account once (BatchGetItem) and writes each account's new tally with
the dedupe markers of its events in ``TransactWriteItems`` that hold several accounts each. An
account's count only moves through a conditional write on the count it read, so concurrent
batches for the same account never lose or double an increment, and the status changes to
``blocked`` exactly once, in the same write that takes the count across the threshold.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from eventflow.clock import epoch_s, now_iso
from eventflow.errors import TransientError
from eventflow.fraud.models import AccountStatus, FraudEvent
from eventflow.fraud.rules import FraudTally, apply_fraud
from eventflow.fraud.store import MARKER_RETENTION_S, FraudLedger, LedgerWrite
from eventflow.kafka.deadletter import DeadLetter
from eventflow.kafka.events import KafkaRecord
from eventflow.kafka.records import dead_letter, parse_json_record

MAX_ROUNDS = 12


@dataclass
class CountResult:
    counted: list[KafkaRecord] = field(default_factory=list)
    duplicates: list[KafkaRecord] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    retry: list[KafkaRecord] = field(default_factory=list)
    blocked_accounts: list[str] = field(default_factory=list)
    transient_reasons: list[str] = field(default_factory=list)


def parse_fraud_record(record: KafkaRecord) -> FraudEvent:
    """Decode and validate one record; raise ValueError with the reason."""
    return parse_json_record(record, FraudEvent)


class FraudCounter:
    def __init__(self, ledger: FraudLedger, threshold: int = 3) -> None:
        self.ledger = ledger
        self.threshold = threshold

    def process(self, records: list[KafkaRecord]) -> CountResult:
        result = CountResult()
        # 1. parse; permanent failures go to dead letters straight away
        pending: OrderedDict[str, list[tuple[FraudEvent, KafkaRecord]]] = OrderedDict()
        seen: set[str] = set()
        for rec in records:
            try:
                event = parse_fraud_record(rec)
            except ValueError as exc:
                result.dead_letters.append(dead_letter(rec, exc))
                continue
            if event.eventId in seen:  # the same event twice in one batch
                result.duplicates.append(rec)
                continue
            seen.add(event.eventId)
            pending.setdefault(event.accountId, []).append((event, rec))

        # 2. rounds of read-tallies / conditional write until everything is settled
        for _ in range(MAX_ROUNDS + len(records)):
            if not pending:
                break
            tallies = self.ledger.tallies(list(pending))
            writes: list[LedgerWrite] = []
            now, expires = now_iso(), epoch_s() + MARKER_RETENTION_S
            for account_id in list(pending):
                tally = tallies.get(account_id)
                if tally is None:
                    for event, rec in pending.pop(account_id):
                        result.dead_letters.append(
                            DeadLetter(
                                rec, "UNKNOWN_ACCOUNT", f"account {event.accountId} does not exist"
                            )
                        )
                    continue
                events = pending[account_id][:99]
                status = AccountStatus(tally.status)
                new, blocks = apply_fraud(
                    FraudTally(tally.count, status), len(events), self.threshold
                )
                writes.append(
                    LedgerWrite(
                        account_id=account_id,
                        expected_count=tally.count,
                        new_count=new.count,
                        block=blocks,
                        event_ids=tuple(e.eventId for e, _ in events),
                        now=now,
                        expires_at=expires,
                    )
                )
            if not writes:
                break
            outcome = self.ledger.commit(writes)
            for w in outcome.committed:
                done = pending[w.account_id][: len(w.event_ids)]
                pending[w.account_id] = pending[w.account_id][len(w.event_ids) :]
                result.counted.extend(rec for _, rec in done)
                if w.block:
                    result.blocked_accounts.append(w.account_id)
                if not pending[w.account_id]:
                    del pending[w.account_id]
            if outcome.duplicate_event_ids:
                for account_id in list(pending):
                    keep = []
                    for event, rec in pending[account_id]:
                        if event.eventId in outcome.duplicate_event_ids:
                            result.duplicates.append(rec)
                        else:
                            keep.append((event, rec))
                    if keep:
                        pending[account_id] = keep
                    else:
                        del pending[account_id]
            if outcome.transient:
                result.transient_reasons.extend(outcome.transient)
                break
        for events in pending.values():
            result.retry.extend(rec for _, rec in events)
        if result.retry and not result.transient_reasons:
            result.transient_reasons.append("accounts kept changing during the batch")
        return result


def require_progress(result: CountResult) -> None:
    """Raise when nothing could be done at all, so the whole batch is retried."""
    if result.retry and not (result.counted or result.duplicates or result.dead_letters):
        raise TransientError("; ".join(result.transient_reasons) or "no progress")
