"""Event types, their schema versions and the upcasters between them.

Each domain event is a pydantic model subclassing `DomainEvent` with a
`event_type` and a `schema_version`. A registry maps (type, version) to the
model. Old events stay readable forever: a stored payload of an older version
is passed through the chain of upcasters up to the current model before it is
validated. contracts/ is generated from the registry (gongkai/contracts.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, ValidationError

from shared.envelope import Actor, NewEvent, RecordedEvent, StreamWrite
from shared.errors import ValidationFailed

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class DomainEvent(BaseModel):
    """The payload of one event type at one schema version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    stream_type: ClassVar[str]
    # The topic's service; set by each service's registry.
    service: ClassVar[str] = ""


@dataclass
class EventRegistry:
    """All event models of one service (or of the suite, merged)."""

    service: str
    _current: dict[str, type[DomainEvent]] = field(default_factory=dict)
    _upcasters: dict[tuple[str, int], Upcaster] = field(default_factory=dict)
    _historic: dict[tuple[str, int], type[DomainEvent]] = field(default_factory=dict)

    def register(self, model: type[DomainEvent]) -> type[DomainEvent]:
        """Register the current version of an event type (usable as a class decorator)."""
        model.service = self.service
        existing = self._current.get(model.event_type)
        if existing is not None and existing is not model:
            raise ValueError(f"event type {model.event_type} registered twice")
        self._current[model.event_type] = model
        self._historic[(model.event_type, model.schema_version)] = model
        return model

    def register_historic(self, model: type[DomainEvent], upcaster: Upcaster) -> None:
        """Keep an old schema version readable: `upcaster` lifts its payload one version up."""
        model.service = self.service
        self._historic[(model.event_type, model.schema_version)] = model
        self._upcasters[(model.event_type, model.schema_version)] = upcaster

    def model_for(self, event_type: str) -> type[DomainEvent]:
        try:
            return self._current[event_type]
        except KeyError:
            raise ValidationFailed(
                rule="event.unknown_type",
                field="type",
                message_zh=f"未知的事件类型：{event_type}",
                message_en=f"unknown event type: {event_type}",
            ) from None

    def knows(self, event_type: str) -> bool:
        return event_type in self._current

    def upcast(self, event_type: str, version: int, payload: dict[str, Any]) -> dict[str, Any]:
        """Lift a stored payload from `version` to the current schema version."""
        current = self.model_for(event_type).schema_version
        if version > current:
            raise ValidationFailed(
                rule="event.version_from_future",
                field="schema_version",
                message_zh=f"事件 {event_type} 的版本 {version} 高于本程序支持的 {current}",
                message_en=(
                    f"{event_type} v{version} is newer than this build supports (v{current})"
                ),
            )
        while version < current:
            step = self._upcasters.get((event_type, version))
            if step is None:
                raise ValidationFailed(
                    rule="event.no_upcaster",
                    field="schema_version",
                    message_zh=f"缺少 {event_type} 从版本 {version} 升级的转换器",
                    message_en=f"no upcaster for {event_type} from v{version}",
                )
            payload = step(payload)
            version += 1
        return payload

    def decode(self, event: RecordedEvent) -> DomainEvent:
        """The typed payload of a recorded event, upcast to the current version.

        A payload of the current version is validated as it is: no upcaster runs, so
        there is nothing to copy (validation does not change its input). An older one is
        copied first, as upcasters may change the dict they are given.
        """
        model = self._current.get(event.type)
        if model is not None and event.schema_version == model.schema_version:
            payload = event.payload
        else:
            model = self.model_for(event.type)
            payload = self.upcast(event.type, event.schema_version, dict(event.payload))
        try:
            return model.model_validate(payload)
        except ValidationError as exc:
            raise ValidationFailed(
                rule="event.payload_invalid",
                field="payload",
                message_zh=f"事件 {event.type} 的内容不符合其模式",
                message_en=f"payload of {event.type} does not match its schema: {exc}",
            ) from exc

    def models(self) -> Iterator[type[DomainEvent]]:
        """Every model, historic versions included, sorted by (type, version)."""
        for key in sorted(self._historic):
            yield self._historic[key]

    def merged(self, *others: EventRegistry) -> EventRegistry:
        merged = EventRegistry(service="suite")
        for reg in (self, *others):
            merged._current.update(reg._current)
            merged._upcasters.update(reg._upcasters)
            merged._historic.update(reg._historic)
        return merged


def payload_of(event: DomainEvent) -> dict[str, Any]:
    """The JSON-ready payload of a domain event."""
    return event.model_dump(mode="json")


def to_new_event(
    event: DomainEvent, tenant: str, actor: Actor, correlation_id: UUID | None = None
) -> NewEvent:
    """Wrap a domain event in the envelope a store appends (a fresh correlation id if none)."""
    extra = {"correlation_id": correlation_id} if correlation_id is not None else {}
    return NewEvent(
        type=event.event_type,
        schema_version=event.schema_version,
        tenant=tenant,
        actor=actor,
        payload=payload_of(event),
        **extra,
    )


def access_write(
    event: DomainEvent, tenant: str, actor: Actor, correlation_id: UUID | None = None
) -> StreamWrite:
    """The append that records a read of personal data (an access event: who read whose
    data, through which endpoint; references only), on the reader's own access stream
    `personal-data-access-<reader>`, which the audit chain records like any other."""
    return StreamWrite(
        stream_id=f"personal-data-access-{actor.id}",
        stream_type=event.stream_type,
        events=(to_new_event(event, tenant, actor, correlation_id),),
    )
