"""Named by its path in the template (``handlers/greet.lambda_handler``), as some apps do."""

import json


def lambda_handler(event, context):
    name = event["pathParameters"]["name"]
    return {"statusCode": 200, "body": json.dumps({"greeting": f"hi {name}", "module": __name__})}
