"""Dates, times and deadlines in the words a clerk reads (pure functions).

Dates as 2026年12月6日, times in Beijing time on the 24-hour clock, and every deadline in
words as well as colour: 今天到期, 还剩3个工作日, 已超期2个工作日 (docs/workbench.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from shared.workdays import WorkdayCalendar

BEIJING = ZoneInfo("Asia/Shanghai")
#: "即将到期": at most this many working days left (the API's `due=soon` uses the same).
DUE_SOON_WORKING_DAYS = 5


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


@dataclass(frozen=True)
class Deadline:
    """A due date as a person reads it: a level (for colour and sorting) and words."""

    #: overdue | today | soon | later | paused | done | none
    level: str
    words: str
    #: Working days left (negative: overdue), None when no clock runs.
    remaining: int | None = None

    @property
    def css(self) -> str:
        return f"due-{self.level}"


def deadline(
    due: date | str | None,
    today: date,
    calendar: WorkdayCalendar,
    *,
    paused: str | None = None,
    done: str | None = None,
) -> Deadline:
    """今天到期 / 还剩N个工作日 / 已超期N个工作日; a paused or finished clock says so."""
    if done:
        return Deadline("done", done)
    if paused:
        return Deadline("paused", paused)
    day = as_date(due)
    if day is None:
        return Deadline("none", "未定期限")
    if day == today:
        return Deadline("today", "今天到期", 0)
    if day < today:
        late = calendar.workdays_between(day, today)
        words = f"已超期{late}个工作日" if late > 0 else "已超期"
        return Deadline("overdue", words, -max(late, 1))
    left = calendar.workdays_between(today, day)
    level = "soon" if left <= DUE_SOON_WORKING_DAYS else "later"
    return Deadline(level, f"还剩{left}个工作日", left)


#: The order of the queue's tabs and of the levels within a list (most urgent first).
URGENCY = {"overdue": 0, "today": 1, "soon": 2, "later": 3, "paused": 4, "none": 5, "done": 6}
