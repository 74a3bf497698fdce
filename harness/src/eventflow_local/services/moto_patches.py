"""Make the embedded moto DynamoDB fit for sustained local traffic.

moto's ``TransactWriteItems`` snapshots every table the transaction touches (a deep copy of the
whole table) so it can roll back. On a table that keeps growing — dedupe markers, stored
earthquakes — each transaction then costs time proportional to the table, and a local stream
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
counter update. Anything else goes through moto's own ``update_item``. ``apply()`` is idempotent and is called by the embedded server only.
"""

from __future__ import annotations

import copy
import json
import re
from functools import lru_cache
from typing import Any

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


_APPLIED = False


def apply() -> None:
    global _APPLIED
    if _APPLIED:
        return
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
    _cache_request_validation()
    _APPLIED = True


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


def _cache_request_validation() -> None:
    """moto's request layer parses every item's condition and update expression again before
    the backend does: parse each distinct one once. Expressions that fail to parse are not
    cached and fail exactly where they did."""
    import moto.dynamodb.responses as responses
    from moto.dynamodb.comparisons import create_condition_expression_parser
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

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

    class CachedUpdateParser:
        """The request layer only reads the tree (``find_clauses``): one tree per expression."""

        make = staticmethod(lru_cache(maxsize=4096)(UpdateExpressionParser.make))

    responses.create_condition_expression_parser = condition_parser
    responses.UpdateExpressionParser = CachedUpdateParser
