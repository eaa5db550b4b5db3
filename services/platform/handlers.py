"""Publishing a year's working-day calendar (administrator only).

Not a row of a command table (shared/commands.py): publishing acts on no instance the
kernel could load first. The year's stream `workday-calendar-<year>` is created by its
first publication (the kernel's `load` refuses an empty stream as not found), the year
travels in the body rather than the path, and the rule is the calendar's own version
number: each publication is the next one. So it stays a hand-written command; its route
(api.py) still goes through the one command envelope, `shared.routes.run_command`.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from services.platform.events import WorkdayCalendarPublished
from shared.commands import actor_of
from shared.envelope import RecordedEvent, StreamWrite
from shared.errors import ValidationFailed
from shared.eventstore import EventStore
from shared.identity import Principal, Role, authorize
from shared.registry import to_new_event
from shared.workdays import YearCalendar


def calendar_stream(year: int) -> str:
    return f"workday-calendar-{year}"


async def publish_calendar(
    store: EventStore, calendar: YearCalendar, principal: Principal, correlation_id: UUID
) -> RecordedEvent:
    """Append the year's next version; the CLI (`gongkai calendar publish`) calls it too."""
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
    actor = actor_of(principal, Role.ADMINISTRATOR)
    write = StreamWrite(
        stream_id=stream,
        stream_type=event.stream_type,
        expected_version=current,
        events=(to_new_event(event, str(principal.org), actor, correlation_id),),
    )
    (recorded,) = await store.append([write])
    return recorded


def published(calendar: YearCalendar, event: RecordedEvent) -> dict[str, Any]:
    """What publishing answers: the year, its version and the event that carries it."""
    return {"year": calendar.year, "version": calendar.version, "event_id": str(event.event_id)}
