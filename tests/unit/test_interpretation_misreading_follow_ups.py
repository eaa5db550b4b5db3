"""Follow-up stages opened from the sentiment service's misreading cases (pure rules).

DOMAIN.md §3 (follow up in stages as new questions arise), §4 (misreading of a policy feeds a
follow-up interpretation); 方案§五(一): 对误解误读及时解读回应. A redelivered report opens
nothing twice; cases reported while a stage waits for its interpretation join that stage.
"""

from __future__ import annotations

from datetime import date

from services.interpretation import domain
from services.interpretation.domain import (
    MAX_REASON_CHARS,
    MisreadingReport,
    misreading_reason,
)
from services.interpretation.events import (
    FollowUpCasesAdded,
    FollowUpFulfilled,
    FollowUpRequested,
    ObligationCancelled,
)
from shared.envelope import new_id
from tests.unit.test_interpretation_domain import CAL, RULES, opened

TODAY = date(2026, 10, 12)  # Monday after 国庆


def cases(state: domain.ObligationState, *ids: str) -> object:
    return domain.follow_up_for_cases(
        state,
        new_id(),
        list(ids),
        "误读政策：群众误以为改厕须先垫付",
        "liu-yang",
        TODAY,
        CAL,
        RULES,
    )


def test_the_first_misreading_case_opens_stage_2_due_in_three_working_days__s5_1() -> None:
    state, _ = opened()
    event = cases(state, "c-2", "c-1")
    assert isinstance(event, FollowUpRequested)
    assert (event.stage, event.case_ids, event.due) == (2, ["c-1", "c-2"], date(2026, 10, 15))
    assert event.requested_by == "liu-yang"


def test_a_redelivered_report_opens_nothing_twice() -> None:
    state, _ = opened()
    first = cases(state, "c-1")
    assert isinstance(first, FollowUpRequested)
    state = domain.evolve_obligation(state, first)
    assert cases(state, "c-1") is None


def test_cases_reported_while_the_stage_is_pending_join_it_with_its_due_date() -> None:
    state, _ = opened()
    first = cases(state, "c-1")
    assert isinstance(first, FollowUpRequested)
    state = domain.evolve_obligation(state, first)
    joined = cases(state, "c-1", "c-3")
    assert isinstance(joined, FollowUpCasesAdded)
    assert joined.follow_up_id == first.follow_up_id and joined.stage == 2
    assert joined.case_ids == ["c-3"] and joined.due == first.due
    state = domain.evolve_obligation(state, joined)
    (stage,) = state.follow_ups
    assert stage.case_ids == ("c-1", "c-3")
    assert cases(state, "c-3") is None


def test_after_the_stage_is_interpreted_a_new_misreading_opens_the_next_stage() -> None:
    state, _ = opened()
    first = cases(state, "c-1")
    assert isinstance(first, FollowUpRequested)
    state = domain.evolve_obligation(state, first)
    state = domain.evolve_obligation(
        state,
        FollowUpFulfilled(
            document_id=first.document_id,
            follow_up_id=first.follow_up_id,
            interpretation_id=new_id(),
            published_on=TODAY,
        ),
    )
    later = cases(state, "c-7")
    assert isinstance(later, FollowUpRequested) and later.stage == 3


def test_a_withdrawn_policy_takes_no_follow_up() -> None:
    state, _ = opened()
    assert state.document_id is not None
    state = domain.evolve_obligation(
        state, ObligationCancelled(document_id=state.document_id, reason="政策文件已撤销")
    )
    assert cases(state, "c-1") is None


def test_the_stage_reason_names_each_case_and_its_misreading_within_the_limit() -> None:
    reports = [
        MisreadingReport("c-1", "误以为改厕须先垫付", "liu-yang"),
        MisreadingReport("c-2", "误以为旱厕不给补助", "liu-yang"),
    ]
    assert misreading_reason(reports) == (
        "误读政策（舆情案件 c-1）：误以为改厕须先垫付；误读政策（舆情案件 c-2）：误以为旱厕不给补助"
    )
    long = [MisreadingReport(f"c-{i}", "误" * 300, "liu-yang") for i in range(10)]
    reason = misreading_reason(long)
    assert len(reason) == MAX_REASON_CHARS and reason.endswith("…")
