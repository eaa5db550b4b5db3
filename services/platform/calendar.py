"""The working-day calendar a process uses: the package's years plus published ones.

Every service process keeps its own CalendarBook, fed by the platform's events
(embedded: the platform store's log; distributed: the Kafka topic), so no
service reads another's tables.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import structlog

from services.platform.events import WorkdayCalendarPublished, registry
from shared.envelope import RecordedEvent
from shared.workdays import WorkdayCalendar

log = structlog.get_logger("gongkai.calendar")


class CalendarBook:
    def __init__(self) -> None:
        self.calendar = WorkdayCalendar.default()

    def __call__(self) -> WorkdayCalendar:
        return self.calendar

    def apply(self, event: RecordedEvent) -> None:
        if event.type != WorkdayCalendarPublished.event_type:
            return
        decoded = registry.decode(event)
        assert isinstance(decoded, WorkdayCalendarPublished)
        current = self.calendar.published.get(decoded.calendar.year)
        if current is not None and current.version >= decoded.calendar.version:
            return  # replayed or out-of-date: the book already holds this or newer
        self.calendar = self.calendar.with_published(decoded.calendar)
        log.info("calendar.published", year=decoded.calendar.year, version=decoded.calendar.version)

    def apply_all(self, events: list[RecordedEvent]) -> None:
        for event in events:
            self.apply(event)

    async def follow(self, events: AsyncIterator[RecordedEvent]) -> None:
        async for event in events:
            self.apply(event)
