"""Events of the platform service."""

from __future__ import annotations

from pydantic import Field

from shared.calendar_book import CALENDAR_PUBLISHED
from shared.registry import DomainEvent, EventRegistry
from shared.workdays import YearCalendar

registry = EventRegistry(service="platform")


@registry.register
class WorkdayCalendarPublished(DomainEvent):
    """An operator published a year's 法定节假日 and 调休 schedule (国务院办公厅通知).

    Deadlines in that year stop being provisional; services recompute them.
    """

    event_type = CALENDAR_PUBLISHED
    stream_type = "workday-calendar"

    calendar: YearCalendar


#: Operations on parked events (docs/operations.md "A projection parked events"): one
#: stream per action, so the compacted platform topic (one kept event per key) keeps every
#: one of them for the audit chain.
PARKED_EVENTS_STREAM = "parked-events"


@registry.register
class ParkedEventsRetried(DomainEvent):
    """An administrator re-drove a stream's parked events through a projection (a consumer)
    after a fix: which were applied, which are still parked, and why."""

    event_type = "ParkedEventsRetried"
    stream_type = PARKED_EVENTS_STREAM

    projection_service: str = Field(description="the service whose read model parked them")
    consumer: str = Field(description="the projection or consumer group that parked them")
    stream_id: str = Field(description="the stream whose events were parked")
    applied: list[str] = Field(description="ids of the events applied now, in stream order")
    still_parked: list[str] = Field(description="ids of the events parked again")
    reason: str | None = Field(default=None, description="why the first of them failed again")


@registry.register
class ParkedEventsDiscarded(DomainEvent):
    """An administrator discarded a stream's parked events: the read model will not apply
    them (a rebuild would meet them again)."""

    event_type = "ParkedEventsDiscarded"
    stream_type = PARKED_EVENTS_STREAM

    projection_service: str = Field(description="the service whose read model parked them")
    consumer: str = Field(description="the projection or consumer group that parked them")
    stream_id: str = Field(description="the stream whose events were parked")
    event_ids: list[str] = Field(description="ids of the discarded events, in stream order")
    reason: str = Field(min_length=2, max_length=500, description="why, in the operator's words")
