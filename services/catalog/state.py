"""Document state and how events fold into it (DOMAIN.md §1), shared by the deciders.

Pure: no I/O. `evolve(state, event) -> state`; domain.py and publication.py decide.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from uuid import UUID

from services.catalog.events import (
    INTERPRETED_KINDS,
    ChannelStatus,
    ChannelStatusRecorded,
    DisclosureAttribute,
    DisclosureAttributeChecked,
    DisclosureAttributeDetermined,
    DisclosureAttributeProposed,
    DocumentContent,
    DocumentDrafted,
    DocumentFiled,
    DocumentPublished,
    DocumentRepealed,
    DocumentRevised,
    DocumentValidityPeriodSet,
    DocumentWithdrawn,
    FilingOutcome,
    FilingOverdue,
    FilingRequired,
    FilingReviewed,
    LegalGround,
    PrivacyFinding,
    PrivacyFindingJustified,
    PrivacyScanCompleted,
    PublicationChannel,
    PublicationDeadlineMissed,
    ReviewStage,
    ReviewStagePassed,
    ReviewStageRejected,
)
from shared.envelope import canonical_json
from shared.errors import DomainRuleViolated, ValidationFailed
from shared.registry import DomainEvent
from shared.tenancy import Role

PUBLICATION_WORKING_DAYS = 20  # 条例第二十六条
STAGES: tuple[ReviewStage, ...] = (
    ReviewStage.first_review,
    ReviewStage.second_review,
    ReviewStage.final_review,
)
STAGE_LABELS = {
    ReviewStage.first_review: "初审",
    ReviewStage.second_review: "复审",
    ReviewStage.final_review: "终审",
}
#: Who may hold each level (方案§18): 编辑, 科室负责人, 分管领导或主要领导.
STAGE_ROLES: Mapping[ReviewStage, tuple[Role, ...]] = {
    ReviewStage.first_review: (Role.DRAFTER,),
    ReviewStage.second_review: (Role.SECTION_HEAD,),
    ReviewStage.final_review: (Role.LEADER_IN_CHARGE, Role.PRINCIPAL_LEADER),
}
#: A sensitive document's final review is the principal leader's (the extra approval).
SENSITIVE_FINAL_ROLES = (Role.PRINCIPAL_LEADER,)
PUBLISHABLE = frozenset({DisclosureAttribute.proactive, DisclosureAttribute.redacted})
#: The website is the system itself: published at once; other channels are confirmed later.
IMMEDIATE_CHANNELS = frozenset({PublicationChannel.website})


def invalid(rule: str, field: str, zh: str, en: str) -> ValidationFailed:
    return ValidationFailed(rule=rule, field=field, message_zh=zh, message_en=en)


def refused(rule: str, field: str, zh: str, en: str) -> DomainRuleViolated:
    return DomainRuleViolated(rule=rule, field=field, message_zh=zh, message_en=en)


def content_hash(content: DocumentContent) -> str:
    """sha256 of the canonical JSON of a revision: every published version is provable."""
    return hashlib.sha256(canonical_json(content.model_dump(mode="json"))).hexdigest()


def needs_interpretation(content: DocumentContent) -> bool:
    """谁起草、谁解读: policies, normative documents and plans, or what the drafter flags."""
    return content.needs_interpretation or content.kind in INTERPRETED_KINDS


def text_fields(content: DocumentContent) -> dict[str, str]:
    fields = {"title": content.title, "body": content.body}
    if content.document_number:
        fields["document_number"] = content.document_number
    for i, text in enumerate(content.attachments_text):
        fields[f"attachments_text[{i}]"] = text
    return fields


@dataclass(frozen=True)
class Attribute:
    attribute: DisclosureAttribute
    legal_ground: LegalGround | None
    reason: str | None
    by: str


@dataclass(frozen=True)
class StagePass:
    reviewer: str
    proofreader: str


@dataclass(frozen=True)
class Returned:
    """A level's 退回修改, until the drafter revises the text (or the level passes it)."""

    stage: ReviewStage
    reviewer: str
    comments: str
    revision: int


@dataclass(frozen=True)
class Filing:
    """备案 of a published 规章 or 行政规范性文件 (方案§18; services/catalog/filing.py)."""

    published_on: date
    due_on: date
    #: how many times it was filed (a returned filing is filed again)
    attempts: int = 0
    #: None (not filed), "filed" (awaiting review), "accepted", "returned"
    status: str | None = None
    overdue_noticed: bool = False


def _evolve_filing(s: DocumentState, event: DomainEvent) -> DocumentState:
    if isinstance(event, FilingRequired):
        return replace(s, filing=Filing(event.published_on, event.due_on))
    if s.filing is None:
        return s
    if isinstance(event, DocumentFiled):
        return replace(s, filing=replace(s.filing, attempts=event.attempt, status="filed"))
    if isinstance(event, FilingReviewed):
        status = "accepted" if event.outcome is FilingOutcome.accepted else "returned"
        return replace(s, filing=replace(s.filing, status=status))
    if isinstance(event, FilingOverdue):
        return replace(s, filing=replace(s.filing, overdue_noticed=True))
    return s


FILING_EVENTS = (FilingRequired, DocumentFiled, FilingReviewed, FilingOverdue)


@dataclass(frozen=True)
class DocumentState:
    document_id: UUID | None = None
    township: str = ""
    drafting_unit: str = ""
    drafting_unit_name: str = ""
    drafter: str = ""
    content: DocumentContent | None = None
    revision: int = 0
    status: str = "new"  # draft, in_review, approved, published, revising, withdrawn
    proposal: Attribute | None = None
    checked: bool = False
    attribute: Attribute | None = None
    passed: Mapping[ReviewStage, StagePass] = field(default_factory=dict)
    findings: tuple[PrivacyFinding, ...] = ()
    justified: frozenset[str] = frozenset()
    #: person -> every duty they held on this document (separation of duties, [ours])
    duties: Mapping[str, frozenset[str]] = field(default_factory=dict)
    published_revision: int | None = None
    channels: Mapping[PublicationChannel, ChannelStatus] = field(default_factory=dict)
    update_reason: str | None = None
    changed_on: date | None = None
    repealed_on: date | None = None
    #: 有效期: the last day in force (DocumentValidityPeriodSet), None = no period.
    valid_until: date | None = None
    deadline_missed: bool = False
    filing: Filing | None = None
    #: The last rejection, while it waits for a revision: the drafter's 退回修改 queue.
    returned: Returned | None = None
    version: int = 0

    @property
    def exists(self) -> bool:
        return self.document_id is not None

    @property
    def open_findings(self) -> tuple[PrivacyFinding, ...]:
        return tuple(f for f in self.findings if f.fingerprint not in self.justified)

    @property
    def next_stage(self) -> ReviewStage | None:
        return next((s for s in STAGES if s not in self.passed), None)


def _with_duty(state: DocumentState, person: str, duty: str) -> Mapping[str, frozenset[str]]:
    duties = dict(state.duties)
    duties[person] = duties.get(person, frozenset()) | {duty}
    return duties


def evolve(state: DocumentState, event: DomainEvent) -> DocumentState:
    s = replace(state, version=state.version + 1)
    if isinstance(event, DocumentDrafted):
        return replace(
            s,
            document_id=event.document_id,
            township=event.township,
            drafting_unit=event.drafting_unit,
            drafting_unit_name=event.drafting_unit_name,
            drafter=event.drafter,
            content=event.content,
            revision=1,
            status="draft",
            duties={event.drafter: frozenset({"drafting"})},
        )
    if isinstance(event, DocumentRevised):
        return replace(
            s,
            content=event.content,
            revision=event.revision,
            status="revising" if event.is_update else "draft",
            passed={},
            returned=None,
            update_reason=event.reason if event.is_update else s.update_reason,
            changed_on=event.changed_on if event.is_update else s.changed_on,
            # Whoever wrote a revision drafted it: they may not review it [ours].
            duties=_with_duty(s, event.revised_by, "drafting") if event.revised_by else s.duties,
        )
    if isinstance(event, PrivacyScanCompleted):
        return replace(s, findings=tuple(event.findings))
    if isinstance(event, PrivacyFindingJustified):
        return replace(s, justified=s.justified | {event.fingerprint})
    if isinstance(event, DisclosureAttributeProposed):
        proposal = Attribute(event.attribute, event.legal_ground, event.reason, event.proposer)
        return replace(
            s,
            proposal=proposal,
            checked=False,
            attribute=None,
            duties=_with_duty(s, event.proposer, "drafting"),  # the drafter proposes (方案§19)
        )
    if isinstance(event, DisclosureAttributeChecked):
        return replace(s, checked=True)
    if isinstance(event, DisclosureAttributeDetermined):
        decided = Attribute(event.attribute, event.legal_ground, event.reason, event.signer)
        return replace(s, attribute=decided)
    if isinstance(event, ReviewStagePassed):
        passed = {
            **s.passed,
            event.stage: StagePass(event.reviewer, event.proofreading.proofreader),
        }
        status = s.status
        if s.status in ("draft", "in_review"):
            status = "approved" if len(passed) == len(STAGES) else "in_review"
        return replace(
            s,
            passed=passed,
            status=status,
            returned=None,
            duties=_with_duty(s, event.reviewer, event.stage),
        )
    if isinstance(event, ReviewStageRejected):
        status = "revising" if s.published_revision is not None else "draft"
        returned = Returned(event.stage, event.reviewer, event.comments, event.revision)
        return replace(
            s,
            passed={},
            status=status,
            returned=returned,
            duties=_with_duty(s, event.reviewer, event.stage),
        )
    if isinstance(event, DocumentPublished):
        channels = {
            c: ChannelStatus.published if c in IMMEDIATE_CHANNELS else ChannelStatus.pending
            for c in event.channels
        }
        return replace(s, status="published", published_revision=event.revision, channels=channels)
    if isinstance(event, ChannelStatusRecorded):
        return replace(s, channels={**s.channels, event.channel: event.status})
    if isinstance(event, DocumentWithdrawn):
        return replace(
            s, status="withdrawn", channels={c: ChannelStatus.removed for c in s.channels}
        )
    if isinstance(event, DocumentRepealed):
        return replace(s, repealed_on=event.repealed_on)
    if isinstance(event, DocumentValidityPeriodSet):
        return replace(s, valid_until=event.valid_until)
    if isinstance(event, PublicationDeadlineMissed):
        return replace(s, deadline_missed=True)
    if isinstance(event, FILING_EVENTS):
        return _evolve_filing(s, event)
    return s


def require_exists(state: DocumentState) -> UUID:
    if state.document_id is None:
        raise refused("document.not_drafted", "document_id", "文件不存在", "no such document")
    return state.document_id


def require_open(state: DocumentState) -> UUID:
    document_id = require_exists(state)
    if state.status == "withdrawn":
        raise refused(
            "document.withdrawn", "status", "文件已撤稿，不能再办理", "the document was withdrawn"
        )
    return document_id
