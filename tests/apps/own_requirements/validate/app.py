"""Validates the event against a JSON schema with a package of the function's requirements."""

import importlib.util
import sys

import boto3
import fastjsonschema

validate = fastjsonschema.compile(
    {"type": "object", "properties": {"amount": {"type": "number"}}, "required": ["amount"]}
)


def handler(event, context):
    try:
        validate(event)
        valid = True
    except fastjsonschema.JsonSchemaException:
        valid = False
    return {
        "valid": valid,
        "fastjsonschema": fastjsonschema.__file__,
        "boto3": boto3.__version__,
        # in the developer's virtualenv, not in this function's package
        "yaml": importlib.util.find_spec("yaml") is not None,
        "eventflow": importlib.util.find_spec("eventflow") is not None,
        "python": list(sys.version_info[:2]),
    }
