"""Items: a Powertools resolver with typed routes, so it can describe itself.

Importing this module leaves marks a test can read: the importing process's id appended to the
file ``IMPORT_MARKER`` names, and ``OPENAPI_APP_IMPORTED`` set in ``os.environ``. Its own worker
imports it; the harness's process must not.
"""

import os

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from pydantic import BaseModel

if os.environ.get("IMPORT_MARKER"):
    with open(os.environ["IMPORT_MARKER"], "a", encoding="utf-8") as marker:
        marker.write(f"{os.getpid()}\n")
os.environ["OPENAPI_APP_IMPORTED"] = "yes"

app = APIGatewayRestResolver(enable_validation=True)


class Item(BaseModel):
    id: str
    name: str


ITEMS = {"1": Item(id="1", name="first")}


@app.get("/items")
def list_items() -> list[Item]:
    return list(ITEMS.values())


@app.get("/items/<item_id>")
def get_item(item_id: str) -> Item:
    return ITEMS[item_id]


@app.get("/internal")
def internal() -> dict:
    """Known to the function, but the template routes no event here."""
    return {"internal": True}


def handler(event, context):
    return app.resolve(event, context)
