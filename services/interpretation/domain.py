"""The rules of 政策解读 as pure functions (DOMAIN.md §3; 方案§15, §五(一)(二)).

decide: (state, command facts) -> events; evolve: (state, event) -> state. No I/O; the
handlers load the streams, read the policy facts and the calendar, and append. The
obligation's rules live in obligations.py and are re-exported here, so a reader finds
every rule of the service through this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from uuid import UUID

from services.interpretation.events import (
    FORM_LABELS_ZH,
    Channel,
    FollowUpFulfilled,
    FollowUpLink,
    Form,
    InterpretationApproved,
    InterpretationContent,
    InterpretationDrafted,
    InterpretationPublished,
    InterpretationRejected,
    InterpretationRevised,
    ObligationFulfilled,
    QualitySummary,
)
from services.interpretation.obligations import (
    INTERPRETED_KINDS,
    MAX_REASON_CHARS,
    DeadlineRules,
    FollowUp,
    MisreadingReport,
    ObligationState,
    PolicyFacts,
    cancel,
    deadline_missed,
    delegate,
    evolve_obligation,
    follow_up_for_cases,
    misreading_reason,
    open_obligation,
    request_follow_up,
    require_live,
    trigger_of,
)
from services.interpretation.quality import Part, QualityReport, QualityRules, Section, assess
from shared.errors import DomainRuleViolated, Forbidden, ValidationFailed
from shared.registry import DomainEvent

__all__ = [
    "FORM_LABELS_ZH",
    "INTERPRETED_KINDS",
    "MAX_REASON_CHARS",
    "DeadlineRules",
    "FollowUp",
    "InterpretationState",
    "MisreadingReport",
    "ObligationState",
    "PolicyFacts",
    "cancel",
    "check_content",
    "check_quality",
    "deadline_missed",
    "delegate",
    "draft",
    "evolve_interpretation",
    "evolve_obligation",
    "follow_up_for_cases",
    "misreading_reason",
    "open_obligation",
    "publish",
    "request_follow_up",
    "require_current_owner",
    "review",
    "revise",
    "sections_of",
    "summary",
    "trigger_of",
]


# ------------------------------------------------------------------------ interpretation


@dataclass(frozen=True)
class InterpretationState:
    version: int = 0
    interpretation_id: UUID | None = None
    document_id: UUID | None = None
    unit: str = ""
    drafter: str = ""
    authors: frozenset[str] = field(default_factory=frozenset)
    revision: int = 0
    content: InterpretationContent | None = None
    status: str = "none"  # none | draft | approved | rejected | published
    follow_up: FollowUpLink | None = None


def evolve_interpretation(state: InterpretationState, event: DomainEvent) -> InterpretationState:
    s = replace(state, version=state.version + 1)
    if isinstance(event, InterpretationDrafted):
        return replace(
            s,
            interpretation_id=event.interpretation_id,
            document_id=event.document_id,
            unit=event.unit,
            drafter=event.drafter,
            authors=frozenset({event.drafter}),
            revision=1,
            content=event.content,
            status="draft",
            follow_up=event.follow_up,
        )
    if isinstance(event, InterpretationRevised):
        return replace(
            s,
            revision=event.revision,
            content=event.content,
            status="draft",
            authors=s.authors | {event.reviser},
        )
    if isinstance(event, InterpretationApproved):
        return replace(s, status="approved")
    if isinstance(event, InterpretationRejected):
        return replace(s, status="rejected")
    if isinstance(event, InterpretationPublished):
        return replace(s, status="published")
    return s


def sections_of(content: InterpretationContent) -> list[Section]:
    return [Section(heading=s.heading, text=s.text, part=s.part) for s in content.sections]


def check_quality(
    content: InterpretationContent, policy_text: str, rules: QualityRules
) -> QualityReport:
    return assess(sections_of(content), dict(content.not_applicable), policy_text, rules)


def summary(report: QualityReport, rules: QualityRules) -> QualitySummary:
    title_only = next(c for c in report.checks if c.check == "title_only")
    parts = next(c for c in report.checks if c.check == "parts")
    return QualitySummary(
        passed=report.passed,
        containment=report.containment,
        threshold=rules.max_containment,
        explanatory_chars=int(title_only.measured["explanatory_chars"]),
        missing_parts=[Part(p) for p in parts.measured["missing"]],
    )


def check_content(content: InterpretationContent) -> None:
    """Media forms need their media; a targeted push needs its groups (方案§五(二))."""
    for i, item in enumerate(content.forms):
        if item.form is not Form.text and not (item.url or item.attachment):
            raise ValidationFailed(
                rule="form.media_missing",
                field=f"content.forms[{i}]",
                message_zh=f"解读形式“{item.form.label_zh}”须附链接或附件",
                message_en=f"form {item.form.value} needs a url or an attachment",
            )
    if Channel.targeted_push in content.channels and not content.target_groups:
        raise ValidationFailed(
            rule="channel.targeted_push_needs_groups",
            field="content.target_groups",
            message_zh="定向推送（政策找人、政策找企业）须写明推送对象群体",
            message_en="a targeted push needs the groups it is pushed to",
        )


def draft(
    obligation: ObligationState,
    interpretation_id: UUID,
    unit: str,
    drafter: str,
    content: InterpretationContent,
    quality: QualitySummary,
    follow_up_id: UUID | None,
) -> InterpretationDrafted:
    require_live(obligation)
    check_content(content)
    assert obligation.document_id is not None
    link = None
    if follow_up_id is not None:
        item = obligation.follow_up(follow_up_id)
        if item is None:
            raise ValidationFailed(
                rule="follow_up.unknown",
                field="follow_up_id",
                message_zh="该政策没有此跟踪解读任务",
                message_en="no such follow-up request for this policy",
            )
        link = FollowUpLink(
            follow_up_id=item.follow_up_id, stage=item.stage, case_ids=list(item.case_ids)
        )
    return InterpretationDrafted(
        interpretation_id=interpretation_id,
        document_id=obligation.document_id,
        unit=unit,
        drafter=drafter,
        content=content,
        follow_up=link,
        quality=quality,
    )


def require_current_owner(state: InterpretationState, obligation: ObligationState) -> None:
    """谁起草、谁解读 after a delegation: a draft written by the unit that owned the
    obligation then is not revised, reviewed or published once another unit owns it (the
    handler authorizes the caller against the current owner; this refuses the draft itself,
    so even a caller above both units cannot carry the old draft through)."""
    if state.unit != obligation.owner_unit:
        raise Forbidden(
            rule="interpretation.owner_changed",
            field="interpretation_id",
            message_zh=(
                f"该解读稿由 {state.unit} 起草，但解读任务已委托给 {obligation.owner_unit}；"
                "原稿不能再修改、审核或发布，应由受托单位起草解读"
            ),
            message_en=(
                f"this draft was written by {state.unit}, but the obligation now belongs to "
                f"{obligation.owner_unit}; the delegated unit drafts its own interpretation"
            ),
            details={"draft_unit": state.unit, "owner_unit": obligation.owner_unit},
        )


def _not_published(state: InterpretationState) -> None:
    if state.status == "published":
        raise DomainRuleViolated(
            rule="interpretation.already_published",
            field="interpretation_id",
            message_zh="解读已发布，不能再修改或审核",
            message_en="the interpretation is already published",
        )


def revise(
    state: InterpretationState,
    obligation: ObligationState,
    reviser: str,
    content: InterpretationContent,
    q: QualitySummary,
) -> InterpretationRevised:
    _not_published(state)
    require_current_owner(state, obligation)
    check_content(content)
    assert state.interpretation_id is not None
    return InterpretationRevised(
        interpretation_id=state.interpretation_id,
        revision=state.revision + 1,
        reviser=reviser,
        content=content,
        quality=q,
    )


def review(
    state: InterpretationState,
    obligation: ObligationState,
    reviewer: str,
    approve: bool,
    comment: str | None,
) -> InterpretationApproved | InterpretationRejected:
    _not_published(state)
    require_current_owner(state, obligation)
    assert state.interpretation_id is not None
    if approve:
        return InterpretationApproved(
            interpretation_id=state.interpretation_id,
            revision=state.revision,
            reviewer=reviewer,
            comment=comment,
        )
    if not comment or not comment.strip():
        raise ValidationFailed(
            rule="review.comments_required",
            field="comment",
            message_zh="退回修改须写明意见",
            message_en="a rejection needs comments the drafter can act on",
        )
    return InterpretationRejected(
        interpretation_id=state.interpretation_id,
        revision=state.revision,
        reviewer=reviewer,
        comments=comment,
    )


def publish(
    state: InterpretationState,
    obligation: ObligationState,
    report: QualityReport,
    rules: QualityRules,
    township: str,
    publisher: str,
    now: datetime,
    today: date,
) -> tuple[InterpretationPublished, DomainEvent | None]:
    """先审后发, and only past the quality gate; fulfils the obligation (or the follow-up)."""
    _not_published(state)
    require_live(obligation)
    require_current_owner(state, obligation)
    if state.status != "approved":
        raise DomainRuleViolated(
            rule="interpretation.not_approved",
            field="interpretation_id",
            message_zh=f"第 {state.revision} 稿尚未审核通过，不能发布（先审后发）",
            message_en=f"revision {state.revision} is not approved; review before publishing",
        )
    if not report.passed:
        failed = report.failed()
        raise ValidationFailed(
            rule="interpretation.quality_gate",
            field="sections",
            message_zh="解读未通过质量检查：" + "；".join(c.message_zh for c in failed),
            message_en="the interpretation fails the quality gate: "
            + "; ".join(c.message_en for c in failed),
            details={"quality": report.as_dict()},
        )
    assert state.content is not None and state.interpretation_id is not None
    assert obligation.document_id is not None
    link = state.follow_up
    published = InterpretationPublished(
        interpretation_id=state.interpretation_id,
        document_id=obligation.document_id,
        township=township,
        unit=state.unit,
        revision=state.revision,
        title=state.content.title,
        forms=sorted({f.form for f in state.content.forms}, key=list(Form).index),
        channels=sorted(set(state.content.channels), key=list(Channel).index),
        target_groups=list(state.content.target_groups),
        stage=link.stage if link else 1,
        case_ids=list(link.case_ids) if link else [],
        published_at=now,
        publisher=publisher,
        quality=summary(report, rules),
    )
    follow_on: DomainEvent | None = None
    if link is not None:
        item = obligation.follow_up(link.follow_up_id)
        if item is not None and item.fulfilled_by is None:
            follow_on = FollowUpFulfilled(
                document_id=obligation.document_id,
                follow_up_id=link.follow_up_id,
                interpretation_id=state.interpretation_id,
                published_on=today,
            )
    elif obligation.status == "open":
        assert obligation.due is not None and obligation.latest_due is not None
        follow_on = ObligationFulfilled(
            document_id=obligation.document_id,
            interpretation_id=state.interpretation_id,
            published_on=today,
            synchronous=today <= obligation.due,
            on_time=today <= obligation.latest_due,
        )
    return published, follow_on
