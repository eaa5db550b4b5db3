"""Dates, times and deadlines in the words a clerk reads (pure functions).

Dates as 2026年12月6日, times in Beijing time on the 24-hour clock, and every deadline in
words as well as colour: 今天到期, 还剩3个工作日, 已超期2个工作日 (docs/workbench.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.cn_dates import BEIJING, as_date, cn_date, cn_time
from shared.workdays import WorkdayCalendar

__all__ = ["BEIJING", "URGENCY", "Deadline", "as_date", "cn_date", "cn_time", "deadline"]

#: "即将到期": at most this many working days left (the API's `due=soon` uses the same).
DUE_SOON_WORKING_DAYS = 5


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
