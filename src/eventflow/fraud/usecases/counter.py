"""The account consumer's use case: count each fraud event exactly once, block at the threshold.

It plugs into ``eventflow.consumer.pipeline`` (parse, dead letters, in-batch dedupe, response);
``apply`` settles a batch's events per account in at most three sequential DynamoDB round trips:

1. one strongly consistent BatchGetItem of the batch's accounts (tally, status, version, offsets,
   recent event digests); unknown accounts' events become dead letters (written in the
   background, in parallel with step 2);
2. per account with anything new, one conditional UpdateItem (on the version read), all in
   parallel: count, status, offsets and recent events in one write of one item (1 WCU while the
   item stays under 1 KB), however many of the batch's events belong to it;
3. an account whose write lost a race (a concurrent batch, an operator's PATCH) came back with
   its current state (``ReturnValuesOnConditionCheckFailure``): it is settled again on that and
   written again, in parallel. Repeated losses (many invocations on the same accounts at once)
   get more rounds, up to ``MAX_WRITE_ROUNDS``; then the account's records are reported for
   retry.

Why nothing is counted twice or lost: see ``eventflow.consumer``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from eventflow.clock import now_iso
from eventflow.consumer.deadletter import DeadLetter
from eventflow.consumer.pipeline import Applied, Delivery, Park
from eventflow.consumer.records import parse_json_record
from eventflow.fraud.domain.models import FraudEvent
from eventflow.fraud.domain.rules import RECENT_EVENTS, AccountLedger, FraudDelivery, settle
from eventflow.fraud.ports import FraudLedgerPort
from eventflow.kafka.events import KafkaRecord

#: Write rounds per batch before an account that keeps changing is left for retry. Each round
#: at least one of the writers racing on an account wins, so N concurrent invocations on the same
#: accounts all finish within N rounds; past this the records go back through the partial batch
#: response (nothing is lost, they are only delivered again).
MAX_WRITE_ROUNDS = 24


def parse_fraud_record(record: KafkaRecord) -> FraudEvent:
    """Decode and validate one record; raise ValueError with the reason."""
    return parse_json_record(record, FraudEvent)


class FraudCounter:
    def __init__(
        self,
        ledger: FraudLedgerPort,
        threshold: int = 3,
        window: int = RECENT_EVENTS,
        clock: Callable[[], str] = now_iso,
    ) -> None:
        self.ledger = ledger
        self.threshold = threshold
        self.window = window
        self.clock = clock

    def parse(self, record: KafkaRecord) -> FraudEvent:
        return parse_fraud_record(record)

    def event_id(self, event: FraudEvent) -> str:
        return event.eventId

    def apply(self, deliveries: list[Delivery[FraudEvent]], park: Park) -> Applied:
        out = Applied()
        by_account: OrderedDict[str, list[Delivery[FraudEvent]]] = OrderedDict()
        for d in deliveries:
            by_account.setdefault(d.event.accountId, []).append(d)

        ledgers = self.ledger.read(list(by_account))  # TransientError: the pipeline retries all
        unknown: list[DeadLetter] = []
        pending: dict[str, AccountLedger] = {}
        for account_id, items in by_account.items():
            if account_id in ledgers:
                pending[account_id] = ledgers[account_id]
            else:
                unknown += [_unknown(d) for d in items]
        out.dead_letters += unknown
        park(unknown)

        blocked = 0
        for _ in range(MAX_WRITE_ROUNDS):
            if not pending:
                break
            settlements = []
            for account_id, ledger in pending.items():
                items = by_account[account_id]
                s = settle(
                    ledger,
                    [
                        FraudDelivery(d.event.eventId, d.record.partition_id, d.record.offset)
                        for d in items
                    ],
                    self.threshold,
                    self.window,
                )
                if s.changes:
                    settlements.append(s)
                else:  # everything was applied before: nothing to write
                    out.duplicates += [d.record for d in items]
            by_id = {s.before.account_id: s for s in settlements}
            pending = {}
            for w in self.ledger.write(settlements, self.clock()):
                items = by_account[w.account_id]
                if w.written:
                    s = by_id[w.account_id]
                    out.applied += [items[i].record for i in s.new]
                    out.duplicates += [items[i].record for i in s.duplicates]
                    if s.blocks:
                        blocked += 1
                        out.notes.append(("account blocked", {"accountId": w.account_id}))
                elif w.stale and w.current is None:  # deleted since it was read
                    letters = [_unknown(d) for d in items]
                    out.dead_letters += letters
                    park(letters)
                elif w.stale and w.current is not None:
                    pending[w.account_id] = w.current
                else:
                    out.retry += [d.record for d in items]
                    out.reasons.append(w.failed or "write failed")
        for account_id in pending:
            out.retry += [d.record for d in by_account[account_id]]
        if pending:
            out.reasons.append(f"{len(pending)} accounts kept changing during the batch")
        out.counters["AccountsBlocked"] = blocked
        return out


def _unknown(d: Delivery[FraudEvent]) -> DeadLetter:
    return DeadLetter(d.record, "UNKNOWN_ACCOUNT", f"account {d.event.accountId} does not exist")
