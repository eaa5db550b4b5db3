"""The reply clock (条例 Arts. 30–34; 民法典 Art. 201; DOMAIN.md §2, §6): property tests and
fixed cases across 春节, 国庆 and 调休 Saturdays."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.applications import clock
from services.applications.events import PartyKind
from services.applications.state import Consultation, RequestState
from shared.envelope import new_id
from shared.workdays import WorkdayCalendar

CAL = WorkdayCalendar.default()
days_2024_2026 = st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 10, 31))


def state(received: date, **kw: object) -> RequestState:
    return replace(
        RequestState(request_id=new_id(), status="registered", version=1),
        received_on=received,
        clock_start=received,
        **kw,  # type: ignore[arg-type]
    )


def consultation(start: date, end: date | None) -> Consultation:
    return Consultation(
        new_id(), PartyKind.agency, "上党区财政局", start, CAL.add_workdays(start, 15).due, end
    )


# --- fixed cases -------------------------------------------------------------------------


def test_spring_festival_2026_domain_example__art33() -> None:
    """DOMAIN.md §2: received 2026-02-10 ⇒ 2026-03-16 (春节 2/15–23 off, Sat 2/14 worked)."""
    view = clock.compute(state(date(2026, 2, 10)), CAL, date(2026, 2, 10))
    assert view.due == date(2026, 3, 16)
    assert (view.working_days_used, view.working_days_remaining) == (0, 20)
    assert view.calendars == ("2026: chinese-calendar 1.11.0 v1",)
    assert not view.provisional


def test_spring_festival_2025_with_sunday_and_saturday_makeup_days__art33() -> None:
    """Received Fri 2025-01-24: Sun 1/26 and Sat 2/8 are 调休 working days; 1/28–2/4 off."""
    assert clock.compute(state(date(2025, 1, 24)), CAL, date(2025, 1, 24)).due == date(2025, 2, 27)


def test_national_day_2024_with_makeup_sunday_and_saturday__art33() -> None:
    """Received Fri 2024-09-27: Sun 9/29 and Sat 10/12 are worked; 10/1–7 off."""
    assert clock.compute(state(date(2024, 9, 27)), CAL, date(2024, 9, 27)).due == date(2024, 10, 30)


def test_consultation_across_national_day_2025_pauses_five_working_days__art34() -> None:
    """Received 2025-09-30 (due 11/04); consulting 10/9–10/15 stops 10/10, 10/11 (调休 Sat),
    10/13, 10/14, 10/15: the due date moves five working days to 2025-11-11."""
    s = state(
        date(2025, 9, 30), consultations=(consultation(date(2025, 10, 9), date(2025, 10, 15)),)
    )
    view = clock.compute(s, CAL, date(2025, 10, 20))
    assert view.due == date(2025, 11, 11)
    assert view.paused_working_days == 5
    assert view.pauses[0].end == date(2025, 10, 15)
    # 10/9 counted, 10/10–10/15 paused, 10/16, 10/17, 10/20 counted (+ 9/30 not counted).
    assert view.working_days_used == 4
    assert view.working_days_remaining == 16
    assert any("征求其他行政机关意见" in line for line in view.explanation)


def test_open_consultation_shows_a_paused_clock__art32() -> None:
    s = state(date(2026, 3, 2), consultations=(consultation(date(2026, 3, 5), None),))
    view = clock.compute(s, CAL, date(2026, 3, 10))
    assert view.state == "paused"
    assert view.working_days_used == 3  # 3/3, 3/4, 3/5


def test_a_year_without_a_published_calendar_is_provisional__domain_s6() -> None:
    view = clock.compute(state(date(2026, 12, 18)), CAL, date(2026, 12, 18))
    assert view.provisional
    assert any(c.startswith("2027: provisional") for c in view.calendars)
    assert any("预排" in line for line in view.explanation)
    # What the applicant is shown names the calendars in Chinese (the codes stay in calendars).
    (line,) = [line for line in view.explanation if line.startswith("工作日历：")]
    assert line.startswith("工作日历：2026年：国务院办公厅公布的节假日安排（chinese-calendar")
    assert "2027年：暂按周末及固定日期法定节假日（元旦、劳动节、国庆）预排" in line
    assert "provisional" not in line and "weekends" not in line


def test_concluded_request_stops_the_clock() -> None:
    s = replace(state(date(2026, 3, 2)), conclusion="replied", concluded_on=date(2026, 3, 6))
    view = clock.compute(s, CAL, date(2026, 5, 1))
    assert view.state == "stopped" and view.working_days_used == 4
    assert view.working_days_remaining is None


# --- properties --------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(received=days_2024_2026)
def test_without_pauses_the_due_date_is_the_twentieth_working_day__art33(received: date) -> None:
    view = clock.compute(state(received), CAL, received)
    assert view.due == CAL.add_workdays(received, 20).due
    assert CAL.workdays_between(received, view.due) == 20


@settings(max_examples=150, deadline=None)
@given(received=days_2024_2026, extra=st.integers(min_value=1, max_value=20))
def test_an_extension_adds_exactly_its_working_days__art33(received: date, extra: int) -> None:
    view = clock.compute(state(received, extension_days=extra), CAL, received)
    assert view.due == CAL.add_workdays(received, 20 + extra).due


@settings(max_examples=150, deadline=None)
@given(
    received=days_2024_2026,
    offset=st.integers(min_value=0, max_value=30),
    length=st.integers(min_value=0, max_value=40),
    today_offset=st.integers(min_value=0, max_value=90),
)
def test_paused_days_are_never_counted_and_the_due_date_never_moves_earlier__art32_art34(
    received: date, offset: int, length: int, today_offset: int
) -> None:
    start = received + timedelta(days=offset)
    s = state(received, consultations=(consultation(start, start + timedelta(days=length)),))
    today = received + timedelta(days=today_offset)
    view = clock.compute(s, CAL, today)
    plain = CAL.add_workdays(received, 20).due
    assert view.due is not None and view.due >= plain
    skipped = clock.paused_days(clock.pauses_of(s), CAL, today)
    assert len(skipped) <= clock.CONSULTATION_WORKING_DAYS
    counted = [
        d
        for d in (received + timedelta(days=i) for i in range(1, (view.due - received).days + 1))
        if CAL.is_workday(d) and d not in skipped
    ]
    assert len(counted) == 20 and counted[-1] == view.due
    if view.state == "running" and today <= view.due:
        assert view.working_days_used + (view.working_days_remaining or 0) == 20
