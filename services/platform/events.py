"""Events of the platform service."""

from __future__ import annotations

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
