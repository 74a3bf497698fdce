"""The running local API against its own OpenAPI document: authorization, fuzzing, odd input.

schemathesis generates requests from ``/openapi.json`` for every operation and checks each
response: no 5xx, status codes and bodies as documented, JSON where JSON is promised.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventflow_local.apigw.local_token import auth_headers
from eventflow_local.stack import Stack

pytestmark = pytest.mark.integration

# every API function but the earthquake emitter, whose start would begin a real stream
API_FUNCTIONS = [
    "AccountsApiFunction",
    "TransactionsApiFunction",
    "MarkFraudFunction",
    "DeadLettersApiFunction",
    "QuakesApiFunction",
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with Stack(
        port=0,
        state_dir=tmp_path_factory.mktemp("contract"),
        functions=API_FUNCTIONS,
        event_sources=False,
        api_token="contract-token",
    ) as running:
        yield running


def call(
    stack: Stack,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(stack.api_url + path, data=body, method=method)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            status, hdrs, raw = resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        status, hdrs, raw = exc.code, dict(exc.headers), exc.read()
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return status, hdrs, parsed


JSON = {"Content-Type": "application/json"}
GOOD = auth_headers("contract-token")


def test_write_routes_need_the_token_reads_do_not(stack):
    body = json.dumps({"name": "Ann", "number": "1"}).encode()
    status, _, resp = call(stack, "POST", "/accounts", body, JSON)
    assert status == 401 and resp["message"].startswith("Unauthorized")
    status, _, resp = call(
        stack, "POST", "/accounts", body, {**JSON, "Authorization": "Bearer nope"}
    )
    assert (status, resp) == (403, {"message": "Forbidden"})
    status, _, resp = call(stack, "POST", "/accounts", body, {**JSON, "Authorization": "Basic x"})
    assert status == 403
    status, _, account = call(stack, "POST", "/accounts", body, {**JSON, **GOOD})
    assert status == 201
    assert call(stack, "GET", f"/accounts/{account['id']}")[0] == 200
    assert call(stack, "DELETE", f"/accounts/{account['id']}")[0] == 401
    assert call(stack, "POST", "/transactions/x/fraud", None, JSON)[0] == 401


def test_openapi_document_and_swagger_ui_are_served(stack):
    status, headers, doc = call(stack, "GET", "/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.")
    assert {"/accounts", "/transactions/{transaction_id}/fraud", "/earthquakes"} <= set(
        doc["paths"]
    )
    # the template's default AWS_IAM authorizer: the local token stands in; reads say NONE
    assert doc["paths"]["/accounts"]["post"]["security"] == [{"localToken": []}]
    assert "IAM (SigV4)" in doc["components"]["securitySchemes"]["localToken"]["description"]
    assert "security" not in doc["paths"]["/accounts"]["get"]
    status, headers, html = call(stack, "GET", "/swagger")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "/openapi.json" in html


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_wrong_content_types_are_415(stack, content_type):
    status, _, resp = call(
        stack, "POST", "/accounts", b"name=A", {"Content-Type": content_type, **GOOD}
    )
    assert status == 415 and "application/json" in resp["message"]


def test_huge_bodies_are_413_not_5xx(stack):
    body = json.dumps({"name": "A" * 200_000, "number": "1"}).encode()
    status, _, resp = call(stack, "POST", "/accounts", body, {**JSON, **GOOD})
    assert status == 413 and "exceeds" in resp["message"]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    ident=st.text(min_size=1, max_size=80).filter(lambda s: "/" not in s and s not in (".", ".."))
)
def test_any_path_id_gets_a_clear_4xx_or_a_resource(stack, ident):
    quoted = urllib.parse.quote(ident, safe="")
    for path in (f"/accounts/{quoted}", f"/transactions/{quoted}", f"/earthquakes/{quoted}"):
        status, _, resp = call(stack, "GET", path)
        assert status in (400, 404), (path, status, resp)
        assert isinstance(resp, dict) and resp["message"]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=st.text(min_size=1, max_size=300), number=st.text(max_size=80))
def test_unicode_bodies_are_stored_faithfully_or_rejected_with_4xx(stack, name, number):
    body = json.dumps({"name": name, "number": number}).encode()
    status, _, resp = call(stack, "POST", "/accounts", body, {**JSON, **GOOD})
    if status == 201:
        assert resp["name"] == name.strip() and resp["number"] == number.strip()
        assert call(stack, "GET", f"/accounts/{resp['id']}")[2]["name"] == name.strip()
    else:
        assert status == 422 and resp["message"], resp


def test_fuzzing_the_api_finds_no_server_error_and_no_undocumented_answer(stack, tmp_path):
    """schemathesis over every operation of /openapi.json: examples, coverage, fuzzing and
    stateful phases, all checks but ``positive_data_acceptance`` (a syntactically valid
    ``nextToken`` that no list returned is rightly a 400; so is a PATCH of only nulls) and
    ``unsupported_method`` (API Gateway answers a method a resource does not declare with 403
    ``Missing Authentication Token``, not 405, and so does the harness)."""
    report = tmp_path / "schemathesis.json"
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        stack.api_url + "/openapi.json",
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance,unsupported_method",
        "--max-examples",
        os.environ.get("FUZZ_EXAMPLES", "15"),
        "--seed",
        os.environ.get("FUZZ_SEED", "20261125"),
        "-H",
        "Authorization: Bearer contract-token",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    summary = done.stdout[done.stdout.find("SUMMARY") :]
    assert done.returncode == 0, summary or done.stdout[-4000:] + done.stderr[-2000:]
    assert "17/17" in summary or "Tested:" in summary
