"""The tables' item schema, as pynamodb models, and how a model finds its table at run time.

Every table of template.yaml has one ``Model`` (``eventflow.fraud.tables``,
``eventflow.consumer.tables``, ``eventflow.quakes.adapters.tables``): its keys, indexes, attributes
and TTL attribute. It is the only place an attribute name is spelled; the stores build requests
from ``Model.attribute.attr_name`` and items with ``serialize`` / ``from_raw_data``
(tests/unit/test_tables.py checks the models against template.yaml in both directions).

``Meta.table_name`` holds the template's logical id until :func:`bind` sets the deployed name
from the environment (``ACCOUNTS_TABLE`` ...); the endpoint is the one boto3 uses
(``AWS_ENDPOINT_URL_DYNAMODB``, then ``AWS_ENDPOINT_URL``), so a model reaches AWS, DynamoDB Local
or moto like every other client here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from pynamodb.attributes import Attribute, TTLAttribute
from pynamodb.models import Model

M = TypeVar("M", bound=Model)


def endpoint() -> str | None:
    return os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL") or None


def bind(model: type[M], table_name: str) -> type[M]:
    """Point ``model`` at ``table_name`` (and this process's endpoint and region)."""
    meta: Any = model.Meta
    if getattr(meta, "table_name", None) != table_name or getattr(meta, "host", None) != endpoint():
        meta.table_name = table_name
        meta.host = endpoint()
        meta.region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None
        model._connection = None
    return model


def name(attribute: Attribute[Any]) -> str:
    """The attribute's name in the item."""
    return str(attribute.attr_name)


def to_item(model: type[Model], values: Mapping[str, Any]) -> dict[str, Any]:
    """A low-level item (DynamoDB JSON) from python attribute values, through the model."""
    return dict(model(**{k: v for k, v in values.items() if v is not None}).serialize())


def item(model: type[Model], data: Mapping[str, Any]) -> dict[str, Any]:
    """A low-level item from ``data`` keyed by attribute names (``fraudCount``, as stored and as
    the API shows them), serialized by ``model``; an attribute the model does not declare is an
    error, so nothing reaches a table that its model does not name. ``None`` values are left out;
    a TTL attribute takes epoch seconds."""
    attributes = model.get_attributes()
    by_name = {str(a.attr_name): (python, a) for python, a in attributes.items()}
    unknown = sorted(set(data) - set(by_name))
    if unknown:
        raise ValueError(f"{model.__name__} has no attribute {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for key, value in data.items():
        if value is None:
            continue
        python, attribute = by_name[key]
        if isinstance(attribute, TTLAttribute) and isinstance(value, int | float):
            value = datetime.fromtimestamp(value, UTC)
        values[python] = value
    return dict(model(**values).serialize())


def from_item(model: type[M], item: Mapping[str, Any]) -> M:
    return model.from_raw_data(dict(item))
