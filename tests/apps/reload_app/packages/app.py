import importlib.util


def handler(event, context):
    return {"fastjsonschema": importlib.util.find_spec("fastjsonschema") is not None}
