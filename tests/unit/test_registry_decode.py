"""`EventRegistry.decode`: a current payload is validated as stored, an older one is upcast
on a copy (the recorded event is never changed), and the errors stay the same."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.envelope import Actor, RecordedEvent
from shared.errors import ValidationFailed
from shared.registry import DomainEvent, EventRegistry

pytestmark = pytest.mark.unit

registry = EventRegistry(service="test")


@registry.register
class Named(DomainEvent):
    event_type = "Named"
    schema_version = 2
    stream_type = "thing"

    name: str
    tags: list[str]


class NamedV1(DomainEvent):
    event_type = "Named"
    schema_version = 1
    stream_type = "thing"

    title: str


def _v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    payload["name"] = payload.pop("title")  # changes the dict it is given, on purpose
    payload["tags"] = []
    return payload


registry.register_historic(NamedV1, _v1_to_v2)


def _event(version: int, payload: dict[str, Any], kind: str = "Named") -> RecordedEvent:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    return RecordedEvent(
        event_id=uuid.uuid4(),
        stream_id="thing-1",
        stream_type="thing",
        version=1,
        position=1,
        type=kind,
        schema_version=version,
        tenant="shangdang/sudian",
        actor=Actor(id="wang-tietong"),
        correlation_id=uuid.uuid4(),
        causation_id=None,
        occurred_at=now,
        recorded_at=now,
        payload=payload,
    )


def test_a_current_payload_is_validated_and_left_as_it_was() -> None:
    event = _event(2, {"name": "苏店镇", "tags": ["依申请公开"]})
    assert registry.decode(event) == Named(name="苏店镇", tags=["依申请公开"])
    assert event.payload == {"name": "苏店镇", "tags": ["依申请公开"]}


def test_an_old_payload_is_upcast_on_a_copy() -> None:
    event = _event(1, {"title": "韩店镇"})
    assert registry.decode(event) == Named(name="韩店镇", tags=[])
    assert event.payload == {"title": "韩店镇"}  # the recorded event is unchanged


@pytest.mark.parametrize(
    ("version", "payload", "kind", "rule"),
    [
        (2, {"name": "x", "tags": "not a list"}, "Named", "event.payload_invalid"),
        (2, {"name": "x", "tags": [], "extra": 1}, "Named", "event.payload_invalid"),
        (3, {"name": "x", "tags": []}, "Named", "event.version_from_future"),
        (1, {"name": "x"}, "Unknown", "event.unknown_type"),
    ],
)
def test_refusals(version: int, payload: dict[str, Any], kind: str, rule: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        registry.decode(_event(version, payload, kind))
    assert caught.value.rule == rule
