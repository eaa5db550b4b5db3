"""Response clocks of an opinion case, from configurable rules (DOMAIN.md §4).

- Major emergency (突发公共事件, 自然灾害): authoritative information within 5 hours, a press
  conference within 24 hours (国办发〔2016〕61号 and its 80号 细则) [law, national policy].
- Other public opinion: a response within 48 hours (same documents).
- 12345 work orders [local, default 广东]: consultation 2, help and suggestion 10, complaint
  and report 15 working days; due at the end (23:59:59 Asia/Shanghai) of the last working day.
Every number is a field of `DeadlineRules`, so a district can set its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

from services.sentiment.events import Deadline, MessageKind, Source
from shared.workdays import WorkdayCalendar, local_date

SHANGHAI = ZoneInfo("Asia/Shanghai")

_HOTLINE_DEFAULTS = MappingProxyType(
    {
        MessageKind.consultation: 2,
        MessageKind.help: 10,
        MessageKind.suggestion: 10,
        MessageKind.complaint: 15,
        MessageKind.report: 15,
        MessageKind.opinion: 15,
    }
)


@dataclass(frozen=True)
class DeadlineRules:
    emergency_information_hours: int = 5
    emergency_press_conference_hours: int = 24
    opinion_response_hours: int = 48
    hotline_working_days: Mapping[MessageKind, int] = field(
        default_factory=lambda: dict(_HOTLINE_DEFAULTS)
    )
    #: Per-category hour limits for non-hotline opinion (e.g. {"卫生计生": 24}); [local].
    category_hours: Mapping[str, int] = field(default_factory=dict)


def end_of_local_day(day: date, tz: ZoneInfo = SHANGHAI) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=tz)


def case_deadlines(
    *,
    source: Source,
    kind: MessageKind,
    category: str,
    urgency: str,
    opened_at: datetime,
    calendar: WorkdayCalendar,
    rules: DeadlineRules | None = None,
) -> tuple[list[Deadline], datetime]:
    """The clocks of a new case and the response due (the earliest one to answer)."""
    r = rules or DeadlineRules()
    if urgency == "major_emergency":
        basis = "（国办发〔2016〕61号）"
        info = Deadline(
            name="authoritative_information",
            due_at=opened_at + timedelta(hours=r.emergency_information_hours),
            rule=f"重大突发事件：{r.emergency_information_hours} 小时内发布权威信息{basis}",
        )
        press = Deadline(
            name="press_conference",
            due_at=opened_at + timedelta(hours=r.emergency_press_conference_hours),
            rule=f"重大突发事件：{r.emergency_press_conference_hours} 小时内举行新闻发布会{basis}",
        )
        return [info, press], info.due_at
    if source is Source.hotline:
        days = r.hotline_working_days.get(kind, r.hotline_working_days[MessageKind.complaint])
        due = calendar.add_workdays(local_date(opened_at), days)
        response = Deadline(
            name="response",
            due_at=end_of_local_day(due.due),
            rule=f"12345 {kind.value}：{days} 个工作日（地方规定，可配置）",
            provisional=due.provisional,
        )
        return [response], response.due_at
    hours = r.category_hours.get(category, r.opinion_response_hours)
    response = Deadline(
        name="response",
        due_at=opened_at + timedelta(hours=hours),
        rule=f"政务舆情：{hours} 小时内回应（国办发〔2016〕61号）",
    )
    return [response], response.due_at


def reopened_due(now: datetime, opened_at: datetime, first_due: datetime) -> datetime:
    """重办 clock [ours]: as long as the case's first clock, counted from the reopening."""
    return now + (first_due - opened_at)
