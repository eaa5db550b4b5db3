"""The rules of 行政执法公示, pure: checks, decisions and evolve (no I/O).

Time limits (cited where they are applied, docs/enforcement.md):

- 国办发〔2018〕118号《国务院办公厅关于全面推行行政执法公示制度执法全过程记录制度重大执法
  决定法制审核制度的指导意见》二(二)「加强事后公开」: 行政执法机关要在执法决定作出之日起
  20个工作日内，向社会公布执法机关、执法对象、执法类别、执法结论等信息……行政许可、行政处罚
  的执法决定信息要在执法决定作出之日起7个工作日内公开，但法律、行政法规另有规定的除外。
  → PUBLICATION_WORKING_DAYS: 7 for 行政许可 and 行政处罚, 20 for 行政强制; counted on the
  project's working-day calendar (shared/workdays.py), the decision day not counted.
- 《中华人民共和国行政处罚法》(2021) 第四十八条: 具有一定社会影响的行政处罚决定应当依法
  公开。公开的行政处罚决定被依法变更、撤销、确认违法或者确认无效的，行政机关应当在三日内
  撤回行政处罚决定信息并公开说明理由。第八十五条: 本法中"三日"是指工作日。
  → WITHDRAWAL_WORKING_DAYS = 3.
- 第五十八条: 重大行政处罚决定作出之前应当进行法制审核；未经法制审核或者审核未通过的，
  不得作出决定。 → a major decision needs an approving LegalReviewRecorded first.
- 信用修复 (《失信行为纠正后的信用信息修复管理办法（试行）》, 国家发展改革委令2023年第58号):
  a penalty's publication ends after its period (Rules.penalty_visible_days, one year by
  default) and may end earlier on 信用修复 once its minimum (Rules.min_visible_days, three
  months) has passed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from types import MappingProxyType
from uuid import UUID, uuid5

from services.catalog import privacy
from services.catalog.events import FindingKind
from services.enforcement import events as ev
from services.enforcement.events import (
    DecisionAction,
    DecisionKind,
    PartyKind,
    WithdrawalReason,
)
from shared.errors import DomainRuleViolated, ValidationFailed
from shared.registry import DomainEvent
from shared.workdays import WorkdayCalendar

#: 国办发〔2018〕118号 二(二): working days from the decision to its publication.
PUBLICATION_WORKING_DAYS: Mapping[DecisionKind, int] = MappingProxyType(
    {DecisionKind.licensing: 7, DecisionKind.penalty: 7, DecisionKind.coercion: 20}
)
#: 行政处罚法第四十八条第二款、第八十五条: 三日 (working days) to withdraw.
WITHDRAWAL_WORKING_DAYS = 3
BASIS_PUBLICATION = (
    "国办发〔2018〕118号 二(二)：行政许可、行政处罚的执法决定信息自决定作出之日起7个工作日内公开"
)
BASIS_WITHDRAWAL = "行政处罚法第四十八条第二款、第八十五条：三日（工作日）内撤回"
BASIS_REVIEW = "行政处罚法第五十八条；国办发〔2018〕118号 四：重大执法决定法制审核"

#: The actions each kind allows.
ACTIONS: Mapping[DecisionKind, frozenset[DecisionAction]] = MappingProxyType(
    {
        DecisionKind.licensing: frozenset(
            {
                DecisionAction.granted,
                DecisionAction.refused,
                DecisionAction.changed,
                DecisionAction.revoked,
            }
        ),
        DecisionKind.penalty: frozenset({DecisionAction.penalised}),
        DecisionKind.coercion: frozenset({DecisionAction.measure, DecisionAction.execution}),
        DecisionKind.fee: frozenset({DecisionAction.charged}),
    }
)

_NAMESPACE = UUID("4f1c2d9e-6a0b-5c3d-8e7f-0a1b2c3d4e5f")


@dataclass(frozen=True)
class Rules:
    """Read at composition from GONGKAI_ENFORCEMENT_* (service.py), never in the domain."""

    #: A decision older than this is refused as implausible (a typo of the year).
    max_age_days: int = 5 * 366
    #: 信用修复: a penalty's publication period, and the minimum before an early end.
    penalty_visible_days: int = 365
    min_visible_days: int = 90


@dataclass(frozen=True)
class DecisionInput:
    """A decision as the API or an import row gives it (commands.RecordDecision)."""

    unit: str
    kind: DecisionKind
    action: DecisionAction | None
    reference: str
    title: str
    facts: str
    legal_basis: Sequence[str]
    party: ev.Party | None
    amount_yuan: Decimal | None
    decided_on: date
    major: bool
    records: Sequence[ev.RecordRef]
    publish: bool
    not_published_reason: str | None
    source: str


@dataclass(frozen=True)
class DecisionState:
    decision_id: UUID | None = None
    township: str = ""
    unit: str = ""
    kind: DecisionKind | None = None
    reference: str = ""
    reviews: tuple[ev.LegalReviewRecorded, ...] = ()
    decision: ev.EnforcementDecisionRecorded | None = None
    published: ev.EnforcementDecisionPublished | None = None
    overdue: bool = False
    annulled: ev.EnforcementDecisionAnnulled | None = None
    withdrawn: ev.EnforcementPublicationWithdrawn | None = None
    version: int = 0

    @property
    def approving_review(self) -> ev.LegalReviewRecorded | None:
        approving = [r for r in self.reviews if r.approved]
        return approving[-1] if approving else None


def decision_id(township: str, kind: DecisionKind, reference: str) -> UUID:
    """The same decision sent twice (retry, re-import) is the same stream."""
    return uuid5(_NAMESPACE, f"{township}|{kind.value}|{reference.strip()}")


def _invalid(rule: str, field_name: str, zh: str, en: str) -> ValidationFailed:
    return ValidationFailed(rule=rule, field=field_name, message_zh=zh, message_en=en)


def _refused(rule: str, field_name: str, zh: str, en: str) -> DomainRuleViolated:
    return DomainRuleViolated(rule=rule, field=field_name, message_zh=zh, message_en=en)


def to_fen(amount: Decimal | None) -> int | None:
    return None if amount is None else int((amount * 100).to_integral_value())


def check(d: DecisionInput, today: date, rules: Rules) -> None:
    """Bad input, refused with the field and the rule named; nothing is written."""
    if d.action is not None and d.action not in ACTIONS[d.kind]:
        allowed = "、".join(a.label_zh for a in sorted(ACTIONS[d.kind]))
        raise _invalid(
            "enforcement.action_not_of_kind",
            "action",
            f"{d.kind.label_zh}的决定类型只能是：{allowed}",
            f"a {d.kind.value} decision's action is one of {sorted(ACTIONS[d.kind])}",
        )
    if not [b for b in d.legal_basis if b.strip()]:
        raise _invalid(
            "enforcement.legal_basis_missing",
            "legal_basis",
            "执法决定必须载明法律依据（行政处罚法第四十四条、第五十九条；行政许可法第三十八条）",
            "an enforcement decision must cite its legal basis",
        )
    if d.decided_on > today:
        raise _invalid(
            "enforcement.decided_in_future",
            "decided_on",
            "决定日期不能晚于今天",
            "the decision date cannot be after today",
        )
    if (today - d.decided_on).days > rules.max_age_days:
        raise _invalid(
            "enforcement.decided_too_long_ago",
            "decided_on",
            f"决定日期早于 {rules.max_age_days} 天前，不可信（请核对年份）",
            f"the decision date is more than {rules.max_age_days} days ago: check the year",
        )
    if d.kind in (DecisionKind.penalty, DecisionKind.fee) and d.amount_yuan is None:
        what = (
            "罚款金额（警告等不罚款的处罚填 0）" if d.kind is DecisionKind.penalty else "收费金额"
        )
        raise _invalid(
            "enforcement.amount_missing",
            "amount_yuan",
            f"{d.kind.label_zh}必须载明{what}",
            f"a {d.kind.value} record needs its amount (0 for a penalty without a fine)",
        )
    if d.kind in (DecisionKind.licensing, DecisionKind.penalty, DecisionKind.coercion) and (
        d.party is None
    ):
        raise _invalid(
            "enforcement.party_missing",
            "party",
            f"{d.kind.label_zh}决定必须载明当事人（自然人或法人、其他组织）",
            f"a {d.kind.value} decision must name its party",
        )
    if d.action is None and d.kind is DecisionKind.licensing:
        raise _invalid(
            "enforcement.action_missing",
            "action",
            "行政许可决定必须载明决定类型（准予、不予、变更、撤销）",
            "a licensing decision must say whether it grants, refuses, changes or revokes",
        )
    if not d.publish and must_publish_kind(d.kind) and not (d.not_published_reason or "").strip():
        raise _invalid(
            "enforcement.not_published_reason_missing",
            "not_published_reason",
            "执法决定依法应当公示（国办发〔2018〕118号）；不予公示须说明法律、行政法规的依据",
            "an enforcement decision is public unless a law says otherwise: name it",
        )


def must_publish_kind(kind: DecisionKind) -> bool:
    return kind in PUBLICATION_WORKING_DAYS


def default_action(kind: DecisionKind) -> DecisionAction | None:
    only = ACTIONS[kind]
    return next(iter(only)) if len(only) == 1 else None


def fingerprint(d: DecisionInput) -> str:
    """What makes two sendings the same decision (all fields but the source)."""
    parts = [
        d.unit,
        d.kind.value,
        (d.action or default_action(d.kind) or "").__str__(),
        d.reference.strip(),
        d.title,
        d.facts,
        "|".join(d.legal_basis),
        d.party.model_dump_json() if d.party else "",
        str(to_fen(d.amount_yuan)),
        d.decided_on.isoformat(),
        str(d.major),
        "|".join(r.model_dump_json() for r in d.records),
        str(d.publish),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def record_review(
    state: DecisionState,
    did: UUID,
    township: str,
    unit: str,
    kind: DecisionKind,
    reference: str,
    reviewer: str,
    opinion: str,
    approved: bool,
    reviewed_on: date,
    today: date,
    by: str,
) -> ev.LegalReviewRecorded:
    """法制审核 comes before the decision (行政处罚法第五十八条)."""
    if state.decision is not None:
        raise _refused(
            "enforcement.review_after_decision",
            "reviewed_on",
            "该决定已记录；法制审核应在作出决定之前进行（行政处罚法第五十八条）",
            "the decision is already recorded: a legal review comes before it",
        )
    if reviewed_on > today:
        raise _invalid(
            "enforcement.reviewed_in_future",
            "reviewed_on",
            "审核日期不能晚于今天",
            "the review date cannot be after today",
        )
    if not opinion.strip():
        raise _invalid("enforcement.opinion_missing", "opinion", "须填写审核意见", "opinion empty")
    return ev.LegalReviewRecorded(
        decision_id=did,
        township=township,
        unit=unit,
        kind=kind,
        reference=reference.strip(),
        reviewer=reviewer,
        opinion=opinion,
        approved=approved,
        reviewed_on=reviewed_on,
        recorded_by=by,
    )


def record_decision(
    state: DecisionState,
    did: UUID,
    township: str,
    d: DecisionInput,
    calendar: WorkdayCalendar,
    by: str,
    review_event_id: UUID | None,
) -> ev.EnforcementDecisionRecorded:
    """A major decision needs an approving review first, dated no later than the decision."""
    if state.decision is not None:
        raise _refused(
            "enforcement.reference_conflict",
            "reference",
            f"文号 {d.reference} 已记录了内容不同的决定；更正请先依法变更或撤销原决定",
            f"reference {d.reference} already holds a different decision",
        )
    review = state.approving_review
    if d.major:
        if review is None:
            refused = " (审核未通过)" if state.reviews else ""
            raise _invalid(
                "enforcement.legal_review_missing",
                "major",
                f"重大执法决定未经法制审核{refused}，不得作出决定（{BASIS_REVIEW}）；"
                "请先记录法制审核（审核人、意见、日期）",
                "a major enforcement decision needs an approving legal review recorded first "
                "(行政处罚法 Art. 58)",
            )
        if review.reviewed_on > d.decided_on:
            raise _invalid(
                "enforcement.review_after_decision",
                "decided_on",
                "法制审核日期晚于决定日期：审核应在决定之前（行政处罚法第五十八条）",
                "the legal review is dated after the decision",
            )
    publish = d.publish and must_publish_kind(d.kind)
    due = calendar.add_workdays(d.decided_on, PUBLICATION_WORKING_DAYS[d.kind]) if publish else None
    return ev.EnforcementDecisionRecorded(
        decision_id=did,
        township=township,
        unit=d.unit,
        kind=d.kind,
        action=d.action or default_action(d.kind) or DecisionAction.granted,
        reference=d.reference.strip(),
        title=d.title,
        facts=d.facts,
        legal_basis=[b.strip() for b in d.legal_basis if b.strip()],
        party=d.party,
        amount_fen=to_fen(d.amount_yuan),
        decided_on=d.decided_on,
        major=d.major,
        review_event_id=review_event_id if d.major else None,
        records=list(d.records),
        must_publish=publish,
        not_published_reason=None if publish else d.not_published_reason,
        publication_due=due.due if due else None,
        due_provisional=bool(due and due.provisional),
        source=d.source,
        fingerprint=fingerprint(d),
        recorded_by=by,
    )


# --- publication ---------------------------------------------------------------------------


def mask_name(name: str) -> str:
    """A natural person's name: the surname stays, the rest is starred (张三 → 张*)."""
    name = name.strip()
    return name[:1] + "*" * max(len(name) - 1, 1)


def mask_id(value: str) -> str:
    kind = FindingKind.legacy_resident_id if len(value) == 15 else FindingKind.resident_id
    return privacy.mask(value, kind)


def _money(fen: int) -> str:
    yuan = Decimal(fen) / 100
    return f"{yuan:,.2f}元"


def party_shown(party: ev.Party | None) -> str | None:
    if party is None:
        return None
    if party.kind is PartyKind.person:
        shown = mask_name(party.name)
        return f"{shown}（身份证号 {mask_id(party.id_number)}）" if party.id_number else shown
    code = f"（统一社会信用代码 {party.id_number}）" if party.id_number else ""
    return f"{party.name}{code}"


def _scrub(text: str, party: ev.Party | None) -> str:
    """A person's full name and id inside the free texts are replaced by their masks."""
    if party is None or party.kind is not PartyKind.person:
        return text
    if party.id_number:
        text = text.replace(party.id_number, mask_id(party.id_number))
    if len(party.name.strip()) >= 2:
        text = text.replace(party.name.strip(), mask_name(party.name))
    return text


def public_texts(
    decision: ev.EnforcementDecisionRecorded, unit_name: str, summary: str | None
) -> dict[str, str]:
    """The texts a publication shows, masked: the title, and the body."""
    party = decision.party
    facts = _scrub(summary if summary is not None else decision.facts, party)
    lines = [
        f"{decision.kind.label_zh}决定公示（{decision.action.label_zh}）",
        f"文号：{decision.reference}",
    ]
    shown = party_shown(party)
    if shown:
        lines.append(f"行政相对人：{shown}")
    lines += [
        f"事项：{_scrub(decision.title, party)}",
        f"主要内容：{facts}",
        f"法律依据：{'；'.join(decision.legal_basis)}",
    ]
    if decision.amount_fen is not None:
        label = "罚款金额" if decision.kind is DecisionKind.penalty else "金额"
        lines.append(f"{label}：{_money(decision.amount_fen)}")
    lines += [f"作出决定机关：{unit_name}", f"决定日期：{decision.decided_on.isoformat()}"]
    return {"title": _scrub(decision.title, party), "text": "\n".join(lines)}


def guard_privacy(texts: Mapping[str, str], salt: str) -> None:
    """The privacy guard of the catalog (services/catalog/privacy.py) checks every published
    text; anything it still finds holds the publication (方案§8, 条例第十五条)."""
    findings = privacy.scan(texts, salt=salt)
    if findings:
        first = findings[0]
        raise ValidationFailed(
            rule="enforcement.personal_data_unmasked",
            field="summary",
            message_zh=(
                f"公示内容含未脱敏的个人信息（{first.kind.label_zh} {first.masked}），已暂停公示；"
                "请在 summary 中提供脱敏后的公示摘要"
            ),
            message_en=(
                f"the published text holds unmasked personal data ({first.kind.value}): held; "
                "give a masked summary"
            ),
            details={"findings": [{"kind": f.kind.value, "masked": f.masked} for f in findings]},
        )


def publish(
    state: DecisionState,
    unit_name: str,
    summary: str | None,
    calendar: WorkdayCalendar,
    today: date,
    rules: Rules,
    by: str,
) -> ev.EnforcementDecisionPublished:
    decision = state.decision
    if decision is None:
        raise _refused(
            "enforcement.not_decided",
            "decision_id",
            "尚无执法决定，不能公示",
            "no decision is recorded yet",
        )
    if state.published is not None and state.withdrawn is None:
        raise _refused(
            "enforcement.already_published", "decision_id", "该决定已公示", "already published"
        )
    if state.annulled is not None or state.withdrawn is not None:
        raise _refused(
            "enforcement.not_publishable",
            "decision_id",
            "该决定已被变更、撤销或公示已撤回，不再公示",
            "the decision was annulled or its publication withdrawn",
        )
    if not decision.must_publish:
        raise _refused(
            "enforcement.not_for_publication",
            "decision_id",
            "该记录无需公示（行政事业性收费，或依法不予公开）",
            "this record is not published (a fee, or not public by law)",
        )
    texts = public_texts(decision, unit_name, summary)
    guard_privacy(texts, salt=str(decision.decision_id))
    due = decision.publication_due
    visible_until = (
        today + timedelta(days=rules.penalty_visible_days)
        if decision.kind is DecisionKind.penalty
        else None
    )
    return ev.EnforcementDecisionPublished(
        decision_id=decision.decision_id,
        township=decision.township,
        unit=decision.unit,
        kind=decision.kind,
        reference=decision.reference,
        title=texts["title"],
        text=texts["text"],
        party_shown=party_shown(decision.party),
        decided_on=decision.decided_on,
        published_on=today,
        publication_due=due,
        late=due is not None and today > due,
        working_days_taken=calendar.workdays_between(decision.decided_on, today),
        visible_until=visible_until,
        published_by=by,
    )


def overdue(state: DecisionState, today: date) -> ev.EnforcementPublicationOverdue | None:
    """Once, when the due day passed with no publication (the scheduler's step)."""
    d = state.decision
    if d is None or not d.must_publish or d.publication_due is None:
        return None
    if state.published is not None or state.overdue or state.annulled is not None:
        return None
    if today <= d.publication_due:
        return None
    return ev.EnforcementPublicationOverdue(
        decision_id=d.decision_id,
        township=d.township,
        unit=d.unit,
        kind=d.kind,
        publication_due=d.publication_due,
        noticed_on=today,
    )


def _withdrawal(
    state: DecisionState,
    reason: WithdrawalReason,
    today: date,
    by: str,
    late: bool = False,
    note: str | None = None,
) -> ev.EnforcementPublicationWithdrawn:
    d = state.decision
    assert d is not None
    return ev.EnforcementPublicationWithdrawn(
        decision_id=d.decision_id,
        township=d.township,
        unit=d.unit,
        kind=d.kind,
        reason=reason,
        withdrawn_on=today,
        late=late,
        note=note,
        withdrawn_by=by,
    )


def annul(
    state: DecisionState,
    outcome: ev.AnnulmentOutcome,
    annulled_on: date,
    basis: str,
    calendar: WorkdayCalendar,
    today: date,
    by: str,
) -> list[DomainEvent]:
    """变更、撤销、确认违法、确认无效: a public decision is withdrawn in the same append,
    well inside the three working days of 行政处罚法第四十八条第二款."""
    d = state.decision
    if d is None:
        raise _refused("enforcement.not_decided", "decision_id", "尚无执法决定", "no decision")
    if state.annulled is not None:
        raise _refused(
            "enforcement.already_annulled", "outcome", "该决定已记录变更或撤销", "already annulled"
        )
    if annulled_on > today or annulled_on < d.decided_on:
        raise _invalid(
            "enforcement.annulled_on_invalid",
            "annulled_on",
            "变更或撤销日期应在决定日期之后、今天之前",
            "the annulment date lies between the decision and today",
        )
    due = calendar.add_workdays(annulled_on, WITHDRAWAL_WORKING_DAYS).due
    annulled = ev.EnforcementDecisionAnnulled(
        decision_id=d.decision_id,
        township=d.township,
        unit=d.unit,
        kind=d.kind,
        outcome=outcome,
        annulled_on=annulled_on,
        basis=basis,
        withdrawal_due=due if is_public(state) else None,
        recorded_by=by,
    )
    if not is_public(state):
        return [annulled]
    withdrawn = _withdrawal(
        state, WithdrawalReason.decision_annulled, today, by, today > due, note=basis
    )
    return [annulled, withdrawn]


def is_public(state: DecisionState) -> bool:
    return state.published is not None and state.withdrawn is None


def period_ended(
    state: DecisionState, today: date, by: str
) -> ev.EnforcementPublicationWithdrawn | None:
    """公示期满: the scheduler withdraws a penalty whose period ended."""
    if not is_public(state):
        return None
    assert state.published is not None
    until = state.published.visible_until
    if until is None or today < until:
        return None
    return _withdrawal(state, WithdrawalReason.period_ended, today, by)


def credit_repair(
    state: DecisionState, today: date, rules: Rules, by: str, basis: str
) -> ev.EnforcementPublicationWithdrawn:
    """信用修复: a penalty's publication ends early once its minimum period has passed."""
    if not is_public(state):
        raise _refused("enforcement.not_public", "decision_id", "该决定未在公示中", "not published")
    assert state.published is not None and state.decision is not None
    if state.decision.kind is not DecisionKind.penalty:
        raise _refused(
            "enforcement.credit_repair_penalty_only",
            "decision_id",
            "信用修复仅适用于行政处罚信息",
            "credit repair applies to penalty information only",
        )
    earliest = state.published.published_on + timedelta(days=rules.min_visible_days)
    if today < earliest:
        raise _refused(
            "enforcement.credit_repair_too_early",
            "decision_id",
            f"行政处罚信息最短公示期未满（{rules.min_visible_days} 天，"
            f"至 {earliest.isoformat()}），不能信用修复",
            f"the minimum publication period runs until {earliest.isoformat()}",
        )
    return _withdrawal(state, WithdrawalReason.credit_repair, today, by, note=basis)


# --- evolve -------------------------------------------------------------------------------


def evolve(state: DecisionState, event: DomainEvent) -> DecisionState:
    s = replace(state, version=state.version + 1)
    if isinstance(event, ev.LegalReviewRecorded):
        return replace(
            s,
            decision_id=event.decision_id,
            township=event.township,
            unit=event.unit,
            kind=event.kind,
            reference=event.reference,
            reviews=(*s.reviews, event),
        )
    if isinstance(event, ev.EnforcementDecisionRecorded):
        return replace(
            s,
            decision_id=event.decision_id,
            township=event.township,
            unit=event.unit,
            kind=event.kind,
            reference=event.reference,
            decision=event,
        )
    if isinstance(event, ev.EnforcementDecisionPublished):
        return replace(s, published=event, withdrawn=None)
    if isinstance(event, ev.EnforcementPublicationOverdue):
        return replace(s, overdue=True)
    if isinstance(event, ev.EnforcementDecisionAnnulled):
        return replace(s, annulled=event)
    if isinstance(event, ev.EnforcementPublicationWithdrawn):
        return replace(s, withdrawn=event)
    return s
