"""行政复议/行政诉讼 cases and annual-report section 四 (条例 Art. 51; 国办公开办函〔2021〕30号)."""

from __future__ import annotations

from datetime import date

import pytest

from services.applications import reviews
from services.applications.reviews import Case, CaseKind, CaseResult
from shared.envelope import new_id
from shared.errors import DomainRuleViolated, ValidationFailed

TODAY = date(2026, 6, 1)


def test_a_case_is_decided_once_and_not_before_it_was_filed() -> None:
    opened = reviews.open_case(
        reviews.OpenCase(kind="review", filed_on=date(2026, 4, 1), body="长治市上党区人民政府"),
        new_id(),
        new_id(),
        date(2026, 2, 10),
        TODAY,
    )
    case = Case(opened.case_id, "shangdang/sudian", opened.kind, opened.filed_on)
    with pytest.raises(ValidationFailed) as early:
        reviews.decide_case(
            case, reviews.DecideCase(result="upheld", decided_on=date(2026, 3, 1)), TODAY
        )
    assert early.value.rule == "date.too_early"
    decided = reviews.decide_case(
        case, reviews.DecideCase(result="corrected", decided_on=date(2026, 5, 1)), TODAY
    )
    done = Case(
        case.case_id, case.tenant, case.kind, case.filed_on, decided.result, decided.decided_on
    )
    with pytest.raises(DomainRuleViolated):
        reviews.decide_case(done, reviews.DecideCase(result="upheld", decided_on=TODAY), TODAY)
    with pytest.raises(ValidationFailed) as future:
        reviews.open_case(
            reviews.OpenCase(kind="review", filed_on=date(2026, 6, 2), body="区政府"),
            new_id(),
            new_id(),
            date(2026, 2, 10),
            TODAY,
        )
    assert future.value.rule == "date.in_future"


def test_section_four_counts_results_of_the_year_and_pending_cases__art51() -> None:
    t = "shangdang/sudian"
    cases = [
        Case(new_id(), t, CaseKind.review, date(2025, 11, 1), CaseResult.upheld, date(2026, 1, 5)),
        Case(
            new_id(), t, CaseKind.review, date(2026, 3, 1), CaseResult.corrected, date(2026, 5, 1)
        ),
        Case(new_id(), t, CaseKind.review, date(2026, 9, 1)),
        Case(
            new_id(),
            t,
            CaseKind.litigation_direct,
            date(2026, 2, 1),
            CaseResult.other,
            date(2027, 2, 1),
        ),
        Case(
            new_id(),
            t,
            CaseKind.litigation_after_review,
            date(2025, 3, 1),
            CaseResult.upheld,
            date(2025, 9, 1),
        ),
        Case(new_id(), t, CaseKind.litigation_after_review, date(2027, 1, 3)),
    ]
    four = reviews.section_four(cases, 2026)
    groups = {g["key"]: g["values"] for g in four["groups"]}
    assert groups["review"] == {"upheld": 1, "corrected": 1, "other": 0, "pending": 1, "total": 3}
    assert groups["litigation_direct"] == {
        "upheld": 0,
        "corrected": 0,
        "other": 0,
        "pending": 1,
        "total": 1,
    }
    assert groups["litigation_after_review"]["total"] == 0
    assert [c["label"] for c in four["columns"]] == [
        "结果维持",
        "结果纠正",
        "其他结果",
        "尚未审结",
        "总计",
    ]
