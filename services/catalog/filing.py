"""规范性文件备案 (方案§18: 健全行政规范性文件公开审查、备案、发布机制), pure.

A published 规章 or 行政规范性文件 is filed with the filing body (备案审查机关) within 30
days of its publication:
- 规章: 《法规规章备案条例》第三条 "法规、规章公布后，应当自公布之日起30日内……报送备案" [law];
- 行政规范性文件: 国办发〔2018〕37号 asks the drafting organ to file "按照规定程序和时限";
  the limit is set by provincial rules, commonly "自公布之日起30日内" [local, default 30,
  configurable by `limit_days`] (docs/decisions.md decision 73).
Counting: the day of publication is not counted (民法典第二百零一条); a limit ending on a
non-working day ends on the next working day (民法典第二百零三条).

Only a first publication creates the obligation (an update is not a new document). The
filing body answers 予以备案 or 退回 with its reason; a returned document is filed again
(the next attempt). Filing after the limit is recorded as late; a limit passed with
nothing filed is noticed once by the sweep (FilingOverdue). Both are the assessment's
`filing.overdue`, one case per document.
"""

from __future__ import annotations

from datetime import date, timedelta

from services.catalog.commands import FileDocument, ReviewFiling
from services.catalog.events import (
    FILED_KINDS,
    DocumentFiled,
    DocumentPublished,
    FilingOutcome,
    FilingOverdue,
    FilingRequired,
    FilingReviewed,
)
from services.catalog.state import DocumentState, Filing, invalid, refused, require_open
from shared.registry import DomainEvent
from shared.workdays import WorkdayCalendar, local_date

FILING_LIMIT_DAYS = 30
BASIS = {
    "regulation": "《法规规章备案条例》第三条：公布之日起30日内报送备案",
    "normative": "国办发〔2018〕37号；山西省行政规范性文件备案规定：公布之日起30日内报送备案",
}


def filing_due(published_on: date, calendar: WorkdayCalendar, limit_days: int) -> date:
    """公布之日起 limit_days 日: the day after publication is day 1 (民法典第二百零一条);
    a last day that is not a working day moves to the next working day (第二百零三条)."""
    due = published_on + timedelta(days=limit_days)
    while not calendar.is_workday(due):
        due += timedelta(days=1)
    return due


def requirement(
    published: DocumentPublished,
    calendar: WorkdayCalendar,
    limit_days: int = FILING_LIMIT_DAYS,
) -> FilingRequired | None:
    """The filing obligation a first publication of a 规章 or 行政规范性文件 creates."""
    if published.is_update or published.kind not in FILED_KINDS:
        return None
    published_on = local_date(published.published_at)
    return FilingRequired(
        document_id=published.document_id,
        drafting_unit=published.drafting_unit,
        kind=published.kind,
        title=published.title,
        document_number=published.document_number,
        published_on=published_on,
        limit_days=limit_days,
        due_on=filing_due(published_on, calendar, limit_days),
        basis=BASIS[published.kind.value],
    )


def with_filing(
    published: DomainEvent, calendar: WorkdayCalendar, limit_days: int = FILING_LIMIT_DAYS
) -> list[DomainEvent]:
    """Publication and, for a first 规章/规范性文件 publication, its filing obligation."""
    assert isinstance(published, DocumentPublished)
    required = requirement(published, calendar, limit_days)
    return [published] if required is None else [published, required]


def _obligation(state: DocumentState) -> Filing:
    require_open(state)
    if state.filing is None:
        raise invalid(
            "filing.not_required",
            "kind",
            "只有已发布的规章和行政规范性文件需要报送备案",
            "only a published regulation or normative document is filed",
        )
    return state.filing


def _not_future(day: date, today: date, field: str) -> None:
    if day > today:
        raise invalid("date.in_future", field, "日期不能晚于今天", "the date cannot be after today")


def file(state: DocumentState, cmd: FileDocument, today: date, filer: str) -> DocumentFiled:
    """报送备案: the first time, or again after the filing body returned it."""
    filing = _obligation(state)
    if filing.status == "filed":
        raise refused(
            "filing.awaiting_review",
            "document_id",
            "已报送备案，正在审查，不能重复报送",
            "already filed and awaiting the review",
        )
    if filing.status == "accepted":
        raise refused(
            "filing.already_accepted",
            "document_id",
            "该文件已予以备案",
            "the filing was already accepted",
        )
    _not_future(cmd.filed_on, today, "filed_on")
    if cmd.filed_on < filing.published_on:
        raise invalid(
            "filing.before_publication",
            "filed_on",
            f"报送日期不能早于公布日期 {filing.published_on}",
            f"a document is filed after its publication on {filing.published_on}",
        )
    attempt = filing.attempts + 1
    assert state.document_id is not None
    return DocumentFiled(
        document_id=state.document_id,
        drafting_unit=state.drafting_unit,
        filed_on=cmd.filed_on,
        filed_with=cmd.filed_with,
        filing_number=cmd.filing_number,
        attempt=attempt,
        due_on=filing.due_on,
        # The limit binds the first filing; a refiling follows the filing body's return.
        late=attempt == 1 and cmd.filed_on > filing.due_on,
        filed_by=filer,
    )


def review(state: DocumentState, cmd: ReviewFiling, today: date, recorder: str) -> FilingReviewed:
    """备案审查结果: accepted, or returned with the reason."""
    filing = _obligation(state)
    if filing.status != "filed":
        raise refused(
            "filing.not_filed",
            "document_id",
            "文件尚未报送备案（或审查结果已记录），没有待审查的备案",
            "nothing filed awaits a review",
        )
    if cmd.outcome is FilingOutcome.returned and not cmd.reason:
        raise invalid(
            "filing.reason_required",
            "reason",
            "退回备案须写明理由",
            "a returned filing states the reason",
        )
    _not_future(cmd.reviewed_on, today, "reviewed_on")
    assert state.document_id is not None
    return FilingReviewed(
        document_id=state.document_id,
        attempt=filing.attempts,
        outcome=cmd.outcome,
        reason=cmd.reason,
        reviewed_on=cmd.reviewed_on,
        recorded_by=recorder,
    )


def notice_overdue(state: DocumentState, today: date) -> FilingOverdue | None:
    """Once, the day after the limit, when nothing was filed (a withdrawn document owes
    no filing)."""
    filing = state.filing
    if filing is None or state.document_id is None or state.content is None:
        return None
    if state.status == "withdrawn" or filing.attempts > 0 or filing.overdue_noticed:
        return None
    if today <= filing.due_on:
        return None
    return FilingOverdue(
        document_id=state.document_id,
        drafting_unit=state.drafting_unit,
        kind=state.content.kind,
        title=state.content.title,
        published_on=filing.published_on,
        due_on=filing.due_on,
        noticed_on=today,
    )
