"""Real payloads of every catalog event, built by the domain itself (a 苏店镇 document
drafted, decided, reviewed, published …), for the contract tests: every published schema
in contracts/ must validate what the service really emits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from uuid import UUID

from services.catalog import domain, filing, gazette
from services.catalog.columns import SEED_COLUMNS, health, health_event
from services.catalog.commands import (
    CheckAttribute,
    DetermineAttribute,
    FileDocument,
    JustifyFinding,
    Proofreading,
    ProposeAttribute,
    PublishDocument,
    RecordChannelStatus,
    RecordReview,
    RepealDocument,
    ReviewFiling,
    SetValidityPeriod,
    WithdrawDocument,
)
from services.catalog.events import (
    ColumnConfigured,
    DisclosureIncidentConfirmed,
    DocumentContent,
    PublicationChannel,
    ReviewStage,
    registry,
)
from services.catalog.submission_examples import submission_events
from shared.registry import DomainEvent
from shared.workdays import WorkdayCalendar

DOC = UUID("01936f0e-7c1a-7b3e-9d42-5a1e0c2f8b02")
NOW = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
TODAY = date(2026, 3, 20)
CALENDAR = WorkdayCalendar.default()
BODY = "经审核，户主王某（身份证号11010519491231002X）符合补助条件。补助资金由镇财政所发放。"


def _content(**overrides: object) -> DocumentContent:
    base: dict[str, object] = {
        "title": "苏店镇关于加强农村集体资产管理的规定",
        "body": BODY,
        "attachments_text": ["附件：农村集体资产登记表"],
        "document_number": "苏政发〔2026〕7号",
        "issue_date": date(2026, 3, 10),
        "kind": "normative",
        "column": "rule_of_law",
    }
    base.update(overrides)
    return DocumentContent.model_validate(base)


def _fold(state: domain.DocumentState, *events: DomainEvent) -> domain.DocumentState:
    for event in events:
        state = domain.evolve(state, event)
    return state


def _drafted(content: DocumentContent) -> list[DomainEvent]:
    return domain.draft(
        document_id=DOC,
        township="shangdang/sudian",
        drafting_unit="shangdang/sudian/party-office",
        drafting_unit_name="苏店镇党政办公室",
        drafter="li-na",
        content=content,
    )


def _township_events() -> list[DomainEvent]:
    """The Art. 26 flag of a late draft, a column's setting and its health events."""
    late = _fold(domain.DocumentState(), *_drafted(_content(issue_date=date(2026, 1, 5))))
    missed = domain.missed_deadline(late, TODAY, CALENDAR)
    assert missed is not None
    column = ColumnConfigured(
        township="shangdang/sudian",
        code="village_affairs",
        name="村务公开",
        dynamic=True,
        max_age_days=30,
    )
    legacy = domain.register_published(
        document_id=UUID("01936f0e-7c1a-7b3e-9d42-5a1e0c2f8b03"),
        township="shangdang/sudian",
        drafting_unit="shangdang/sudian",
        drafting_unit_name="苏店镇人民政府",
        registered_by="guo-xinxin",
        content=_content(
            title="苏店镇2025年财政预算公开说明",
            body="苏店镇2025年一般公共预算收支安排及说明。",
            attachments_text=[],
            document_number=None,
            issue_date=date(2025, 2, 20),
            kind="notice",
            column="finance",
        ),
        published_on=date(2025, 2, 25),
        source="苏店镇政府信息公开专栏（原网站）",
        today=TODAY,
    )
    events: list[DomainEvent] = [missed, column, legacy]
    work_news = next(c for c in SEED_COLUMNS if c.code == "work_news")
    for last in (None, date(2026, 2, 1)):
        event = health_event(
            "shangdang/sudian",
            health(work_news, last, 0 if last is None else 3, TODAY),
            TODAY,
            None,
        )
        assert event is not None
        events.append(event)
    return events


def _filing_events(published: domain.DocumentState) -> list[DomainEvent]:
    """备案 (方案§18): filed, returned with the reason, filed again; the overdue notice of
    the same document had nothing been filed; an incident confirmed (issue #20)."""
    first = filing.file(
        published, FileDocument(filed_on=TODAY, filed_with="上党区司法局"), TODAY, "wang-tietong"
    )
    state = _fold(published, first)
    returned = ReviewFiling(
        outcome="returned", reason="未附制定说明，请补充后重新报送", reviewed_on=TODAY
    )
    back = filing.review(state, returned, TODAY, "wang-tietong")
    overdue = filing.notice_overdue(published, date(2026, 5, 6))
    assert overdue is not None
    incident = DisclosureIncidentConfirmed(
        incident_id=UUID("01936f0e-7c1a-7b3e-9d42-5a1e0c2f8b09"),
        kind="personal_data_leak",
        org="shangdang/sudian/party-office",
        document_id=DOC,
        occurred_on=date(2026, 3, 18),
        confirmed_on=TODAY,
        cause="公示名单未删减身份证号码，经审核人员复核后确认",
        measures="已撤稿并重新发布删减后的版本，对相关人员进行提醒谈话",
        confirmed_by="wang-tietong",
    )
    return [first, back, overdue, incident]


def history() -> dict[str, DomainEvent]:
    """One document's life, every catalog event type once (by type name)."""
    found: dict[str, DomainEvent] = {}

    def keep(state: domain.DocumentState, *events: DomainEvent) -> domain.DocumentState:
        for e in events:
            found.setdefault(e.event_type, e)
        return _fold(state, *events)

    state = keep(domain.DocumentState(), *_drafted(_content()))
    finding = state.findings[0]
    justify = JustifyFinding(fingerprint=finding.fingerprint, justification="本人书面同意公开")
    state = keep(state, domain.justify(state, justify, "zhang-wei"))
    revised = _content(body=BODY + "特此公告。")
    state = keep(state, *domain.revise(state, revised, None, TODAY, reviser="li-na"))
    proposal = ProposeAttribute(attribute="proactive")
    state = keep(state, domain.propose(state, proposal, "li-na"))
    state = keep(state, domain.check(state, CheckAttribute(agrees=True), "wang-tietong"))
    decision = DetermineAttribute(attribute="proactive")
    state = keep(state, domain.determine(state, decision, "wang-xiaole"))
    signed = Proofreading(signed=True, corrections=2, note="改正标点两处")
    first = RecordReview(stage=ReviewStage.first_review, outcome="pass", proofreading=signed)
    state = keep(state, domain.review(state, first, "chen-jing"))
    reject = RecordReview(stage=ReviewStage.second_review, outcome="reject", comments="补充依据")
    state = keep(state, domain.review(state, reject, "zhang-wei"))
    for stage, person in zip(domain.STAGES, ("chen-jing", "zhang-wei", "guo-xinxin"), strict=True):
        cmd = RecordReview(stage=stage, outcome="pass", proofreading=signed)
        state = keep(state, domain.review(state, cmd, person))
    channels = PublishDocument(channels=[PublicationChannel.website, PublicationChannel.e_screen])
    published = domain.publish(
        state, channels, publisher="guo-xinxin", now=NOW, today=TODAY, calendar=CALENDAR
    )
    state = keep(state, *filing.with_filing(published, CALENDAR))
    for event in _filing_events(state):
        found[event.event_type] = event
    status = RecordChannelStatus(status="published", note="镇政府一楼电子屏")
    state = keep(state, domain.channel_status(state, PublicationChannel.e_screen, status))
    issue = gazette.compile_issue(
        issue_id=DOC,
        township="shangdang/sudian",
        township_name="苏店镇",
        year=2026,
        number=1,
        documents=[state],
        already_compiled=frozenset(),
        now=NOW,
        previous_hash=None,
    )
    found[issue.event_type] = issue
    period = SetValidityPeriod(valid_until=date(2031, 3, 9))  # 有效期五年
    state = keep(state, domain.set_validity(state, period, "guo-xinxin"))
    repeal = RepealDocument(repealed_on=TODAY, reason="已被新规定替代")
    state = keep(state, domain.repeal(state, repeal, TODAY))
    keep(state, domain.withdraw(state, WithdrawDocument(reason="撤稿重发"), "guo-xinxin"))
    for event in _township_events():
        found[event.event_type] = event
    for event in submission_events():  # 信息报送; its DocumentDrafted names the item (v2)
        found[event.event_type] = event
    return found


def _example(model: type[DomainEvent]) -> Callable[[], DomainEvent]:
    """The current event of the history, or a historic version cut from it."""

    def build() -> DomainEvent:
        event = history()[model.event_type]
        if event.schema_version == model.schema_version:
            return event
        fields = event.model_dump(include=set(model.model_fields))
        return model.model_validate(fields)

    return build


EXAMPLES: dict[str, Callable[[], DomainEvent]] = {
    f"catalog/{model.event_type}.v{model.schema_version}": _example(model)
    for model in registry.models()
}
