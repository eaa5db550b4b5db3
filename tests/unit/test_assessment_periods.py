"""Period close rules of 考核 (services/assessment/periods.py; DOMAIN.md §5, 方案§20).

Closing a closed period, overlapping periods, an unfinished period, a period outside the
scheme year: refused with the field and the rule. The frozen set holds exactly the
not-yet-frozen findings of the scope up to the period's last day.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from services.assessment.periods import Period, check_close, frozen_by, snapshot
from services.assessment.scheme import parse_scheme
from services.assessment.signals import Finding
from shared.errors import DomainRuleViolated, GongkaiError, ValidationFailed

DEMO = Path(__file__).parents[2] / "deploy" / "demo" / "assessment-scheme-2026.yaml"
SCHEME = parse_scheme(yaml.safe_load(DEMO.read_text(encoding="utf-8")))
H1 = Period("2026-H1", date(2026, 1, 1), date(2026, 6, 30))
TODAY = date(2026, 11, 28)


def refused(new: Period, closed: list[Period], today: date = TODAY) -> GongkaiError:
    with pytest.raises((ValidationFailed, DomainRuleViolated)) as err:
        check_close(2026, new, closed, today)
    assert err.value.message_zh and err.value.message_en
    return err.value


def test_a_first_period_that_is_over_may_be_closed() -> None:
    check_close(2026, H1, [], TODAY)
    check_close(2026, Period("2026-Q3", date(2026, 7, 1), date(2026, 9, 30)), [H1], TODAY)


def test_closing_a_closed_period_is_a_conflict() -> None:
    err = refused(H1, [H1])
    assert (err.rule, err.field, err.status) == ("period.already_closed", "period", 409)


def test_overlapping_periods_are_refused() -> None:
    err = refused(Period("2026-Q2", date(2026, 4, 1), date(2026, 9, 30)), [H1])
    assert (err.rule, err.field, err.status) == ("period.overlaps", "starts_on", 422)


def test_a_period_before_the_last_closed_one_is_refused() -> None:
    late = Period("2026-Q3", date(2026, 7, 1), date(2026, 9, 30))
    err = refused(Period("2026-Q1", date(2026, 1, 1), date(2026, 3, 31)), [late])
    assert (err.rule, err.field) == ("period.out_of_order", "starts_on")


@pytest.mark.parametrize(
    ("period", "rule", "field"),
    [
        (Period("x", date(2025, 12, 1), date(2026, 1, 31)), "period.outside_year", "starts_on"),
        (Period("x", date(2026, 12, 1), date(2027, 1, 31)), "period.outside_year", "ends_on"),
        (Period("x", date(2026, 6, 30), date(2026, 1, 1)), "period.ends_before_start", "ends_on"),
        (Period("x", date(2026, 7, 1), date(2026, 11, 28)), "period.not_over", "ends_on"),
    ],
)
def test_bad_periods_name_their_field(period: Period, rule: str, field: str) -> None:
    err = refused(period, [])
    assert (err.rule, err.field) == (rule, field)


def f(signal: str, case: str, org: str, on: date, event: str) -> Finding:
    return Finding(signal, case, org, on, event, "Test")


def test_the_close_freezes_findings_up_to_its_last_day_not_yet_frozen() -> None:
    early = f("highlight.recognized", "a", "shangdang/yincheng", date(2026, 3, 1), "e1")
    again = f("highlight.recognized", "b", "shangdang/yincheng", date(2026, 3, 2), "e2")
    later = f("ledger.task_overdue", "t", "shangdang/handian", date(2026, 7, 2), "e3")
    other_year = f("ledger.task_overdue", "u", "shangdang/handian", date(2025, 3, 2), "e4")
    outside = f("ledger.task_overdue", "v", "elsewhere/x", date(2026, 3, 2), "e5")
    found = frozen_by(SCHEME, [early, again, later, other_year, outside], H1.ends_on, ["e2"])
    assert found == [early]


def test_the_snapshot_ranks_and_keeps_each_card() -> None:
    bonus = f("highlight.recognized", "a", "shangdang/yincheng", date(2026, 3, 1), "e1")
    late = f("ledger.task_overdue", "t", "shangdang/handian", date(2026, 3, 2), "e2")
    subjects = ["shangdang/handian", "shangdang/sudian", "shangdang/yincheng"]
    rows = snapshot(SCHEME, subjects, {"shangdang/yincheng": "荫城镇"}, [bonus, late])
    assert [(r["subject"], r["rank"], r["total"]) for r in rows] == [
        ("shangdang/yincheng", 1, 102),
        ("shangdang/sudian", 2, 100),
        ("shangdang/handian", 3, 98),
    ]
    assert rows[0]["name"] == "荫城镇"
    ledger = next(x for x in rows[2]["lines"] if x["key"] == "task_ledger")
    assert ledger["points"] == 8 and ledger["cases"][0]["event_ids"] == ["e2"]
