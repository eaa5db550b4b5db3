"""The event envelope: what every stored and published event carries.

An event is a fact: once recorded it is never updated or deleted. The envelope
holds the metadata of ARCHITECTURE.md ("The event"); `payload` holds the
service's own fields, validated by the event's pydantic model at the edge
(shared/registry.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

JSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC


def canonical_json(value: Any) -> bytes:
    """Canonical bytes: keys sorted, no whitespace, UTF-8 (not \\u-escaped), UTC as `Z`.

    The audit hash chain and the Kafka wire format are both these bytes, so two
    processes that hold the same event always hash it the same.
    """
    return orjson.dumps(value, option=JSON_OPTIONS)


def new_id() -> UUID:
    """A UUIDv7: time-ordered, so ids sort roughly by creation."""
    # Imported here, not at the top: `uuid6` reads its own version from the installed
    # packages when imported (20 ms), which the quick commands that only read events would
    # pay for nothing (issue #21). After the first id this is a dictionary lookup.
    from uuid6 import uuid7

    return uuid7()


def utcnow() -> datetime:
    return datetime.now(UTC)


class Actor(BaseModel):
    """Who caused the event: a person or a service account, with the role it acted in."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=200)
    kind: Literal["user", "service", "system"] = "user"
    role: str | None = None


SYSTEM_ACTOR = Actor(id="gongkai", kind="system", role=None)


class NewEvent(BaseModel):
    """An event as a handler produces it, before the store gives it a position."""

    model_config = ConfigDict(frozen=True)

    event_id: UUID = Field(default_factory=new_id)
    type: str = Field(min_length=1, max_length=200)
    schema_version: int = Field(default=1, ge=1)
    tenant: str = Field(min_length=1, max_length=300)
    actor: Actor
    correlation_id: UUID = Field(default_factory=new_id)
    causation_id: UUID | None = None
    occurred_at: datetime = Field(default_factory=utcnow)
    payload: dict[str, Any]

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("occurred_at must carry a time zone")
        return value.astimezone(UTC)


class RecordedEvent(BaseModel):
    """An event as stored: with its stream, its version in the stream and its global position."""

    model_config = ConfigDict(frozen=True)

    event_id: UUID
    stream_id: str
    stream_type: str
    version: int = Field(ge=1)
    position: int = Field(ge=1)
    type: str
    schema_version: int = Field(ge=1)
    tenant: str
    actor: Actor
    correlation_id: UUID
    causation_id: UUID | None
    occurred_at: datetime
    recorded_at: datetime
    payload: dict[str, Any]

    def to_wire(self) -> bytes:
        """Canonical JSON of the whole envelope (the Kafka message value, the audit input)."""
        return canonical_json(self.model_dump(mode="json"))

    @classmethod
    def from_wire(cls, data: bytes) -> RecordedEvent:
        return cls.model_validate(orjson.loads(data))


class StreamWrite(BaseModel):
    """Events to append to one stream, guarded by the version the writer last saw.

    expected_version: None = any version; 0 = the stream must not exist yet;
    n = the stream's current version must be n.
    """

    model_config = ConfigDict(frozen=True)

    stream_id: str = Field(min_length=1, max_length=300)
    stream_type: str = Field(min_length=1, max_length=100)
    expected_version: int | None = Field(default=None, ge=0)
    events: tuple[NewEvent, ...] = Field(min_length=1)
