"""Pure rules of 政策解读 (DOMAIN.md §3; 方案§15, §五(一)(二)): obligations, deadlines,
delegation, follow-up stages, and publication past review and the quality gate."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest

from services.interpretation import domain, samples
from services.interpretation.domain import DeadlineRules, PolicyFacts
from services.interpretation.events import (
    FollowUpFulfilled,
    InterpretationContent,
    ObligationFulfilled,
    PolicySource,
    Trigger,
)
from services.interpretation.obligations import MAX_WORKING_DAYS
from services.interpretation.quality import QualityRules
from shared.envelope import new_id
from shared.errors import DomainRuleViolated, Forbidden, ValidationFailed
from shared.registry import DomainEvent
from shared.workdays import WorkdayCalendar

CAL = WorkdayCalendar.default()
RULES = DeadlineRules()
QUALITY = QualityRules()
UNIT = "shangdang/sudian/agri-service"
# 2026-09-30 (Wed) is the last working day before 国庆 10/1–7; 10/10 (Sat) is a make-up day.
EVE_OF_NATIONAL_DAY = date(2026, 9, 30)


def policy(**overrides: Any) -> PolicyFacts:
    values: dict[str, Any] = {
        "document_id": new_id(),
        "township": "shangdang/sudian",
        "lead_unit": UNIT,
        "joint_units": (),
        "title": samples.POLICY_TITLE,
        "document_number": samples.POLICY_NUMBER,
        "kind": "implementation_plan",
        "flagged": False,
        "published_on": EVE_OF_NATIONAL_DAY,
        "source": PolicySource.catalog,
    }
    values.update(overrides)
    return PolicyFacts(**values)


def fold(events: list[DomainEvent]) -> domain.ObligationState:
    state = domain.ObligationState()
    for e in events:
        state = domain.evolve_obligation(state, e)
    return state


def opened(**overrides: Any) -> tuple[domain.ObligationState, list[DomainEvent]]:
    required = domain.open_obligation(policy(**overrides), CAL, RULES)
    assert required is not None
    return fold([required]), [required]


def content(sections: list[dict[str, Any]] = samples.GOOD_SECTIONS) -> InterpretationContent:
    body = samples.interpretation_body(sections)
    return InterpretationContent.model_validate(body)


# ---------------------------------------------------------------- obligations


@pytest.mark.parametrize("kind", ["normative", "policy", "implementation_plan"])
def test_policies_of_interpreted_kinds_open_an_obligation__sanshi_tongbu(kind: str) -> None:
    required = domain.open_obligation(policy(kind=kind), CAL, RULES)
    assert required is not None and required.trigger is Trigger.kind


def test_work_news_needs_no_interpretation_unless_the_drafter_flags_it() -> None:
    assert domain.open_obligation(policy(kind="work_news"), CAL, RULES) is None
    flagged = domain.open_obligation(policy(kind="work_news", flagged=True), CAL, RULES)
    assert flagged is not None and flagged.trigger is Trigger.flagged


def test_due_the_same_day_and_at_the_latest_three_working_days_after__zhengzhou_rule() -> None:
    required = domain.open_obligation(policy(), CAL, RULES)
    assert required is not None
    assert required.due == EVE_OF_NATIONAL_DAY
    # 10/1–7 are 国庆 holidays; 10/8, 10/9 and the make-up Saturday 10/10 are working days.
    assert required.latest_due == date(2026, 10, 10)
    assert not required.due_provisional


def test_the_deadline_is_configurable_and_provisional_without_the_years_calendar() -> None:
    required = domain.open_obligation(
        policy(published_on=date(2027, 9, 30)), CAL, DeadlineRules(1, 5)
    )
    assert required is not None
    assert required.target_working_days == 1 and required.limit_working_days == 5
    assert required.due_provisional  # 2027 not yet published (DOMAIN.md §6)
    with pytest.raises(ValueError):
        DeadlineRules(target_working_days=4, limit_working_days=3)


@pytest.mark.parametrize(
    "values",
    [
        {"limit_working_days": 30},  # a typo for 3: beyond 条例 Art. 26's own 20 days
        {"limit_working_days": MAX_WORKING_DAYS + 1},
        {"target_working_days": -1},
        {"follow_up_working_days": -1},
        {"follow_up_working_days": 30},
    ],
)
def test_deadlines_beyond_the_sane_bound_are_refused_at_configuration__sanshi_tongbu(
    values: dict[str, int],
) -> None:
    """Audit gap 7: DOMAIN.md §3 makes 3 working days the configurable default; a local
    practice may allow longer, but never past the 20 working days the policy itself has."""
    with pytest.raises(ValueError, match="<= 20"):
        DeadlineRules(**values)


def test_a_longer_local_limit_is_accepted_and_recorded_on_the_obligation() -> None:
    rules = DeadlineRules(limit_working_days=MAX_WORKING_DAYS, follow_up_working_days=5)
    required = domain.open_obligation(policy(), CAL, rules)
    assert required is not None and required.limit_working_days == MAX_WORKING_DAYS


def test_the_deadlines_are_read_from_settings_at_composition(monkeypatch: Any) -> None:
    from services.interpretation.service import rules_from_env

    monkeypatch.setenv("GONGKAI_INTERPRETATION_LIMIT_DAYS", "5")
    monkeypatch.setenv("GONGKAI_INTERPRETATION_FOLLOW_UP_DAYS", "2")
    monkeypatch.setenv("GONGKAI_INTERPRETATION_MIN_REASON_CHARS", "6")
    deadlines, quality = rules_from_env()
    assert (deadlines.limit_working_days, deadlines.follow_up_working_days) == (5, 2)
    assert quality.min_part_reason_chars == 6
    monkeypatch.setenv("GONGKAI_INTERPRETATION_LIMIT_DAYS", "30")
    with pytest.raises(ValueError):
        rules_from_env()


def test_whoever_drafts_interprets_and_joint_documents_go_to_the_lead_unit() -> None:
    joint = ("shangdang/sudian/finance",)
    required = domain.open_obligation(policy(joint_units=joint), CAL, RULES)
    assert required is not None
    assert required.owner_unit == UNIT and required.joint_units == list(joint)


def test_delegation_is_explicit_recorded_and_moves_ownership() -> None:
    state, _ = opened()
    event = domain.delegate(
        state, "shangdang/sudian/party-office", "牵头单位委托党政办统一解读", "zhao-lei"
    )
    assert (event.from_unit, event.to_unit) == (UNIT, "shangdang/sudian/party-office")
    assert domain.evolve_obligation(state, event).owner_unit == "shangdang/sudian/party-office"
    with pytest.raises(ValidationFailed) as err:
        domain.delegate(state, UNIT, "委托给自己", "zhao-lei")
    assert err.value.rule == "delegation.same_unit"


def test_deadline_missed_is_due_once_the_day_after_the_latest_due_date() -> None:
    state, _ = opened()
    assert domain.deadline_missed(state, date(2026, 10, 10)) is None
    missed = domain.deadline_missed(state, date(2026, 10, 11))
    assert missed is not None and missed.latest_due == date(2026, 10, 10)
    assert (
        domain.deadline_missed(domain.evolve_obligation(state, missed), date(2026, 10, 12)) is None
    )


def test_a_withdrawn_policy_cancels_its_open_obligation_and_refuses_drafts() -> None:
    state, _ = opened()
    cancelled = domain.cancel(state, "政策已撤销")
    assert cancelled is not None
    after = domain.evolve_obligation(state, cancelled)
    assert domain.deadline_missed(after, date(2026, 12, 1)) is None
    with pytest.raises(DomainRuleViolated) as err:
        domain.draft(after, new_id(), UNIT, "yang-fan", content(), _summary(), None)
    assert err.value.rule == "policy.withdrawn"


def test_follow_up_stages_are_numbered_and_linked_to_their_cases__fang_an_5_1() -> None:
    state, _ = opened()
    today = date(2026, 10, 12)
    first = domain.request_follow_up(
        state,
        new_id(),
        ["case-2", "case-1", "case-2"],
        "群众误读补助标准",
        "liu-yang",
        today,
        CAL,
        RULES,
    )
    assert first.stage == 2 and first.case_ids == ["case-1", "case-2"]
    assert first.due == date(2026, 10, 15)
    state = domain.evolve_obligation(state, first)
    second = domain.request_follow_up(
        state, new_id(), ["case-9"], "集中咨询管护员职责", "liu-yang", today, CAL, RULES
    )
    assert second.stage == 3


# ---------------------------------------------------------------- interpretations


def _summary(sections: list[dict[str, Any]] = samples.GOOD_SECTIONS) -> Any:
    report = domain.check_quality(content(sections), samples.POLICY_TEXT, QUALITY)
    return domain.summary(report, QUALITY)


def drafted(
    obligation: domain.ObligationState,
    sections: list[dict[str, Any]] = samples.GOOD_SECTIONS,
    follow_up_id: UUID | None = None,
) -> domain.InterpretationState:
    event = domain.draft(
        obligation, new_id(), UNIT, "yang-fan", content(sections), _summary(sections), follow_up_id
    )
    return domain.evolve_interpretation(domain.InterpretationState(), event)


def publish(
    state: domain.InterpretationState,
    obligation: domain.ObligationState,
    today: date = EVE_OF_NATIONAL_DAY,
) -> tuple[Any, DomainEvent | None]:
    assert state.content is not None
    report = domain.check_quality(state.content, samples.POLICY_TEXT, QUALITY)
    now = datetime(today.year, today.month, today.day, 2, tzinfo=UTC)
    return domain.publish(
        state, obligation, report, QUALITY, "shangdang/sudian", "zhao-lei", now, today
    )


def approve(
    state: domain.InterpretationState, obligation: domain.ObligationState
) -> domain.InterpretationState:
    event = domain.review(state, obligation, "zhao-lei", True, None)
    return domain.evolve_interpretation(state, event)


def test_publishing_needs_an_approved_revision__xian_shen_hou_fa() -> None:
    obligation, _ = opened()
    state = drafted(obligation)
    with pytest.raises(DomainRuleViolated) as err:
        publish(state, obligation)
    assert err.value.rule == "interpretation.not_approved"


def test_a_rejection_needs_comments_and_a_revision_needs_review_again() -> None:
    obligation, _ = opened()
    state = drafted(obligation)
    with pytest.raises(ValidationFailed):
        domain.review(state, obligation, "zhao-lei", False, " ")
    state = approve(state, obligation)
    revised = domain.revise(state, obligation, "yang-fan", content(), _summary())
    state = domain.evolve_interpretation(state, revised)
    assert state.status == "draft" and state.revision == 2
    with pytest.raises(DomainRuleViolated):
        publish(state, obligation)


def test_the_delegating_units_draft_is_refused_after_delegation__shei_qicao_shei_jiedu() -> None:
    """Delegation moves the right to interpret: the old owner's draft stays where it was."""
    obligation, _ = opened()
    state = approve(drafted(obligation), obligation)
    delegated = domain.delegate(obligation, "shangdang/sudian/finance", "补助资金由财政所解读", "z")
    obligation = domain.evolve_obligation(obligation, delegated)
    refusals = (
        lambda: publish(state, obligation),
        lambda: domain.review(state, obligation, "zhao-lei", True, None),
        lambda: domain.revise(state, obligation, "yang-fan", content(), _summary()),
    )
    for attempt in refusals:
        with pytest.raises(Forbidden) as err:
            attempt()
        assert err.value.rule == "interpretation.owner_changed"
        assert err.value.details == {
            "draft_unit": UNIT,
            "owner_unit": "shangdang/sudian/finance",
        }
    # Delegated back, the draft is the owner's again.
    back = domain.delegate(obligation, UNIT, "财政所退回农业综合服务中心解读", "z")
    published, _ = publish(state, domain.evolve_obligation(obligation, back))
    assert published.unit == UNIT


def test_a_copied_interpretation_is_refused_at_publication_with_the_measured_values() -> None:
    obligation, _ = opened()
    state = approve(drafted(obligation, samples.COPIED_SECTIONS), obligation)
    with pytest.raises(ValidationFailed) as err:
        publish(state, obligation)
    assert err.value.rule == "interpretation.quality_gate"
    checks = {c["check"]: c for c in err.value.details["quality"]["checks"]}
    assert checks["copy"]["measured"]["containment"] == 1.0
    assert checks["copy"]["measured"]["longest_copied_passages"]
    assert "照搬照抄原文" in err.value.message_zh


def test_the_first_publication_fulfils_the_obligation_synchronously() -> None:
    obligation, _ = opened()
    published, fulfilled = publish(approve(drafted(obligation), obligation), obligation)
    assert published.stage == 1 and [f.value for f in published.forms] == ["text", "graphic"]
    assert isinstance(fulfilled, ObligationFulfilled)
    assert fulfilled.synchronous and fulfilled.on_time


def test_publication_after_the_make_up_saturday_is_late() -> None:
    obligation, _ = opened()
    _, fulfilled = publish(approve(drafted(obligation), obligation), obligation, date(2026, 10, 12))
    assert isinstance(fulfilled, ObligationFulfilled)
    assert not fulfilled.synchronous and not fulfilled.on_time


def test_publication_on_the_latest_due_date_is_on_time_but_not_synchronous() -> None:
    obligation, _ = opened()
    _, fulfilled = publish(approve(drafted(obligation), obligation), obligation, date(2026, 10, 10))
    assert isinstance(fulfilled, ObligationFulfilled)
    assert fulfilled.on_time and not fulfilled.synchronous


def test_a_follow_up_interpretation_carries_its_stage_and_cases_and_fulfils_the_request() -> None:
    obligation, _ = opened()
    request = domain.request_follow_up(
        obligation,
        new_id(),
        ["case-7"],
        "误读补助对象",
        "liu-yang",
        EVE_OF_NATIONAL_DAY,
        CAL,
        RULES,
    )
    obligation = domain.evolve_obligation(obligation, request)
    state = approve(drafted(obligation, follow_up_id=request.follow_up_id), obligation)
    published, follow_on = publish(state, obligation)
    assert published.stage == 2 and published.case_ids == ["case-7"]
    assert isinstance(follow_on, FollowUpFulfilled)
    assert follow_on.follow_up_id == request.follow_up_id


def test_an_unknown_follow_up_is_refused() -> None:
    obligation, _ = opened()
    with pytest.raises(ValidationFailed) as err:
        drafted(obligation, follow_up_id=new_id())
    assert err.value.rule == "follow_up.unknown"


def test_a_published_interpretation_cannot_be_revised_or_reviewed() -> None:
    obligation, _ = opened()
    state = approve(drafted(obligation), obligation)
    published, _ = publish(state, obligation)
    state = domain.evolve_interpretation(state, published)
    with pytest.raises(DomainRuleViolated):
        domain.revise(state, obligation, "yang-fan", content(), _summary())
    with pytest.raises(DomainRuleViolated):
        domain.review(state, obligation, "zhao-lei", True, None)


def test_media_forms_need_their_media_and_targeted_push_needs_its_groups__fang_an_5_2() -> None:
    video = samples.interpretation_body(samples.GOOD_SECTIONS, forms=[{"form": "short_video"}])
    with pytest.raises(ValidationFailed) as err:
        domain.check_content(InterpretationContent.model_validate(video))
    assert err.value.rule == "form.media_missing" and "短视频" in err.value.message_zh
    push = samples.interpretation_body(samples.GOOD_SECTIONS, channels=["targeted_push"])
    with pytest.raises(ValidationFailed) as err:
        domain.check_content(InterpretationContent.model_validate(push))
    assert err.value.rule == "channel.targeted_push_needs_groups"
    push["target_groups"] = ["未改厕农户", "村保洁员"]
    domain.check_content(InterpretationContent.model_validate(push))
