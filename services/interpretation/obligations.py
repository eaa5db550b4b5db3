"""The obligation to interpret a policy, as pure functions (DOMAIN.md §3; 方案§15).

谁起草、谁解读: a published policy of an interpreted kind (or flagged by its drafter) opens
an obligation owned by the drafting unit (the lead unit of a joint document), due the same
day (三同步) and at the latest N working days after publication. Delegation, follow-up
stages (分阶段持续跟踪解读), the missed deadline and cancellation are decided here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from uuid import UUID

from services.interpretation.events import (
    FollowUpCasesAdded,
    FollowUpFulfilled,
    FollowUpRequested,
    InterpretationDeadlineMissed,
    InterpretationRequired,
    ObligationCancelled,
    ObligationDelegated,
    ObligationFulfilled,
    PolicySource,
    Trigger,
)
from shared.errors import DomainRuleViolated, ValidationFailed
from shared.registry import DomainEvent
from shared.workdays import WorkdayCalendar

#: The follow-up stage's reason is at most this long (the command's limit).
MAX_REASON_CHARS = 2000

#: Document kinds that always need an interpretation (DOMAIN.md §3): 规范性文件, 政策性文件,
#: 实施方案 — the catalog's `normative`, `policy`, `implementation_plan`.
INTERPRETED_KINDS = frozenset({"normative", "policy", "implementation_plan"})


#: The most working days a deployment may allow [ours]: 条例 Art. 26 gives the policy itself
#: 20 working days to be published; an interpretation due later than that can no longer be
#: "published together" (三同步) by any local reading (docs/decisions.md, item 30).
MAX_WORKING_DAYS = 20


@dataclass(frozen=True)
class DeadlineRules:
    """三同步 [local: 郑州; configurable]: same day as the policy, at the latest N working days.

    The defaults are DOMAIN.md §3's (0 and 3). A place whose practice allows longer may raise
    the limit up to MAX_WORKING_DAYS; each InterpretationRequired records the values used.
    """

    target_working_days: int = 0
    limit_working_days: int = 3
    follow_up_working_days: int = 3  # [ours] a follow-up stage is due like a first one

    def __post_init__(self) -> None:
        if not 0 <= self.target_working_days <= self.limit_working_days <= MAX_WORKING_DAYS:
            raise ValueError(
                "need 0 <= target_working_days <= limit_working_days <= "
                f"{MAX_WORKING_DAYS} (DOMAIN.md §3: same day, at the latest 3 working days by "
                f"default); got target {self.target_working_days}, "
                f"limit {self.limit_working_days}"
            )
        if not 0 <= self.follow_up_working_days <= MAX_WORKING_DAYS:
            raise ValueError(
                f"need 0 <= follow_up_working_days <= {MAX_WORKING_DAYS}; "
                f"got {self.follow_up_working_days}"
            )


@dataclass(frozen=True)
class PolicyFacts:
    """What the obligation needs to know about a published policy, from either source."""

    document_id: UUID
    township: str
    lead_unit: str
    joint_units: tuple[str, ...]
    title: str
    document_number: str | None
    kind: str
    flagged: bool
    published_on: date
    source: PolicySource


def trigger_of(kind: str, flagged: bool) -> Trigger | None:
    if kind in INTERPRETED_KINDS:
        return Trigger.kind
    return Trigger.flagged if flagged else None


def open_obligation(
    policy: PolicyFacts, calendar: WorkdayCalendar, rules: DeadlineRules
) -> InterpretationRequired | None:
    """The obligation a publication opens, or None when the document needs no interpretation.

    谁起草、谁解读: the owner is the drafting unit; for a joint document the lead unit.
    """
    trigger = trigger_of(policy.kind, policy.flagged)
    if trigger is None:
        return None
    due = calendar.add_workdays(policy.published_on, rules.target_working_days)
    latest = calendar.add_workdays(policy.published_on, rules.limit_working_days)
    return InterpretationRequired(
        document_id=policy.document_id,
        township=policy.township,
        owner_unit=policy.lead_unit,
        joint_units=list(policy.joint_units),
        title=policy.title,
        document_number=policy.document_number,
        kind=policy.kind,
        trigger=trigger,
        source=policy.source,
        published_on=policy.published_on,
        due=due.due,
        latest_due=latest.due,
        target_working_days=rules.target_working_days,
        limit_working_days=rules.limit_working_days,
        due_provisional=due.provisional or latest.provisional,
    )


# ------------------------------------------------------------------------ obligation


@dataclass(frozen=True)
class FollowUp:
    follow_up_id: UUID
    stage: int
    case_ids: tuple[str, ...]
    due: date
    fulfilled_by: UUID | None = None


@dataclass(frozen=True)
class ObligationState:
    version: int = 0
    document_id: UUID | None = None
    township: str = ""
    owner_unit: str = ""
    latest_due: date | None = None
    due: date | None = None
    status: str = "none"  # none | open | fulfilled | cancelled
    missed: bool = False
    delegations: tuple[str, ...] = ()
    follow_ups: tuple[FollowUp, ...] = ()

    def follow_up(self, follow_up_id: UUID) -> FollowUp | None:
        return next((f for f in self.follow_ups if f.follow_up_id == follow_up_id), None)


def evolve_obligation(state: ObligationState, event: DomainEvent) -> ObligationState:
    s = replace(state, version=state.version + 1)
    if isinstance(event, InterpretationRequired):
        return replace(
            s,
            document_id=event.document_id,
            township=event.township,
            owner_unit=event.owner_unit,
            due=event.due,
            latest_due=event.latest_due,
            status="open",
        )
    if isinstance(event, ObligationDelegated):
        return replace(s, owner_unit=event.to_unit, delegations=(*s.delegations, event.to_unit))
    if isinstance(event, ObligationFulfilled):
        return replace(s, status="fulfilled")
    if isinstance(event, InterpretationDeadlineMissed):
        return replace(s, missed=True)
    if isinstance(event, ObligationCancelled):
        return replace(s, status="cancelled")
    if isinstance(event, FollowUpRequested):
        item = FollowUp(event.follow_up_id, event.stage, tuple(event.case_ids), event.due)
        return replace(s, follow_ups=(*s.follow_ups, item))
    if isinstance(event, FollowUpCasesAdded):
        return replace(
            s,
            follow_ups=tuple(
                replace(f, case_ids=(*f.case_ids, *event.case_ids))
                if f.follow_up_id == event.follow_up_id
                else f
                for f in s.follow_ups
            ),
        )
    if isinstance(event, FollowUpFulfilled):
        return replace(
            s,
            follow_ups=tuple(
                replace(f, fulfilled_by=event.interpretation_id)
                if f.follow_up_id == event.follow_up_id
                else f
                for f in s.follow_ups
            ),
        )
    return s


def require_live(state: ObligationState) -> None:
    if state.status == "cancelled":
        raise DomainRuleViolated(
            rule="policy.withdrawn",
            field="document_id",
            message_zh="该政策文件已撤销，不再需要解读",
            message_en="the policy was withdrawn; it needs no interpretation any more",
        )


def delegate(
    state: ObligationState, to_unit: str, reason: str, delegated_by: str
) -> ObligationDelegated:
    """Delegation is explicit and recorded (谁起草、谁解读 unless handed over with a reason)."""
    require_live(state)
    if state.status == "fulfilled":
        raise DomainRuleViolated(
            rule="obligation.already_fulfilled",
            field="document_id",
            message_zh="该政策已完成解读，无需再委托",
            message_en="the policy is already interpreted; nothing to delegate",
        )
    if to_unit == state.owner_unit:
        raise ValidationFailed(
            rule="delegation.same_unit",
            field="to_unit",
            message_zh="受托单位与当前负责单位相同",
            message_en="the unit delegated to already owns the obligation",
        )
    assert state.document_id is not None
    return ObligationDelegated(
        document_id=state.document_id,
        from_unit=state.owner_unit,
        to_unit=to_unit,
        reason=reason,
        delegated_by=delegated_by,
    )


def request_follow_up(
    state: ObligationState,
    follow_up_id: UUID,
    case_ids: Sequence[str],
    reason: str,
    requested_by: str,
    today: date,
    calendar: WorkdayCalendar,
    rules: DeadlineRules,
) -> FollowUpRequested:
    """分阶段持续跟踪解读 (方案§五(一)): the next stage, linked to the cases behind it."""
    require_live(state)
    assert state.document_id is not None
    return FollowUpRequested(
        document_id=state.document_id,
        follow_up_id=follow_up_id,
        stage=2 + len(state.follow_ups),
        case_ids=sorted(set(case_ids)),
        reason=reason,
        requested_by=requested_by,
        due=calendar.add_workdays(today, rules.follow_up_working_days).due,
    )


def follow_up_for_cases(
    state: ObligationState,
    new_follow_up_id: UUID,
    case_ids: Sequence[str],
    reason: str,
    requested_by: str,
    today: date,
    calendar: WorkdayCalendar,
    rules: DeadlineRules,
) -> FollowUpRequested | FollowUpCasesAdded | None:
    """Misreading cases reported by the sentiment service (方案§五(一): 对误解误读及时解读回应).

    Idempotent: cases any stage already answers are left out, and None is returned when
    none is new (a redelivered report opens nothing). New cases join the stage that is
    requested but not yet interpreted; otherwise they open the next stage. A withdrawn
    policy takes none (None)."""
    if state.status not in ("open", "fulfilled") or state.document_id is None:
        return None
    known = {case for f in state.follow_ups for case in f.case_ids}
    new = sorted(set(case_ids) - known)
    if not new:
        return None
    pending = next((f for f in state.follow_ups if f.fulfilled_by is None), None)
    if pending is not None:
        return FollowUpCasesAdded(
            document_id=state.document_id,
            follow_up_id=pending.follow_up_id,
            stage=pending.stage,
            case_ids=new,
            reason=reason,
            requested_by=requested_by,
            due=pending.due,
        )
    return request_follow_up(
        state, new_follow_up_id, new, reason, requested_by, today, calendar, rules
    )


def deadline_missed(state: ObligationState, today: date) -> InterpretationDeadlineMissed | None:
    """Due once, the first day after the latest due date with the obligation still open."""
    if state.status != "open" or state.missed or state.latest_due is None:
        return None
    if today <= state.latest_due:
        return None
    assert state.document_id is not None
    return InterpretationDeadlineMissed(
        document_id=state.document_id,
        owner_unit=state.owner_unit,
        latest_due=state.latest_due,
        noticed_on=today,
    )


def cancel(state: ObligationState, reason: str) -> ObligationCancelled | None:
    if state.status != "open":
        return None
    assert state.document_id is not None
    return ObligationCancelled(document_id=state.document_id, reason=reason)


@dataclass(frozen=True)
class MisreadingReport:
    """A case the sentiment service linked to a misread policy (its PolicyMisreadingReported)."""

    case_id: str
    misreading: str
    reported_by: str
    correlation_id: UUID | None = None


def misreading_reason(reports: Sequence[MisreadingReport]) -> str:
    """One reason for a stage from the cases' misreadings: 误读政策（舆情案件 …）：…"""
    parts = [f"误读政策（舆情案件 {r.case_id}）：{r.misreading}" for r in reports]
    reason = "；".join(parts)
    return reason if len(reason) <= MAX_REASON_CHARS else reason[: MAX_REASON_CHARS - 1] + "…"
