"""Events of the interpretation service (政策解读). The source of contracts/.

Rules: DOMAIN.md §3 (方案§15, §五(一)(二)). Two aggregates:
- the obligation of one policy, stream `obligation-<document_id>`: opened when the policy
  is published (InterpretationRequired), delegated, fulfilled, missed, cancelled, and
  asked for follow-up stages; its envelope tenant is the owning unit at opening;
- one interpretation, stream `interpretation-<id>`: drafted, revised, approved or
  rejected, published. Tenant: the unit that interprets.
A policy published outside the system is registered by hand (PolicyRegistered, stream
`policy-<document_id>`), the manual path beside the catalog's DocumentPublished.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from types import MappingProxyType
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.interpretation.quality import Part
from shared.fields import NOT_PERSONAL, LabelledEnum
from shared.registry import DomainEvent, EventRegistry

registry = EventRegistry(service="interpretation")

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Form(LabelledEnum):
    """解读形式 (方案§五(二))."""

    text = "text", "文字"
    graphic = "graphic", "图解"
    media_interview = "media_interview", "媒体采访"
    leader_online_interview = "leader_online_interview", "领导在线访谈"
    cartoon = "cartoon", "卡通动漫"
    short_video = "short_video", "短视频"
    qa = "qa", "简明问答"


FORM_LABELS_ZH: Mapping[Form, str] = MappingProxyType({m: m.label_zh for m in Form})


class Channel(LabelledEnum):
    """发布渠道 (方案§五(二)); `targeted_push` = 政策找人、政策找企业."""

    website = "website", "政府网站"
    new_media = "new_media", "政务新媒体"
    newspaper = "newspaper", "报纸"
    television = "television", "电视"
    targeted_push = "targeted_push", "定向推送（政策找人、政策找企业）"


class Trigger(LabelledEnum):
    """Why a policy needs an interpretation."""

    kind = "kind", "规范性文件、政策性文件或实施方案"
    flagged = "flagged", "拟稿人标记需解读"


class PolicySource(LabelledEnum):
    catalog = "catalog", "政务公开目录发布"  # DocumentPublished of the catalog service
    manual = "manual", "系统外公开，人工登记"  # registered by hand


class FormItem(BaseModel):
    """One form of an interpretation; media as a link or an attachment reference."""

    model_config = _FROZEN

    form: Form
    url: str | None = Field(default=None, max_length=1000)
    attachment: str | None = Field(default=None, max_length=300, description="附件引用")
    description: str | None = Field(default=None, max_length=500)


class SectionItem(BaseModel):
    model_config = _FROZEN

    part: Part | None = Field(default=None, description="对应的必备要素；常见问题等可为空")
    heading: str = Field(min_length=1, max_length=200)
    text: str = Field(max_length=50_000, json_schema_extra=NOT_PERSONAL)


class InterpretationContent(BaseModel):
    """One revision of an interpretation."""

    model_config = _FROZEN

    title: str = Field(min_length=2, max_length=300)
    sections: list[SectionItem] = Field(min_length=1, max_length=50)
    not_applicable: dict[Part, str] = Field(
        default_factory=dict, description="不适用的要素及理由（如首次出台，无新旧差异）"
    )
    forms: list[FormItem] = Field(min_length=1, max_length=20)
    channels: list[Channel] = Field(min_length=1, max_length=10)
    target_groups: list[str] = Field(
        default_factory=list, max_length=20, description="定向推送的对象群体（政策找人、找企业）"
    )


class QualitySummary(BaseModel):
    """The measured values of the quality gate for one revision."""

    model_config = _FROZEN

    passed: bool
    containment: float
    threshold: float
    explanatory_chars: int
    missing_parts: list[Part]


@registry.register
class PolicyRegistered(DomainEvent):
    """A policy published outside the system, registered by hand for interpretation."""

    event_type = "PolicyRegistered"
    stream_type = "policy"

    document_id: UUID
    township: str
    lead_unit: str = Field(description="牵头起草单位（联合发文时）或起草单位")
    joint_units: list[str] = Field(default_factory=list, description="联合发文的其他单位")
    title: str
    document_number: str | None = None
    kind: str
    flagged: bool
    text: str = Field(json_schema_extra=NOT_PERSONAL)
    published_on: date
    registered_by: str


@registry.register
class InterpretationRequired(DomainEvent):
    """谁起草、谁解读: a published policy needs an interpretation by `owner_unit` by `due`."""

    event_type = "InterpretationRequired"
    stream_type = "obligation"

    document_id: UUID
    township: str
    owner_unit: str = Field(description="负责解读的单位：起草单位；联合发文为牵头单位")
    joint_units: list[str] = Field(default_factory=list)
    title: str
    document_number: str | None = None
    kind: str
    trigger: Trigger
    source: PolicySource
    published_on: date
    due: date = Field(description="三同步目标：默认与政策同日")
    latest_due: date = Field(description="最迟期限：默认政策公开后 3 个工作日")
    target_working_days: int = Field(ge=0)
    limit_working_days: int = Field(ge=0)
    due_provisional: bool


@registry.register
class ObligationDelegated(DomainEvent):
    """The owning unit handed the interpretation to another unit, explicitly and with a reason."""

    event_type = "ObligationDelegated"
    stream_type = "obligation"

    document_id: UUID
    from_unit: str
    to_unit: str
    reason: str
    delegated_by: str


@registry.register
class ObligationFulfilled(DomainEvent):
    """The first interpretation of the policy was published."""

    event_type = "ObligationFulfilled"
    stream_type = "obligation"

    document_id: UUID
    interpretation_id: UUID
    published_on: date
    synchronous: bool = Field(description="与政策同步（不晚于 due）")
    on_time: bool = Field(description="不晚于 latest_due")


@registry.register
class InterpretationDeadlineMissed(DomainEvent):
    """No interpretation published by the latest due date (noticed by the scheduler)."""

    event_type = "InterpretationDeadlineMissed"
    stream_type = "obligation"

    document_id: UUID
    owner_unit: str
    latest_due: date
    noticed_on: date


@registry.register
class ObligationCancelled(DomainEvent):
    """The policy was withdrawn before it was interpreted: nothing is owed any more."""

    event_type = "ObligationCancelled"
    stream_type = "obligation"

    document_id: UUID
    reason: str


@registry.register
class FollowUpRequested(DomainEvent):
    """分阶段持续跟踪解读: misreading or common questions call for another stage."""

    event_type = "FollowUpRequested"
    stream_type = "obligation"

    document_id: UUID
    follow_up_id: UUID
    stage: int = Field(ge=2, description="第几阶段解读（首次解读为第 1 阶段）")
    case_ids: list[str] = Field(min_length=1, description="引发跟踪解读的舆情案件")
    reason: str
    requested_by: str
    due: date


@registry.register
class FollowUpCasesAdded(DomainEvent):
    """More misreading cases join a follow-up stage that is not yet interpreted: one stage
    answers them all (the sentiment service's PolicyMisreadingReported, 方案§五(一))."""

    event_type = "FollowUpCasesAdded"
    stream_type = "obligation"

    document_id: UUID
    follow_up_id: UUID
    stage: int = Field(ge=2)
    case_ids: list[str] = Field(min_length=1, description="the cases added (not those before)")
    reason: str
    requested_by: str
    due: date = Field(description="the stage's due date, unchanged")


@registry.register
class FollowUpFulfilled(DomainEvent):
    event_type = "FollowUpFulfilled"
    stream_type = "obligation"

    document_id: UUID
    follow_up_id: UUID
    interpretation_id: UUID
    published_on: date


class FollowUpLink(BaseModel):
    model_config = _FROZEN

    follow_up_id: UUID
    stage: int
    case_ids: list[str]


@registry.register
class InterpretationDrafted(DomainEvent):
    """Revision 1 of an interpretation, by a drafter of the owning unit."""

    event_type = "InterpretationDrafted"
    stream_type = "interpretation"

    interpretation_id: UUID
    document_id: UUID
    unit: str
    drafter: str
    content: InterpretationContent = Field(json_schema_extra=NOT_PERSONAL)
    follow_up: FollowUpLink | None = None
    quality: QualitySummary


@registry.register
class InterpretationRevised(DomainEvent):
    event_type = "InterpretationRevised"
    stream_type = "interpretation"

    interpretation_id: UUID
    revision: int = Field(ge=2)
    reviser: str
    content: InterpretationContent = Field(json_schema_extra=NOT_PERSONAL)
    quality: QualitySummary


@registry.register
class InterpretationApproved(DomainEvent):
    """The unit's reviewer approved a revision (三同步: approved like the policy)."""

    event_type = "InterpretationApproved"
    stream_type = "interpretation"

    interpretation_id: UUID
    revision: int = Field(ge=1)
    reviewer: str
    comment: str | None = None


@registry.register
class InterpretationRejected(DomainEvent):
    event_type = "InterpretationRejected"
    stream_type = "interpretation"

    interpretation_id: UUID
    revision: int = Field(ge=1)
    reviewer: str
    comments: str


@registry.register
class InterpretationPublished(DomainEvent):
    """The interpretation went public, linked to its policy (双向关联)."""

    event_type = "InterpretationPublished"
    stream_type = "interpretation"

    interpretation_id: UUID
    document_id: UUID
    township: str
    unit: str
    revision: int = Field(ge=1)
    title: str
    forms: list[Form]
    channels: list[Channel]
    target_groups: list[str]
    stage: int = Field(ge=1)
    case_ids: list[str] = Field(default_factory=list)
    published_at: datetime
    publisher: str
    quality: QualitySummary
