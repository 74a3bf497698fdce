"""Request validation of a REST API method, before its integration runs.

As API Gateway does it (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-request-validation.html):

- ``validateRequestParameters``: every required path parameter, query string and header is
  present and not blank (only presence is checked, not type or format); otherwise 400
  ``{"message": "Missing required request parameters: [a, b]"}`` (``BAD_REQUEST_PARAMETERS``);
- ``validateRequestBody``: the body matches the JSON schema (draft 4) of the method's model for the
  request's content type (the ``$default`` model for any; no model for the type: not validated);
  otherwise 400 ``{"message": "Invalid request body"}`` (``BAD_REQUEST_BODY``). Models are JSON
  Schema draft 4 (https://docs.aws.amazon.com/apigateway/latest/developerguide/models-mappings-models.html).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from jsonschema import Draft4Validator
from jsonschema.exceptions import SchemaError

from eventflow_local.apigw.definition import Validation

BAD_REQUEST_BODY, BAD_REQUEST_PARAMETERS = "BAD_REQUEST_BODY", "BAD_REQUEST_PARAMETERS"


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def missing_parameters(
    validation: Validation,
    path_parameters: Mapping[str, str],
    query: Mapping[str, Sequence[str]],
    headers: Mapping[str, str],
) -> list[str]:
    """The required parameters the request lacks (or sends blank), in declaration order."""
    lowered = _lower(headers)
    missing = []
    for where, name in validation.required:
        if where == "path":
            value: str | None = path_parameters.get(name)
        elif where == "querystring":
            values = list(query.get(name) or [])
            value = values[-1] if values else None
        else:
            value = lowered.get(name.lower())
        if value is None or not str(value).strip():
            missing.append(name)
    return missing


@lru_cache(maxsize=256)
def _validator(schema_text: str) -> Draft4Validator | None:
    schema = json.loads(schema_text)
    try:
        Draft4Validator.check_schema(schema)
    except SchemaError:
        return None
    return Draft4Validator(schema)


def schema_for(validation: Validation, content_type: str | None) -> Any:
    """The model of the request's content type (``application/json`` when none is sent), else
    the ``$default`` model, else None."""
    wanted = (content_type or "application/json").split(";")[0].strip().lower()
    models = {ctype.lower(): schema for ctype, schema in validation.models}
    return models.get(wanted, models.get("$default"))


def body_is_valid(schema: Any, body: bytes | None) -> bool:
    validator = _validator(json.dumps(schema, sort_keys=True))
    if validator is None:
        return True  # API Gateway refuses such a model at deploy; named at start-up
    try:
        document = json.loads(body or b"")
    except ValueError:
        return False
    return bool(validator.is_valid(document))


def invalid_schemas(validation: Validation) -> list[str]:
    """The content types whose model is no valid draft 4 schema (named at start-up)."""
    return [
        ctype
        for ctype, schema in validation.models
        if _validator(json.dumps(schema, sort_keys=True)) is None
    ]


def validate(
    validation: Validation,
    *,
    path_parameters: Mapping[str, str],
    query: Mapping[str, Sequence[str]],
    headers: Mapping[str, str],
    body: bytes | None,
) -> tuple[str, str] | None:
    """None when the request passes; else (gateway response type, message)."""
    if validation.parameters:
        missing = missing_parameters(validation, path_parameters, query, headers)
        if missing:
            return (
                BAD_REQUEST_PARAMETERS,
                f"Missing required request parameters: [{', '.join(missing)}]",
            )
    if validation.body:
        schema = schema_for(validation, _lower(headers).get("content-type"))
        if schema is not None and not body_is_valid(schema, body):
            return BAD_REQUEST_BODY, "Invalid request body"
    return None
