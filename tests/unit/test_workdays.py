"""Working-day calendar: DOMAIN §2 (counting, 民法典 Art. 201) and §6 (schedules)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.errors import ValidationFailed
from shared.workdays import (
    PACKAGE_SOURCE,
    PROVISIONAL_SOURCE,
    SHANGHAI,
    DueDate,
    WorkdayCalendar,
    YearCalendar,
    YearUsed,
    calendar_from_chinese_calendar,
    format_due,
    local_date,
    parse_year_calendar,
)

pytestmark = pytest.mark.unit

CALENDAR = WorkdayCalendar.default()

# DOMAIN §6, the State Council schedules as announced: (first, last) days off and
# the weekend days worked (调休上班), written as MM-DD.
Schedule = tuple[tuple[tuple[str, str], ...], tuple[str, ...]]
SCHEDULES: dict[int, Schedule] = {
    2024: (
        (
            ("01-01", "01-01"),  # 元旦
            ("02-10", "02-17"),  # 春节
            ("04-04", "04-06"),  # 清明
            ("05-01", "05-05"),  # 劳动
            ("06-10", "06-10"),  # 端午
            ("09-15", "09-17"),  # 中秋
            ("10-01", "10-07"),  # 国庆
        ),
        ("02-04", "02-18", "04-07", "04-28", "05-11", "09-14", "09-29", "10-12"),
    ),
    2025: (
        (
            ("01-01", "01-01"),
            ("01-28", "02-04"),
            ("04-04", "04-06"),
            ("05-01", "05-05"),
            ("05-31", "06-02"),
            ("10-01", "10-08"),  # 国庆 + 中秋
        ),
        ("01-26", "02-08", "04-27", "09-28", "10-11"),
    ),
    2026: (
        (
            ("01-01", "01-03"),
            ("02-15", "02-23"),
            ("04-04", "04-06"),
            ("05-01", "05-05"),
            ("06-19", "06-21"),
            ("09-25", "09-27"),
            ("10-01", "10-07"),
        ),
        ("01-04", "02-14", "02-28", "05-09", "09-20", "10-10"),
    ),
}

# An invented but plausible 2027 schedule (春节 on 2/6/2027), standing in for the
# notice an operator would publish in late 2026. Not an official schedule.
OPERATOR_SOURCE_2027 = "operator: 国办发明电〔2026〕x号 (test fixture)"


def _d(year: int, month_day: str) -> date:
    month, day = month_day.split("-")
    return date(year, int(month), int(day))


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _schedule_sets(year: int) -> tuple[set[date], set[date]]:
    breaks, worked = SCHEDULES[year]
    off = {day for first, last in breaks for day in _days(_d(year, first), _d(year, last))}
    return off, {_d(year, month_day) for month_day in worked}


def year_calendar(**overrides: Any) -> YearCalendar:
    """Factory for a valid operator-published calendar; override one field to break it."""
    fields: dict[str, Any] = {
        "year": 2027,
        "holidays": [
            "2027-01-01",
            *(f"2027-02-{day:02d}" for day in (5, 8, 9, 10, 11, 12)),
            "2027-04-05",
            "2027-05-03",
            "2027-05-04",
            "2027-05-05",
            "2027-06-09",
            "2027-09-15",
            "2027-10-01",
            "2027-10-04",
            "2027-10-05",
            "2027-10-06",
            "2027-10-07",
        ],
        "makeup_workdays": ["2027-02-20", "2027-04-25", "2027-09-26", "2027-10-09"],
        "source": OPERATOR_SOURCE_2027,
        "version": 1,
    }
    fields.update(overrides)
    return YearCalendar.model_validate(fields)


# --- DOMAIN §6: the official schedules, day by day -------------------------------


@pytest.mark.parametrize("year", sorted(SCHEDULES))
def test_every_day_matches_state_council_schedule__domain_s6(year: int) -> None:
    off, worked = _schedule_sets(year)
    mismatches = []
    for day in _days(date(year, 1, 1), date(year, 12, 31)):
        expected = day in worked or (day.weekday() < 5 and day not in off)
        if CALENDAR.is_workday(day) != expected:
            mismatches.append((day.isoformat(), expected))
    assert mismatches == []
    assert not CALENDAR.is_provisional(year)


@pytest.mark.parametrize("year", sorted(SCHEDULES))
def test_package_calendar_holds_weekday_holidays_and_weekend_makeup_days__domain_s6(
    year: int,
) -> None:
    off, worked = _schedule_sets(year)
    calendar = calendar_from_chinese_calendar(year)
    assert calendar is not None
    assert calendar.holidays == {day for day in off if day.weekday() < 5}
    assert calendar.makeup_workdays == worked
    assert (calendar.source, calendar.version) == (PACKAGE_SOURCE, 1)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 2, 14), True),  # Saturday, 调休上班 before 春节
        (date(2026, 2, 28), True),  # Saturday, 调休上班 after 春节
        (date(2026, 2, 16), False),  # Monday inside 春节
        (date(2026, 2, 23), False),  # Monday, last day of 春节
        (date(2025, 9, 28), True),  # Sunday before 国庆+中秋
        (date(2025, 10, 8), False),
        (date(2025, 10, 11), True),  # Saturday after 国庆+中秋
        (date(2024, 5, 11), True),  # Saturday after 劳动节
        (date(2026, 3, 7), False),  # an ordinary Saturday
    ],
)
def test_spot_days__domain_s6(day: date, working: bool) -> None:
    assert CALENDAR.is_workday(day) is working


# --- DOMAIN §2: counting (start day not counted, 民法典 Art. 201) ----------------


def test_twenty_working_days_from_feb_10_2026__domain_s2_example() -> None:
    due = CALENDAR.add_workdays(date(2026, 2, 10), 20)
    assert due.due == date(2026, 3, 16)
    assert due.provisional is False
    assert due.years == (YearUsed(2026, PACKAGE_SOURCE, 1),)
    assert CALENDAR.workdays_between(date(2026, 2, 10), date(2026, 3, 16)) == 20


def test_extension_of_twenty_more_working_days__art33() -> None:
    reply = CALENDAR.add_workdays(date(2026, 2, 10), 20)
    extended = CALENDAR.add_workdays(reply.due, 20)
    assert extended.due == date(2026, 4, 14)  # 清明 4/4–6 skipped
    assert CALENDAR.add_workdays(date(2026, 2, 10), 40).due == extended.due


@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        (date(2026, 2, 13), 1, date(2026, 2, 14)),  # Friday → 调休 Saturday
        (date(2026, 2, 14), 1, date(2026, 2, 24)),  # over 春节 2/15–23
        (date(2026, 2, 12), 4, date(2026, 2, 25)),  # 2/13, 2/14, 2/24, 2/25
        (date(2026, 2, 27), 1, date(2026, 2, 28)),  # Friday → 调休 Saturday
    ],
)
def test_counting_across_spring_festival_2026__domain_s2_s6(start: date, n: int, due: date) -> None:
    assert CALENDAR.add_workdays(start, n).due == due


@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        (date(2025, 9, 26), 1, date(2025, 9, 28)),  # Friday → 调休 Sunday
        (date(2025, 9, 30), 1, date(2025, 10, 9)),  # over 国庆+中秋 10/1–8
        (date(2025, 9, 30), 3, date(2025, 10, 11)),  # 调休 Saturday counted
        (date(2025, 9, 30), 4, date(2025, 10, 13)),
    ],
)
def test_counting_across_national_day_2025__domain_s2_s6(start: date, n: int, due: date) -> None:
    assert CALENDAR.add_workdays(start, n).due == due
    assert CALENDAR.workdays_between(start, due) == n


def test_makeup_saturday_is_counted__domain_s6() -> None:
    assert CALENDAR.add_workdays(date(2026, 5, 8), 1).due == date(2026, 5, 9)
    assert CALENDAR.add_workdays(date(2024, 5, 10), 1).due == date(2024, 5, 11)


def test_correction_notice_within_seven_working_days__art30() -> None:
    # 9/20 is a 调休 Sunday, 中秋 9/25–27 is off.
    assert CALENDAR.add_workdays(date(2026, 9, 18), 7).due == date(2026, 9, 29)


def test_start_day_not_counted_even_when_it_is_a_holiday__minfadian_art201() -> None:
    assert CALENDAR.add_workdays(date(2026, 2, 16), 1).due == date(2026, 2, 24)
    assert CALENDAR.add_workdays(date(2026, 3, 2), 1).due == date(2026, 3, 3)


def test_zero_working_days_is_the_start_day__domain_s2() -> None:
    due = CALENDAR.add_workdays(date(2026, 2, 15), 0)
    assert (due.due, due.provisional, due.years) == (date(2026, 2, 15), False, ())


def test_negative_count_is_refused__domain_s2() -> None:
    with pytest.raises(ValidationFailed) as refused:
        CALENDAR.add_workdays(date(2026, 2, 10), -1)
    assert (refused.value.rule, refused.value.field) == ("workdays.count_invalid", "days")


def test_datetime_is_refused_where_a_date_is_required__architecture_time() -> None:
    with pytest.raises(ValidationFailed) as refused:
        CALENDAR.add_workdays(datetime(2026, 2, 10, tzinfo=UTC), 1)
    assert (refused.value.rule, refused.value.field) == ("workdays.date_required", "start")


def test_workdays_between_is_signed__domain_s2() -> None:
    assert CALENDAR.workdays_between(date(2026, 3, 16), date(2026, 2, 10)) == -20
    assert CALENDAR.workdays_between(date(2026, 2, 10), date(2026, 2, 10)) == 0


def test_format_due_prints_iso_date_and_provisional_flag__cli() -> None:
    assert format_due(CALENDAR.add_workdays(date(2026, 2, 10), 20)) == "2026-03-16"
    assert format_due(CALENDAR.add_workdays(date(2027, 2, 1), 10)) == "2027-02-15 provisional"


# --- Provisional years and operator publishing (DOMAIN §6, ARCHITECTURE) ---------


def test_package_does_not_cover_2027__domain_s6() -> None:
    assert calendar_from_chinese_calendar(2027) is None
    assert calendar_from_chinese_calendar(2003) is None
    assert CALENDAR.is_provisional(2027)
    assert CALENDAR.calendar_for(2027) is None


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2027, 1, 1), False),  # 元旦, fixed date
        (date(2027, 10, 1), False),  # 国庆, fixed date
        (date(2027, 10, 4), True),  # Monday: the rest of the break is not predictable
        (date(2027, 2, 8), True),  # 春节 is lunar: not in the fallback
        (date(2028, 5, 2), False),  # 劳动节 day 2 (a Tuesday)
        (date(2028, 5, 3), True),
        (date(2027, 2, 20), False),  # no 调休 Saturdays in the fallback
    ],
)
def test_fallback_is_weekends_plus_fixed_date_holidays__domain_s6(day: date, working: bool) -> None:
    assert CALENDAR.is_workday(day) is working


def test_deadline_in_unpublished_year_is_provisional__domain_s6() -> None:
    due = CALENDAR.add_workdays(date(2027, 2, 1), 10)
    assert due.due == date(2027, 2, 15)
    assert due.provisional is True
    assert due.years == (YearUsed(2027, PROVISIONAL_SOURCE, 0),)


def test_provisional_deadline_is_recomputed_once_the_year_is_published__domain_s6() -> None:
    published = CALENDAR.with_published(year_calendar())
    due = published.add_workdays(date(2027, 2, 1), 10)
    assert due.due == date(2027, 2, 22)  # 春节 off, 2/20 worked
    assert due.provisional is False
    assert due.years == (YearUsed(2027, OPERATOR_SOURCE_2027, 1),)
    assert not published.is_provisional(2027)
    assert CALENDAR.is_provisional(2027)  # the original is untouched


def test_deadline_spanning_into_unpublished_year_is_provisional__domain_s6() -> None:
    due = CALENDAR.add_workdays(date(2026, 12, 28), 10)
    assert due.provisional is True
    assert [used.year for used in due.years] == [2026, 2027]
    assert CALENDAR.add_workdays(date(2026, 12, 28), 3).provisional is False


def test_published_calendar_overrides_the_package__architecture_time() -> None:
    package_2026 = calendar_from_chinese_calendar(2026)
    assert package_2026 is not None
    corrected = YearCalendar.model_validate(
        package_2026.model_dump()
        | {
            "holidays": sorted(package_2026.holidays | {date(2026, 3, 2)}),
            "source": "operator: 2026 correction",
        }
    )
    published = CALENDAR.with_published(corrected)
    due = published.add_workdays(date(2026, 2, 10), 20)
    assert due.due == date(2026, 3, 17)
    assert due.years == (YearUsed(2026, "operator: 2026 correction", 1),)
    assert CALENDAR.add_workdays(date(2026, 2, 10), 20).due == date(2026, 3, 16)


@pytest.mark.parametrize(("published", "offered"), [(1, 1), (2, 1), (3, 2)])
def test_republishing_needs_a_newer_version__calendar_version_not_newer(
    published: int, offered: int
) -> None:
    calendar = CALENDAR.with_published(year_calendar(version=published))
    with pytest.raises(ValidationFailed) as refused:
        calendar.with_published(year_calendar(version=offered))
    assert (refused.value.rule, refused.value.field) == ("calendar.version_not_newer", "version")


def test_operator_may_publish_a_year_the_package_covers__architecture_time() -> None:
    package_2026 = calendar_from_chinese_calendar(2026)
    assert package_2026 is not None
    republished = YearCalendar.model_validate(
        package_2026.model_dump() | {"source": "operator: 国办发明电〔2025〕x号"}
    )
    assert CALENDAR.with_published(republished).published[2026] == republished


def test_newer_version_replaces_the_published_year__domain_s6() -> None:
    first = CALENDAR.with_published(year_calendar())
    second = first.with_published(
        year_calendar(version=2, makeup_workdays=["2027-04-25", "2027-09-26", "2027-10-09"])
    )
    assert first.is_workday(date(2027, 2, 20))
    assert not second.is_workday(date(2027, 2, 20))
    assert second.add_workdays(date(2027, 2, 1), 10).years == (
        YearUsed(2027, OPERATOR_SOURCE_2027, 2),
    )


def test_calendar_without_package_is_provisional_everywhere__architecture_time() -> None:
    bare = WorkdayCalendar()
    assert bare.is_provisional(2026)
    with_2027 = WorkdayCalendar({2027: year_calendar()})
    assert not with_2027.is_provisional(2027)


def test_calendar_filed_under_the_wrong_year_is_refused__calendar_year_mismatch() -> None:
    with pytest.raises(ValidationFailed) as refused:
        WorkdayCalendar({2028: year_calendar()})
    assert refused.value.rule == "calendar.year_mismatch"


def test_default_calendar_is_cheap_to_build__architecture_time() -> None:
    began = time.perf_counter()
    calendar = WorkdayCalendar.default()
    built = time.perf_counter() - began
    calendar.add_workdays(date(2026, 2, 10), 20)
    first_use = time.perf_counter() - began
    assert built < 0.05
    assert first_use < 0.05


# --- YearCalendar validation (the WorkdayCalendarPublished payload) --------------


@pytest.mark.parametrize(
    ("overrides", "rule", "field"),
    [
        ({"holidays": ["2026-12-31"]}, "calendar.date_outside_year", "holidays"),
        ({"makeup_workdays": ["2028-01-08"]}, "calendar.date_outside_year", "makeup_workdays"),
        (
            {"holidays": ["2027-02-20"], "makeup_workdays": ["2027-02-20"]},
            "calendar.holiday_and_makeup",
            "makeup_workdays",
        ),
        ({"makeup_workdays": ["2027-02-22"]}, "calendar.makeup_not_weekend", "makeup_workdays"),
        ({"holidays": ["2027-01-01", "2027-01-01"]}, "calendar.duplicate_date", "holidays"),
        (
            {"makeup_workdays": ["2027-02-20", date(2027, 2, 20)]},
            "calendar.duplicate_date",
            "makeup_workdays",
        ),
        ({"version": 0}, "calendar.version_invalid", "version"),
        ({"source": "  "}, "calendar.source_missing", "source"),
        ({"year": 0, "holidays": [], "makeup_workdays": []}, "calendar.year_out_of_range", "year"),
        # the range of every command date (issue #21): year 1 or 9999 is a typo
        ({"year": 1, "holidays": [], "makeup_workdays": []}, "calendar.year_out_of_range", "year"),
        (
            {"year": 2100, "holidays": [], "makeup_workdays": []},
            "calendar.year_out_of_range",
            "year",
        ),
    ],
)
def test_invalid_year_calendar_is_refused_naming_the_field__domain_s6(
    overrides: dict[str, Any], rule: str, field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        year_calendar(**overrides)
    assert (refused.value.rule, refused.value.field) == (rule, field)
    assert refused.value.message_zh and refused.value.message_en


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"year": 2027, "holidays": ["2027-02-30"], "source": "x"}, "holidays.0"),
        ({"year": 2027, "holiday": ["2027-02-05"], "source": "x"}, "holiday"),
        ({"year": 2027, "holidays": []}, "source"),
    ],
)
def test_malformed_payload_is_refused_naming_the_field__calendar_invalid(
    payload: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_year_calendar(payload)
    assert (refused.value.rule, refused.value.field) == ("calendar.invalid", field)


def test_year_calendar_round_trips_as_sorted_json__event_payload() -> None:
    calendar = year_calendar()
    payload = calendar.model_dump(mode="json")
    assert payload["holidays"] == sorted(payload["holidays"])
    assert payload["makeup_workdays"] == ["2027-02-20", "2027-04-25", "2027-09-26", "2027-10-09"]
    assert parse_year_calendar(calendar.model_dump_json()) == calendar
    assert YearCalendar.model_validate(payload) == calendar


def test_year_calendar_is_frozen__event_payload() -> None:
    with pytest.raises(ValidationError):
        year_calendar().version = 2  # type: ignore[misc]


def test_due_date_is_json_friendly__handler_explains_deadline() -> None:
    due = CALENDAR.add_workdays(date(2026, 2, 10), 20)
    assert due.model_dump(mode="json") == {
        "start": "2026-02-10",
        "days": 20,
        "due": "2026-03-16",
        "provisional": False,
        "years": [[2026, PACKAGE_SOURCE, 1]],
    }
    assert DueDate.model_validate_json(due.model_dump_json()) == due


# --- Time zone (ARCHITECTURE "Time and working days": all dates Asia/Shanghai) ----


@pytest.mark.parametrize(
    ("instant", "local"),
    [
        (datetime(2026, 2, 9, 15, 59, 59, tzinfo=UTC), date(2026, 2, 9)),
        (datetime(2026, 2, 9, 16, 0, 0, tzinfo=UTC), date(2026, 2, 10)),
        (datetime(2026, 2, 10, 1, 0, tzinfo=timezone(timedelta(hours=9))), date(2026, 2, 10)),
    ],
)
def test_local_date_is_the_shanghai_calendar_date__architecture_time(
    instant: datetime, local: date
) -> None:
    assert local_date(instant) == local
    assert str(SHANGHAI) == "Asia/Shanghai"


def test_naive_datetime_is_refused__architecture_time() -> None:
    with pytest.raises(ValidationFailed) as refused:
        local_date(datetime(2026, 2, 10, 9, 0))
    assert (refused.value.rule, refused.value.field) == ("time.naive_datetime", "instant")


# --- Properties (hypothesis) -------------------------------------------------------

starts = st.dates(min_value=date(2003, 6, 1), max_value=date(2028, 12, 31))
counts = st.integers(min_value=0, max_value=600)


@given(start=starts, n=counts)
def test_workdays_between_inverts_add_workdays__domain_s2(start: date, n: int) -> None:
    assert CALENDAR.workdays_between(start, CALENDAR.add_workdays(start, n).due) == n


@given(start=starts, n=counts, m=counts)
def test_add_workdays_is_strictly_monotonic_in_n__domain_s2(start: date, n: int, m: int) -> None:
    if n < m:
        assert CALENDAR.add_workdays(start, n).due < CALENDAR.add_workdays(start, m).due


@given(first=starts, second=starts, n=counts)
def test_add_workdays_is_monotonic_in_start__domain_s2(first: date, second: date, n: int) -> None:
    early, late = sorted((first, second))
    assert CALENDAR.add_workdays(early, n).due <= CALENDAR.add_workdays(late, n).due


@given(start=starts, n=st.integers(min_value=1, max_value=600))
def test_due_date_is_always_a_workday__domain_s2(start: date, n: int) -> None:
    due = CALENDAR.add_workdays(start, n)
    assert CALENDAR.is_workday(due.due)
    assert due.due > start


@given(start=starts, m=counts, n=counts)
def test_adding_m_then_n_equals_adding_m_plus_n__domain_s2(start: date, m: int, n: int) -> None:
    stepwise = CALENDAR.add_workdays(CALENDAR.add_workdays(start, m).due, n).due
    assert stepwise == CALENDAR.add_workdays(start, m + n).due


@given(start=starts, n=st.integers(min_value=0, max_value=60))
def test_add_workdays_matches_day_by_day_count__minfadian_art201(start: date, n: int) -> None:
    day, counted = start, 0
    while counted < n:
        day += timedelta(days=1)
        counted += CALENDAR.is_workday(day)
    assert CALENDAR.add_workdays(start, n).due == day


@given(start=starts, n=st.integers(min_value=1, max_value=600))
def test_provisional_exactly_when_an_uncovered_year_is_counted__domain_s6(
    start: date, n: int
) -> None:
    due = CALENDAR.add_workdays(start, n)
    counted_years = range((start + timedelta(days=1)).year, due.due.year + 1)
    assert [used.year for used in due.years] == list(counted_years)
    assert due.provisional == any(not 2004 <= year <= 2026 for year in counted_years)


@given(first=starts, second=starts)
def test_workdays_between_is_antisymmetric__domain_s2(first: date, second: date) -> None:
    assert CALENDAR.workdays_between(first, second) == -CALENDAR.workdays_between(second, first)


@given(day=st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 12, 31)))
def test_is_workday_agrees_with_chinese_calendar_package__domain_s6(day: date) -> None:
    assert CALENDAR.is_workday(day) is chinese_calendar.is_workday(day)


@given(start=st.dates(min_value=date(2026, 11, 1), max_value=date(2027, 12, 31)), n=counts)
def test_published_2027_keeps_the_inverse__domain_s6(start: date, n: int) -> None:
    calendar = CALENDAR.with_published(year_calendar())
    due = calendar.add_workdays(start, n)
    assert calendar.workdays_between(start, due.due) == n
    assert n == 0 or calendar.is_workday(due.due)
