"""信息报送, the rules (pure): a 报送 item's life and the monthly 刊登情况通报.

方案§18: 完善向政府网站报送部门文件制度，建立联络员制度和报送刊登情况通报制度. A unit's
联络员 submits an item; the privacy guard (privacy.py) scans it as it scans a document, and
an item holding personal data is held: it cannot be accepted until the office masks the
data (or edits it out) — or it is declined. The office edits, accepts (the item becomes a
catalog draft that goes through 公开属性认定 and 三审三校 like any other) or declines it
with a reason. Counting (decision 82): each fact counts in the month (Beijing time)
it happened — submitted, accepted, declined, and published when its draft was first
published — so a month's bulletin does not change once the month is over.
"""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from uuid import UUID

from services.catalog import domain, privacy
from services.catalog.content import DocumentContent
from services.catalog.events import PrivacyFinding
from services.catalog.state import invalid, refused, text_fields
from services.catalog.submission_events import (
    BulletinRow,
    SubmissionAccepted,
    SubmissionBulletinIssued,
    SubmissionDeclined,
    SubmissionEdited,
    SubmissionReceived,
    SubmissionStatus,
)
from shared.registry import DomainEvent

OPEN = frozenset({SubmissionStatus.received, SubmissionStatus.held})


@dataclass(frozen=True)
class SubmissionState:
    exists: bool = False
    submission_id: UUID | None = None
    unit: str = ""
    unit_name: str = ""
    township: str = ""
    liaison: str = ""
    #: Who wrote the text as it stands: the 联络员, or the office's last editor. The
    #: catalog draft names them its drafter, so they review none of its levels.
    author: str = ""
    content: DocumentContent | None = None
    findings: tuple[PrivacyFinding, ...] = ()
    status: SubmissionStatus = SubmissionStatus.received
    document_id: UUID | None = None
    decline_reason: str | None = None


def _status(findings: Sequence[PrivacyFinding]) -> SubmissionStatus:
    return SubmissionStatus.held if findings else SubmissionStatus.received


def evolve(state: SubmissionState, event: DomainEvent) -> SubmissionState:
    if isinstance(event, SubmissionReceived):
        return SubmissionState(
            exists=True,
            submission_id=event.submission_id,
            unit=event.unit,
            unit_name=event.unit_name,
            township=event.township,
            liaison=event.liaison,
            author=event.liaison,
            content=event.content,
            findings=tuple(event.findings),
            status=_status(event.findings),
        )
    if isinstance(event, SubmissionEdited):
        return replace(
            state,
            author=event.editor,
            content=event.content,
            findings=tuple(event.findings),
            status=_status(event.findings),
        )
    if isinstance(event, SubmissionAccepted):
        return replace(state, status=SubmissionStatus.accepted, document_id=event.document_id)
    if isinstance(event, SubmissionDeclined):
        return replace(state, status=SubmissionStatus.declined, decline_reason=event.reason)
    return state


def scan(submission_id: UUID, content: DocumentContent) -> list[PrivacyFinding]:
    """The privacy guard over the item's texts, salted by the item (stable across edits)."""
    return privacy.scan(text_fields(content), salt=str(submission_id))


def _check_column(content: DocumentContent, columns: frozenset[str]) -> None:
    if content.column not in columns:
        raise invalid(
            "submission.column_unknown",
            "content.column",
            f"栏目 {content.column} 不存在",
            f"column {content.column} does not exist in this township's catalog",
        )


def submit(
    *,
    submission_id: UUID,
    unit: str,
    unit_name: str,
    township: str,
    liaison: str,
    content: DocumentContent,
    columns: frozenset[str],
    now: datetime,
) -> SubmissionReceived:
    """报送 by a unit's 联络员, scanned at once: personal data holds the item."""
    _check_column(content, columns)
    return SubmissionReceived(
        submission_id=submission_id,
        unit=unit,
        unit_name=unit_name,
        township=township,
        liaison=liaison,
        content=content,
        findings=scan(submission_id, content),
        submitted_at=now,
    )


def require_open(state: SubmissionState) -> UUID:
    assert state.submission_id is not None
    if state.status not in OPEN:
        raise refused(
            "submission.closed",
            "status",
            f"报送信息已{state.status.label_zh}，不能再处理",
            f"the item is already {state.status.value}",
        )
    return state.submission_id


def edit(
    state: SubmissionState,
    content: DocumentContent,
    note: str | None,
    *,
    editor: str,
    columns: frozenset[str],
    now: datetime,
) -> SubmissionEdited:
    """编辑 by the office before it decides; scanned again."""
    submission_id = require_open(state)
    _check_column(content, columns)
    return SubmissionEdited(
        submission_id=submission_id,
        content=content,
        findings=scan(submission_id, content),
        editor=editor,
        redacted=False,
        note=note,
        edited_at=now,
    )


def redacted(content: DocumentContent, findings: Sequence[PrivacyFinding]) -> DocumentContent:
    """The content with every finding masked (masks keep lengths: other offsets hold)."""

    def of(name: str, text: str) -> str:
        return privacy.redact(text, [f for f in findings if f.field == name])

    return content.model_copy(
        update={
            "title": of("title", content.title),
            "body": of("body", content.body),
            "document_number": of("document_number", content.document_number)
            if content.document_number
            else None,
            "attachments_text": [
                of(f"attachments_text[{i}]", t) for i, t in enumerate(content.attachments_text)
            ],
        }
    )


def redact(state: SubmissionState, *, editor: str, now: datetime) -> SubmissionEdited:
    """删减: mask the personal data the guard found, which releases the hold."""
    submission_id = require_open(state)
    assert state.content is not None
    if not state.findings:
        raise refused(
            "privacy.nothing_to_redact",
            "findings",
            "没有需要删减的个人信息",
            "there are no privacy findings to redact",
        )
    content = redacted(state.content, state.findings)
    return SubmissionEdited(
        submission_id=submission_id,
        content=content,
        findings=scan(submission_id, content),
        editor=editor,
        redacted=True,
        note=None,
        edited_at=now,
    )


def accept(
    state: SubmissionState,
    *,
    document_id: UUID,
    accepted_by: str,
    comment: str | None,
    columns: frozenset[str],
    now: datetime,
) -> list[DomainEvent]:
    """采用: the acceptance, then the catalog draft (`DocumentDrafted` v2 naming the item,
    and its privacy scan) — the caller writes the first to the item's stream and the rest
    to the new document's, in one append. Held items are refused (方案§8, 条例第十五条)."""
    submission_id = require_open(state)
    assert state.content is not None
    if state.findings:
        raise refused(
            "submission.privacy_held",
            "findings",
            f"报送信息含{len(state.findings)}处个人信息（"
            + "、".join(sorted({f.kind.label_zh for f in state.findings}))
            + "），请先删减或退回",
            f"the item holds {len(state.findings)} piece(s) of personal data; redact or decline",
        )
    acceptance = SubmissionAccepted(
        submission_id=submission_id,
        document_id=document_id,
        accepted_by=accepted_by,
        comment=comment,
        accepted_at=now,
    )
    draft = domain.draft(
        document_id=document_id,
        township=state.township,
        drafting_unit=state.unit,
        drafting_unit_name=state.unit_name,
        drafter=state.author,
        content=state.content,
        columns=columns,
        submission_id=submission_id,
    )
    return [acceptance, *draft]


def decline(
    state: SubmissionState, reason: str, *, declined_by: str, now: datetime
) -> SubmissionDeclined:
    submission_id = require_open(state)
    return SubmissionDeclined(
        submission_id=submission_id, reason=reason, declined_by=declined_by, declined_at=now
    )


# ------------------------------------------------------------ 报送刊登情况通报 (monthly)


@dataclass(frozen=True)
class Counts:
    submitted: int = 0
    accepted: int = 0
    published: int = 0
    declined: int = 0


def month_bounds(month: str) -> tuple[date, date]:
    """First and last day of `YYYY-MM`."""
    year, number = int(month[:4]), int(month[5:7])
    return date(year, number, 1), date(year, number, _calendar.monthrange(year, number)[1])


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def require_month_over(month: str, today: date) -> None:
    """A month's bulletin is issued once the month is over (its counts are final)."""
    if month_bounds(month)[1] >= today:
        raise refused(
            "bulletin.month_not_over",
            "month",
            f"{month[:4]}年{int(month[5:])}月尚未结束，不能印发该月通报",
            f"{month} is not over yet",
        )


def bulletin_rows(
    units: Sequence[tuple[str, str]], counts: Mapping[str, Counts]
) -> list[BulletinRow]:
    """Every unit in the order given, those that submitted nothing too."""
    return [
        BulletinRow(
            unit=path,
            unit_name=name,
            submitted=counts.get(path, Counts()).submitted,
            accepted=counts.get(path, Counts()).accepted,
            published=counts.get(path, Counts()).published,
            declined=counts.get(path, Counts()).declined,
        )
        for path, name in units
    ]


def issue_bulletin(
    *,
    township: str,
    township_name: str,
    month: str,
    rows: Sequence[BulletinRow],
    issued_by: str,
    now: datetime,
    today: date,
) -> SubmissionBulletinIssued:
    require_month_over(month, today)
    return SubmissionBulletinIssued(
        township=township,
        township_name=township_name,
        month=month,
        rows=list(rows),
        issued_by=issued_by,
        issued_at=now,
    )


def silent_units(bulletin: SubmissionBulletinIssued) -> list[BulletinRow]:
    """The assessment's rule (decision 83): a unit listed with no item submitted in the month."""
    return [row for row in bulletin.rows if row.submitted == 0]
