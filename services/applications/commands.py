"""Commands of the applications service: API input, validated at the edge."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.applications.events import (
    Applicant,
    Channel,
    ConsultationOutcome,
    DeliveryChannel,
    EvidenceKind,
    FeeMode,
    NoticeDocument,
    PartyKind,
    ReplyType,
    RequestedForm,
    TextSection,
    WithholdingReason,
)
from shared.fields import NOT_PERSONAL, Day


class RegisterRequest(BaseModel):
    """Register an information request received through one channel (条例 Art. 29)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    tenant: str | None = Field(
        title="受理机关",
        default=None,
        description="受理机关 org path; defaults to the caller's org",
    )
    channel: Channel = Field(title="提交渠道")
    submitted_on: Day = Field(title="申请提交日期", description="申请人提交之日")
    signed_on: Day | None = Field(
        title="签收日期", default=None, description="挂号信签收之日 (registered_mail)"
    )
    confirmed_on: Day | None = Field(
        title="确认收到日期", default=None, description="双方确认之日 (ordinary_mail, online, fax)"
    )
    applicant: Applicant = Field(title="申请人")
    description: str = Field(
        title="所需信息描述",
        min_length=2,
        max_length=5000,
        description="所需信息的名称、文号或便于查询的特征",
    )
    requested_form: RequestedForm = Field(title="获取信息的形式")
    delivery_channel: DeliveryChannel = Field(title="送达方式")


class AssignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    handler: str = Field(title="承办人", min_length=1, max_length=200, description="承办人 id")


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RequestCorrection(_Command):
    """补正告知 (条例 Art. 30): every defect in one notice."""

    defects: list[Annotated[str, Field(min_length=2, max_length=500)]] = Field(
        title="需补正事项", min_length=1, max_length=50, description="需补正的全部事项"
    )
    notified_on: Day = Field(title="告知日期")
    correction_period_days: int = Field(
        title="补正期限（工作日）",
        default=15,
        ge=1,
        le=60,
        description="补正期限（工作日），默认 15 [ours]",
    )


class ReceiveCorrection(_Command):
    corrected_on: Day = Field(title="补正日期")
    late_reason: str | None = Field(
        title="逾期补正理由", default=None, max_length=1000, description="逾期补正的正当理由"
    )


class StartConsultation(_Command):
    party_kind: PartyKind = Field(title="征求意见对象类别")
    party: str = Field(
        title="征求意见对象", min_length=2, max_length=200, description="第三方或机关名称"
    )
    started_on: Day = Field(title="征求意见开始日期")


class EndConsultation(_Command):
    ended_on: Day = Field(title="征求意见结束日期")
    outcome: ConsultationOutcome = Field(title="征求意见结果")


class GrantExtension(_Command):
    """延期答复 (条例 Art. 33 ¶2), decided by the openness-office head in person."""

    working_days: int = Field(title="延期工作日数", ge=1, le=20)
    reason: str = Field(title="理由", min_length=2, max_length=1000)
    applicant_notified_on: Day = Field(title="告知申请人日期")


class IssueFeeNotice(_Command):
    """收费通知 (条例 Art. 42): one scale per request, never both."""

    mode: FeeMode = Field(title="收费方式")
    pages: int | None = Field(title="页数", default=None, ge=1, le=1_000_000)
    notified_on: Day = Field(title="告知日期")


class PayFee(_Command):
    amount_yuan: int = Field(title="金额（元）", ge=1)
    paid_on: Day = Field(title="缴费日期")


class Reply(_Command):
    """答复 (条例 Arts. 36–39)."""

    reply_type: ReplyType = Field(title="答复类型")
    withholding_reason: WithholdingReason | None = Field(default=None, title="不予公开理由")
    legal_basis: str | None = Field(
        title="法律依据", default=None, max_length=1000, description="法律依据"
    )
    location: str | None = Field(
        title="获取途径", default=None, max_length=1000, description="获取途径/链接"
    )
    right_agency: str | None = Field(
        title="负责公开的机关", default=None, max_length=200, description="负责公开的机关"
    )
    note: str | None = Field(title="备注", default=None, max_length=2000)
    public_document_id: UUID | None = Field(
        title="主动公开文件",
        default=None,
        description="已主动公开：主动公开目录中的文件（GET /v1/requests/{id}/suggestions）",
    )
    replied_on: Day = Field(title="答复日期")


class RecordDelivery(_Command):
    """送达回证."""

    document: NoticeDocument = Field(title="送达文书")
    channel: DeliveryChannel = Field(title="提交渠道")
    evidence_kind: EvidenceKind = Field(title="送达凭证类型")
    evidence_ref: str = Field(
        title="送达凭证", min_length=2, max_length=500, description="回执号、邮件或短信记录"
    )
    delivered_on: Day = Field(title="送达日期")


class Archive(_Command):
    archived_on: Day = Field(title="归档日期")


class Withdraw(_Command):
    withdrawn_on: Day = Field(title="撤回日期")
    note: str | None = Field(title="备注", default=None, max_length=1000)


class AskExcessiveReasons(_Command):
    """Art. 35: ask the applicant why so many requests are needed."""

    asked_on: Day = Field(title="告知日期")
    note: str = Field(title="备注", min_length=2, max_length=1000, description="告知内容")


class SetLaterReplyDate(_Command):
    """Art. 35: a reasonable but excessive request gets a stated later reply date."""

    reply_due: Day = Field(title="答复期限")
    reason: str = Field(title="理由", min_length=2, max_length=1000)
    applicant_notified_on: Day = Field(title="告知申请人日期")


class RecordAnnualReportText(BaseModel):
    """撰写年度报告的文字部分: 一 总体情况 / 五 存在的主要问题及改进情况 / 六 其他需要报告的事项."""

    model_config = ConfigDict(extra="forbid")

    tenant: str | None = Field(default=None, description="org path; defaults to the caller's org")
    section: TextSection
    text: str = Field(min_length=1, max_length=20_000, json_schema_extra=NOT_PERSONAL)


class PublishAnnualReport(BaseModel):
    """年度报告向社会公布 (条例第四十九、五十条; annual_publication.py)."""

    model_config = ConfigDict(extra="forbid")

    tenant: str | None = Field(default=None, description="org path; defaults to the caller's org")
    published_on: Day | None = Field(default=None, title="公布日期", description="默认今天")
    url: str | None = Field(default=None, title="公布网址", max_length=500)


class SubmitOnlineRequest(BaseModel):
    """网上申请 from the public (条例 Art. 29), before the office confirms receipt (Art. 31)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    tenant: str = Field(title="受理机关", min_length=1, max_length=200)
    applicant: Applicant = Field(title="申请人")
    description: str = Field(
        title="所需信息描述",
        min_length=2,
        max_length=5000,
        description="所需信息的名称、文号或便于查询的特征",
    )
    requested_form: RequestedForm = Field(title="获取信息的形式")
    delivery_channel: DeliveryChannel = Field(title="获取信息的途径")


class ConfirmOnlineRequest(BaseModel):
    """确认收到网上申请: the day both sides confirm is the receipt date (Art. 31(3))."""

    model_config = ConfigDict(extra="forbid")

    confirmed_on: Day = Field(title="确认收到日期")


class OnlineRequestLookup(BaseModel):
    """The applicant's tracking code and query password (both given once at submission)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    tracking_code: str = Field(title="查询码", min_length=1, max_length=64)
    query_password: str = Field(title="查询密码", min_length=1, max_length=64)
