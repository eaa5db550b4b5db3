"""The working-day calendar a process uses: the package's years plus the published ones.

Every process keeps its own CalendarBook, fed by the platform service's
`WorkdayCalendarPublished` events (embedded: the platform store's log; distributed: its
Kafka topic), so no service reads another's tables. Every service needs it, so it lives in
the kernel; the event's model stays with the platform service that publishes it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Final

from shared.envelope import RecordedEvent
from shared.lazylog import LazyLogger
from shared.workdays import WorkdayCalendar, YearCalendar

CALENDAR_PUBLISHED: Final = "WorkdayCalendarPublished"
"""The event type that carries a published year (`payload["calendar"]`)."""

log = LazyLogger("gongkai.calendar")


class CalendarBook:
    """`log_changes`: log each year the book takes (a suite process says which calendar it
    now counts with); a one-shot command (`gongkai workdays due`) prints its answer only."""

    def __init__(self, *, log_changes: bool = True) -> None:
        self.calendar = WorkdayCalendar.default()
        self.log_changes = log_changes

    def __call__(self) -> WorkdayCalendar:
        return self.calendar

    def apply(self, event: RecordedEvent) -> None:
        if event.type != CALENDAR_PUBLISHED:
            return
        year = YearCalendar.model_validate(event.payload["calendar"])
        current = self.calendar.published.get(year.year)
        if current is not None and current.version >= year.version:
            return  # replayed or out-of-date: the book already holds this or newer
        self.calendar = self.calendar.with_published(year)
        if self.log_changes:
            log.info("calendar.published", year=year.year, version=year.version)

    def apply_all(self, events: Iterable[RecordedEvent]) -> None:
        for event in events:
            self.apply(event)

    async def follow(self, events: AsyncIterator[RecordedEvent]) -> None:
        async for event in events:
            self.apply(event)
