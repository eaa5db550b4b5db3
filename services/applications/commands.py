"""Commands of the applications service: API input, validated at the edge."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.applications.events import Applicant, Channel, DeliveryChannel, RequestedForm
from services.applications.lifecycle_events import (
    ConsultationOutcome,
    EvidenceKind,
    FeeMode,
    NoticeDocument,
    PartyKind,
    ReplyType,
    WithholdingReason,
)
from shared.fields import Day


class RegisterRequest(BaseModel):
    """Register an information request received through one channel (条例 Art. 29)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    tenant: str | None = Field(
        default=None, description="受理机关 org path; defaults to the caller's org"
    )
    channel: Channel
    submitted_on: Day = Field(description="申请人提交之日")
    signed_on: Day | None = Field(default=None, description="挂号信签收之日 (registered_mail)")
    confirmed_on: Day | None = Field(
        default=None, description="双方确认之日 (ordinary_mail, online, fax)"
    )
    applicant: Applicant
    description: str = Field(
        min_length=2, max_length=5000, description="所需信息的名称、文号或便于查询的特征"
    )
    requested_form: RequestedForm
    delivery_channel: DeliveryChannel


class AssignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    handler: str = Field(min_length=1, max_length=200, description="承办人 id")


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RequestCorrection(_Command):
    """补正告知 (条例 Art. 30): every defect in one notice."""

    defects: list[Annotated[str, Field(min_length=2, max_length=500)]] = Field(
        min_length=1, max_length=50, description="需补正的全部事项"
    )
    notified_on: Day
    correction_period_days: int = Field(
        default=15, ge=1, le=60, description="补正期限（工作日），默认 15 [ours]"
    )


class ReceiveCorrection(_Command):
    corrected_on: Day
    late_reason: str | None = Field(default=None, max_length=1000, description="逾期补正的正当理由")


class StartConsultation(_Command):
    party_kind: PartyKind
    party: str = Field(min_length=2, max_length=200, description="第三方或机关名称")
    started_on: Day


class EndConsultation(_Command):
    ended_on: Day
    outcome: ConsultationOutcome


class GrantExtension(_Command):
    """延期答复 (条例 Art. 33 ¶2), decided by the openness-office head in person."""

    working_days: int = Field(ge=1, le=20)
    reason: str = Field(min_length=2, max_length=1000)
    applicant_notified_on: Day


class IssueFeeNotice(_Command):
    """收费通知 (条例 Art. 42): one scale per request, never both."""

    mode: FeeMode
    pages: int | None = Field(default=None, ge=1, le=1_000_000)
    notified_on: Day


class PayFee(_Command):
    amount_yuan: int = Field(ge=1)
    paid_on: Day


class Reply(_Command):
    """答复 (条例 Arts. 36–39)."""

    reply_type: ReplyType
    withholding_reason: WithholdingReason | None = None
    legal_basis: str | None = Field(default=None, max_length=1000, description="法律依据")
    location: str | None = Field(default=None, max_length=1000, description="获取途径/链接")
    right_agency: str | None = Field(default=None, max_length=200, description="负责公开的机关")
    note: str | None = Field(default=None, max_length=2000)
    public_document_id: UUID | None = Field(
        default=None,
        description="已主动公开：主动公开目录中的文件（GET /v1/requests/{id}/suggestions）",
    )
    replied_on: Day


class RecordDelivery(_Command):
    """送达回证."""

    document: NoticeDocument
    channel: DeliveryChannel
    evidence_kind: EvidenceKind
    evidence_ref: str = Field(min_length=2, max_length=500, description="回执号、邮件或短信记录")
    delivered_on: Day


class Archive(_Command):
    archived_on: Day


class Withdraw(_Command):
    withdrawn_on: Day
    note: str | None = Field(default=None, max_length=1000)


class AskExcessiveReasons(_Command):
    """Art. 35: ask the applicant why so many requests are needed."""

    asked_on: Day
    note: str = Field(min_length=2, max_length=1000, description="告知内容")


class SetLaterReplyDate(_Command):
    """Art. 35: a reasonable but excessive request gets a stated later reply date."""

    reply_due: Day
    reason: str = Field(min_length=2, max_length=1000)
    applicant_notified_on: Day
