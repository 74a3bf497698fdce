"""What every consumer does with a record before its own logic: decode, validate, classify.

``parse_json_record`` turns a record into a pydantic model or raises ``ValueError`` whose message
says what was wrong (``schema: field: problem`` for a well-formed value of the wrong shape);
``dead_letter`` files such a failure under MALFORMED or SCHEMA; ``log_dead_letters`` logs each
parked record with its coordinates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from eventflow.consumer.deadletter import DeadLetter
from eventflow.kafka.events import KafkaRecord
from eventflow.observability import logger

Model = TypeVar("Model", bound=BaseModel)
SCHEMA_PREFIX = "schema: "


def parse_json_record(record: KafkaRecord, model: type[Model]) -> Model:
    data = record.json_value()  # ValueError: empty, not UTF-8, not JSON
    if not isinstance(data, dict):
        raise ValueError(f"record value is JSON {type(data).__name__}, expected an object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(SCHEMA_PREFIX + problems) from None


def dead_letter(record: KafkaRecord, error: ValueError) -> DeadLetter:
    message = str(error)
    reason = "SCHEMA" if message.startswith(SCHEMA_PREFIX) else "MALFORMED"
    return DeadLetter(record, reason, message)


def log_dead_letters(letters: Sequence[DeadLetter]) -> None:
    """One warning per parked record, with its coordinates and reason."""
    for letter in letters:
        rec = letter.record
        logger.warning(
            "record parked on dead-letter table",
            extra={
                "topic": rec.topic,
                "partition": rec.partition,
                "offset": rec.offset,
                "reason": letter.reason,
                "detail": letter.message,
            },
        )
