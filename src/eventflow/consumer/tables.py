"""The dead-letter table as a pynamodb model (see ``eventflow.tables``)."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

DEAD_LETTER_LIST_KEY = "DEADLETTER"


class Header(MapAttribute[str, str]):
    name = UnicodeAttribute()
    value = UnicodeAttribute()  # base64


class DeadLettersByFailedAt(GlobalSecondaryIndex["DeadLetters"]):
    class Meta:
        index_name = "byFailedAt"
        projection = AllProjection()

    list_key = UnicodeAttribute(hash_key=True, attr_name="listKey")
    failed_at = UnicodeAttribute(range_key=True, attr_name="failedAt")


class DeadLetters(Model):
    """A parked record: why, where from (``id`` = ``topic-partition@offset``), its raw bytes."""

    class Meta:
        table_name = "DeadLetterTable"
        env = "DEAD_LETTER_TABLE"

    id = UnicodeAttribute(hash_key=True)
    list_key = UnicodeAttribute(attr_name="listKey", default=DEAD_LETTER_LIST_KEY)
    failed_at = UnicodeAttribute(attr_name="failedAt")
    reason = UnicodeAttribute()
    message = UnicodeAttribute()
    function = UnicodeAttribute()
    topic = UnicodeAttribute()
    partition = NumberAttribute()
    offset = NumberAttribute()
    timestamp = NumberAttribute()
    key = UnicodeAttribute(null=True)  # base64
    value = UnicodeAttribute()  # base64, at most MAX_VALUE_BYTES of it
    value_size = NumberAttribute(attr_name="valueSize")
    value_truncated = BooleanAttribute(attr_name="valueTruncated")
    value_sha256 = UnicodeAttribute(attr_name="valueSha256")
    value_null = BooleanAttribute(attr_name="valueNull", default=False)
    headers = ListAttribute(of=Header, default=list)
    expires_at = TTLAttribute(attr_name="expiresAt")
    redriven_at = UnicodeAttribute(attr_name="redrivenAt", null=True)
    redriven_by = UnicodeAttribute(attr_name="redrivenBy", null=True)
    by_failed_at = DeadLettersByFailedAt()
