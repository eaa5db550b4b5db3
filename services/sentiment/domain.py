"""The rules of intake and of the case ledger (台账), as pure functions (DOMAIN.md §4, 方案§17).

No I/O: the handler passes in now, the classification, the deadline rules and the state.
Work-order steps follow 12345 practice: 派单 → 签收 (or 退单 → 派单 again) → 延期申请/审批 →
催办/督办 → 办结 → 公开 → 回访 → 重办 when the citizen is not satisfied.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from services.sentiment.commands import (
    AssignCase,
    DecideExtension,
    FollowUpCase,
    PublishResult,
    ReceiveMessage,
    RemindCase,
    RequestExtension,
    RespondCase,
    ReturnCase,
)
from services.sentiment.deadlines import reopened_due
from services.sentiment.events import (
    MAX_TEXT_CHARS,
    CaseAccepted,
    CaseAssigned,
    CaseEscalated,
    CaseExtensionDecided,
    CaseExtensionRequested,
    CaseFollowedUp,
    CaseMessageAdded,
    CaseOpened,
    CaseReminded,
    CaseReopened,
    CaseResponded,
    CaseResultPublished,
    CaseReturned,
    MessageKind,
    PolicyMisreadingReported,
    Source,
)
from shared.errors import DomainRuleViolated, ValidationFailed
from shared.registry import DomainEvent

#: Escalation targets (方案§五(四)): level 1 the township leader, level 2 the district offices.
ESCALATION_TARGETS = {
    1: ["township_principal_leader"],
    2: ["district_propaganda_department", "district_cyberspace_office"],
}


#: Statuses in which a case still takes messages and steps toward its response.
OPEN_STATUSES = ("opened", "dispatched", "accepted", "returned", "reopened")


def _invalid(rule: str, field: str, zh: str, en: str) -> ValidationFailed:
    return ValidationFailed(rule=rule, field=field, message_zh=zh, message_en=en)


def check_message(cmd: ReceiveMessage) -> tuple[Source, MessageKind, str]:
    """Refuse what cannot be a message: empty text, text over the limit, unknown source."""
    text = cmd.text.strip()
    if not text:
        raise _invalid(
            "message.text_empty", "text", "留言内容不能为空", "the message text is empty"
        )
    if len(text) > MAX_TEXT_CHARS:
        raise _invalid(
            "message.text_too_long",
            "text",
            f"留言内容超过 {MAX_TEXT_CHARS} 字（{len(text)} 字）",
            f"the message text has {len(text)} characters; the limit is {MAX_TEXT_CHARS}",
        )
    try:
        source = Source(cmd.source)
    except ValueError:
        known = ", ".join(s.value for s in Source)
        raise _invalid(
            "message.source_unknown",
            "source",
            f"未知的来源 {cmd.source!r}，可选：{known}",
            f"unknown source {cmd.source!r}; one of: {known}",
        ) from None
    kind = cmd.kind or (MessageKind.complaint if source is Source.hotline else MessageKind.opinion)
    return source, kind, text


def dedup_key(tenant: str, source: Source, external_id: str | None, text: str) -> str:
    """The same item imported twice has the same key: by its source's id, else by its text."""
    basis = f"id|{external_id}" if external_id else f"text|{' '.join(text.split())}"
    return hashlib.sha256(f"{tenant}|{source.value}|{basis}".encode()).hexdigest()


@dataclass(frozen=True)
class CaseState:
    version: int = 0
    case_id: UUID | None = None
    status: str = "new"
    source: Source | None = None
    unit: str | None = None
    officer: str | None = None
    opened_at: datetime | None = None
    first_due: datetime | None = None
    response_due: datetime | None = None
    extension_pending: bool = False
    requested_due: datetime | None = None
    published: bool = False
    escalation_level: int = 0
    messages: tuple[UUID, ...] = ()
    #: Policies the case was linked to as misread (误读政策).
    policies: tuple[UUID, ...] = ()


def evolve(state: CaseState, event: DomainEvent) -> CaseState:
    s = replace(state, version=state.version + 1)
    if isinstance(event, CaseOpened):
        return replace(
            s,
            case_id=event.case_id,
            status="opened",
            source=event.source,
            opened_at=event.opened_at,
            first_due=event.response_due,
            response_due=event.response_due,
            messages=(event.first_message_id,),
        )
    if isinstance(event, CaseMessageAdded):
        return replace(s, messages=(*s.messages, event.message_id))
    if isinstance(event, CaseAssigned):
        return replace(s, status="dispatched", unit=event.unit, officer=event.officer)
    if isinstance(event, CaseAccepted):
        return replace(s, status="accepted")
    if isinstance(event, CaseReturned):
        return replace(s, status="returned", unit=None)
    if isinstance(event, CaseExtensionRequested):
        return replace(s, extension_pending=True, requested_due=event.requested_due)
    if isinstance(event, CaseExtensionDecided):
        return replace(s, extension_pending=False, response_due=event.response_due)
    if isinstance(event, CaseResponded):
        return replace(s, status="responded")
    if isinstance(event, CaseResultPublished):
        return replace(s, published=True)
    if isinstance(event, CaseFollowedUp):
        closed = event.satisfaction != "dissatisfied"
        return replace(s, status="closed" if closed else "dissatisfied")
    if isinstance(event, CaseReopened):
        return replace(
            s,
            status="reopened",
            response_due=event.response_due,
            published=False,
            escalation_level=0,
        )
    if isinstance(event, CaseEscalated):
        return replace(s, escalation_level=event.level)
    if isinstance(event, PolicyMisreadingReported):
        return replace(s, policies=(*s.policies, event.document_id))
    return s


def _refuse(rule: str, zh: str, en: str, field: str = "status") -> DomainRuleViolated:
    return DomainRuleViolated(rule=rule, field=field, message_zh=zh, message_en=en)


def _require(state: CaseState, allowed: tuple[str, ...], step_zh: str, step: str) -> UUID:
    if state.case_id is None:
        raise _refuse("case.not_opened", "案件不存在", "the case does not exist", "case_id")
    if state.status == "closed":
        raise _refuse(
            "case.closed",
            f"案件已办结并回访满意，不能再{step_zh}",
            f"the case is closed; it cannot be {step}",
        )
    if state.status not in allowed:
        raise _refuse(
            f"case.{step.replace(' ', '_')}_not_allowed",
            f"案件状态为 {state.status}，不能{step_zh}",
            f"a case in status {state.status} cannot be {step}",
        )
    return state.case_id


def add_message(state: CaseState, message_id: UUID, similarity: float) -> CaseMessageAdded:
    case_id = _require(state, OPEN_STATUSES, "并案", "grouped")
    return CaseMessageAdded(case_id=case_id, message_id=message_id, similarity=similarity)


def assign(state: CaseState, cmd: AssignCase) -> CaseAssigned:
    case_id = _require(state, ("opened", "returned", "reopened"), "派单", "dispatched")
    return CaseAssigned(case_id=case_id, unit=cmd.unit, officer=cmd.officer, note=cmd.note)


def accept(state: CaseState) -> CaseAccepted:
    case_id = _require(state, ("dispatched",), "签收", "accepted")
    assert state.unit is not None
    return CaseAccepted(case_id=case_id, unit=state.unit)


def return_case(state: CaseState, cmd: ReturnCase) -> CaseReturned:
    case_id = _require(state, ("dispatched", "accepted"), "退单", "returned")
    assert state.unit is not None
    return CaseReturned(case_id=case_id, unit=state.unit, reason=cmd.reason)


def request_extension(state: CaseState, cmd: RequestExtension) -> CaseExtensionRequested:
    case_id = _require(state, ("accepted", "reopened"), "申请延期", "extended")
    if state.extension_pending:
        raise _refuse("extension.pending", "已有待审批的延期申请", "an extension is pending")
    assert state.response_due is not None
    if cmd.requested_due <= state.response_due:
        raise ValidationFailed(
            rule="extension.not_later",
            field="requested_due",
            message_zh="申请的期限须晚于当前期限",
            message_en="the requested due time must be later than the current one",
        )
    return CaseExtensionRequested(
        case_id=case_id, reason=cmd.reason, requested_due=cmd.requested_due
    )


def decide_extension(state: CaseState, cmd: DecideExtension) -> CaseExtensionDecided:
    case_id = _require(state, ("accepted", "reopened"), "审批延期", "extended")
    if not state.extension_pending:
        raise _refuse("extension.none_pending", "没有待审批的延期申请", "no extension is pending")
    assert state.response_due is not None and state.requested_due is not None
    due = state.requested_due if cmd.approved else state.response_due
    return CaseExtensionDecided(
        case_id=case_id, approved=cmd.approved, response_due=due, note=cmd.note
    )


def remind(state: CaseState, cmd: RemindCase) -> CaseReminded:
    case_id = _require(
        state, ("opened", "dispatched", "accepted", "returned", "reopened"), "催办", "reminded"
    )
    return CaseReminded(case_id=case_id, level=cmd.level, note=cmd.note)


def respond(state: CaseState, cmd: RespondCase, now: datetime) -> CaseResponded:
    case_id = _require(state, ("accepted", "reopened"), "办结答复", "responded")
    assert state.response_due is not None
    return CaseResponded(
        case_id=case_id, response=cmd.response, responded_at=now, on_time=now <= state.response_due
    )


def publish_result(state: CaseState, cmd: PublishResult, now: datetime) -> CaseResultPublished:
    case_id = _require(state, ("responded", "dissatisfied"), "公开结果", "published")
    if state.published:
        raise _refuse("case.already_published", "结果已公开", "the result is already published")
    return CaseResultPublished(case_id=case_id, channel=cmd.channel, url=cmd.url, published_at=now)


def follow_up(state: CaseState, cmd: FollowUpCase) -> CaseFollowedUp:
    case_id = _require(state, ("responded",), "回访", "followed up")
    return CaseFollowedUp(case_id=case_id, satisfaction=cmd.satisfaction, note=cmd.note)


def reopen(state: CaseState, reason: str, now: datetime) -> CaseReopened:
    case_id = _require(state, ("dissatisfied",), "重办", "reopened")
    assert state.opened_at is not None and state.first_due is not None
    due = reopened_due(now, state.opened_at, state.first_due)
    return CaseReopened(case_id=case_id, reason=reason, response_due=due)


def escalation(state: CaseState, now: datetime) -> CaseEscalated | None:
    """Level 1 once the clock has run out; level 2 when overdue by the clock's length again."""
    if state.status not in ("opened", "dispatched", "accepted", "returned", "reopened"):
        return None
    if state.case_id is None or state.response_due is None or state.opened_at is None:
        return None
    if now <= state.response_due:
        return None
    span = state.response_due - state.opened_at
    level = 2 if now > state.response_due + span else 1
    if level <= state.escalation_level:
        return None
    return CaseEscalated(
        case_id=state.case_id,
        level=level,
        escalated_to=ESCALATION_TARGETS[level],
        overdue_since=state.response_due,
    )


#: A misreading may be linked while the case is open or answered, not once it is closed.
MISREADING_STATUSES = (*OPEN_STATUSES, "responded", "dissatisfied")


@dataclass(frozen=True)
class PolicyFacts:
    """The published policy as the sentiment service knows it (from catalog events)."""

    document_id: UUID
    title: str
    document_number: str | None
    township: str
    withdrawn: bool
    #: The policy is the case's township's, or of a level above it (the district's).
    in_scope: bool = True


def report_misreading(
    state: CaseState,
    policy: PolicyFacts | None,
    document_id: UUID,
    misreading: str,
    reported_by: str,
    classified_misreading: bool,
    match: tuple[float, tuple[str, ...]] | None,
) -> PolicyMisreadingReported:
    """误读政策 (方案§17, §五(一)): link the case to the misread policy, once per policy.

    `policy` is None when no published policy with that id is known (never published, not
    a policy, or not arrived yet from the catalog)."""
    case_id = _require(state, MISREADING_STATUSES, "关联误读政策", "linked to a policy")
    if policy is None:
        raise _invalid(
            "policy_link.document_unknown",
            "document_id",
            f"未找到已公开的政策文件 {document_id}"
            "（规范性文件、政策性文件、实施方案或标记需解读的文件）",
            f"no published policy {document_id} is known (normative, policy, implementation "
            "plan, or flagged for interpretation)",
        )
    if not policy.in_scope:
        raise _invalid(
            "policy_link.outside_township",
            "document_id",
            f"政策文件属于 {policy.township}，与本案件所在镇无关",
            f"the policy belongs to {policy.township}, not to the case's township or above it",
        )
    if policy.withdrawn:
        raise _invalid(
            "policy_link.document_withdrawn",
            "document_id",
            "该政策文件已撤销，不再解读",
            "the policy was withdrawn; it is no longer interpreted",
        )
    if document_id in state.policies:
        raise _refuse(
            "policy_link.duplicate",
            "该案件已关联此政策",
            "the case is already linked to this policy",
            "document_id",
        )
    if len(misreading.strip()) < 4:
        raise _invalid(
            "policy_link.misreading_empty",
            "misreading",
            "请写明群众误读了什么（至少 4 个字）",
            "say what was misread (at least 4 characters)",
        )
    return PolicyMisreadingReported(
        case_id=case_id,
        document_id=document_id,
        policy_title=policy.title,
        document_number=policy.document_number,
        policy_township=policy.township,
        misreading=misreading.strip(),
        reported_by=reported_by,
        classified_misreading=classified_misreading,
        match_score=match[0] if match else None,
        match_reasons=list(match[1]) if match else [],
    )
