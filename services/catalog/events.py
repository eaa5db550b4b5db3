"""Events of the catalog service (主动公开目录发布). The source of contracts/.

Rules: DOMAIN.md §1 (条例 Arts. 14–16, 26; 方案§四(一), §12, §13, §18, §19).
A document's events share the stream `document-<id>`; their envelope tenant is the
drafting unit's org path. Gazette issues and column settings belong to the township.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.catalog import events_v1
from services.catalog.content import DocumentContent as DocumentContent
from services.catalog.content import DocumentKind as DocumentKind
from services.catalog.content import GazetteEntry as GazetteEntry
from shared.fields import NOT_PERSONAL, LabelledEnum
from shared.registry import DomainEvent, EventRegistry

registry = EventRegistry(service="catalog")


#: Kinds the interpretation service must interpret (DOMAIN.md §3, 谁起草、谁解读).
INTERPRETED_KINDS = frozenset(
    {DocumentKind.normative, DocumentKind.policy, DocumentKind.implementation_plan}
)
#: Kinds a gazette issue compiles (方案§13 政府公报 collects normative documents).
GAZETTE_KINDS = frozenset({DocumentKind.regulation, DocumentKind.normative})


class DisclosureAttribute(LabelledEnum):
    """公开属性 (方案§19; 国办发〔2016〕80号)."""

    proactive = "proactive", "主动公开"
    on_request = "on_request", "依申请公开"
    withheld = "withheld", "不予公开"
    redacted = "redacted", "删减后公开"


class LegalGround(LabelledEnum):
    """The exemption a non-proactive attribute rests on (条例 Arts. 14–16)."""

    art14_state_secret = "art14_state_secret", "国家秘密（条例第十四条）"
    art14_law_forbids = "art14_law_forbids", "法律、行政法规禁止公开（条例第十四条）"
    art14_security_stability = "art14_security_stability", "危及“三安全一稳定”（条例第十四条）"
    art15_trade_secret = "art15_trade_secret", "商业秘密（条例第十五条）"
    art15_personal_privacy = "art15_personal_privacy", "个人隐私（条例第十五条）"
    art16_internal_affairs = "art16_internal_affairs", "内部事务信息（条例第十六条第一款）"
    art16_process_information = "art16_process_information", "过程性信息（条例第十六条第二款）"
    art16_enforcement_files = "art16_enforcement_files", "行政执法案卷（条例第十六条第二款）"


class ReviewStage(LabelledEnum):
    """三审三校 (方案§18): 初审 / 复审 / 终审, each with its proofreading round."""

    first_review = "first_review", "初审（一校）"
    second_review = "second_review", "复审（二校）"
    final_review = "final_review", "终审（三校）"


class PublicationChannel(LabelledEnum):
    """发布渠道 (方案§12, §16)."""

    website = "website", "政府网站"
    new_media = "new_media", "政务新媒体"
    bulletin_board = "bulletin_board", "公告栏"
    e_screen = "e_screen", "电子信息屏"
    reading_point = "reading_point", "公共查阅点"
    brochure = "brochure", "政策宣传册"
    briefing = "briefing", "宣讲会"


class ChannelStatus(LabelledEnum):
    pending = "pending", "待发布"
    published = "published", "已发布"
    failed = "failed", "发布失败"
    removed = "removed", "已撤下"


class FindingKind(LabelledEnum):
    """Personal data the privacy guard detects (方案§8 更加注重个人隐私保护)."""

    resident_id = "resident_id", "居民身份证号"
    legacy_resident_id = "legacy_resident_id", "15位旧身份证号"
    mobile = "mobile", "手机号码"
    bank_card = "bank_card", "银行卡号"
    email = "email", "电子邮箱"
    passport = "passport", "护照号码"


class PrivacyFinding(BaseModel):
    """One piece of personal data found in a revision; never the value itself, only a mask."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fingerprint: str = Field(description="稳定标识：同一文档中同一号码在各版本相同")
    kind: FindingKind
    field: str = Field(description="title / body / attachments_text[i] / document_number")
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    masked: str = Field(description="脱敏显示，如 1404**********1234")


class ProofreadingSignOff(BaseModel):
    """校对签字: the round's proofreader and what was corrected."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    round: int = Field(ge=1, le=3, description="一校 / 二校 / 三校")
    proofreader: str
    corrections: int = Field(ge=0)
    note: str | None = None


@registry.register
class DocumentDrafted(DomainEvent):
    """拟稿: revision 1 of a document by its drafter, in its drafting unit.

    v2: `submission_id`, the 信息报送 item the office accepted into this draft (None for a
    document drafted in the catalog); v1 events had none.
    """

    event_type = "DocumentDrafted"
    schema_version = 2
    stream_type = "document"

    document_id: UUID
    drafting_unit: str
    drafting_unit_name: str
    township: str
    drafter: str
    content: DocumentContent = Field(json_schema_extra=NOT_PERSONAL)
    submission_id: UUID | None = Field(default=None, description="来源报送信息（信息报送采用）")


registry.register_historic(events_v1.DocumentDrafted, events_v1.document_drafted_v1_to_v2)


@registry.register
class DocumentRevised(DomainEvent):
    """A new revision. While published it is an update (reason mandatory) that is reviewed again.

    v2: `revised_by`, the person who wrote the revision: a drafting duty, so they may not
    review it (separation of duties); v1 events read it from their envelope's actor.
    """

    event_type = "DocumentRevised"
    schema_version = 2
    stream_type = "document"

    document_id: UUID
    revision: int = Field(ge=2)
    content: DocumentContent = Field(json_schema_extra=NOT_PERSONAL)
    reason: str | None = None
    is_update: bool = Field(description="已发布文件的更新（需重新三审后发布）")
    changed_on: date
    revised_by: str | None = Field(description="修订人（拟稿职责）; null only in upcast v1 events")


registry.register_historic(events_v1.DocumentRevised, events_v1.document_revised_v1_to_v2)


@registry.register
class PrivacyScanCompleted(DomainEvent):
    """The privacy guard's findings for one revision; `resolved` are earlier ones now gone.

    v2: findings may be e-mail addresses and passport numbers too.
    """

    event_type = "PrivacyScanCompleted"
    schema_version = 2
    stream_type = "document"

    document_id: UUID
    revision: int = Field(ge=1)
    findings: list[PrivacyFinding]
    resolved_by_redaction: list[str] = Field(default_factory=list)


registry.register_historic(events_v1.PrivacyScanCompleted, events_v1.same_payload)


@registry.register
class PrivacyFindingJustified(DomainEvent):
    """A reviewer decided a finding may be published, and why (e.g. 公示 of a 法人 contact).

    v2: the finding may be an e-mail address or a passport number too.
    """

    event_type = "PrivacyFindingJustified"
    schema_version = 2
    stream_type = "document"

    document_id: UUID
    fingerprint: str
    kind: FindingKind
    justification: str
    reviewer: str


registry.register_historic(events_v1.PrivacyFindingJustified, events_v1.same_payload)


@registry.register
class DisclosureAttributeProposed(DomainEvent):
    """拟稿人提出公开属性 (方案§19)."""

    event_type = "DisclosureAttributeProposed"
    stream_type = "document"

    document_id: UUID
    attribute: DisclosureAttribute
    legal_ground: LegalGround | None = None
    reason: str | None = None
    proposer: str


@registry.register
class DisclosureAttributeChecked(DomainEvent):
    """公开属性审核 by the attribute officer: agrees or not, with a comment."""

    event_type = "DisclosureAttributeChecked"
    stream_type = "document"

    document_id: UUID
    agrees: bool
    comment: str | None = None
    officer: str


@registry.register
class DisclosureAttributeDetermined(DomainEvent):
    """签发人认定公开属性: the final say; a draft without it cannot enter review."""

    event_type = "DisclosureAttributeDetermined"
    stream_type = "document"

    document_id: UUID
    attribute: DisclosureAttribute
    legal_ground: LegalGround | None = None
    reason: str | None = None
    signer: str


@registry.register
class ReviewStagePassed(DomainEvent):
    """One level of 三审三校 passed, with its proofreading round signed."""

    event_type = "ReviewStagePassed"
    stream_type = "document"

    document_id: UUID
    revision: int = Field(ge=1)
    stage: ReviewStage
    reviewer: str
    proofreading: ProofreadingSignOff
    comment: str | None = None


@registry.register
class ReviewStageRejected(DomainEvent):
    """A level sent the document back to draft with comments; every stage starts over."""

    event_type = "ReviewStageRejected"
    stream_type = "document"

    document_id: UUID
    revision: int = Field(ge=1)
    stage: ReviewStage
    reviewer: str
    comments: str


class Reviewers(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    first_review: str
    second_review: str
    final_review: str
    proofreaders: list[str]


@registry.register
class DocumentPublished(DomainEvent):
    """先审后发: a revision went public. Carries what interpretation and assessment need."""

    event_type = "DocumentPublished"
    stream_type = "document"

    document_id: UUID
    township: str
    drafting_unit: str
    drafting_unit_name: str
    revision: int = Field(ge=1)
    is_update: bool
    update_reason: str | None = None
    kind: DocumentKind
    title: str
    document_number: str | None
    issue_date: date
    column: str
    content: DocumentContent = Field(json_schema_extra=NOT_PERSONAL)
    content_hash: str = Field(description="sha256 of the canonical content (provable version)")
    attribute: DisclosureAttribute
    needs_interpretation: bool
    channels: list[PublicationChannel]
    published_at: datetime
    publisher: str
    drafter: str
    reviewers: Reviewers
    publication_due: date = Field(description="条例第二十六条：20 个工作日")
    due_provisional: bool
    late: bool
    working_days_taken: int


@registry.register
class PublishedDocumentRegistered(DomainEvent):
    """历史信息登记: a document the township published before it used this platform (on its
    old 政府信息公开专栏 or in print), entered with the day it was published there.

    Its 三审三校 happened outside the platform, so it opens no review, no interpretation
    duty, no filing and no timeliness check, and subscribers are not told of it; it joins
    the public catalogue, search and the column checks under its original date (a column
    whose last update was that day is as stale as the day says; issue #21).
    """

    event_type = "PublishedDocumentRegistered"
    stream_type = "legacy-document"

    document_id: UUID
    township: str
    drafting_unit: str
    drafting_unit_name: str
    content: DocumentContent = Field(json_schema_extra=NOT_PERSONAL)
    content_hash: str = Field(description="sha256 of the canonical content (provable version)")
    published_on: date = Field(description="the day it was first published, where `source` says")
    source: str = Field(
        description="where it was published (the old page's address, or the print)",
        json_schema_extra=NOT_PERSONAL,
    )
    registered_by: str


@registry.register
class ChannelStatusRecorded(DomainEvent):
    """The status of one channel of a published document (each channel has its own)."""

    event_type = "ChannelStatusRecorded"
    stream_type = "document"

    document_id: UUID
    channel: PublicationChannel
    status: ChannelStatus
    note: str | None = None


@registry.register
class DocumentWithdrawn(DomainEvent):
    """撤稿: gone from the public API, the feeds and every channel; the events stay."""

    event_type = "DocumentWithdrawn"
    stream_type = "document"

    document_id: UUID
    reason: str
    withdrawn_by: str
    kind: DocumentKind


@registry.register
class DocumentRepealed(DomainEvent):
    """废止: a normative document stops being in force (annual report section 二)."""

    event_type = "DocumentRepealed"
    stream_type = "document"

    document_id: UUID
    kind: DocumentKind
    repealed_on: date
    reason: str


@registry.register
class DocumentValidityPeriodSet(DomainEvent):
    """有效期: the last day a published document is in force (失效 after it), or none (长期有效).

    A 行政规范性文件 states its period (国办发〔2018〕37号: 有效期一般不超过5年); a citizen
    reading it must see whether it still applies (有效 / 失效 / 已废止).
    """

    event_type = "DocumentValidityPeriodSet"
    stream_type = "document"

    document_id: UUID
    valid_until: date | None = Field(description="最后有效日；null = 未规定有效期（长期有效）")
    set_by: str


@registry.register
class PublicationDeadlineMissed(DomainEvent):
    """条例第二十六条: 20 working days after the issue date and still not published.

    Recorded once per document by the deadline sweep, for assessment (逾期公开扣分).
    """

    event_type = "PublicationDeadlineMissed"
    stream_type = "document"

    document_id: UUID
    township: str
    drafting_unit: str
    title: str
    kind: DocumentKind
    issue_date: date
    publication_due: date
    detected_on: date


@registry.register
class ColumnConfigured(DomainEvent):
    """A township changed or added a catalog column and its update rule [local]."""

    event_type = "ColumnConfigured"
    stream_type = "catalog-column"

    township: str
    code: str
    name: str = Field(json_schema_extra=NOT_PERSONAL)
    dynamic: bool
    max_age_days: int = Field(ge=1, le=3660)


@registry.register
class ColumnStale(DomainEvent):
    """A column went longer than its rule allows without a publication [local: 玉环].

    Recorded once per staleness episode (per last publication date) by the column check.
    """

    event_type = "ColumnStale"
    stream_type = "catalog-column-health"

    township: str
    column: str
    name: str = Field(json_schema_extra=NOT_PERSONAL)
    dynamic: bool
    max_age_days: int
    last_published_on: date
    days_since_update: int
    noticed_on: date


@registry.register
class ColumnEmpty(DomainEvent):
    """A column has nothing published (国办秘函〔2019〕19号: no empty column); once per column."""

    event_type = "ColumnEmpty"
    stream_type = "catalog-column-health"

    township: str
    column: str
    name: str = Field(json_schema_extra=NOT_PERSONAL)
    noticed_on: date


@registry.register
class GazetteIssuePublished(DomainEvent):
    """政府公报: issue `number` of a year; the stream version is the number (no gaps).

    v2: the hash covers the township, year, number, title, entries and the previous issue's
    hash (`previous_hash`), so the issues of a year form a chain (gazette.issue_hash);
    upcast v1 issues keep their entries-only hash (`hash_version` 1).
    """

    event_type = "GazetteIssuePublished"
    schema_version = 2
    stream_type = "gazette"

    issue_id: UUID
    township: str
    year: int
    number: int = Field(ge=1)
    title: str
    entries: list[GazetteEntry]
    previous_hash: str | None = Field(description="上一期的 content_hash; null for issue 1")
    content_hash: str = Field(
        description="sha256 of the issue: township, year, number, title, previous_hash, entries"
    )
    hash_version: int = Field(ge=1, le=2, description="1: entries only (v1 issues); 2: issue")
    published_at: datetime


registry.register_historic(
    events_v1.GazetteIssuePublished, events_v1.gazette_issue_published_v1_to_v2
)


# --- issue #20 duties (D-dut): 规范性文件备案 (方案§18) and information-security incidents --

#: Kinds filed for review after publication: 规章 (《法规规章备案条例》第三条) and 行政规范性文件
#: (国办发〔2018〕37号 备案审查; the 30-day limit of local rules), 方案§18.
FILED_KINDS = frozenset({DocumentKind.regulation, DocumentKind.normative})


class FilingOutcome(LabelledEnum):
    """备案审查结果."""

    accepted = "accepted", "予以备案"
    returned = "returned", "退回（不予备案或补正后重新报送）"


class IncidentKind(LabelledEnum):
    """信息安全事件: what leaked (方案§8, §18 涉密不上网、上网不涉密)."""

    secret_leak = "secret_leak", "泄密（涉密信息上网）"
    personal_data_leak = "personal_data_leak", "个人信息泄露"


@registry.register
class FilingRequired(DomainEvent):
    """备案义务: a 规章 or 行政规范性文件 went public; it is filed within `limit_days` days of
    its publication (公布之日起30日内), recorded with the publication itself."""

    event_type = "FilingRequired"
    stream_type = "document"

    document_id: UUID
    drafting_unit: str
    kind: DocumentKind
    title: str
    document_number: str | None
    published_on: date
    limit_days: int = Field(ge=1, le=365)
    due_on: date = Field(description="公布之日起 limit_days 日（公布当日不计）")
    basis: str


@registry.register
class DocumentFiled(DomainEvent):
    """报送备案: the drafting organ filed the document with the filing body (备案审查机关);
    a filing after `due_on` is recorded as late, not refused."""

    event_type = "DocumentFiled"
    stream_type = "document"

    document_id: UUID
    drafting_unit: str
    filed_on: date
    filed_with: str = Field(description="备案审查机关，如 上党区司法局")
    filing_number: str | None = Field(default=None, description="备案报告文号")
    attempt: int = Field(ge=1, description="第几次报送（退回后重新报送加一）")
    due_on: date
    late: bool
    filed_by: str


@registry.register
class FilingReviewed(DomainEvent):
    """备案审查结果: accepted, or returned with the reason (then filed again)."""

    event_type = "FilingReviewed"
    stream_type = "document"

    document_id: UUID
    attempt: int = Field(ge=1)
    outcome: FilingOutcome
    reason: str | None = Field(default=None, json_schema_extra=NOT_PERSONAL)
    reviewed_on: date
    recorded_by: str


@registry.register
class FilingOverdue(DomainEvent):
    """The filing limit passed with nothing filed: recorded once by the filing sweep."""

    event_type = "FilingOverdue"
    stream_type = "document"

    document_id: UUID
    drafting_unit: str
    kind: DocumentKind
    title: str
    published_on: date
    due_on: date
    noticed_on: date


@registry.register
class DisclosureIncidentConfirmed(DomainEvent):
    """信息安全事件确认: a leak of secrets or of personal data, confirmed by the openness-office
    head with its cause; the assessment's leak signals (the secret leak is a veto)."""

    event_type = "DisclosureIncidentConfirmed"
    stream_type = "disclosure-incident"

    incident_id: UUID
    kind: IncidentKind
    org: str = Field(description="责任单位 org path")
    document_id: UUID | None = Field(default=None, description="涉及的已发布文件")
    occurred_on: date
    confirmed_on: date
    cause: str = Field(json_schema_extra=NOT_PERSONAL, description="原因")
    measures: str | None = Field(default=None, json_schema_extra=NOT_PERSONAL)
    confirmed_by: str


# 信息报送 (submissions.py): its events register on this registry.
from services.catalog import submission_events as submission_events  # noqa: E402
