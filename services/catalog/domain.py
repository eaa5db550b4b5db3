"""The rules of 主动公开 documents, as pure functions (DOMAIN.md §1).

A document: 拟稿 → 公开属性认定 (proposed, checked, decided) → 三审三校 (初审, 复审, 终审,
each with its proofreading) → 隐私审查 → 发布 → 更新 / 撤稿 / 废止. Deciding returns events;
`evolve` folds them into state. No I/O: the handler passes today, the instant, the
working-day calendar and the caller's id; roles and org scope are checked in handlers.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from services.catalog import privacy
from services.catalog.columns import SEED_CODES
from services.catalog.commands import (
    CheckAttribute,
    DetermineAttribute,
    JustifyFinding,
    ProposeAttribute,
    RecordReview,
)
from services.catalog.events import (
    DisclosureAttribute,
    DisclosureAttributeChecked,
    DisclosureAttributeDetermined,
    DisclosureAttributeProposed,
    DocumentContent,
    DocumentDrafted,
    DocumentRevised,
    LegalGround,
    PrivacyFinding,
    PrivacyFindingJustified,
    PrivacyScanCompleted,
    ProofreadingSignOff,
    PublishedDocumentRegistered,
    ReviewStage,
    ReviewStagePassed,
    ReviewStageRejected,
)
from services.catalog.publication import (
    channel_status,
    missed_deadline,
    publish,
    repeal,
    set_validity,
    withdraw,
)
from services.catalog.state import (
    IMMEDIATE_CHANNELS,
    PUBLICATION_WORKING_DAYS,
    PUBLISHABLE,
    SENSITIVE_FINAL_ROLES,
    STAGE_LABELS,
    STAGE_ROLES,
    STAGES,
    Attribute,
    DocumentState,
    StagePass,
    content_hash,
    evolve,
    invalid,
    needs_interpretation,
    refused,
    require_open,
    text_fields,
)
from shared.registry import DomainEvent
from shared.tenancy import Role

__all__ = [
    "IMMEDIATE_CHANNELS",
    "PUBLICATION_WORKING_DAYS",
    "PUBLISHABLE",
    "STAGES",
    "STAGE_LABELS",
    "STAGE_ROLES",
    "Attribute",
    "DocumentState",
    "StagePass",
    "channel_status",
    "check",
    "content_hash",
    "determine",
    "draft",
    "evolve",
    "justify",
    "missed_deadline",
    "needs_interpretation",
    "propose",
    "publish",
    "redact",
    "redacted_content",
    "register_published",
    "repeal",
    "review",
    "revise",
    "scan",
    "set_validity",
    "stage_roles",
    "text_fields",
    "withdraw",
]

REDACTION_REASON = "隐私信息删减"

# --------------------------------------------------------------------------- drafting


def _check_content(content: DocumentContent, columns: frozenset[str]) -> None:
    if content.column not in columns:
        raise invalid(
            "document.column_unknown",
            "content.column",
            f"栏目 {content.column} 不存在",
            f"column {content.column} does not exist in this township's catalog",
        )


def scan(document_id: UUID, revision: int, content: DocumentContent) -> list[PrivacyFinding]:
    return privacy.scan(text_fields(content), salt=str(document_id))


def draft(
    *,
    document_id: UUID,
    township: str,
    drafting_unit: str,
    drafting_unit_name: str,
    drafter: str,
    content: DocumentContent,
    columns: frozenset[str] = SEED_CODES,
    submission_id: UUID | None = None,
) -> list[DomainEvent]:
    """拟稿 (or a 报送 item accepted into a draft), and the privacy guard's first scan of it."""
    _check_content(content, columns)
    return [
        DocumentDrafted(
            document_id=document_id,
            drafting_unit=drafting_unit,
            drafting_unit_name=drafting_unit_name,
            township=township,
            drafter=drafter,
            content=content,
            submission_id=submission_id,
        ),
        PrivacyScanCompleted(
            document_id=document_id, revision=1, findings=scan(document_id, 1, content)
        ),
    ]


#: 《政府信息公开条例》(2007) took effect on 1 May 2008: the catalogue begins there.
REGULATION_IN_FORCE = date(2008, 5, 1)


def register_published(
    *,
    document_id: UUID,
    township: str,
    drafting_unit: str,
    drafting_unit_name: str,
    registered_by: str,
    content: DocumentContent,
    published_on: date,
    source: str,
    today: date,
    columns: frozenset[str] = SEED_CODES,
) -> PublishedDocumentRegistered:
    """历史信息登记: a document published before the platform, entered as it was published.

    Nothing here is reviewed again (its 三审三校 happened where it was published), so what
    the platform can check, it does: a known column, a publication day between the
    regulation's entry into force and today and not before the document's own date, and
    no personal data, since a text with some must not be published again as it stands (a
    document that needs redacting goes through 拟稿 and the privacy review instead).
    """
    _check_content(content, columns)
    if published_on > today:
        raise invalid(
            "legacy.published_in_future",
            "published_on",
            f"原发布日期 {published_on} 晚于今天 {today}",
            f"published_on {published_on} is after today, {today}",
        )
    if published_on < REGULATION_IN_FORCE:
        raise invalid(
            "legacy.before_regulation",
            "published_on",
            f"原发布日期 {published_on} 早于《政府信息公开条例》施行日 2008-05-01",
            f"published_on {published_on} is before the regulation took effect (2008-05-01)",
        )
    if published_on < content.issue_date:
        raise invalid(
            "legacy.published_before_issue",
            "published_on",
            f"原发布日期 {published_on} 早于成文日期 {content.issue_date}",
            f"published_on {published_on} is before the issue date {content.issue_date}",
        )
    findings = scan(document_id, 1, content)
    if findings:
        first = findings[0]
        raise invalid(
            "legacy.personal_data",
            f"content.{first.field}",
            f"内容含个人信息（{first.kind.label_zh} {first.masked}），不能原样登记公开；"
            "请通过拟稿和隐私审查删减后发布",
            f"the text holds personal data ({first.kind.value} {first.masked}) and cannot be "
            "registered as it stands; draft it and redact it through the privacy review",
        )
    return PublishedDocumentRegistered(
        document_id=document_id,
        township=township,
        drafting_unit=drafting_unit,
        drafting_unit_name=drafting_unit_name,
        content=content,
        content_hash=content_hash(content),
        published_on=published_on,
        source=source,
        registered_by=registered_by,
    )


def revise(
    state: DocumentState,
    content: DocumentContent,
    reason: str | None,
    today: date,
    columns: frozenset[str] = SEED_CODES,
    *,
    reviser: str,
) -> list[DomainEvent]:
    """A new revision: every review stage starts over (先审后发 holds for updates too).

    The reviser takes a drafting duty, so they can review no level of the document.
    """
    document_id = require_open(state)
    _check_content(content, columns)
    is_update = state.published_revision is not None
    if is_update and not (reason and reason.strip()):
        raise invalid(
            "update.reason_required",
            "reason",
            "更新已发布的文件须说明更新原因",
            "updating a published document needs a reason",
        )
    revision = state.revision + 1
    findings = scan(document_id, revision, content)
    now_found = {f.fingerprint for f in findings}
    return [
        DocumentRevised(
            document_id=document_id,
            revision=revision,
            content=content,
            reason=reason,
            is_update=is_update,
            changed_on=today,
            revised_by=reviser,
        ),
        PrivacyScanCompleted(
            document_id=document_id,
            revision=revision,
            findings=findings,
            resolved_by_redaction=sorted({f.fingerprint for f in state.findings} - now_found),
        ),
    ]


def redacted_content(state: DocumentState, fingerprints: frozenset[str] | None) -> DocumentContent:
    """The current revision with the chosen (default: all open) findings masked."""
    require_open(state)
    assert state.content is not None
    chosen = [
        f for f in state.open_findings if fingerprints is None or f.fingerprint in fingerprints
    ]
    if not chosen:
        raise refused(
            "privacy.nothing_to_redact",
            "fingerprints",
            "没有需要删减的个人信息",
            "there are no open privacy findings to redact",
        )
    c = state.content

    def of(name: str, text: str) -> str:
        return privacy.redact(text, [f for f in chosen if f.field == name])

    return c.model_copy(
        update={
            "title": of("title", c.title),
            "body": of("body", c.body),
            "document_number": of("document_number", c.document_number)
            if c.document_number
            else None,
            "attachments_text": [
                of(f"attachments_text[{i}]", t) for i, t in enumerate(c.attachments_text)
            ],
        }
    )


def redact(
    state: DocumentState, fingerprints: frozenset[str] | None, today: date, *, reviser: str
) -> list[DomainEvent]:
    """删减: a new revision with the chosen open findings masked, then scanned again; an
    update of a published document gives the redaction as its reason."""
    content = redacted_content(state, fingerprints)
    reason = REDACTION_REASON if state.published_revision is not None else None
    return revise(state, content, reason, today, frozenset({content.column}), reviser=reviser)


# ------------------------------------------------------------- 公开属性认定 (方案§19)


def _check_ground(attribute: DisclosureAttribute, ground: LegalGround | None) -> None:
    """Arts. 14–16: every attribute but 主动公开 rests on a stated legal ground."""
    if attribute is DisclosureAttribute.proactive:
        if ground is not None:
            raise invalid(
                "attribute.ground_not_applicable",
                "legal_ground",
                "主动公开无需也不应填写不予公开的法律依据",
                "a proactive attribute carries no exemption ground",
            )
        return
    if ground is None:
        raise invalid(
            "attribute.legal_ground_required",
            "legal_ground",
            "依申请公开、不予公开、删减后公开须注明法律依据（条例第十四至十六条）",
            "on_request, withheld and redacted need the legal ground (Arts. 14-16)",
        )


def _require_drafting_phase(state: DocumentState) -> UUID:
    document_id = require_open(state)
    if state.status not in ("draft", "revising") or state.passed:
        raise refused(
            "attribute.review_started",
            "status",
            "审核已开始，公开属性不能再改；请先退回修改",
            "review has started; the attribute can change only after a rejection",
        )
    return document_id


def propose(state: DocumentState, cmd: ProposeAttribute, proposer: str) -> DomainEvent:
    document_id = _require_drafting_phase(state)
    _check_ground(cmd.attribute, cmd.legal_ground)
    return DisclosureAttributeProposed(
        document_id=document_id,
        attribute=cmd.attribute,
        legal_ground=cmd.legal_ground,
        reason=cmd.reason,
        proposer=proposer,
    )


def check(state: DocumentState, cmd: CheckAttribute, officer: str) -> DomainEvent:
    document_id = _require_drafting_phase(state)
    if state.proposal is None:
        raise refused(
            "attribute.not_proposed",
            "attribute",
            "拟稿人尚未提出公开属性",
            "the drafter has not proposed an attribute yet",
        )
    return DisclosureAttributeChecked(
        document_id=document_id, agrees=cmd.agrees, comment=cmd.comment, officer=officer
    )


def determine(state: DocumentState, cmd: DetermineAttribute, signer: str) -> DomainEvent:
    """签发人 has the final say, after the office's check; it may differ from the proposal."""
    document_id = _require_drafting_phase(state)
    if state.proposal is None or not state.checked:
        raise refused(
            "attribute.not_checked",
            "attribute",
            "公开属性须先由拟稿人提出、经公开属性认定人员审核后，再由签发人认定",
            "the attribute must be proposed and checked before the signer decides",
        )
    _check_ground(cmd.attribute, cmd.legal_ground)
    return DisclosureAttributeDetermined(
        document_id=document_id,
        attribute=cmd.attribute,
        legal_ground=cmd.legal_ground,
        reason=cmd.reason,
        signer=signer,
    )


# ------------------------------------------------------------------ 三审三校 (方案§18)


def stage_roles(state: DocumentState, stage: ReviewStage) -> tuple[Role, ...]:
    content = state.content
    if stage is ReviewStage.final_review and content is not None and content.sensitive:
        return SENSITIVE_FINAL_ROLES
    return STAGE_ROLES[stage]


def review(state: DocumentState, cmd: RecordReview, reviewer: str) -> DomainEvent:
    """Pass or reject the next level. Roles and separation of duties: the handler's."""
    document_id = require_open(state)
    if state.status not in ("draft", "in_review", "revising"):
        raise refused(
            "review.not_in_review",
            "status",
            f"文件当前状态为 {state.status}，不在审核中",
            f"the document is {state.status}, not under review",
        )
    if state.attribute is None:
        raise refused(
            "review.attribute_undecided",
            "attribute",
            "未认定公开属性的文件不能进入审核（方案§19）",
            "a draft without a decided disclosure attribute cannot enter review",
        )
    expected = state.next_stage
    if expected is None:
        # An update of a published document stays `revising` after its third pass.
        raise refused(
            "review.not_in_review",
            "stage",
            "三审均已通过，无需再审；请发布或修改后重新送审",
            "all three levels have passed: publish it, or revise it to review again",
        )
    if cmd.stage is not expected:
        raise refused(
            "review.out_of_order",
            "stage",
            f"应先完成{STAGE_LABELS[expected]}，不能办理{STAGE_LABELS[cmd.stage]}",
            f"{expected} comes next, not {cmd.stage}",
        )
    if cmd.outcome == "reject":
        if not (cmd.comments and len(cmd.comments.strip()) >= 2):
            raise invalid(
                "review.comments_required",
                "comments",
                "退回修改须填写意见",
                "a rejection needs comments",
            )
        return ReviewStageRejected(
            document_id=document_id,
            revision=state.revision,
            stage=cmd.stage,
            reviewer=reviewer,
            comments=cmd.comments.strip(),
        )
    if cmd.proofreading is None or not cmd.proofreading.signed:
        raise invalid(
            "review.proofreading_required",
            "proofreading.signed",
            f"{STAGE_LABELS[cmd.stage]}须同时完成校对签字（三审三校）",
            "each review level needs its proofreading sign-off",
        )
    return ReviewStagePassed(
        document_id=document_id,
        revision=state.revision,
        stage=cmd.stage,
        reviewer=reviewer,
        proofreading=ProofreadingSignOff(
            round=STAGES.index(cmd.stage) + 1,
            proofreader=reviewer,
            corrections=cmd.proofreading.corrections,
            note=cmd.proofreading.note,
        ),
        comment=cmd.comments,
    )


# ----------------------------------------------------------------- privacy decisions


def justify(state: DocumentState, cmd: JustifyFinding, reviewer: str) -> DomainEvent:
    document_id = require_open(state)
    finding = next((f for f in state.findings if f.fingerprint == cmd.fingerprint), None)
    if finding is None:
        raise refused(
            "privacy.finding_unknown",
            "fingerprint",
            "当前版本中没有该隐私检测结果",
            "the current revision has no such finding",
        )
    return PrivacyFindingJustified(
        document_id=document_id,
        fingerprint=finding.fingerprint,
        kind=finding.kind,
        justification=cmd.justification,
        reviewer=reviewer,
    )
