"""Redrive: publish a parked record again, once, to the topic it came from.

A record lands on the dead-letter table because the consumer could not process it (malformed,
wrong schema, unknown account). Once the cause is fixed (a deployed consumer fix, an account
created), an operator sends it again: ``POST /dead-letters/{id}/redrive`` or
``python -m eventflow_local redrive ID|--all``. The record goes back to its topic with its original key,
value and headers, so it lands on the partition its key chooses and the consumer sees it as
the producer first wrote it (a null value stays a tombstone).

Once: the letter is claimed first with a conditional write (``redrivenAt``/``redrivenBy`` set only
where ``redrivenAt`` does not exist), then published. A second redrive, concurrent or later, finds
the claim and answers 409 naming when and by whom the record was redriven; only the caller that
won the claim publishes. If the publish fails, the claim is released (conditionally on its own
timestamp) and the caller gets the transient error, so a retry can succeed. A value that was
truncated when it was parked (over ``MAX_VALUE_BYTES``) cannot be sent whole and is refused.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from eventflow.clock import now_iso
from eventflow.consumer.deadletter import DeadLetterItem, DeadLetterStore
from eventflow.errors import ConflictError, InvalidRequestError, NotFoundError
from eventflow.kafka.producer import Message

#: ``topic-partition@offset``; Kafka topic names are [a-zA-Z0-9._-], at most 249 characters
LETTER_ID = re.compile(r"^[A-Za-z0-9._-]{1,249}-[0-9]{1,10}@[0-9]{1,19}$")
#: what the route accepts: the id, its '@' as is or percent-encoded
LETTER_ID_PATTERN = r"^[A-Za-z0-9._-]{1,249}-[0-9]{1,10}(@|%40)[0-9]{1,19}$"


class Publisher(Protocol):
    def publish(self, messages: Any, timeout_s: float = 20.0) -> int: ...


def check_letter_id(letter_id: str) -> str:
    if not LETTER_ID.match(letter_id):
        raise InvalidRequestError(
            "id must be a dead letter's id, topic-partition@offset (as GET /dead-letters lists it)",
            field="id",
        )
    return letter_id


def message_of(letter: DeadLetterItem) -> Message:
    """The parked record as it was first published: key, value (or null) and headers."""
    value = None if letter.valueNull else base64.b64decode(letter.value)
    return Message(
        topic=letter.topic,
        key=base64.b64decode(letter.key) if letter.key is not None else None,
        value=value,
        headers=tuple(
            (str(h.get("name", "")), base64.b64decode(h.get("value") or "")) for h in letter.headers
        ),
    )


def letter_view(letter: DeadLetterItem) -> dict[str, Any]:
    """A parked record as the API and the CLI show it (unset optional fields left out)."""
    return letter.model_dump(mode="json", exclude_none=True)


@dataclass
class Redriver:
    store: DeadLetterStore
    publisher: Publisher
    clock: Callable[[], str] = field(default=now_iso)

    def redrive(self, letter_id: str, by: str) -> dict[str, Any]:
        """Publish the letter once; returns its view with ``redrivenAt``/``redrivenBy``.

        Raises NotFoundError (404), ConflictError (409: already redriven, or truncated) or
        TransientError (DynamoDB or Kafka failed; the claim is released).
        """
        check_letter_id(letter_id)
        letter = self.store.get(letter_id)
        if letter is None:
            raise NotFoundError(f"no dead letter {letter_id}")
        if letter.redrivenAt:
            raise self._already(letter)
        if letter.valueTruncated:
            raise ConflictError(
                f"dead letter {letter_id} cannot be redriven: its value "
                f"({letter.valueSize} bytes, sha256 {letter.valueSha256}) was truncated "
                "when it was parked; republish it from its source",
                id=letter_id,
            )
        if letter.key is None and letter.valueNull:
            raise ConflictError(
                f"dead letter {letter_id} has neither key nor value: there is nothing to redrive",
                id=letter_id,
            )
        at = self.clock()
        if not self.store.claim_redrive(letter_id, at, by):
            raise self._already(self.store.get(letter_id) or letter)
        try:
            self.publisher.publish([message_of(letter)])
        except BaseException:
            self.store.release_redrive(letter_id, at)
            raise
        return letter_view(letter.model_copy(update={"redrivenAt": at, "redrivenBy": by}))

    def pending(self) -> Iterator[dict[str, Any]]:
        """Every parked letter not redriven yet, newest first (as :func:`letter_view` shows it)."""
        start: dict[str, Any] | None = None
        while True:
            letters, start = self.store.list(100, start)
            yield from (letter_view(i) for i in letters if not i.redrivenAt)
            if not start:
                return

    @staticmethod
    def _already(letter: DeadLetterItem) -> ConflictError:
        return ConflictError(
            f"dead letter {letter.id} was already redriven at {letter.redrivenAt} "
            f"by {letter.redrivenBy}",
            id=letter.id,
            redrivenAt=letter.redrivenAt,
            redrivenBy=letter.redrivenBy,
        )


def caller_identity(event: dict[str, Any]) -> str:
    """Who called the API: the authorizer's principal, the Cognito user, or the IAM caller.

    API Gateway puts a Lambda authorizer's ``principalId`` and a Cognito authorizer's ``claims``
    in ``requestContext.authorizer``, and an ``AWS_IAM`` caller in ``requestContext.identity``
    (``userArn``, ``caller``) - https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
    """
    ctx = event.get("requestContext") or {}
    authorizer = ctx.get("authorizer") or {}
    claims = authorizer.get("claims") or {}
    identity = ctx.get("identity") or {}
    for candidate in (
        claims.get("cognito:username"),
        claims.get("email"),
        claims.get("sub"),
        authorizer.get("principalId"),
        identity.get("userArn"),
        identity.get("caller"),
        identity.get("cognitoIdentityId"),
    ):
        if candidate:
            return str(candidate)
    return "anonymous"
