"""When the daily column check runs (services/catalog/column_checks.py): pure.

A working day of the published calendar (调休 included), after the configured local hour,
from the district's start date, once a day (issue #21; DOMAIN.md §1)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.catalog.column_checks import ColumnCheckSchedule
from shared.settings import Settings
from shared.workdays import WorkdayCalendar

pytestmark = pytest.mark.unit
CAL = WorkdayCalendar.default()


def at(local: str) -> datetime:
    return datetime.fromisoformat(local + "+08:00").astimezone(UTC)


def test_runs_on_a_working_day_after_the_hour_once() -> None:
    plan = ColumnCheckSchedule()
    assert not plan.due(at("2026-03-02T07:59:00"), CAL, None)
    assert plan.due(at("2026-03-02T08:00:00"), CAL, None)
    assert not plan.due(at("2026-03-02T16:00:00"), CAL, date(2026, 3, 2))
    assert plan.due(at("2026-03-03T08:30:00"), CAL, date(2026, 3, 2))


def test_the_hour_is_local_time_not_utc() -> None:
    # 2026-03-02 01:00 UTC is 09:00 in Shanghai; 2026-03-01 23:30 UTC is Monday 07:30 there.
    plan = ColumnCheckSchedule()
    assert plan.due(datetime(2026, 3, 2, 1, 0, tzinfo=UTC), CAL, None)
    assert not plan.due(datetime(2026, 3, 1, 23, 30, tzinfo=UTC), CAL, None)


def test_not_on_days_off_but_on_adjusted_working_weekends() -> None:
    plan = ColumnCheckSchedule()
    assert not plan.due(at("2026-03-07T10:00:00"), CAL, None)  # a Saturday
    assert not plan.due(at("2026-10-01T10:00:00"), CAL, None)  # 国庆节
    days = (date(2026, 1, 1) + timedelta(days=n) for n in range(365))
    weekend_workday = next(d for d in days if d.weekday() >= 5 and CAL.is_workday(d))  # 调休
    assert plan.due(at(f"{weekend_workday.isoformat()}T10:00:00"), CAL, None)


def test_the_district_turns_it_off_or_starts_it_later() -> None:
    assert not ColumnCheckSchedule(enabled=False).due(at("2026-03-02T10:00:00"), CAL, None)
    later = ColumnCheckSchedule(start=date(2026, 4, 1))
    assert not later.due(at("2026-03-31T10:00:00"), CAL, None)
    assert later.due(at("2026-04-01T10:00:00"), CAL, None)


def test_read_from_the_settings() -> None:
    settings = Settings(column_checks="on", column_checks_hour=9, column_checks_from="2026-05-06")
    assert ColumnCheckSchedule.of(settings) == ColumnCheckSchedule(True, 9, date(2026, 5, 6))
    assert not ColumnCheckSchedule.of(Settings(column_checks="off")).enabled
