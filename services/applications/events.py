"""Events of the applications service (依申请公开): registration, the lifecycle after it
(DOMAIN.md §2; 条例 Arts. 30–42) and the annual report's texts. The source of contracts/.

Each clock-changing event carries the reply due date the domain computed when deciding it
(`reply_due`), so the read model needs no calendar of its own.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.fields import NOT_PERSONAL, PERSONAL, LabelledEnum
from shared.registry import DomainEvent, EventRegistry

registry = EventRegistry(service="applications")


class Channel(LabelledEnum):
    """How the request arrived; decides the receipt date (条例 Art. 31)."""

    in_person = "in_person", "当面提交"
    registered_mail = "registered_mail", "挂号信（需签收的邮件）"
    ordinary_mail = "ordinary_mail", "平常信函"
    online = "online", "互联网渠道（网站、电子邮件）"
    fax = "fax", "传真"
    oral = "oral", "口头提出（机关代为填写）"


class ApplicantKind(LabelledEnum):
    natural_person = "natural_person", "公民（自然人）"
    organization = "organization", "法人或其他组织"


class OrganizationKind(LabelledEnum):
    """Annual-report columns for 法人或其他组织 (国办公开办函〔2021〕30号)."""

    commercial = "commercial", "商业企业"
    research = "research", "科研机构"
    public_welfare = "public_welfare", "社会公益组织"
    legal_services = "legal_services", "法律服务机构"
    other = "other", "其他"


class RequestedForm(LabelledEnum):
    paper = "paper", "纸质"
    electronic = "electronic", "电子数据"
    other = "other", "其他形式"


class DeliveryChannel(LabelledEnum):
    collect_in_person = "collect_in_person", "自行领取"
    post = "post", "邮寄"
    email = "email", "电子邮件"
    online = "online", "网上获取"
    fax = "fax", "传真"


class Applicant(BaseModel):
    """Personal data: never logged; shown only to roles that handle requests."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ApplicantKind
    name: str = Field(min_length=1, max_length=100, json_schema_extra=PERSONAL)
    organization_kind: OrganizationKind | None = None
    id_document: str = Field(
        min_length=1,
        max_length=100,
        description="身份证明 (证件类型及号码)",
        json_schema_extra=PERSONAL,
    )
    phone: str = Field(min_length=5, max_length=30, json_schema_extra=PERSONAL)
    email: str | None = Field(default=None, max_length=200, json_schema_extra=PERSONAL)
    address: str | None = Field(default=None, max_length=300, json_schema_extra=PERSONAL)


class DeadlineBasis(BaseModel):
    """How a due date was reached, in words a handler can show the applicant."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: date
    working_days: int
    due: date
    provisional: bool
    calendars: list[str] = Field(description="每个计入年份的日历来源及版本")


@registry.register
class RequestRegistered(DomainEvent):
    """申请已接收并登记编号 (条例 Art. 29–31; 方案§14 接收、登记(编号))."""

    event_type = "RequestRegistered"
    stream_type = "request"

    request_id: UUID
    number: str = Field(description="登记编号，如 苏店〔2026〕1号")
    year: int
    sequence: int = Field(ge=1)
    channel: Channel
    submitted_on: date
    received_on: date = Field(description="收到申请之日 (Art. 31)")
    applicant: Applicant = Field(json_schema_extra=PERSONAL)
    description: str
    requested_form: RequestedForm
    delivery_channel: DeliveryChannel
    correction_notice_due: date = Field(description="补正告知期限 (Art. 30, 7 个工作日)")
    reply_due: date = Field(description="答复期限 (Art. 33, 20 个工作日)")
    reply_deadline: DeadlineBasis


@registry.register
class RegistrationNumberIssued(DomainEvent):
    """One number of a tenant's yearly register: the stream's version is the number (no gaps)."""

    event_type = "RegistrationNumberIssued"
    stream_type = "request-register"

    year: int
    sequence: int = Field(ge=1)
    number: str
    request_id: UUID


@registry.register
class RequestAssigned(DomainEvent):
    """The request was given to a named handler (方案§19: 依申请公开答复办理 has a named person)."""

    event_type = "RequestAssigned"
    stream_type = "request"

    request_id: UUID
    handler: str = Field(description="承办人 id")
    previous_handler: str | None = None


@registry.register
class ApplicantDataRead(DomainEvent):
    """Someone was shown applicants' identity (personal data): who, whose, where.

    Recorded by the API whenever a response carries applicant details, so the audit
    chain can answer "who read whose data, when, through which endpoint" (issue: audit).
    Holds references only, never the data itself.
    """

    event_type = "ApplicantDataRead"
    stream_type = "personal-data-access"

    request_ids: list[UUID] = Field(min_length=1)
    endpoint: str
    fields: list[str]


class PartyKind(LabelledEnum):
    third_party = "third_party", "第三方（第三十二条）"
    agency = "agency", "其他行政机关（第三十四条）"


class ConsultationOutcome(LabelledEnum):
    consent = "consent", "同意公开"
    objection = "objection", "不同意公开"
    no_answer = "no_answer", "逾期未答复"


class ReplyType(LabelledEnum):
    """答复类型 (条例 Arts. 30, 35–39); the annual-report row is in domain.REPORT_ROW."""

    already_public = "already_public", "已主动公开（第三十六条第一项）"
    disclosed = "disclosed", "予以公开（第三十六条第二项）"
    not_disclosed = "not_disclosed", "不予公开（第三十六条第三项）"
    not_exist = "not_exist", "无法提供：本机关不掌握相关信息（第三十六条第四项）"
    not_this_agency = "not_this_agency", "非本机关负责公开（第三十六条第五项）"
    repeated = "repeated", "不予处理：重复申请（第三十六条第六项）"
    special_regime = "special_regime", "告知通过其他途径查询（第三十六条第七项）"
    partial = "partial", "部分公开（第三十七条）"
    no_compilation = "no_compilation", "无法提供：需另行制作（第三十八条）"
    petition = "petition", "不予处理：信访、投诉、举报（第三十九条第一款）"
    publication = "publication", "不予处理：要求提供公开出版物（第三十九条第二款）"
    unclear_after_correction = (
        "unclear_after_correction",
        "无法提供：补正后申请内容仍不明确（第三十条）",
    )
    excessive = "excessive", "不予处理：无正当理由大量反复申请（第三十五条）"
    confirmation_request = "confirmation_request", "不予处理：要求确认或重新出具已获取信息"
    other = "other", "其他处理"


class WithholdingReason(LabelledEnum):
    """不予公开 reasons, annual-report rows 三(三)1–7 (条例 Arts. 14–16)."""

    state_secret = "state_secret", "属于国家秘密"
    law_forbids = "law_forbids", "其他法律行政法规禁止公开"
    security_stability = "security_stability", "危及“三安全一稳定”"
    third_party_rights = "third_party_rights", "保护第三方合法权益"
    internal_affairs = "internal_affairs", "属于三类内部事务信息"
    process_information = "process_information", "属于四类过程性信息"
    enforcement_files = "enforcement_files", "属于行政执法案卷"


class NoticeDocument(LabelledEnum):
    correction_notice = "correction_notice", "补正告知书"
    extension_notice = "extension_notice", "延期答复告知书"
    fee_notice = "fee_notice", "收费通知"
    reply = "reply", "答复告知书"


class EvidenceKind(LabelledEnum):
    """送达回证 kinds."""

    signed_receipt = "signed_receipt", "签收回执"
    email_record = "email_record", "电子邮件发送记录"
    sms_record = "sms_record", "短信发送记录"
    postal_tracking = "postal_tracking", "邮寄单号"


class FeeMode(LabelledEnum):
    per_request = "per_request", "按件计收"
    per_page = "per_page", "按量计收"


@registry.register
class CorrectionRequested(DomainEvent):
    """补正告知: one notice listing every defect, within 7 working days (Art. 30)."""

    event_type = "CorrectionRequested"
    stream_type = "request"

    request_id: UUID
    defects: list[str] = Field(min_length=1)
    notified_on: date
    correction_due: date = Field(description="补正期限")


@registry.register
class CorrectionReceived(DomainEvent):
    """The corrected request arrived: the reply period restarts from this day (Art. 30)."""

    event_type = "CorrectionReceived"
    stream_type = "request"

    request_id: UUID
    corrected_on: date
    late_reason: str | None = None
    reply_due: date


@registry.register
class CorrectionLapsed(DomainEvent):
    """No correction in time: the request is deemed abandoned (Art. 30; report 三(六)1)."""

    event_type = "CorrectionLapsed"
    stream_type = "request"

    request_id: UUID
    correction_due: date
    lapsed_on: date


@registry.register
class ConsultationStarted(DomainEvent):
    """征求意见: the reply clock stops while consulting (Arts. 32, 34)."""

    event_type = "ConsultationStarted"
    stream_type = "request"

    request_id: UUID
    consultation_id: UUID
    party_kind: PartyKind
    party: str
    started_on: date
    answer_due: date = Field(description="15 个工作日")


@registry.register
class ConsultationEnded(DomainEvent):
    event_type = "ConsultationEnded"
    stream_type = "request"

    request_id: UUID
    consultation_id: UUID
    ended_on: date
    outcome: ConsultationOutcome
    deemed_consent: bool = False
    reply_due: date


@registry.register
class ExtensionGranted(DomainEvent):
    """延期答复: once, at most 20 working days, by the openness-office head (Art. 33 ¶2)."""

    event_type = "ExtensionGranted"
    stream_type = "request"

    request_id: UUID
    working_days: int = Field(ge=1, le=20)
    reason: str
    approved_by: str
    applicant_notified_on: date
    reply_due: date


@registry.register
class FeeNoticeIssued(DomainEvent):
    """收费通知 (Art. 42; 国办函〔2020〕109号); the clock stops until payment."""

    event_type = "FeeNoticeIssued"
    stream_type = "request"

    request_id: UUID
    mode: FeeMode
    pages: int | None = None
    monthly_ordinal: int | None = Field(default=None, description="本月该申请人第几件")
    amount_yuan: int = Field(ge=1)
    notified_on: date
    pay_by: date


@registry.register
class FeePaid(DomainEvent):
    event_type = "FeePaid"
    stream_type = "request"

    request_id: UUID
    amount_yuan: int
    paid_on: date
    reply_due: date


@registry.register
class FeeLapsed(DomainEvent):
    """Not paid in time: processing ends (report 三(六)2)."""

    event_type = "FeeLapsed"
    stream_type = "request"

    request_id: UUID
    pay_by: date
    lapsed_on: date


class RequestRepliedV1(DomainEvent):
    """答复 with its type and, where the law needs it, the reason (Arts. 36–39)."""

    event_type = "RequestReplied"
    stream_type = "request"

    request_id: UUID
    reply_type: ReplyType
    withholding_reason: WithholdingReason | None = None
    legal_basis: str | None = None
    location: str | None = Field(default=None, json_schema_extra=NOT_PERSONAL)
    right_agency: str | None = None
    note: str | None = None
    replied_on: date
    report_row: str = Field(description="年度报告第三部分的行，如 三(三)4")


@registry.register
class RequestReplied(DomainEvent):
    """答复 with its type and, where the law needs it, the reason (Arts. 36–39).

    v2: `public_document_id`, the catalog document a reply 已主动公开 (Art. 36(一)) points
    the applicant to; v1 replies read as None.
    """

    event_type = "RequestReplied"
    schema_version = 2
    stream_type = "request"

    request_id: UUID
    reply_type: ReplyType
    withholding_reason: WithholdingReason | None = None
    legal_basis: str | None = None
    location: str | None = Field(default=None, json_schema_extra=NOT_PERSONAL)
    right_agency: str | None = None
    note: str | None = None
    public_document_id: UUID | None = Field(
        default=None, description="已主动公开的文件（主动公开目录中的文件标识）"
    )
    replied_on: date
    report_row: str = Field(description="年度报告第三部分的行，如 三(三)4")


def _replied_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "public_document_id": None}


registry.register_historic(RequestRepliedV1, _replied_v1_to_v2)


@registry.register
class DeliveryRecorded(DomainEvent):
    """送达回证 for a notice or the reply."""

    event_type = "DeliveryRecorded"
    stream_type = "request"

    request_id: UUID
    document: NoticeDocument
    channel: str
    evidence_kind: EvidenceKind
    evidence_ref: str
    delivered_on: date


@registry.register
class RequestArchived(DomainEvent):
    """归档 (Art. 45, 方案§14): nothing changes afterwards."""

    event_type = "RequestArchived"
    stream_type = "request"

    request_id: UUID
    archived_on: date


@registry.register
class RequestWithdrawnByApplicant(DomainEvent):
    """The applicant withdrew the request (report 三(六)3 其他)."""

    event_type = "RequestWithdrawnByApplicant"
    stream_type = "request"

    request_id: UUID
    withdrawn_on: date
    note: str | None = None


@registry.register
class DeadlineApproaching(DomainEvent):
    """Emitted once per request by the scheduler, N working days before the reply due."""

    event_type = "DeadlineApproaching"
    stream_type = "request"

    request_id: UUID
    reply_due: date
    working_days_left: int
    noticed_on: date


@registry.register
class DeadlineMissed(DomainEvent):
    """Emitted once per request by the scheduler when the reply due passed without a reply."""

    event_type = "DeadlineMissed"
    stream_type = "request"

    request_id: UUID
    reply_due: date
    noticed_on: date


@registry.register
class ExcessiveReasonsRequested(DomainEvent):
    """Art. 35: the applicant is asked to state the reasons for a clearly excessive request."""

    event_type = "ExcessiveReasonsRequested"
    stream_type = "request"

    request_id: UUID
    asked_on: date
    note: str


@registry.register
class LaterReplyDateSet(DomainEvent):
    """Art. 35: reasonable but too many at once ⇒ the agency states a later reply date."""

    event_type = "LaterReplyDateSet"
    stream_type = "request"

    request_id: UUID
    reply_due: date
    reason: str
    applicant_notified_on: date


@registry.register
class ReplyDueRecomputed(DomainEvent):
    """The due date moved without a command: a calendar was published for a provisional
    year (DOMAIN.md §6), or a consultation stayed open past its 15 working days."""

    event_type = "ReplyDueRecomputed"
    stream_type = "request"

    request_id: UUID
    previous_reply_due: date
    reply_due: date
    provisional: bool
    calendars: list[str]


# The parts of the annual report the openness office writes itself (条例 Art. 50); no
# docstring, as it would change the published schema.
class TextSection(LabelledEnum):
    overview = "overview", "一、总体情况"
    problems = "problems", "五、存在的主要问题及改进情况"
    other = "other", "六、其他需要报告的事项"


@registry.register
class AnnualReportTextRecorded(DomainEvent):
    """The openness office's own text for one part of the annual report (latest wins)."""

    event_type = "AnnualReportTextRecorded"
    stream_type = "annual-report"

    tenant: str
    year: int = Field(ge=2008, le=2100)
    section: TextSection
    text: str = Field(min_length=1, max_length=20_000, json_schema_extra=NOT_PERSONAL)
    recorded_by: str


# --- issue #20 duties (D-dut): the annual report's publication (条例 Arts. 49–50) ----------


@registry.register
class AnnualReportPublished(DomainEvent):
    """年度报告向社会公布: on time by its deadline (条例第四十九条: a department or township by
    31 January, a government by 31 March) or late; the office's text is compared with the
    previous year's published text (照搬照抄, services/applications/annual_publication.py)."""

    event_type = "AnnualReportPublished"
    stream_type = "annual-report"

    tenant: str
    year: int = Field(ge=2008, le=2100)
    title: str = Field(json_schema_extra=NOT_PERSONAL)
    published_on: date
    due_on: date
    late: bool
    url: str | None = Field(default=None, description="公布网址")
    content_sha256: str = Field(description="sha256 of the report document as published")
    office_text: str = Field(
        json_schema_extra=NOT_PERSONAL, description="一、五、六 the office's own text, compared"
    )
    previous_year_published: bool
    similarity: float | None = Field(
        default=None, ge=0, le=1, description="与上年文字的相似度（三字片段包含率）"
    )
    copy_threshold: float = Field(gt=0, le=1)
    copied: bool
    published_by: str


@registry.register
class AnnualReportMissed(DomainEvent):
    """The deadline passed with no report published: recorded once by the annual-report job."""

    event_type = "AnnualReportMissed"
    stream_type = "annual-report"

    tenant: str
    year: int = Field(ge=2008, le=2100)
    due: date
    noticed_on: date


@registry.register
class OnlineRequestSubmitted(DomainEvent):
    """网上申请已提交, not yet received (条例 Art. 31(3): an online request is received on
    the day both sides confirm, so the office's confirmation registers it).

    The tracking code and the query password the applicant was shown once are kept only as
    hashes: the code as SHA-256 (a look-up key), the password salted scrypt (docs/portal.md,
    decision 111). Nothing here lets the log's reader follow the request as the
    applicant."""

    event_type = "OnlineRequestSubmitted"
    stream_type = "online-request"

    submission_id: UUID
    tracking_code_hash: str = Field(
        description="SHA-256 of the tracking code (hex)", json_schema_extra=NOT_PERSONAL
    )
    query_password_hash: str = Field(
        description="scrypt$n$r$p$salt$hash of the query password", json_schema_extra=NOT_PERSONAL
    )
    channel: Channel = Channel.online
    submitted_on: date = Field(description="申请人提交之日 (Asia/Shanghai)")
    applicant: Applicant = Field(json_schema_extra=PERSONAL)
    description: str
    requested_form: RequestedForm
    delivery_channel: DeliveryChannel


@registry.register
class OnlineRequestConfirmed(DomainEvent):
    """机关确认收到网上申请: registered in the same write as the request it became
    (RequestRegistered with channel online, received_on = confirmed_on, Art. 31(3))."""

    event_type = "OnlineRequestConfirmed"
    stream_type = "online-request"

    submission_id: UUID
    request_id: UUID
    number: str
    confirmed_on: date = Field(description="双方确认之日 = 收到申请之日 (Art. 31(3))")
    reply_due: date
