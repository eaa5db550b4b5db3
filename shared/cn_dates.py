"""Dates and times as people in China read them (pure functions), for the page services.

Dates as 2026年12月6日 (no leading zeros), times in Beijing time on the 24-hour clock.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")


def as_date(value: date | str | None) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


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
