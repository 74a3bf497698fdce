"""An HTTP API route to an AWS service (``integrationSubtype``), as public SAM apps declare them.

``http_service_integration``: ``POST /jobs`` sends its body to SQS (``SQS-SendMessage``) behind a
Lambda REQUEST authorizer. The service call is not emulated, but the route is served up to it, so
the authorizer runs as on AWS; ``GET /hello`` is a Lambda route of the same API.
"""

from __future__ import annotations

import pytest

from tests.integration.test_api_auth import authorizer_runs, call

pytestmark = pytest.mark.integration


def test_a_service_integration_route_runs_its_authorizer_and_is_named_not_emulated(run_app):
    # GIVEN the JobsApi, POST /jobs an SQS-SendMessage integration guarded by the Gate authorizer
    stack = run_app("http_service_integration", event_sources=False)
    jobs = f"{stack.api_url}/jobs"

    # WHEN the route is called without the secret, then with it; and the Lambda route with it
    refused = call(jobs, "POST", b'{"job": 1}')
    allowed = call(jobs, "POST", b'{"job": 1}', {"x-secret": "open-sesame"})
    hello = call(f"{stack.api_url}/hello", headers={"x-secret": "open-sesame"})

    # THEN the authorizer decides (no identity source: it runs for every request)
    assert refused[0] == 403 and refused[2] == {"message": "Forbidden"}
    assert authorizer_runs(stack, "Gate") == 3
    # AND an authorized request reaches the integration, which is not emulated: API Gateway's 500
    assert allowed[0] == 500 and allowed[2] == {"message": "Internal Server Error"}
    assert hello[0] == 200 and hello[2] == {"routeKey": "GET /hello"}
    # AND the route is named once at start-up as not emulated (never "no function" refused)
    assert stack.refused == []
    assert (
        "JobsApi: POST /jobs: AWS service integration SQS-SendMessage is not emulated: the "
        'route\'s authorization runs, then it answers 500 {"message":"Internal Server Error"}'
    ) in stack.skipped
