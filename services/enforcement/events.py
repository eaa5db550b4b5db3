"""Events of the enforcement service (行政执法公示). The source of contracts/.

The three systems of 国办发〔2018〕118号 (《关于全面推行行政执法公示制度执法全过程记录制度
重大执法决定法制审核制度的指导意见》) and the seed plan 方案§10, as one aggregate: one
enforcement decision, stream `enforcement-<decision_id>`, tenant = the deciding unit.

- LegalReviewRecorded: 重大执法决定法制审核 — the review of a major decision, recorded
  before the decision (行政处罚法 (2021) 第五十八条: 未经法制审核或者审核未通过的，不得作出决定);
- EnforcementDecisionRecorded: 行政许可 / 行政处罚 / 行政强制 / 行政事业性收费, with its
  legal basis, the party, the amount, and its 全过程记录 (文书, 音像记录 identifiers and their
  SHA-256 hashes, which enter the audit chain with the event);
- EnforcementDecisionPublished: 行政执法公示 — the masked text, within 7 working days of
  the decision (国办发〔2018〕118号 二(二)); `late` when after;
- EnforcementPublicationOverdue: the scheduler saw the 7 working days pass unpublished;
- EnforcementDecisionAnnulled: the decision was changed, revoked, confirmed illegal or void;
- EnforcementPublicationWithdrawn: the publication is withdrawn — period ended, decision
  annulled (行政处罚法第四十八条第二款: 三日内撤回; 第八十五条: 工作日), or 信用修复.

The decision id is derived from (township, kind, reference), so a decision sent twice (an
API retry, a re-imported file) lands on the same stream and is recorded once.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.fields import NOT_PERSONAL, PERSONAL, LabelledEnum
from shared.registry import DomainEvent, EventRegistry

registry = EventRegistry(service="enforcement")

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class DecisionKind(LabelledEnum):
    """The four rows of section 二 of the annual report (国办公开办函〔2021〕30号)."""

    licensing = "licensing", "行政许可"
    penalty = "penalty", "行政处罚"
    coercion = "coercion", "行政强制"
    fee = "fee", "行政事业性收费"


class DecisionAction(LabelledEnum):
    """What the decision does; each kind allows its own (domain.ACTIONS)."""

    granted = "granted", "准予许可"
    refused = "refused", "不予许可"
    changed = "changed", "变更许可"
    revoked = "revoked", "撤销（撤回、吊销）许可"
    penalised = "penalised", "作出处罚决定"
    measure = "measure", "行政强制措施"
    execution = "execution", "行政强制执行"
    charged = "charged", "收费"


class PartyKind(LabelledEnum):
    person = "person", "自然人"
    organisation = "organisation", "法人或其他组织"


class RecordKind(LabelledEnum):
    """执法全过程记录: what a decision's file holds."""

    document = "document", "执法文书"
    audio_video = "audio_video", "音像记录"


class AnnulmentOutcome(LabelledEnum):
    """行政处罚法第四十八条第二款: 被依法变更、撤销、确认违法或者确认无效."""

    changed = "changed", "依法变更"
    revoked = "revoked", "依法撤销"
    confirmed_illegal = "confirmed_illegal", "确认违法"
    confirmed_void = "confirmed_void", "确认无效"


class WithdrawalReason(LabelledEnum):
    period_ended = "period_ended", "公示期满"
    decision_annulled = "decision_annulled", "决定被变更、撤销、确认违法或确认无效"
    credit_repair = "credit_repair", "信用修复"


class Party(BaseModel):
    """行政相对人. A natural person's name and id are personal data: never published whole."""

    model_config = _FROZEN

    kind: PartyKind = Field(title="当事人类型")
    name: str = Field(min_length=1, max_length=200, title="当事人名称", json_schema_extra=PERSONAL)
    id_number: str | None = Field(
        default=None,
        max_length=40,
        title="证件号码或统一社会信用代码",
        json_schema_extra=PERSONAL,
    )


class RecordRef(BaseModel):
    """One piece of the 全过程记录: its identifier in the unit's system and its hash."""

    model_config = _FROZEN

    kind: RecordKind = Field(title="记录类型")
    identifier: str = Field(min_length=1, max_length=300, title="记录标识")
    sha256: str = Field(pattern="^[0-9a-f]{64}$", title="SHA-256 摘要")


@registry.register
class LegalReviewRecorded(DomainEvent):
    """重大执法决定法制审核: who reviewed, their opinion and the day (before the decision)."""

    event_type = "LegalReviewRecorded"
    stream_type = "enforcement"

    decision_id: UUID
    township: str
    unit: str
    kind: DecisionKind
    reference: str
    reviewer: str = Field(description="法制审核人员")
    opinion: str = Field(description="审核意见", json_schema_extra=NOT_PERSONAL)
    approved: bool = Field(description="审核通过")
    reviewed_on: date
    recorded_by: str


@registry.register
class EnforcementDecisionRecorded(DomainEvent):
    """One enforcement decision as the unit's approval or enforcement system sent it."""

    event_type = "EnforcementDecisionRecorded"
    stream_type = "enforcement"

    decision_id: UUID
    township: str
    unit: str
    kind: DecisionKind
    action: DecisionAction
    reference: str = Field(description="决定书文号、许可证号或收费票据号")
    title: str = Field(description="事项名称、案由或收费项目", json_schema_extra=NOT_PERSONAL)
    facts: str = Field(description="主要事实或内容", json_schema_extra=NOT_PERSONAL)
    legal_basis: list[str] = Field(min_length=1, description="法律依据")
    party: Party | None = None
    amount_fen: int | None = Field(default=None, ge=0, description="罚款或收费金额（分）")
    decided_on: date
    major: bool = Field(description="重大执法决定")
    review_event_id: UUID | None = Field(default=None, description="法制审核记录的事件")
    records: list[RecordRef] = Field(default_factory=list, description="全过程记录")
    must_publish: bool
    not_published_reason: str | None = Field(default=None, description="依法不予公开的理由")
    publication_due: date | None = Field(
        default=None, description="公示期限：决定之日起7个工作日（国办发〔2018〕118号）"
    )
    due_provisional: bool = False
    source: str = Field(description="来源系统或导入")
    fingerprint: str = Field(description="内容摘要：同一文号再次发送时判断是否相同")
    recorded_by: str


@registry.register
class EnforcementDecisionPublished(DomainEvent):
    """行政执法公示: the masked text, checked by the privacy guard."""

    event_type = "EnforcementDecisionPublished"
    stream_type = "enforcement"

    decision_id: UUID
    township: str
    unit: str
    kind: DecisionKind
    reference: str
    title: str = Field(json_schema_extra=NOT_PERSONAL)
    text: str = Field(description="公示内容（已脱敏）", json_schema_extra=NOT_PERSONAL)
    party_shown: str | None = Field(default=None, description="公示的当事人（自然人已脱敏）")
    decided_on: date
    published_on: date
    publication_due: date | None
    late: bool
    working_days_taken: int
    visible_until: date | None = Field(default=None, description="公示期届满日")
    published_by: str


@registry.register
class EnforcementPublicationOverdue(DomainEvent):
    """Seven working days passed and the decision is not public (noticed once)."""

    event_type = "EnforcementPublicationOverdue"
    stream_type = "enforcement"

    decision_id: UUID
    township: str
    unit: str
    kind: DecisionKind
    publication_due: date
    noticed_on: date


@registry.register
class EnforcementDecisionAnnulled(DomainEvent):
    """The decision was changed, revoked, confirmed illegal or void (复议、诉讼或自行纠正)."""

    event_type = "EnforcementDecisionAnnulled"
    stream_type = "enforcement"

    decision_id: UUID
    township: str
    unit: str
    kind: DecisionKind
    outcome: AnnulmentOutcome
    annulled_on: date
    basis: str = Field(description="依据（复议决定书、判决书或纠正决定）")
    withdrawal_due: date | None = Field(
        default=None, description="撤回公示的期限：三日（工作日，行政处罚法第四十八、八十五条）"
    )
    recorded_by: str


@registry.register
class EnforcementPublicationWithdrawn(DomainEvent):
    event_type = "EnforcementPublicationWithdrawn"
    stream_type = "enforcement"

    decision_id: UUID
    township: str
    unit: str
    kind: DecisionKind
    reason: WithdrawalReason
    withdrawn_on: date
    late: bool = Field(default=False, description="超过撤回期限")
    note: str | None = Field(default=None, description="说明（如信用修复的依据）")
    withdrawn_by: str
