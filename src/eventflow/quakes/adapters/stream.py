"""DynamoDB adapter of the stream's state and the emitter lease: one item, conditional writes.

The item (pk ``id`` = ``earthquakes``)::

    running, rate, magnitudes, runId, startedAtMs, stopAtMs?, emitted, updatedAtMs,
    stoppedAtMs?, stopReason?                       <- written by start / stop
    leaseOwner?, leaseExpiresAtMs?, lastEmitAtMs?   <- written by the emitter holding the lease

Every write is conditional, so concurrent requests and emitters never corrupt it:

- start opens a new run only if no run is active; otherwise it changes the active run's settings
  (a second stream can never exist).
- stop succeeds only if a run is active, so it can say honestly whether one was.
- an emitter emits only while it holds the lease: ``leaseOwner`` = its id with an expiry in the
  future. Taking the lease requires that nobody else holds an unexpired one; renewing and
  releasing require still being the owner. Two emitters never hold it at once.
"""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import ClientError

from eventflow import ddb, tables
from eventflow.aws import dynamodb_client, error_code, transient_errors
from eventflow.quakes.adapters.items import stream_state_of
from eventflow.quakes.adapters.tables import QuakeStream
from eventflow.quakes.domain.rules import StreamState

STREAM_ID = "earthquakes"

_S = QuakeStream
_NAMES = {
    f"#{short}": tables.name(attribute)
    for short, attribute in (
        ("id", _S.id),
        ("running", _S.running),
        ("rate", _S.rate),
        ("law", _S.magnitudes),
        ("run", _S.run_id),
        ("started", _S.started_at_ms),
        ("stop", _S.stop_at_ms),
        ("emitted", _S.emitted),
        ("updated", _S.updated_at_ms),
        ("stopped", _S.stopped_at_ms),
        ("reason", _S.stop_reason),
        ("owner", _S.lease_owner),
        ("lease", _S.lease_expires_at_ms),
        ("last", _S.last_emit_at_ms),
    )
}
_ACTIVE = "#running = :t AND (attribute_not_exists(#stop) OR #stop > :now)"


class StreamStore:
    def __init__(self, table: str, client: Any = None, stream_id: str = STREAM_ID) -> None:
        self.table = table
        self.client = client or dynamodb_client()
        self.key = {tables.name(_S.id): {"S": stream_id}}

    # ------------------------------------------------------------------ primitives
    def _update(
        self, update: str, condition: str, values: dict[str, Any]
    ) -> tuple[bool, StreamState]:
        """One conditional UpdateItem. Returns (applied, the item after it or as it stood)."""
        tokens = set(re.findall(r"#\w+", f"{update} {condition}"))
        used = {k: v for k, v in _NAMES.items() if k in tokens}
        try:
            with transient_errors():
                resp = self.client.update_item(
                    TableName=self.table,
                    Key=self.key,
                    UpdateExpression=update,
                    ConditionExpression=condition,
                    ExpressionAttributeNames=used,
                    ExpressionAttributeValues={k: ddb.value(v) for k, v in values.items()},
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            old = exc.response.get("Item")
            return False, stream_state_of(ddb.from_item(old) if old else None)
        return True, stream_state_of(ddb.from_item(resp["Attributes"]))

    def get(self) -> StreamState:
        with transient_errors():
            resp = self.client.get_item(TableName=self.table, Key=self.key, ConsistentRead=True)
        item = resp.get("Item")
        return stream_state_of(ddb.from_item(item) if item else None)

    # ------------------------------------------------------------------ start / stop
    def open_run(
        self, run_id: str, rate: float, magnitudes: str, stop_at_ms: int | None, now_ms: int
    ) -> tuple[bool, StreamState]:
        """Begin a new run unless one is active. Returns (opened, state after / as it stood)."""
        sets = "#running = :t, #rate = :rate, #law = :law, #run = :run, #started = :now, #emitted = :zero, #updated = :now"
        removes = ["#stopped", "#reason"]
        values: dict[str, Any] = {
            ":t": True,
            ":f": False,
            ":rate": rate,
            ":law": magnitudes,
            ":run": run_id,
            ":now": now_ms,
            ":zero": 0,
        }
        if stop_at_ms is None:
            removes.append("#stop")
        else:
            sets += ", #stop = :stopat"
            values[":stopat"] = stop_at_ms
        return self._update(
            f"SET {sets} REMOVE {', '.join(removes)}",
            "attribute_not_exists(#id) OR #running = :f OR #stop <= :now",
            values,
        )

    def change_run(
        self, run_id: str, rate: float, magnitudes: str, stop_at_ms: int | None, now_ms: int
    ) -> tuple[bool, StreamState]:
        """Change the settings of the active run ``run_id`` (fails if it is no longer active)."""
        values: dict[str, Any] = {
            ":t": True,
            ":rate": rate,
            ":law": magnitudes,
            ":run": run_id,
            ":now": now_ms,
        }
        update = "SET #rate = :rate, #law = :law, #updated = :now"
        if stop_at_ms is None:
            update += " REMOVE #stop"
        else:
            update += ", #stop = :stopat"
            values[":stopat"] = stop_at_ms
        return self._update(update, f"#run = :run AND {_ACTIVE}", values)

    def stop(self, now_ms: int, reason: str = "stopped by request") -> tuple[bool, StreamState]:
        """Stop the active run. Returns (stopped, state): False when no run was active."""
        return self._update(
            "SET #running = :f, #stopped = :now, #reason = :reason, #updated = :now",
            _ACTIVE,
            {":t": True, ":f": False, ":now": now_ms, ":reason": reason},
        )

    def finish(self, run_id: str, at_ms: int, reason: str) -> bool:
        """Mark run ``run_id`` as ended (its duration elapsed) if it is still marked running."""
        applied, _ = self._update(
            "SET #running = :f, #stopped = :at, #reason = :reason, #updated = :at",
            "#run = :run AND #running = :t",
            {":t": True, ":f": False, ":at": at_ms, ":reason": reason, ":run": run_id},
        )
        return applied

    # ------------------------------------------------------------------ lease
    def acquire(self, owner: str, now_ms: int, until_ms: int) -> tuple[bool, StreamState]:
        """Take the lease if a run is active and no other emitter holds an unexpired lease."""
        return self._update(
            "SET #owner = :me, #lease = :until",
            f"{_ACTIVE} AND (attribute_not_exists(#owner) OR #lease <= :now OR #owner = :me)",
            {":t": True, ":now": now_ms, ":me": owner, ":until": until_ms},
        )

    def heartbeat(
        self, owner: str, run_id: str, emitted: int, now_ms: int, until_ms: int
    ) -> StreamState | None:
        """Renew the lease, count what was emitted for ``run_id`` since the last heartbeat, and
        read the state in the same write. ``None`` when the lease is no longer ours."""
        update = "SET #lease = :until"
        values: dict[str, Any] = {":me": owner, ":until": until_ms, ":run": run_id}
        if emitted:
            update += ", #last = :now ADD #emitted :n"
            values.update({":now": now_ms, ":n": emitted})
        applied, state = self._update(update, "#owner = :me AND #run = :run", values)
        if applied:
            return state
        if state.lease_owner != owner:
            return None
        # a new run began (stop + start) while we emitted: keep the lease, count nothing for it
        applied, state = self._update(
            "SET #lease = :until", "#owner = :me", {":me": owner, ":until": until_ms}
        )
        return state if applied else None

    def release(self, owner: str, run_id: str, emitted: int, now_ms: int) -> StreamState | None:
        """Give the lease back (counting the last emitted events), so the next emitter starts at
        once. Returns the state after it, or None when the lease was no longer ours."""
        if emitted:
            applied, state = self._update(
                "SET #last = :now REMOVE #owner, #lease ADD #emitted :n",
                "#owner = :me AND #run = :run",
                {":me": owner, ":run": run_id, ":now": now_ms, ":n": emitted},
            )
            if applied:
                return state
        applied, state = self._update("REMOVE #owner, #lease", "#owner = :me", {":me": owner})
        return state if applied else None
