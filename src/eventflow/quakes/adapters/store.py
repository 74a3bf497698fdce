"""DynamoDB adapters of the earthquake catalogue. The only quake code that touches those tables.

Tables (declared in template.yaml):

- Quakes        pk ``id``; GSIs ``byTime`` (``listKey``="QUAKE", ``sortKey``) and
                ``byRegion`` (``region``, ``sortKey``); ``sortKey`` = 13-digit epoch ms + "#" + id;
                TTL ``expiresAt``
- QuakeRegions  pk ``region``: the aggregates (count, strongest, latest, alerts), with the
                offsets already folded in and a version
- QuakeAlerts   pk ``id`` (the event's id: one alert per event); GSI ``byTime``
                (``listKey``="ALERT", ``sortKey``); TTL ``expiresAt``

The consumer writes through :class:`QuakeLedger`, in three steps per batch:

1. ``lookup``: one BatchGetItem reads which events are stored already (and from which record)
   and the aggregates of the regions involved.
2. ``store``: BatchWriteItem of the new events and their alerts (25 a request). Writing an
   event again is harmless: same id, same content.
3. ``commit``: one TransactWriteItems on the regions table puts every region's new aggregate,
   each conditional on the version read in step 1. A region changed meanwhile cancels it; the
   reasons say which regions to read again. One request for every region of the batch: a
   transaction costs 2 WCU per region instead of 1, but parallel conditional puts, one request
   per region, made the stream's consumer lag behind a 1,000 events/s stream on the emulator,
   which serves one request at a time (22 s behind against under 1 s, ``make bench``).

An event is counted when its aggregate commits, so a crash between 2 and 3 leaves events stored
but not counted; the redelivered records are then counted (the aggregate's offsets say they were
not). Events are never inside a transaction, so a transaction stays small however large the
catalogue grows.

The API reads the same tables through ``eventflow.quakes.adapters.catalog``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from eventflow import ddb, tables
from eventflow.aws import dynamodb_client, error_code, is_transient, transient_errors
from eventflow.consumer.concurrency import parallel
from eventflow.errors import TransientError
from eventflow.quakes.adapters.items import region_aggregate_of, region_item_values
from eventflow.quakes.adapters.tables import (
    QuakeAlerts,
    QuakeRegions,
    Quakes,
)
from eventflow.quakes.domain.rules import RegionAggregate, sort_key

# ---------------------------------------------------------------------------------- writes


#: what ``QuakeLedger.commit`` puts for a region: the version it read, the new aggregate, the
#: region's display name and when it was written
RegionCommit = tuple[int, RegionAggregate, str | None, str]


@dataclass
class CommitOutcome:
    committed: list[str] = field(default_factory=list)  # regions
    stale: set[str] = field(default_factory=set)
    transient: list[str] = field(default_factory=list)


#: DynamoDB numbers: magnitude from 1E-130 to 9.9999999999999999999999999999999999999E+125
SMALLEST_DYNAMODB_NUMBER = 1e-130


class QuakeLedger:
    MAX_KEYS = 100  # BatchGetItem
    MAX_WRITES = 25  # BatchWriteItem
    MAX_ITEMS = 100  # TransactWriteItems
    ATTEMPTS = 10

    def __init__(
        self, quakes_table: str, regions_table: str, alerts_table: str, client: Any = None
    ) -> None:
        self.quakes_table = quakes_table
        self.regions_table = regions_table
        self.alerts_table = alerts_table
        self.client = client or dynamodb_client()
        self.requests = 0
        self.round_trips = 0

    def _sent(self) -> None:
        self.requests += 1

    def lookup(
        self, event_ids: Sequence[str], regions: Sequence[str]
    ) -> tuple[dict[str, str], dict[str, RegionAggregate]]:
        """For the stored ones of ``event_ids``, the record each came from (``source``); and the
        current aggregates of ``regions``. Both tables are read in the same BatchGetItem requests."""
        event_key, region_key = tables.name(Quakes.id), tables.name(QuakeRegions.region)
        source_key = tables.name(Quakes.source)
        wanted = [(self.quakes_table, event_key, i) for i in dict.fromkeys(event_ids)]
        wanted += [(self.regions_table, region_key, r) for r in dict.fromkeys(regions)]
        sources: dict[str, str] = {}
        aggregates: dict[str, RegionAggregate] = {}
        self.round_trips += 1

        def read(chunk: list[tuple[str, str, str]]) -> list[tuple[str, dict[str, Any]]]:
            request: dict[str, Any] = {}
            for table, key, value in chunk:
                entry = request.setdefault(table, {"Keys": [], "ConsistentRead": True})
                entry["Keys"].append({key: {"S": value}})
                if table == self.quakes_table:
                    entry["ProjectionExpression"] = "#id, #src"
                    entry["ExpressionAttributeNames"] = {
                        "#id": tables.name(Quakes.id),
                        "#src": tables.name(Quakes.source),
                    }
            with transient_errors():
                return ddb.batch_get(
                    self.client,
                    request,
                    attempts=self.ATTEMPTS,
                    what="catalogue reads",
                    sent=self._sent,
                )

        chunks = [wanted[i : i + self.MAX_KEYS] for i in range(0, len(wanted), self.MAX_KEYS)]
        for result in parallel(read, chunks):  # 100 keys a request, all at once
            if isinstance(result, BaseException):
                raise result
            for table, item in result:
                if table == self.quakes_table:
                    sources[item[event_key]["S"]] = item.get(source_key, {}).get("S", "")
                else:
                    agg = region_aggregate_of(ddb.from_item(item))
                    aggregates[agg.region] = agg
        return sources, aggregates

    def store(
        self,
        events: Sequence[dict[str, Any]],
        alerts: Sequence[dict[str, Any]],
        expires_at: int,
    ) -> None:
        """Write events and alerts (idempotent puts), with their time index keys and expiry;
        raise TransientError if any stays unwritten."""

        def indexed(item: dict[str, Any]) -> dict[str, Any]:
            return {
                **item,
                tables.name(Quakes.sort_key): sort_key(int(item["timestamp"]), str(item["id"])),
                tables.name(Quakes.expires_at): expires_at,
            }

        requests = [(self.quakes_table, indexed(e)) for e in events] + [
            (self.alerts_table, indexed(a)) for a in alerts
        ]
        self.round_trips += 1

        def write(chunk: list[tuple[str, dict[str, Any]]]) -> None:
            pending: dict[str, list[dict[str, Any]]] = {}
            for table, item in chunk:
                model = Quakes if table == self.quakes_table else QuakeAlerts
                pending.setdefault(table, []).append(
                    {"PutRequest": {"Item": tables.item(model, item)}}
                )
            with transient_errors():
                for _ in range(self.ATTEMPTS):
                    self.requests += 1
                    resp = self.client.batch_write_item(RequestItems=pending)
                    pending = resp.get("UnprocessedItems") or {}
                    if not pending:
                        return
            raise TransientError("catalogue writes stayed unprocessed after 10 attempts")

        chunks = [
            requests[i : i + self.MAX_WRITES] for i in range(0, len(requests), self.MAX_WRITES)
        ]
        for result in parallel(write, chunks):  # 25 items a request, all at once
            if isinstance(result, BaseException):
                raise result

    def commit(self, aggregates: Sequence[RegionCommit]) -> CommitOutcome:
        """Put each ``(expected version, aggregate, region name, updated at)``, up to 100
        regions per transaction."""
        outcome = CommitOutcome()
        self.round_trips += 1
        for start in range(0, len(aggregates), self.MAX_ITEMS):
            group = aggregates[start : start + self.MAX_ITEMS]
            items = []
            for expected, aggregate, name, updated_at in group:
                put: dict[str, Any] = {
                    "TableName": self.regions_table,
                    "Item": tables.item(
                        QuakeRegions, region_item_values(aggregate, name, updated_at)
                    ),
                }
                if expected:
                    put["ConditionExpression"] = "#v = :v"
                    put["ExpressionAttributeNames"] = {"#v": tables.name(QuakeRegions.version)}
                    put["ExpressionAttributeValues"] = {":v": {"N": str(expected)}}
                else:
                    put["ConditionExpression"] = "attribute_not_exists(#r)"
                    put["ExpressionAttributeNames"] = {"#r": tables.name(QuakeRegions.region)}
                items.append({"Put": put})
            regions = [aggregate.region for _, aggregate, _, _ in group]
            try:
                self.requests += 1
                self.client.transact_write_items(TransactItems=items)
            except ClientError as exc:
                code = error_code(exc)
                if code == "TransactionCanceledException":
                    reasons = exc.response.get("CancellationReasons") or []
                    for region, reason in zip(regions, reasons, strict=False):
                        if reason.get("Code") == "ConditionalCheckFailed":
                            outcome.stale.add(region)
                        elif reason.get("Code") not in (None, "None"):
                            outcome.transient.append(
                                f"{reason.get('Code')}: {reason.get('Message', '')}"
                            )
                    if not outcome.stale and not outcome.transient:
                        outcome.transient.append(f"transaction cancelled without reasons: {exc}")
                    continue
                if is_transient(exc):
                    outcome.transient.append(f"{code}: {exc}")
                    continue
                raise
            except Exception as exc:
                if is_transient(exc):
                    outcome.transient.append(repr(exc))
                    continue
                raise
            outcome.committed.extend(regions)
        return outcome
