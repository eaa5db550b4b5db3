"""Working-day calendar (工作日) for statutory time limits.

Limits in the 条例 count working days in China: 法定节假日 turn some weekdays
off and 调休 turns some weekends into working days (make-up workdays). The
schedule of a year is announced by the State Council around November of the
year before, so this module layers three sources, most trusted first:

1. calendars an operator published (event ``WorkdayCalendarPublished``);
2. the ``chinese-calendar`` package for the years it covers;
3. a fallback for any other year: weekends plus the fixed-date statutory
   holidays, flagged *provisional* so a deadline can be recomputed once the
   year is published.

Everything here is pure: no I/O, no global mutable state. Counting follows
DOMAIN §2 / 民法典 Art. 201: the start day is not counted, day 1 is the next
working day. Dates are Asia/Shanghai calendar dates (``local_date``).
"""

from __future__ import annotations

import zoneinfo
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import MAXYEAR, MINYEAR, date, datetime, timedelta
from types import MappingProxyType
from typing import Any, NamedTuple

import chinese_calendar
from pydantic import (
    BaseModel,
    ConfigDict,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_serializer,
    field_validator,
    model_validator,
)

from shared.errors import ValidationFailed
from shared.fields import EARLIEST_DAY, LATEST_DAY

__all__ = [
    "FIXED_DATE_HOLIDAYS",
    "PACKAGE_SOURCE",
    "PROVISIONAL_SOURCE",
    "SHANGHAI",
    "DueDate",
    "WorkdayCalendar",
    "YearCalendar",
    "YearUsed",
    "calendar_from_chinese_calendar",
    "describe_year",
    "format_due",
    "local_date",
    "parse_year_calendar",
]

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")

PACKAGE_SOURCE = f"chinese-calendar {chinese_calendar.__version__}"

# Fallback for a year nobody has published. Only holidays with a fixed solar date
# (全国年节及纪念日放假办法, 2024 rev.): 元旦 1/1, 劳动节 5/1–5/2, 国庆节 10/1–10/3.
# 春节, 端午, 中秋 follow the lunar calendar and 清明 a solar term, and the 调休
# arrangement is decided yearly, so none of those can be predicted.
FIXED_DATE_HOLIDAYS: tuple[tuple[int, int], ...] = (
    (1, 1),
    (5, 1),
    (5, 2),
    (10, 1),
    (10, 2),
    (10, 3),
)
PROVISIONAL_SOURCE = (
    "provisional: weekends + fixed-date holidays (元旦 1/1, 劳动节 5/1–2, 国庆 10/1–3)"
)

_DATE_LIST: TypeAdapter[list[date]] = TypeAdapter(list[date])
_SATURDAY = 5


def _is_weekend(day: date) -> bool:
    return day.weekday() >= _SATURDAY


class YearCalendar(BaseModel):
    """One year's official schedule; also the payload of ``WorkdayCalendarPublished``.

    ``holidays`` are the days off (法定节假日 and the weekdays moved into the break);
    listing weekend days of a break is allowed and changes nothing.
    ``makeup_workdays`` are the weekend days that become working days (调休上班).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    year: int
    holidays: frozenset[date] = frozenset()
    makeup_workdays: frozenset[date] = frozenset()
    source: str
    version: int = 1

    @field_validator("holidays", "makeup_workdays", mode="wrap")
    @classmethod
    def _listed_once(
        cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> frozenset[date]:
        # A set silently swallows a repeated date; in a published schedule a repeat
        # is a typo that may hide a missing day, so it is refused.
        result: frozenset[date] = handler(value)
        if isinstance(value, list | tuple) and len(result) != len(value):
            counts = Counter(_DATE_LIST.validate_python(value))
            repeated = sorted(day for day, count in counts.items() if count > 1)
            raise _bad_dates(
                "calendar.duplicate_date",
                info.field_name,
                "日期重复列出",
                "dates listed more than once",
                repeated,
            )
        return result

    @model_validator(mode="after")
    def _consistent(self) -> YearCalendar:
        if not EARLIEST_DAY.year <= self.year <= LATEST_DAY.year:
            # the range of every command date (shared/fields.py): a calendar for year 1 or
            # 9999 is a typo, and one past 2099 could never be used
            raise ValidationFailed(
                rule="calendar.year_out_of_range",
                message_zh=f"年份 {self.year} 超出范围（{EARLIEST_DAY.year}–{LATEST_DAY.year}）",
                message_en=(
                    f"year {self.year} is out of range ({EARLIEST_DAY.year}-{LATEST_DAY.year})"
                ),
                field="year",
            )
        if not self.source.strip():
            raise ValidationFailed(
                rule="calendar.source_missing",
                message_zh="必须注明日历来源（如国务院办公厅通知文号）",
                message_en="the calendar must name its source (e.g. the State Council notice)",
                field="source",
            )
        if self.version < 1:
            raise ValidationFailed(
                rule="calendar.version_invalid",
                message_zh="版本号必须从 1 开始",
                message_en="version must be 1 or greater",
                field="version",
            )
        for field_name, days in (
            ("holidays", self.holidays),
            ("makeup_workdays", self.makeup_workdays),
        ):
            outside = sorted(day for day in days if day.year != self.year)
            if outside:
                raise _bad_dates(
                    "calendar.date_outside_year",
                    field_name,
                    f"日期不在 {self.year} 年内",
                    f"dates outside {self.year}",
                    outside,
                )
        both = sorted(self.holidays & self.makeup_workdays)
        if both:
            raise _bad_dates(
                "calendar.holiday_and_makeup",
                "makeup_workdays",
                "同一天不能既是节假日又是调休上班日",
                "a day cannot be both a holiday and a make-up workday",
                both,
            )
        weekdays = sorted(day for day in self.makeup_workdays if not _is_weekend(day))
        if weekdays:
            raise _bad_dates(
                "calendar.makeup_not_weekend",
                "makeup_workdays",
                "调休上班日必须是周六或周日",
                "make-up workdays must be Saturdays or Sundays",
                weekdays,
            )
        return self

    @field_serializer("holidays", "makeup_workdays")
    def _sorted(self, days: frozenset[date]) -> list[date]:
        # Sorted so the event payload (and any hash over it) is deterministic.
        return sorted(days)


def parse_year_calendar(data: Mapping[str, Any] | str | bytes) -> YearCalendar:
    """Validate operator input (a mapping or JSON), every refusal as ``ValidationFailed``."""
    try:
        if isinstance(data, str | bytes):
            return YearCalendar.model_validate_json(data)
        return YearCalendar.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or None
        raise ValidationFailed(
            rule="calendar.invalid",
            message_zh=f"工作日历格式错误：{where or '输入'}",
            message_en=f"invalid workday calendar: {where or 'input'}: {first['msg']}",
            field=where,
            details={"errors": [{"loc": list(e["loc"]), "msg": e["msg"]} for e in error.errors()]},
        ) from None


def calendar_from_chinese_calendar(year: int) -> YearCalendar | None:
    """The year as the ``chinese-calendar`` package has it, or None if it lacks the year.

    Weekend days inside a break are dropped (they are off anyway); only weekday
    holidays and weekend make-up workdays carry information.
    """
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except (NotImplementedError, ValueError, OverflowError):
        return None
    # The package's own lookups rescan all its data on every call, so read its
    # published tables once instead.
    holidays = frozenset(
        day for day in chinese_calendar.holidays if day.year == year and not _is_weekend(day)
    )
    makeup = frozenset(
        day for day in chinese_calendar.workdays if day.year == year and _is_weekend(day)
    )
    return YearCalendar(
        year=year, holidays=holidays, makeup_workdays=makeup, source=PACKAGE_SOURCE, version=1
    )


class YearUsed(NamedTuple):
    """Which schedule decided the working days of one year (version 0 = provisional)."""

    year: int
    source: str
    version: int


class DueDate(BaseModel):
    """The result of counting, with what it relied on, so a handler can explain it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: date
    days: int
    due: date
    provisional: bool
    years: tuple[YearUsed, ...]


def describe_year(used: YearUsed) -> str:
    """Which schedule a year's working days follow, in Chinese for the people a deadline is
    explained to (the machine form, ``2026: chinese-calendar 1.11.0 v1``, stays in the
    events' ``calendars`` and the clock's JSON)."""
    if used.version == 0:
        return (
            f"{used.year}年：暂按周末及固定日期法定节假日（元旦、劳动节、国庆）预排，"
            "待国务院办公厅公布当年安排后重算"
        )
    if used.source == PACKAGE_SOURCE:
        return f"{used.year}年：国务院办公厅公布的节假日安排（{used.source}）"
    return f"{used.year}年：国务院办公厅公布的节假日安排（{used.source}，第{used.version}版）"


def format_due(due: DueDate) -> str:
    """``2026-03-16`` or ``2027-02-15 provisional`` (the CLI prints exactly this)."""
    return due.due.isoformat() + (" provisional" if due.provisional else "")


class _YearTable(NamedTuple):
    used: YearUsed
    provisional: bool
    workdays: tuple[int, ...]  # proleptic ordinals of the working days, ascending


class WorkdayCalendar:
    """Answers working-day questions; immutable (publishing returns a new calendar).

    ``published`` maps year to operator-published calendars; they override the
    package. ``use_package`` adds the ``chinese-calendar`` years beneath them.
    Year tables are built on first use and cached in the instance.
    """

    __slots__ = ("_published", "_tables", "_use_package")

    def __init__(
        self, published: Mapping[int, YearCalendar] | None = None, *, use_package: bool = False
    ) -> None:
        calendars = dict(published or {})
        for year, calendar in calendars.items():
            if calendar.year != year:
                raise ValidationFailed(
                    rule="calendar.year_mismatch",
                    message_zh=f"{year} 年的位置放了 {calendar.year} 年的日历",
                    message_en=f"calendar for {calendar.year} given as the calendar for {year}",
                    field="year",
                )
        self._published: Mapping[int, YearCalendar] = MappingProxyType(calendars)
        self._use_package = use_package
        self._tables: dict[int, _YearTable] = {}

    @classmethod
    def default(cls, published: Mapping[int, YearCalendar] | None = None) -> WorkdayCalendar:
        """Package years plus any published ones; cheap, years load lazily."""
        return cls(published, use_package=True)

    def __repr__(self) -> str:
        years = sorted(self._published)
        return f"WorkdayCalendar(published={years}, use_package={self._use_package})"

    @property
    def published(self) -> Mapping[int, YearCalendar]:
        return self._published

    def with_published(self, calendar: YearCalendar) -> WorkdayCalendar:
        """A new calendar with ``calendar`` in force; versions of a year must increase."""
        current = self._published.get(calendar.year)
        if current is not None and calendar.version <= current.version:
            raise ValidationFailed(
                rule="calendar.version_not_newer",
                message_zh=(
                    f"{calendar.year} 年工作日历已发布第 {current.version} 版，"
                    f"新版本号 {calendar.version} 必须更大"
                ),
                message_en=(
                    f"{calendar.year} already has version {current.version}; "
                    f"version {calendar.version} is not newer"
                ),
                field="version",
                details={"year": calendar.year, "published_version": current.version},
            )
        successor = WorkdayCalendar(
            {**self._published, calendar.year: calendar}, use_package=self._use_package
        )
        successor._tables.update(
            (year, table) for year, table in self._tables.items() if year != calendar.year
        )
        return successor

    def calendar_for(self, year: int) -> YearCalendar | None:
        """The schedule in force for ``year``, or None when the year is provisional."""
        published = self._published.get(year)
        if published is not None or not self._use_package:
            return published
        return calendar_from_chinese_calendar(year)

    def is_provisional(self, year: int) -> bool:
        return self._table(year).provisional

    def is_workday(self, day: date) -> bool:
        _require_date(day, "day")
        workdays = self._table(day.year).workdays
        ordinal = day.toordinal()
        index = bisect_left(workdays, ordinal)
        return index < len(workdays) and workdays[index] == ordinal

    def add_workdays(self, start: date, n: int) -> DueDate:
        """The ``n``-th working day after ``start`` (start not counted; n == 0 gives start)."""
        _require_date(start, "start")
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValidationFailed(
                rule="workdays.count_invalid",
                message_zh="工作日天数必须是非负整数",
                message_en="the number of working days must be a non-negative integer",
                field="days",
            )
        if n == 0:
            return DueDate(start=start, days=0, due=start, provisional=False, years=())
        after = start.toordinal()
        remaining = n
        year = start.year
        while True:
            if year > MAXYEAR:
                raise _out_of_range()
            workdays = self._table(year).workdays
            first = bisect_right(workdays, after)
            available = len(workdays) - first
            if remaining <= available:
                due = date.fromordinal(workdays[first + remaining - 1])
                break
            remaining -= available
            year += 1
        tables = [self._table(y) for y in range((start + timedelta(days=1)).year, due.year + 1)]
        return DueDate(
            start=start,
            days=n,
            due=due,
            provisional=any(table.provisional for table in tables),
            years=tuple(table.used for table in tables),
        )

    def workdays_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative when ``end`` is before ``start``."""
        _require_date(start, "start")
        _require_date(end, "end")
        if end < start:
            return -self.workdays_between(end, start)
        low, high = start.toordinal(), end.toordinal()
        return sum(
            bisect_right(workdays, high) - bisect_right(workdays, low)
            for workdays in (self._table(y).workdays for y in range(start.year, end.year + 1))
        )

    def _table(self, year: int) -> _YearTable:
        table = self._tables.get(year)
        if table is None:
            if not MINYEAR <= year <= MAXYEAR:
                raise _out_of_range()
            table = self._build_table(year)
            self._tables[year] = table
        return table

    def _build_table(self, year: int) -> _YearTable:
        calendar = self.calendar_for(year)
        if calendar is None:
            off = frozenset(date(year, month, day) for month, day in FIXED_DATE_HOLIDAYS)
            makeup: frozenset[date] = frozenset()
            used = YearUsed(year, PROVISIONAL_SOURCE, 0)
        else:
            off, makeup = calendar.holidays, calendar.makeup_workdays
            used = YearUsed(year, calendar.source, calendar.version)
        workdays = tuple(
            day.toordinal()
            for day in _days_of(year)
            if day in makeup or not (_is_weekend(day) or day in off)
        )
        return _YearTable(used=used, provisional=calendar is None, workdays=workdays)


def local_date(instant: datetime) -> date:
    """The Asia/Shanghai calendar date of an aware instant (naive ones are refused)."""
    if not isinstance(instant, datetime) or instant.utcoffset() is None:
        raise ValidationFailed(
            rule="time.naive_datetime",
            message_zh="时间必须带时区（UTC）",
            message_en="the instant must be timezone-aware (UTC)",
            field="instant",
        )
    return instant.astimezone(SHANGHAI).date()


def _days_of(year: int) -> Iterator[date]:
    day = date(year, 1, 1)
    while day.year == year:
        yield day
        if day == date.max:
            return
        day += timedelta(days=1)


def _require_date(value: object, field_name: str) -> None:
    # datetime is a date subclass; accepting one would silently drop its time zone.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValidationFailed(
            rule="workdays.date_required",
            message_zh="需要日期（年月日），不是时间点",
            message_en="a calendar date is required, not a datetime",
            field=field_name,
        )


def _out_of_range() -> ValidationFailed:
    return ValidationFailed(
        rule="workdays.out_of_range",
        message_zh="日期超出可计算范围",
        message_en="the date is beyond the supported range",
        field="days",
    )


def _bad_dates(
    rule: str, field_name: str | None, message_zh: str, message_en: str, days: list[date]
) -> ValidationFailed:
    listed = [day.isoformat() for day in days]
    return ValidationFailed(
        rule=rule,
        message_zh=f"{message_zh}：{'、'.join(listed)}",
        message_en=f"{message_en}: {', '.join(listed)}",
        field=field_name,
        details={"dates": listed},
    )
