"""Lambda TOKEN authorizer for the write routes (chosen with ApiAuth=LambdaTokenAuthorizer).

``Authorization: Bearer <token>`` is allowed when the token equals the secret in
``API_TOKEN_SECRET_ARN``; any other token is denied (403); no header never reaches this function
(API Gateway answers 401 itself). The policy covers every method of the API's stage, because API
Gateway caches it per token for ``ReauthorizeEvery`` seconds and applies it to every method the
token is used on.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from eventflow.authz import api_resource, is_allowed, policy
from eventflow.config import env_str
from eventflow.observability import logger

SECRET_ARN = env_str("API_TOKEN_SECRET_ARN")


@cache
def expected_token() -> str:
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=SECRET_ARN)
    return str(secret["SecretString"])


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    allowed = is_allowed(event.get("authorizationToken"), expected_token())
    logger.info("authorization", extra={"allowed": allowed, "methodArn": event.get("methodArn")})
    return policy("api-client", "Allow" if allowed else "Deny", api_resource(event["methodArn"]))
