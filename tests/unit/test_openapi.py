"""The merged OpenAPI document: the app's title and description, the functions' answers merged
and filtered to the template's routes, and a function that cannot answer left out in one line.

The functions are stand-ins answering as ``FunctionRuntime.openapi`` does; the workers' side is
in tests/integration/test_openapi.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eventflow_local.apigw.openapi import ERROR_NOTE, api_title, build_openapi
from eventflow_local.apigw.plan import plan_api
from eventflow_local.runtime.functions import DescribeError
from eventflow_local.template.sam import SamTemplate

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
{description}
Globals:
  Function: {{Runtime: python3.13, Handler: app.handler, CodeUri: fn/}}
Resources:
  Items:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        List: {{Type: Api, Properties: {{Path: /items, Method: GET}}}}
        Get: {{Type: Api, Properties: {{Path: "/items/{{id}}", Method: GET}}}}
  Plain:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Ping: {{Type: Api, Properties: {{Path: /ping, Method: GET}}}}
  Broken:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Status: {{Type: Api, Properties: {{Path: /status, Method: GET}}}}
  Stopped:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Other: {{Type: Api, Properties: {{Path: /other, Method: GET}}}}
"""


def operation(summary: str) -> dict[str, Any]:
    return {"summary": summary, "responses": {"200": {"description": "ok"}}}


class Answers:
    """A function's answer to ``openapi(title, version)``: a document, None, or an error."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.asked: list[tuple[str, str]] = []

    def openapi(self, title: str, version: str) -> dict[str, Any] | None:
        self.asked.append((title, version))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def template(tmp_path: Path, description: str | None) -> SamTemplate:
    folder = tmp_path / "shop"
    (folder / "fn").mkdir(parents=True)
    line = "" if description is None else f"Description: {description}"
    (folder / "template.yaml").write_text(TEMPLATE.format(description=line))
    return SamTemplate(folder / "template.yaml")


@pytest.mark.parametrize(
    ("description", "title"),
    [
        # sam init's own: the app's name on the first line
        ("sam-app\n\nSample SAM Template for sam-app\n", "sam-app API"),
        # this repository's: the name before the dash
        ("eventflow - fraud detection that blocks accounts, as Lambda functions.", "eventflow API"),
        ("Item catalogue: typed routes. And more.", "Item catalogue"),
        ("Orders service. Takes orders from the shop.", "Orders service"),
        (
            "Every route of a long description (the implicit ServerlessRestApi, with its "
            "stage) and some more words",
            "Every route of a long description\u2026",
        ),
        ("", "shop API"),
    ],
)
def test_the_title_is_the_apps_from_its_description(description: str, title: str) -> None:
    assert api_title(description, "shop") == title


def test_the_merged_document_keeps_routed_paths_and_leaves_out_who_cannot_answer(
    tmp_path: Path,
) -> None:
    # GIVEN a template with four API functions, three of them running: one documented (it also
    # knows a route the template does not send it), one without a resolver, one that fails
    tpl = template(tmp_path, "'Shop - items and orders, behind one REST API.'")
    items = Answers(
        {
            "paths": {
                "/items": {"get": operation("list")},
                "/items/{id}": {"get": operation("get")},
                "/internal": {"get": operation("not routed")},
            },
            "components": {"schemas": {"Item": {"type": "object"}}},
        }
    )
    broken = Answers(DescribeError("RuntimeError: no schema (app.py, line 3)"))
    plain = Answers(None)
    lines: list[str] = []

    # WHEN the document is built from their answers
    doc = build_openapi(
        tpl,
        {"Items": items, "Plain": plain, "Broken": broken},
        operations=plan_api(tpl, {"Items", "Plain", "Broken"}).operations,
        server_url="http://127.0.0.1:3000/Prod",
        log=lines.append,
    )

    # THEN it has the documented function's routed paths and schemas, nothing else
    assert sorted(doc["paths"]) == ["/items", "/items/{id}"]
    assert doc["components"]["schemas"] == {"Item": {"type": "object"}}
    assert doc["paths"]["/items/{id}"]["get"]["summary"] == "get"
    # and the app's title and description, with what API Gateway answers on its own errors
    assert doc["info"] == {
        "title": "Shop API",
        "version": "1.0.0",
        "description": f"Shop - items and orders, behind one REST API.\n\n{ERROR_NOTE}",
    }
    assert items.asked == [("Shop API", "1.0.0")]
    assert doc["servers"] == [{"url": "http://127.0.0.1:3000/Prod"}]
    # and the function that could not answer is one line; the stopped one was not asked
    assert lines == [
        "openapi: Broken: RuntimeError: no schema (app.py, line 3); "
        "its routes are left out of /openapi.json"
    ]


def test_without_a_description_the_title_is_the_folders(tmp_path: Path) -> None:
    # GIVEN a template with no Description and no running function
    tpl = template(tmp_path, None)

    # WHEN the document is built
    doc = build_openapi(tpl, {})

    # THEN it is named after the template's folder, and has no paths
    assert doc["info"] == {"title": "shop API", "version": "1.0.0", "description": ERROR_NOTE}
    assert doc["paths"] == {}
