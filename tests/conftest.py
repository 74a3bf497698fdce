from __future__ import annotations

import os

import pytest

# No real AWS from tests, ever.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_SESSION_TOKEN", "testing")
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ["AWS_REGION"] = "us-east-1"
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "EventFlowTests")
os.environ.setdefault("POWERTOOLS_DEV", "false")
os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"
for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
    os.environ.pop(var, None)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
