"""The reply clock of a request, as a pure function of its state, the calendar and today.

Rules (DOMAIN.md §2): 20 working days from receipt (条例 Art. 33 ¶2), the day of
receipt not counted (民法典 Art. 201); the period restarts on the day the
corrected request arrives (Art. 30); time spent consulting a third party
(Art. 32) or another agency (Art. 34) is not counted, nor the time between a fee
notice and its payment (国办函〔2020〕109号); one extension of at most 20
working days (Art. 33 ¶2).

Decision [ours]: a consultation pauses the clock for at most the 15 working days
the consulted party has to answer; if the handler records the end later, the
extra days count. So a forgotten consultation cannot stop a clock forever.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from services.applications.state import RequestState
from shared.workdays import WorkdayCalendar, YearUsed, describe_year

REPLY_WORKING_DAYS = 20  # 条例 Art. 33 ¶2
CONSULTATION_WORKING_DAYS = 15  # 条例 Arts. 32, 34


@dataclass(frozen=True)
class Pause:
    kind: str  # consultation_third_party | consultation_agency | fee
    start: date  # the clock stops after this day
    end: date | None  # the clock runs again after this day (None: still paused)
    cap: int | None  # at most this many working days are excluded
    label: str

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "from": self.start.isoformat(),
            "to": self.end.isoformat() if self.end else None,
            "label": self.label,
        }


@dataclass(frozen=True)
class Clock:
    state: str  # running | paused | awaiting_correction | stopped
    received_on: date
    clock_start: date
    working_days_allowed: int
    working_days_used: int
    working_days_remaining: int | None
    due: date | None
    provisional: bool
    pauses: tuple[Pause, ...]
    paused_working_days: int
    calendars: tuple[str, ...]
    explanation: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, object]:
        return {
            "state": self.state,
            "received_on": self.received_on.isoformat(),
            "clock_start": self.clock_start.isoformat(),
            "working_days_allowed": self.working_days_allowed,
            "working_days_used": self.working_days_used,
            "working_days_remaining": self.working_days_remaining,
            "due": self.due.isoformat() if self.due else None,
            "provisional": self.provisional,
            "paused_intervals": [p.as_dict() for p in self.pauses],
            "paused_working_days": self.paused_working_days,
            "calendars": list(self.calendars),
            "explanation": list(self.explanation),
        }


def pauses_of(state: RequestState) -> tuple[Pause, ...]:
    """Pauses that began on or after the current clock start (a correction resets them)."""
    start = state.clock_start
    found: list[Pause] = []
    for c in state.consultations:
        if start is not None and c.started_on < start:
            continue
        kind = f"consultation_{c.party_kind.value}"
        who = "第三方" if c.party_kind.value == "third_party" else "其他行政机关"
        found.append(
            Pause(kind, c.started_on, c.ended_on, CONSULTATION_WORKING_DAYS, f"征求{who}意见")
        )
    fee = state.fee
    if fee is not None and (start is None or fee.notified_on >= start):
        found.append(Pause("fee", fee.notified_on, fee.paid_on, None, "收费通知至缴费"))
    return tuple(found)


def paused_days(pauses: tuple[Pause, ...], calendar: WorkdayCalendar, today: date) -> set[date]:
    """Working days the clock does not count: (start, end] of each pause, capped, merged."""
    days: set[date] = set()
    for pause in pauses:
        end = pause.end if pause.end is not None else today
        counted = 0
        day = pause.start
        while day < end and (pause.cap is None or counted < pause.cap):
            day += timedelta(days=1)
            if calendar.is_workday(day):
                days.add(day)
                counted += 1
    return days


def _is_open(pause: Pause, calendar: WorkdayCalendar, today: date) -> bool:
    if pause.end is not None:
        return False
    if pause.cap is None:
        return True
    return calendar.workdays_between(pause.start, today) < pause.cap


def due_date(start: date, allowed: int, skipped: set[date], calendar: WorkdayCalendar) -> date:
    """The `allowed`-th working day after `start` that is not in `skipped`."""
    day, counted = start, 0
    while counted < allowed:
        day += timedelta(days=1)
        if day not in skipped and calendar.is_workday(day):
            counted += 1
    return day


def years_used(calendar: WorkdayCalendar, first: date, last: date) -> tuple[YearUsed, ...]:
    """The schedule of each year in [first, last] (from the cached tables: the first working
    day after 31 December lies in the next year and names its schedule)."""
    return tuple(
        calendar.add_workdays(date(year - 1, 12, 31), 1).years[0]
        for year in range(first.year, last.year + 1)
    )


def calendars_used(calendar: WorkdayCalendar, first: date, last: date) -> tuple[str, ...]:
    """Source and version of each year's schedule in [first, last], the machine form
    (``2026: chinese-calendar 1.11.0 v1``) of the clock's `calendars`."""
    return tuple(f"{u.year}: {u.source} v{u.version}" for u in years_used(calendar, first, last))


def reply_due(state: RequestState, calendar: WorkdayCalendar, today: date) -> date:
    """The due date the events record (pauses counted up to `today`)."""
    assert state.clock_start is not None
    if state.later_reply_date is not None:
        return state.later_reply_date
    skipped = paused_days(pauses_of(state), calendar, today)
    return due_date(state.clock_start, REPLY_WORKING_DAYS + state.extension_days, skipped, calendar)


def compute(state: RequestState, calendar: WorkdayCalendar, today: date) -> Clock:
    """Everything a handler shows the applicant about the reply period."""
    assert state.received_on is not None and state.clock_start is not None
    start = state.clock_start
    allowed = REPLY_WORKING_DAYS + state.extension_days
    until = min(today, state.concluded_on) if state.concluded_on else today
    pauses = pauses_of(state)
    skipped = paused_days(pauses, calendar, until)
    explanation = [f"收到申请之日 {state.received_on}（条例第三十一条），当日不计入。"]
    if state.corrected_on is not None:
        explanation.append(
            f"{state.correction_notified_on} 发出补正告知；{state.corrected_on} 收到补正后的申请，"
            "答复期限自该日重新计算（条例第三十条）。"
        )
    if state.awaiting_correction:
        explanation.append(
            f"{state.correction_notified_on} 发出补正告知，补正期限 {state.correction_due}；"
            "收到补正前答复期限不起算（条例第三十条）。"
        )
        return Clock(
            "awaiting_correction", state.received_on, start, allowed, 0, None, None,
            False, pauses, 0, calendars_used(calendar, start, start), tuple(explanation),
        )  # fmt: skip
    explanation.append(f"答复期限 {REPLY_WORKING_DAYS} 个工作日（条例第三十三条第二款）。")
    for pause in pauses:
        end = pause.end.isoformat() if pause.end else "至今"
        explanation.append(f"{pause.label}：{pause.start} 至 {end}，期间不计入答复期限。")
    if state.extension_days:
        explanation.append(
            f"经政府信息公开工作机构负责人同意延长 {state.extension_days} 个工作日"
            "（条例第三十三条第二款）。"
        )
    due = due_date(start, allowed, skipped, calendar)
    if state.later_reply_date is not None:
        explanation.append(
            f"申请数量、频次明显超过合理范围，告知申请人延后至 {state.later_reply_date} 答复"
            "（条例第三十五条）。"
        )
        due = state.later_reply_date
        allowed = calendar.workdays_between(start, due) - sum(1 for d in skipped if d <= due)
    used = sum(
        1
        for offset in range(1, max(0, (until - start).days) + 1)
        if (d := start + timedelta(days=offset)) not in skipped and calendar.is_workday(d)
    )
    if state.concluded:
        clock_state = "stopped"
    elif any(_is_open(p, calendar, today) for p in pauses):
        clock_state = "paused"
    else:
        clock_state = "running"
    used_years = years_used(calendar, start + timedelta(days=1), max(due, start))
    years = tuple(f"{u.year}: {u.source} v{u.version}" for u in used_years)
    provisional = any(calendar.is_provisional(y) for y in range(start.year, due.year + 1))
    explanation.append(
        f"共计 {allowed} 个工作日，剔除暂停的 {len(skipped)} 个工作日，期限为 {due}。"
    )
    # In Chinese for the applicant; a provisional year says it is 预排 and will be recomputed.
    explanation.append("工作日历：" + "；".join(describe_year(u) for u in used_years) + "。")
    return Clock(
        clock_state,
        state.received_on,
        start,
        allowed,
        used,
        None if state.concluded else allowed - used,
        due,
        provisional,
        pauses,
        len(skipped),
        years,
        tuple(explanation),
    )
