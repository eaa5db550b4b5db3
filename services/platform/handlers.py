"""Publishing a year's working-day calendar (administrator only)."""

from __future__ import annotations

from uuid import UUID

from services.platform.events import WorkdayCalendarPublished
from shared.envelope import Actor, NewEvent, RecordedEvent, StreamWrite
from shared.errors import ValidationFailed
from shared.eventstore import EventStore
from shared.identity import Principal, Role, authorize
from shared.registry import payload_of
from shared.workdays import YearCalendar


def calendar_stream(year: int) -> str:
    return f"workday-calendar-{year}"


async def publish_calendar(
    store: EventStore, calendar: YearCalendar, principal: Principal, correlation_id: UUID
) -> RecordedEvent:
    authorize(principal, str(principal.org), Role.ADMINISTRATOR)
    stream = calendar_stream(calendar.year)
    current = await store.stream_version(stream)
    if calendar.version != current + 1:
        raise ValidationFailed(
            rule="calendar.version_not_next",
            field="version",
            message_zh=f"{calendar.year} 年日历的下一个版本应为 {current + 1}",
            message_en=f"the next version of the {calendar.year} calendar is {current + 1}",
        )
    event = WorkdayCalendarPublished(calendar=calendar)
    (recorded,) = await store.append(
        [
            StreamWrite(
                stream_id=stream,
                stream_type=event.stream_type,
                expected_version=current,
                events=(
                    NewEvent(
                        type=event.event_type,
                        schema_version=event.schema_version,
                        tenant=str(principal.org),
                        actor=Actor(id=principal.sub, kind=principal.kind, role="administrator"),
                        correlation_id=correlation_id,
                        payload=payload_of(event),
                    ),
                ),
            )
        ]
    )
    return recorded
