"""Publication decisions: 先审后发, channels, 撤稿, 废止 and the Art. 26 clock (DOMAIN.md §1).

Pure: the handler passes the instant, today and the working-day calendar.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from services.catalog.commands import (
    PublishDocument,
    RecordChannelStatus,
    RepealDocument,
    SetValidityPeriod,
    WithdrawDocument,
)
from services.catalog.events import (
    GAZETTE_KINDS,
    ChannelStatusRecorded,
    DocumentPublished,
    DocumentRepealed,
    DocumentValidityPeriodSet,
    DocumentWithdrawn,
    PublicationChannel,
    PublicationDeadlineMissed,
    Reviewers,
)
from services.catalog.state import (
    PUBLICATION_WORKING_DAYS,
    PUBLISHABLE,
    STAGE_LABELS,
    STAGES,
    DocumentState,
    content_hash,
    invalid,
    needs_interpretation,
    refused,
    require_open,
)
from shared.registry import DomainEvent
from shared.workdays import WorkdayCalendar

# ------------------------------------------------------------------------ publication


def publish(
    state: DocumentState,
    cmd: PublishDocument,
    *,
    publisher: str,
    now: datetime,
    today: date,
    calendar: WorkdayCalendar,
) -> DomainEvent:
    """先审后发: all three levels, a publishable attribute, no open privacy finding.

    Art. 26: published within 20 working days of the issue date (of the change, for an
    update); a later publication is recorded as late, not refused.
    """
    document_id = require_open(state)
    content = state.content
    assert content is not None
    if state.status not in ("approved", "revising") or len(state.passed) < len(STAGES):
        missing = [STAGE_LABELS[s] for s in STAGES if s not in state.passed]
        raise refused(
            "publish.review_incomplete",
            "status",
            f"三审未完成，不能发布（缺少：{'、'.join(missing)}）",
            f"all three review levels must pass before publication (missing: {missing})",
        )
    assert state.attribute is not None
    if state.attribute.attribute not in PUBLISHABLE:
        raise refused(
            "publish.attribute_not_public",
            "attribute",
            "公开属性为依申请公开或不予公开的文件不能主动发布",
            "an on_request or withheld document is not proactively published",
        )
    if state.open_findings:
        kinds = sorted({f.kind.value for f in state.open_findings})
        raise refused(
            "publish.privacy_unresolved",
            "privacy",
            f"文件含未处理的个人信息（{'、'.join(kinds)}），须删减或由审核人说明理由后才能发布",
            f"unredacted personal data ({', '.join(kinds)}): redact it or record a justification",
        )
    channels = sorted(set(cmd.channels))
    is_update = state.published_revision is not None
    start = state.changed_on if is_update and state.changed_on else content.issue_date
    due = calendar.add_workdays(start, PUBLICATION_WORKING_DAYS)
    taken = calendar.workdays_between(start, today)
    first, second, final = (state.passed[s] for s in STAGES)
    return DocumentPublished(
        document_id=document_id,
        township=state.township,
        drafting_unit=state.drafting_unit,
        drafting_unit_name=state.drafting_unit_name,
        revision=state.revision,
        is_update=is_update,
        update_reason=state.update_reason if is_update else None,
        kind=content.kind,
        title=content.title,
        document_number=content.document_number,
        issue_date=content.issue_date,
        column=content.column,
        content=content,
        content_hash=content_hash(content),
        attribute=state.attribute.attribute,
        needs_interpretation=needs_interpretation(content),
        channels=channels,
        published_at=now,
        publisher=publisher,
        drafter=state.drafter,
        reviewers=Reviewers(
            first_review=first.reviewer,
            second_review=second.reviewer,
            final_review=final.reviewer,
            proofreaders=[first.proofreader, second.proofreader, final.proofreader],
        ),
        publication_due=due.due,
        due_provisional=due.provisional,
        late=today > due.due,
        working_days_taken=max(taken, 0),
    )


def _require_published(state: DocumentState) -> UUID:
    document_id = require_open(state)
    if state.published_revision is None:
        raise refused(
            "document.not_published",
            "status",
            "文件尚未发布",
            "the document has not been published",
        )
    return document_id


def channel_status(
    state: DocumentState, channel: PublicationChannel, cmd: RecordChannelStatus
) -> DomainEvent:
    document_id = _require_published(state)
    if channel not in state.channels:
        raise refused(
            "channel.not_used",
            "channel",
            f"该文件未在渠道 {channel} 发布",
            f"the document was not published on {channel}",
        )
    return ChannelStatusRecorded(
        document_id=document_id, channel=channel, status=cmd.status, note=cmd.note
    )


def withdraw(state: DocumentState, cmd: WithdrawDocument, by: str) -> DomainEvent:
    """撤稿 with its reason: out of every channel, the feeds and the public API."""
    document_id = _require_published(state)
    assert state.content is not None
    return DocumentWithdrawn(
        document_id=document_id, reason=cmd.reason, withdrawn_by=by, kind=state.content.kind
    )


def repeal(state: DocumentState, cmd: RepealDocument, today: date) -> DomainEvent:
    """废止 of a published 规章 or 行政规范性文件 (annual report section 二)."""
    document_id = _require_published(state)
    assert state.content is not None
    if state.content.kind not in GAZETTE_KINDS:
        raise refused(
            "repeal.kind_not_normative",
            "kind",
            "只有规章和行政规范性文件可以废止",
            "only regulations and normative documents are repealed",
        )
    if state.repealed_on is not None:
        raise refused("repeal.already_repealed", "repealed_on", "文件已废止", "already repealed")
    if cmd.repealed_on > today or cmd.repealed_on < state.content.issue_date:
        raise invalid(
            "repeal.date_invalid",
            "repealed_on",
            "废止日期不能晚于今天，也不能早于成文日期",
            "the repeal date must lie between the issue date and today",
        )
    return DocumentRepealed(
        document_id=document_id,
        kind=state.content.kind,
        repealed_on=cmd.repealed_on,
        reason=cmd.reason,
    )


def set_validity(
    state: DocumentState, cmd: SetValidityPeriod, by: str
) -> DocumentValidityPeriodSet:
    """有效期 of a published document: its last day in force (失效 after it), or none.

    Not after a repeal (废止 ends it already), not before the document's own date, and not
    the period it has already (a second event would say nothing new).
    """
    document_id = _require_published(state)
    assert state.content is not None
    if state.repealed_on is not None:
        raise refused(
            "validity.repealed",
            "valid_until",
            f"文件已于 {state.repealed_on} 废止，不再设定有效期",
            f"the document was repealed on {state.repealed_on}; it has no period to set",
        )
    if cmd.valid_until is not None and cmd.valid_until < state.content.issue_date:
        raise invalid(
            "validity.before_issue",
            "valid_until",
            f"有效期至 {cmd.valid_until} 早于成文日期 {state.content.issue_date}",
            f"valid_until {cmd.valid_until} is before the issue date {state.content.issue_date}",
        )
    if cmd.valid_until == state.valid_until:
        raise refused(
            "validity.unchanged",
            "valid_until",
            "有效期与现有的相同",
            "the document already has this validity period",
        )
    return DocumentValidityPeriodSet(
        document_id=document_id, valid_until=cmd.valid_until, set_by=by
    )


def missed_deadline(
    state: DocumentState, today: date, calendar: WorkdayCalendar
) -> PublicationDeadlineMissed | None:
    """Art. 26 overdue, once per document: not published 20 working days after issue.

    Documents whose decided attribute is not public (依申请公开, 不予公开) have no
    publication duty and are never overdue.
    """
    if state.document_id is None or state.content is None or state.deadline_missed:
        return None
    if state.published_revision is not None or state.status == "withdrawn":
        return None
    if state.attribute is not None and state.attribute.attribute not in PUBLISHABLE:
        return None
    due = calendar.add_workdays(state.content.issue_date, PUBLICATION_WORKING_DAYS)
    if today <= due.due:
        return None
    return PublicationDeadlineMissed(
        document_id=state.document_id,
        township=state.township,
        drafting_unit=state.drafting_unit,
        title=state.content.title,
        kind=state.content.kind,
        issue_date=state.content.issue_date,
        publication_due=due.due,
        detected_on=today,
    )
