"""Dates and times as people in China read them (pure functions), for the page services.

Dates as 2026年12月6日 (no leading zeros), times in Beijing time on the 24-hour clock.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")


def as_date(value: date | str | None) -> date | None:
    """A day as it is given, or an instant's day in Beijing (an event's `published_at` of
    2026-05-20T16:00:00+00:00 is 21 May there, not 20 May)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(BEIJING).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    if len(text) > 10:
        instant = datetime.fromisoformat(text)
        return instant.astimezone(BEIJING).date() if instant.tzinfo else instant.date()
    return date.fromisoformat(text)


def cn_date(value: date | str | None) -> str:
    """2026年12月6日 (no leading zeros), or "" for nothing."""
    day = as_date(value)
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def cn_time(value: datetime | str | None) -> str:
    """2026年12月6日 14:05, Beijing time, 24-hour clock."""
    if not value:
        return ""
    instant = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    local = instant.astimezone(BEIJING)
    return f"{cn_date(local.date())} {local:%H:%M}"
