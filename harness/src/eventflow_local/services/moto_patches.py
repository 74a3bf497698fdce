"""Make the embedded moto DynamoDB fit for sustained local traffic.

moto's ``TransactWriteItems`` snapshots every table the transaction touches (a deep copy of the
whole table) so it can roll back. On a table that keeps growing — dedupe markers, a stream of
stored events — each transaction then costs time proportional to the table, and a local stream
of thousands of events slows to a crawl. DynamoDB itself does not work that way, and neither
does this replacement:

1. every condition of the transaction is evaluated against the state before it (items are
   distinct within a transaction, so this is DynamoDB's semantics); any failure cancels the
   transaction with per-item reasons and nothing is written;
2. only then are the writes applied, after keeping a copy of just the items they touch, which
   are restored if a write fails validation part-way.

The result codes, ``CancellationReasons`` and ``ReturnValuesOnConditionCheckFailure`` behave as
moto's own implementation. An ``Update`` of the plain form ``SET #a = :x, #b = :y`` on an existing
item of a table without a stream is applied directly to the item's attributes; moto's update
path parses, validates and copies an expression tree per item, which is most of the cost of a
counter update. Anything else goes through moto's own ``update_item``. Two caches parse each
distinct condition and update expression once for moto's request layer.

The harness accepts any moto 5, so these patches are checked against the moto that runs: each
names the internals it replaces or calls (functions and the arguments it passes them, the
attributes it reads; ``moto_shape``) and is installed only when they are all there in that shape. What is not
installed is said in one line (``apply()`` returns it; the server puts it on its ready line, and
the harness prints it at start-up), and moto's own code runs in its place: the same answers,
slower. ``apply()`` is idempotent and is called by the embedded server only.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eventflow_local.services import moto_shape as shape

_SIMPLE_SET = re.compile(
    r"^\s*SET\s+(#\w+\s*=\s*:\w+(?:\s*,\s*#\w+\s*=\s*:\w+)*)\s*$", re.IGNORECASE
)


def _fast_set(backend: Any, table_name: str, key: dict[str, Any], op: dict[str, Any]) -> bool:
    """Apply ``SET #a = :x, ...`` in place; False when the update needs moto's full path."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    match = _SIMPLE_SET.match(op.get("UpdateExpression", ""))
    if not match:
        return False
    table = backend.get_table(table_name)
    if table.stream_shard is not None:
        return False  # moto records the old and new image for the stream: use its path
    names = op.get("ExpressionAttributeNames") or {}
    values = op.get("ExpressionAttributeValues") or {}
    assignments = []
    for part in match.group(1).split(","):
        left, right = (side.strip() for side in part.split("="))
        attr = names.get(left)
        if (
            attr is None
            or right not in values
            or attr in (table.hash_key_attr, table.range_key_attr)
        ):
            return False
        assignments.append((attr, values[right]))
    hash_value = DynamoType(key[table.hash_key_attr])
    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    item = table.get_item(hash_value, range_value)
    if item is None:
        return False  # an upsert: moto's path creates the item
    for attr, value in assignments:
        item.attrs[attr] = DynamoType(value)
    return True


def _install_transactions() -> None:
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.models import DynamoDBBackend

    @lru_cache(maxsize=4096)
    def _parsed(key: str) -> Any:
        condition, names, values = json.loads(key)
        return get_filter_expression(condition, names, values)

    def parsed_condition(condition: str, names: Any, values: Any) -> Any:
        """Parsed conditions are pure functions of their text, names and values: parse once
        (a dedupe marker's ``attribute_not_exists(eventId)`` is the same for every event)."""
        return _parsed(json.dumps([condition, names, values], sort_keys=True))

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        if len(transact_items) > 100:
            raise TooManyTransactionsException()
        seen: set[tuple[str, str]] = set()
        plan: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = []
        errors: list[tuple[Any, Any, Any]] = []
        for item in transact_items:
            if len(item) > 1:
                raise TransactWriteSingleOpException
            op_type, op = next(iter(item.items()))
            original: dict[str, Any] | None = None
            try:
                if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                    raise ValueError("Unsupported transaction operation")
                table_name = op["TableName"]
                if op_type == "Put":
                    table = self.get_table(table_name)
                    attrs = op["Item"]
                    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                    if table.range_key_attr is not None:
                        key[table.range_key_attr] = attrs[table.range_key_attr]
                else:
                    key = op["Key"]
                marker = (str(table_name), str(dict(sorted(key.items()))))
                if marker in seen:
                    raise MultipleTransactionsException()
                seen.add(marker)
                current = self.get_item(table_name, key)
                condition = op.get("ConditionExpression")
                if condition is not None:
                    check = parsed_condition(
                        condition,
                        op.get("ExpressionAttributeNames"),
                        op.get("ExpressionAttributeValues"),
                    )
                    if not check.expr(current):
                        if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                            original = current.to_json()["Attributes"]
                        errors.append(
                            ("ConditionalCheckFailed", "The conditional request failed", original)
                        )
                        continue
                plan.append((op_type, op, table_name, key))
                errors.append((None, None, None))
            except (MultipleTransactionsException, MockValidationException):
                raise
            except Exception as exc:  # moto reports other problems per item, as reasons
                errors.append((type(exc).__name__, str(exc), original))
        if any(code is not None for code, _, _ in errors):
            raise TransactionCanceledException(errors)

        touched = []
        for op_type, _op, table_name, key in plan:
            if op_type != "ConditionCheck":
                item = self.get_item(table_name, key)
                touched.append(
                    (table_name, key, copy.deepcopy(item.to_json()["Attributes"]) if item else None)
                )
        try:
            for op_type, op, table_name, key in plan:
                names = op.get("ExpressionAttributeNames")
                values = op.get("ExpressionAttributeValues")
                if op_type == "Put":
                    self.put_item(
                        table_name,
                        op["Item"],
                        expression_attribute_names=names,
                        expression_attribute_values=values,
                    )
                elif op_type == "Delete":
                    self.delete_item(
                        table_name,
                        key,
                        expression_attribute_names=names,
                        expression_attribute_values=values,
                    )
                elif op_type == "Update" and not _fast_set(self, table_name, key, op):
                    self.update_item(
                        table_name,
                        key,
                        update_expression=op["UpdateExpression"],
                        expression_attribute_names=names,
                        expression_attribute_values=values,
                    )
        except Exception:
            for table_name, key, before in touched:
                if before is None:
                    self.delete_item(table_name, key)
                else:
                    self.put_item(table_name, before)
            raise

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


class _ParsedCondition:
    """A condition parser whose ``parse()`` already ran: same op, fresh lists each access."""

    __slots__ = ("_names", "_op", "_values")

    def __init__(self, op: Any, names: tuple[str, ...], values: tuple[str, ...]) -> None:
        self._op, self._names, self._values = op, names, values

    def parse(self) -> Any:
        return self._op

    @property
    def expr_attr_names_found(self) -> list[str]:
        return list(self._names)

    @property
    def expr_attr_values_found(self) -> list[str]:
        return list(self._values)


def _install_condition_cache() -> None:
    """moto's request layer parses every item's condition again before the backend does: parse
    each distinct one once. Conditions that fail to parse are not cached and fail where they did."""
    import moto.dynamodb.responses as responses
    from moto.dynamodb.comparisons import create_condition_expression_parser

    conditions: dict[str, _ParsedCondition] = {}

    def condition_parser(expr: Any, names: Any, values: Any) -> Any:
        try:
            key = json.dumps([expr, names, values], sort_keys=True)
        except TypeError:
            return create_condition_expression_parser(expr, names, values)
        hit = conditions.get(key)
        if hit is not None:
            return hit
        parser = create_condition_expression_parser(expr, names, values)
        try:
            op = parser.parse()
        except Exception:
            return create_condition_expression_parser(expr, names, values)
        if len(conditions) > 4096:
            conditions.clear()
        parsed = conditions[key] = _ParsedCondition(
            op, tuple(parser.expr_attr_names_found), tuple(parser.expr_attr_values_found)
        )
        return parsed

    responses.create_condition_expression_parser = condition_parser


def _install_update_cache() -> None:
    """The request layer parses each update expression only to read its tree
    (``find_clauses``): one tree per distinct expression."""
    import moto.dynamodb.responses as responses
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    class CachedUpdateParser:
        make = staticmethod(lru_cache(maxsize=4096)(UpdateExpressionParser.make))

    responses.UpdateExpressionParser = CachedUpdateParser


# ------------------------------------------------------------------ checked against moto
_BACKEND = "moto.dynamodb.models:DynamoDBBackend"
_TABLE = "moto.dynamodb.models.table:Table"
_ITEM = "moto.dynamodb.models.dynamo_type:Item"
_NAMES_VALUES = {"expression_attribute_names": None, "expression_attribute_values": None}


def _transactions_problems() -> list[str]:
    exceptions = "moto.dynamodb.exceptions"
    found = [
        # moto's request layer passes the items alone: the replacement takes just those
        shape.takes_exactly(f"{_BACKEND}.transact_write_items", "self", "transact_items"),
        shape.accepts(f"{_BACKEND}.get_table", None, "t"),
        shape.accepts(f"{_BACKEND}.get_item", None, "t", {}),
        shape.accepts(f"{_BACKEND}.put_item", None, "t", {}, **_NAMES_VALUES),
        shape.accepts(f"{_BACKEND}.delete_item", None, "t", {}, **_NAMES_VALUES),
        shape.accepts(
            f"{_BACKEND}.update_item", None, "t", {}, update_expression="", **_NAMES_VALUES
        ),
        shape.accepts(f"{_TABLE}.get_item", None, None, None),
        shape.sets(f"{_TABLE}.__init__", "hash_key_attr", "range_key_attr", "stream_shard"),
        shape.sets(f"{_ITEM}.__init__", "attrs"),
        shape.accepts(f"{_ITEM}.to_json", None),
        shape.accepts("moto.dynamodb.models.dynamo_type:DynamoType", {}),
        shape.accepts("moto.dynamodb.comparisons:get_filter_expression", "", None, None),
        shape.accepts(f"{exceptions}:TransactionCanceledException", []),
        shape.accepts(f"{exceptions}:MultipleTransactionsException"),
        shape.accepts(f"{exceptions}:TooManyTransactionsException"),
        shape.accepts(f"{exceptions}:TransactWriteSingleOpException"),
        shape.present(f"{exceptions}:MockValidationException"),  # caught, never raised here
    ]
    return [problem for problem in found if problem]


def _condition_cache_problems() -> list[str]:
    comparisons = "moto.dynamodb.comparisons"
    found = [
        # the name the request layer calls, replaced by the cache
        shape.accepts("moto.dynamodb.responses:create_condition_expression_parser", "", None, None),
        shape.accepts(f"{comparisons}:create_condition_expression_parser", "", None, None),
        shape.accepts(f"{comparisons}:ConditionExpressionParser.parse", None),
        shape.sets(
            f"{comparisons}:ConditionExpressionParser.__init__",
            "expr_attr_names_found",
            "expr_attr_values_found",
        ),
    ]
    return [problem for problem in found if problem]


def _update_cache_problems() -> list[str]:
    found = [
        shape.accepts("moto.dynamodb.responses:UpdateExpressionParser.make", ""),
        shape.accepts("moto.dynamodb.parsing.expressions:UpdateExpressionParser.make", ""),
    ]
    return [problem for problem in found if problem]


@dataclass(frozen=True)
class Patch:
    #: what the user reads when it is not installed, and what that costs
    name: str
    cost: str
    problems: Callable[[], list[str]]
    install: Callable[[], None]


PATCHES = (
    Patch(
        "the TransactWriteItems fast path",
        "slower on large tables",
        _transactions_problems,
        _install_transactions,
    ),
    Patch(
        "the condition-expression cache",
        "expressions parsed on each request",
        _condition_cache_problems,
        _install_condition_cache,
    ),
    Patch(
        "the update-expression cache",
        "expressions parsed on each request",
        _update_cache_problems,
        _install_update_cache,
    ),
)


def notice(version: str, unpatched: list[Patch]) -> str | None:
    """One line naming the moto version and what runs unpatched (None: every patch is in)."""
    if not unpatched:
        return None
    names = [patch.name for patch in unpatched]
    named = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    costs = "; ".join(dict.fromkeys(patch.cost for patch in unpatched))
    verb, path = ("does", "path runs") if len(names) == 1 else ("do", "paths run")
    return f"moto {version}: {named} {verb} not apply to this version; moto's own {path} ({costs})"


_APPLIED = False
_NOTICE: str | None = None


def apply() -> str | None:
    """Install each patch whose moto internals are there as expected; return the one line that
    names what is not (None when all are in). Idempotent: later calls return the same line."""
    global _APPLIED, _NOTICE
    if _APPLIED:
        return _NOTICE
    unpatched = []
    for patch in PATCHES:
        problems = patch.problems()
        if problems:
            log = logging.getLogger(__name__)
            log.warning("%s not applied: %s", patch.name, "; ".join(problems))
            unpatched.append(patch)
        else:
            patch.install()
    _NOTICE = notice(shape.version(), unpatched)
    _APPLIED = True
    return _NOTICE
