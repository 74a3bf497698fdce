"""The tables' item schema, as pynamodb models, and how a model finds its table at run time.

Every table of template.yaml has one ``Model`` (``eventflow.fraud.adapters.tables``,
``eventflow.consumer.tables``, ``eventflow.quakes.adapters.tables``): its keys, indexes, attributes
and TTL attribute. It is the only place an attribute name is spelled
(tests/unit/test_tables.py checks the models against template.yaml in both directions).

Two ways through a model:

- the API's paths read and write through it: :func:`bind` gives the model on the deployed table;
  :func:`get` by key, :func:`create` and :func:`delete` on condition that the key is free or
  taken, and :func:`query_page` one page of an index and the API's page token;
- the consumers' hot paths send low-level requests they build from ``Model.attribute.attr_name``,
  with items from :func:`item` (names checked against the model, its defaults applied) and read
  with :func:`from_item` (the account consumer reads its batch's accounts from DynamoDB's JSON
  by the model's names: ``eventflow.fraud.adapters.ledger.ledger_of``): they need
  ``ReturnValuesOnConditionCheckFailure``, which ``Model.update`` cannot ask for, and a batch's
  writes in parallel on one tuned client.

``Meta.table_name`` holds the template's logical id; :func:`bind` makes a subclass of the model on
the deployed name (``ACCOUNTS_TABLE`` ...) whose requests go through the process's boto3 client
(``eventflow.aws.dynamodb_client``): the same endpoint (``AWS_ENDPOINT_URL_DYNAMODB``, then
``AWS_ENDPOINT_URL``), region, credentials, timeouts and retries as every other request here, so
a model reaches AWS, DynamoDB Local or moto exactly as the low-level paths do.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar, cast

from pynamodb.attributes import Attribute
from pynamodb.exceptions import DeleteError, PutError, QueryError
from pynamodb.indexes import Index
from pynamodb.models import Model

from eventflow import ddb
from eventflow.aws import dynamodb_client, error_code, transient_errors
from eventflow.errors import InvalidRequestError

M = TypeVar("M", bound=Model)


def bind(model: type[M], table_name: str, client: Any = None) -> type[M]:
    """``model`` on the deployed ``table_name``, its requests sent through ``client`` (default:
    the process's ``dynamodb_client()``). One class per table and client, made once: the model
    itself is left as declared, so two stores on two tables (or two endpoints, as a test's seed
    and a function may be) never share a connection."""
    return _bound(model, table_name, client or dynamodb_client())


@cache
def _bound(model: type[M], table_name: str, client: Any) -> type[M]:
    declared: Any = model.Meta
    meta = type(
        "Meta",
        (declared,),
        {
            "table_name": table_name,
            "host": client.meta.endpoint_url,
            "region": client.meta.region_name,
        },
    )
    bound = cast(
        type[M],
        type(
            model.__name__,
            (model,),
            {
                "Meta": meta,
                "_connection": None,
                "__module__": model.__module__,
                "__qualname__": model.__qualname__,
            },
        ),
    )
    # pynamodb sends every request as ``connection.client._make_api_call``: handing it our
    # client (instead of the one it would build from Meta) shares its configuration and pool
    bound._get_connection().connection._client = client
    return bound


def get(model: type[M], key: str, consistent: bool = False) -> M | None:
    """The row of ``key`` (None: there is none)."""
    try:
        with transient_errors():
            return model.get(key, consistent_read=consistent)
    except model.DoesNotExist:
        return None


def create(model: type[M], values: Mapping[str, Any]) -> bool:
    """Put a new row (``values`` by the model's attribute names, ``None`` left out) on condition
    that its key is not taken: False if it is."""
    row = model(**{k: v for k, v in values.items() if v is not None})
    try:
        with transient_errors():
            row.save(condition=_hash_key(model).does_not_exist())
    except PutError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def delete(model: type[M], key: str) -> bool:
    """Delete the row of ``key`` on condition that it exists: False if it did not."""
    try:
        with transient_errors():
            model(key).delete(condition=_hash_key(model).exists())
    except DeleteError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _hash_key(model: type[Model]) -> Attribute[Any]:
    return model.get_attributes()[str(model._hash_keyname)]


#: one page of rows, and the key to pass for the next page as plain values (None: the last page)
Page = tuple[list[M], dict[str, Any] | None]


def query_page(
    index: Index[M], hash_key: str, limit: int, start: dict[str, Any] | None = None
) -> Page[M]:
    """Up to ``limit`` rows of ``index``'s partition ``hash_key``, newest (highest range key)
    first, read ``limit`` at a time from ``start``; and the last evaluated key as plain values,
    the form the API encodes as ``nextToken``. A ``start`` DynamoDB refuses (a key of another
    index) is the caller's mistake: ``InvalidRequestError`` naming ``nextToken``."""
    rows = index.query(
        hash_key,
        scan_index_forward=False,
        limit=limit,
        page_size=limit,
        last_evaluated_key=ddb.to_item(start) if start else None,
    )
    try:
        with transient_errors():
            found = list(rows)
    except QueryError as exc:
        if start and error_code(exc) == "ValidationException":
            raise InvalidRequestError(ddb.TOKEN_MISMATCH, field="nextToken") from None
        raise
    last = rows.last_evaluated_key
    return found, (ddb.from_item(last) if last else None)


def name(attribute: Attribute[Any]) -> str:
    """The attribute's name in the item."""
    return str(attribute.attr_name)


def named(model: type[Model], **values: Any) -> dict[str, Any]:
    """``values`` given by the model's python attribute names (``fraud_count=``), keyed by their
    names in the item (``fraudCount``), for :func:`item`: how a store turns a domain object into
    an item without spelling an attribute name."""
    attributes = model.get_attributes()
    unknown = sorted(set(values) - set(attributes))
    if unknown:
        raise ValueError(f"{model.__name__} has no attribute {', '.join(unknown)}")
    return {str(attributes[k].attr_name): v for k, v in values.items()}


def to_item(model: type[Model], values: Mapping[str, Any]) -> dict[str, Any]:
    """A low-level item (DynamoDB JSON) from python attribute values, through the model."""
    return dict(model(**{k: v for k, v in values.items() if v is not None}).serialize())


@cache
def _schema(model: type[Model]) -> tuple[frozenset[str], dict[str, Any]]:
    """The model's attribute names, and the defaults of those that have one."""
    names: set[str] = set()
    defaults: dict[str, Any] = {}
    for attribute in model.get_attributes().values():
        names.add(str(attribute.attr_name))
        if attribute.default is not None:
            defaults[str(attribute.attr_name)] = attribute.default
    return frozenset(names), defaults


def item(model: type[Model], data: Mapping[str, Any]) -> dict[str, Any]:
    """A low-level item from ``data`` keyed by attribute names (``fraudCount``, as stored and as
    the API shows them), with the model's defaults; an attribute the model does not declare is an
    error, so nothing reaches a table that its model does not name. ``None`` values are left out;
    a TTL attribute takes epoch seconds.

    The values are serialized by boto3's serializer, not by ``Model.serialize``: the same
    DynamoDB JSON for these shapes, at a fifth of the cost (19 against 103 microseconds for an
    earthquake, measured on this machine), which the consumers write by the thousand."""
    names, defaults = _schema(model)
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"{model.__name__} has no attribute {', '.join(unknown)}")
    values = {k: (v() if callable(v) else v) for k, v in defaults.items()}
    values.update((k, v) for k, v in data.items() if v is not None)
    return ddb.to_item(values)


def from_item(model: type[M], item: Mapping[str, Any]) -> M:
    return model.from_raw_data(dict(item))
