"""Which events count (services/assessment/signals.py) and the ledger rules (ledger.py).

Rules: DOMAIN.md §1 (条例 Art. 26), §2 (Art. 33), §3 (三同步), §4, §5 (方案§20, §21).
Event types not built yet are constructed here, so their rules are tested before they exist.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

import pytest

from services.assessment import ledger
from services.assessment.events import TaskAdded, TrainingSessionPlanned
from services.assessment.signals import Source, classify
from shared.errors import DomainRuleViolated, ValidationFailed

AT = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def src(type_: str, tenant: str = "shangdang/sudian", **payload: Any) -> Source:
    return Source(str(uuid4()), type_, tenant, AT, payload)


def test_a_late_publication_is_charged_to_its_drafting_unit__art26() -> None:
    doc = str(uuid4())
    (f,) = classify(
        src(
            "DocumentPublished",
            document_id=doc,
            revision=2,
            is_update=True,
            late=True,
            drafting_unit="shangdang/sudian/finance",
            published_at="2026-03-02T01:00:00+00:00",
        )
    )
    assert (f.signal, f.case, f.org, f.on) == (
        "disclosure.late",
        f"{doc}:2",
        "shangdang/sudian/finance",
        date(2026, 3, 2),
    )


def test_an_on_time_publication_counts_nothing() -> None:
    assert classify(src("DocumentPublished", document_id="d", late=False)) == []


def test_a_missed_reply_deadline_is_one_overdue_case_per_request__art33() -> None:
    (f,) = classify(src("DeadlineMissed", request_id="r-1", noticed_on="2026-03-17"))
    assert (f.signal, f.case, f.on) == ("request.reply_overdue", "r-1", date(2026, 3, 17))


def test_an_escalation_and_a_late_answer_are_the_same_opinion_case__fangan17() -> None:
    escalated = classify(src("CaseEscalated", case_id="c-1", overdue_since=AT.isoformat()))
    answered = classify(src("CaseResponded", case_id="c-1", on_time=False))
    assert [f.case for f in escalated + answered] == ["c-1", "c-1"]
    assert classify(src("CaseResponded", case_id="c-2", on_time=True)) == []


def test_a_missed_publication_deadline_and_the_late_publication_are_one_case__art26() -> None:
    doc = str(uuid4())
    missed = classify(
        src(
            "PublicationDeadlineMissed",
            document_id=doc,
            drafting_unit="shangdang/sudian/finance",
            detected_on="2026-03-20",
        )
    )
    published = classify(src("DocumentPublished", document_id=doc, revision=1, late=True))
    assert [(f.signal, f.case) for f in missed + published] == [("disclosure.late", doc)] * 2
    assert missed[0].org == "shangdang/sudian/finance" and missed[0].on == date(2026, 3, 20)


def test_a_late_interpretation_and_its_missed_deadline_are_one_case__fangan15() -> None:
    """三同步: the interpretation service's ObligationFulfilled(on_time=false) and
    InterpretationDeadlineMissed name the same policy document."""
    doc = str(uuid4())
    missed = classify(
        src(
            "InterpretationDeadlineMissed",
            document_id=doc,
            owner_unit="shangdang/sudian/agri-service",
            noticed_on="2026-03-06",
        )
    )
    late = classify(src("ObligationFulfilled", document_id=doc, on_time=False, synchronous=False))
    assert [(f.signal, f.case) for f in missed + late] == [
        ("interpretation.not_synchronous", doc)
    ] * 2
    assert missed[0].org == "shangdang/sudian/agri-service"
    on_time = src("ObligationFulfilled", document_id=doc, on_time=True, synchronous=False)
    assert classify(on_time) == []


def test_a_decision_corrected_on_review_counts_and_an_upheld_one_does_not__art51() -> None:
    (f,) = classify(src("ReviewCaseDecided", case_id="rc-1", result="corrected"))
    assert (f.signal, f.case) == ("request.decision_corrected", "rc-1")
    assert classify(src("ReviewCaseDecided", case_id="rc-2", result="upheld")) == []
    assert classify(src("ReviewOutcomeRecorded", request_id="r", outcome="maintained")) == []


def test_unknown_types_and_odd_payloads_yield_nothing_and_never_raise() -> None:
    assert classify(src("SomethingNew", late=True)) == []
    (f,) = classify(src("DeadlineMissed", noticed_on="not a date"))
    assert f.case == f.event_id and f.on == date(2026, 3, 2)


def test_an_org_outside_the_tenant_root_is_not_trusted() -> None:
    (f,) = classify(src("DocumentPublished", document_id="d", late=True, drafting_unit="x/y"))
    assert f.org == "shangdang/sudian"


def task_state(due: date) -> ledger.TaskState:
    event = TaskAdded(
        task_id=uuid4(),
        org="shangdang/sudian",
        owner="wang-tietong",
        title="更新权责清单",
        due_on=due,
    )
    return ledger.evolve_task(ledger.TaskState(), event)


def test_a_task_done_after_its_due_date_is_late__fangan20() -> None:
    state = task_state(date(2026, 3, 1))
    done = ledger.complete_task(state, date(2026, 3, 5), "已在政府网站更新", date(2026, 3, 6))
    assert done.late
    (f,) = classify(src("TaskCompleted", **done.model_dump(mode="json")))
    assert (f.signal, f.case) == ("ledger.task_overdue", str(state.task_id))


def test_a_task_is_noticed_overdue_once__fangan20() -> None:
    state = task_state(date(2026, 3, 1))
    assert ledger.notice_overdue_task(state, date(2026, 3, 1)) is None
    notice = ledger.notice_overdue_task(state, date(2026, 3, 2))
    assert notice is not None
    state = ledger.evolve_task(state, notice)
    assert ledger.notice_overdue_task(state, date(2026, 3, 3)) is None


def test_a_task_is_completed_once_and_not_in_the_future() -> None:
    state = task_state(date(2026, 3, 1))
    with pytest.raises(ValidationFailed):
        ledger.complete_task(state, date(2026, 3, 9), "x", date(2026, 3, 2))
    done = ledger.complete_task(state, date(2026, 2, 27), "按期完成", date(2026, 3, 2))
    assert not done.late
    with pytest.raises(DomainRuleViolated):
        ledger.complete_task(
            ledger.evolve_task(state, done), date(2026, 3, 1), "x", date(2026, 3, 2)
        )


def test_a_planned_training_session_not_held_is_missed_once__fangan20() -> None:
    planned = TrainingSessionPlanned(
        session_id=uuid4(),
        org="shangdang/sudian",
        topic="政务公开条例专题培训",
        planned_on=date(2026, 4, 10),
    )
    state = ledger.evolve_session(ledger.SessionState(), planned)
    missed = ledger.notice_missed_session(state, date(2026, 4, 11))
    assert missed is not None
    assert (
        ledger.notice_missed_session(ledger.evolve_session(state, missed), date(2026, 4, 12))
        is None
    )
    held = ledger.hold_session(state, date(2026, 4, 10), 35, date(2026, 4, 10))
    assert (
        ledger.notice_missed_session(ledger.evolve_session(state, held), date(2026, 5, 1)) is None
    )
