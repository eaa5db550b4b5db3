"""Real payloads of the 信息报送 events, built by its domain: 苏店镇财政所's 联络员 submits an
item holding a phone number, the office masks it, accepts it into a draft (DocumentDrafted
v2 naming the item), declines another, and issues March's bulletin."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

from services.catalog import submissions as sub
from services.catalog.columns import SEED_CODES
from services.catalog.content import DocumentContent
from shared.registry import DomainEvent

ITEM = UUID("01936f0e-7c1a-7b3e-9d42-5a1e0c2f8c11")
OTHER = UUID("01936f0e-7c1a-7b3e-9d42-5a1e0c2f8c12")
DRAFT = UUID("01936f0e-7c1a-7b3e-9d42-5a1e0c2f8c13")
NOW = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
FINANCE = "shangdang/sudian/finance"


def item_content(**overrides: object) -> DocumentContent:
    base: dict[str, object] = {
        "title": "苏店镇2026年耕地地力保护补贴发放情况公示",
        "body": (
            "根据上级文件要求，苏店镇2026年耕地地力保护补贴已通过“一卡通”发放到户。"
            "如有异议，请于公示期内联系财政所（联系人：陈静，电话13912345678）。"
        ),
        "issue_date": date(2026, 3, 18),
        "kind": "notice",
        "column": "finance",
    }
    base.update(overrides)
    return DocumentContent.model_validate(base)


def submission_events() -> list[DomainEvent]:
    events: list[DomainEvent] = []

    def fold(state: sub.SubmissionState, event: DomainEvent) -> sub.SubmissionState:
        events.append(event)
        return sub.evolve(state, event)

    def received(submission_id: UUID, content: DocumentContent) -> DomainEvent:
        return sub.submit(
            submission_id=submission_id,
            unit=FINANCE,
            unit_name="苏店镇财政所",
            township="shangdang/sudian",
            liaison="chen-jing",
            content=content,
            columns=SEED_CODES,
            now=NOW,
        )

    state = fold(sub.SubmissionState(), received(ITEM, item_content()))
    state = fold(state, sub.redact(state, editor="guo-xinxin", now=NOW))
    for event in sub.accept(
        state,
        document_id=DRAFT,
        accepted_by="guo-xinxin",
        comment="同意采用，转三审三校",
        columns=SEED_CODES,
        now=NOW,
    ):
        state = fold(state, event)
    other = sub.evolve(sub.SubmissionState(), received(OTHER, item_content(title="财政所工作简讯")))
    events.append(
        sub.decline(other, "内容为内部工作信息，不予公开", declined_by="guo-xinxin", now=NOW)
    )
    rows = sub.bulletin_rows(
        [(FINANCE, "苏店镇财政所"), ("shangdang/sudian/agri-service", "苏店镇农业综合服务中心")],
        {FINANCE: sub.Counts(submitted=2, accepted=1, published=1, declined=1)},
    )
    events.append(
        sub.issue_bulletin(
            township="shangdang/sudian",
            township_name="苏店镇",
            month="2026-02",
            rows=rows,
            issued_by="guo-xinxin",
            now=NOW,
            today=NOW.date(),
        )
    )
    return events
