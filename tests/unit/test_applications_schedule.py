"""The deadline scheduler's decisions as pure functions (条例 Arts. 30, 33, 42; DOMAIN.md §2)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.applications import jobs
from services.applications.events import (
    CorrectionLapsed,
    DeadlineApproaching,
    DeadlineMissed,
    FeeLapsed,
    FeeMode,
    ReplyDueRecomputed,
)
from services.applications.state import Fee, RequestState, evolve
from shared.envelope import new_id
from shared.workdays import WorkdayCalendar, YearCalendar

CAL = WorkdayCalendar.default()
RECEIVED = date(2026, 2, 10)  # due 2026-03-16


def state(**kw: object) -> RequestState:
    base = RequestState(request_id=new_id(), status="registered", version=1)
    return replace(base, received_on=RECEIVED, clock_start=RECEIVED, **kw)  # type: ignore[arg-type]


def test_nothing_is_due_early() -> None:
    assert jobs.due_events(state(), CAL, date(2026, 3, 2)) == []


def test_deadline_approaching_five_working_days_before_and_only_once() -> None:
    # 3/9 leaves 3/10..3/16 = 5 working days.
    (event,) = jobs.due_events(state(), CAL, date(2026, 3, 9))
    assert isinstance(event, DeadlineApproaching)
    assert (event.reply_due, event.working_days_left) == (date(2026, 3, 16), 5)
    after = evolve(state(), event)
    assert jobs.due_events(after, CAL, date(2026, 3, 10)) == []


def test_threshold_is_configurable() -> None:
    assert jobs.due_events(state(), CAL, date(2026, 3, 9), approaching_days=3) == []
    (event,) = jobs.due_events(state(), CAL, date(2026, 3, 11), approaching_days=3)
    assert isinstance(event, DeadlineApproaching)


def test_deadline_missed_the_day_after_the_due_date_and_only_once__art33() -> None:
    assert not any(
        isinstance(e, DeadlineMissed) for e in jobs.due_events(state(), CAL, date(2026, 3, 16))
    )
    (event,) = jobs.due_events(state(), CAL, date(2026, 3, 17))
    assert isinstance(event, DeadlineMissed) and event.reply_due == date(2026, 3, 16)
    assert jobs.due_events(evolve(state(), event), CAL, date(2026, 4, 1)) == []


def test_concluded_or_archived_requests_get_nothing() -> None:
    done = state(conclusion="replied", concluded_on=date(2026, 3, 1))
    assert jobs.due_events(done, CAL, date(2026, 5, 1)) == []


def test_correction_not_made_in_time_is_deemed_abandoned__art30() -> None:
    s = state(correction_notified_on=date(2026, 2, 11), correction_due=date(2026, 3, 4))
    assert jobs.due_events(s, CAL, date(2026, 3, 4)) == []
    (event,) = jobs.due_events(s, CAL, date(2026, 3, 9))
    assert isinstance(event, CorrectionLapsed) and event.lapsed_on == date(2026, 3, 5)
    assert evolve(s, event).status == "abandoned"


def test_fee_not_paid_in_time_ends_processing__art42() -> None:
    fee = Fee(FeeMode.per_page, 700, date(2026, 2, 24), date(2026, 3, 24))
    s = state(fee=fee)
    assert jobs.due_events(s, CAL, date(2026, 3, 24)) == []
    (event,) = jobs.due_events(s, CAL, date(2026, 3, 25))
    assert isinstance(event, FeeLapsed)
    assert (evolve(s, event).status, evolve(s, event).report_row) == ("fee_lapsed", "三(六)2")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=40))
def test_running_the_scheduler_day_after_day_emits_each_threshold_at_most_once(
    gaps: list[int],
) -> None:
    """However often (or rarely) it runs, including after a restart that refolds the state."""
    s = state()
    today = RECEIVED
    seen: list[str] = []
    for gap in gaps:
        today += timedelta(days=gap)
        for event in jobs.due_events(s, CAL, today):
            seen.append(event.event_type)
            s = evolve(s, event)
    assert seen.count("DeadlineApproaching") <= 1 and seen.count("DeadlineMissed") <= 1
    if today > date(2026, 3, 16):
        assert seen.count("DeadlineMissed") == 1


def test_publishing_next_years_calendar_recomputes_a_provisional_due_date__domain_s6() -> None:
    """Received 2026-12-18, the due date falls in 2027 (provisional). When the operator
    publishes 2027 with 1/4 off, the scheduler records the new date as an event, once."""
    received = date(2026, 12, 18)
    provisional_due = CAL.add_workdays(received, 20)
    assert provisional_due.provisional
    s = replace(state(), received_on=received, clock_start=received, reply_due=provisional_due.due)
    assert jobs.due_events(s, CAL, date(2026, 12, 21)) == []
    published = CAL.with_published(
        YearCalendar(
            year=2027,
            holidays=frozenset({date(2027, 1, 1), date(2027, 1, 4)}),
            source="国办发明电〔2026〕示例号",
        )
    )
    (event,) = jobs.due_events(s, published, date(2026, 12, 21))
    assert isinstance(event, ReplyDueRecomputed)
    assert event.previous_reply_due == provisional_due.due
    assert event.reply_due == published.add_workdays(received, 20).due > provisional_due.due
    assert not event.provisional and any("国办发明电" in c for c in event.calendars)
    assert jobs.due_events(evolve(s, event), published, date(2026, 12, 21)) == []
