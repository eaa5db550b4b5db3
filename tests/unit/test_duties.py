"""Issue #20 duties, pure rules: 规范性文件备案 (方案§18), the annual report's publication
(条例第四十九、五十条), 学法 (方案§六(一)) and confirmed information-security incidents, and
which assessment line each moves (signals.py, the demo scheme).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import yaml

from services.applications import annual_publication as ap
from services.applications.commands import PublishAnnualReport
from services.assessment import domain as scoring
from services.assessment import ledger, study
from services.assessment.scheme import parse_scheme
from services.assessment.signals import Source, classify
from services.catalog import examples as catalog_examples
from services.catalog import filing
from services.catalog.commands import FileDocument, ReviewFiling
from services.catalog.events import DocumentPublished
from shared.envelope import Actor, RecordedEvent
from shared.errors import DomainRuleViolated, ValidationFailed
from shared.tenancy import load_org_tree
from shared.workdays import WorkdayCalendar

ROOT = Path(__file__).resolve().parents[2]
ORGS = load_org_tree(ROOT / "deploy" / "demo" / "district.yaml")
CALENDAR = WorkdayCalendar.default()
SUDIAN = "shangdang/sudian"
AT = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def src(type_: str, tenant: str = SUDIAN, **payload: Any) -> Source:
    return Source(str(uuid4()), type_, tenant, AT, payload)


# --- 规范性文件备案 ------------------------------------------------------------------------


def published_state() -> Any:
    """The catalog example's normative document, published 2026-03-20 with its obligation."""
    history = catalog_examples.history()
    published = history["DocumentPublished"]
    assert isinstance(published, DocumentPublished)
    state = catalog_examples._fold(
        catalog_examples.domain.DocumentState(),
        *catalog_examples._drafted(catalog_examples._content()),
    )
    published_state = replace(state, status="published", published_revision=1)
    return catalog_examples._fold(published_state, *filing.with_filing(published, CALENDAR))


def test_filing_limit_is_thirty_days_after_publication_rolled_to_a_working_day__s18() -> None:
    """《法规规章备案条例》第三条 公布之日起30日内; the day of publication is not counted
    (民法典第二百零一条); 2026-04-19 is a Sunday, so the limit ends on Monday 04-20
    (第二百零三条)."""
    assert filing.filing_due(date(2026, 3, 20), CALENDAR, 30) == date(2026, 4, 20)
    assert filing.filing_due(date(2026, 3, 2), CALENDAR, 30) == date(2026, 4, 1)


def test_only_a_first_publication_of_a_regulation_or_normative_document_is_filed__s18() -> None:
    published = catalog_examples.history()["DocumentPublished"]
    assert isinstance(published, DocumentPublished)
    required = filing.requirement(published, CALENDAR)
    assert required is not None and required.due_on == date(2026, 4, 20)
    assert "30日" in required.basis
    update = published.model_copy(update={"is_update": True})
    assert filing.requirement(update, CALENDAR) is None
    news = published.model_copy(update={"kind": "work_news"})
    assert filing.requirement(news, CALENDAR) is None


def test_filing_after_the_limit_is_late_and_a_return_needs_its_reason__s18() -> None:
    state = published_state()
    late = filing.file(
        state,
        FileDocument(filed_on=date(2026, 4, 21), filed_with="上党区司法局"),
        date(2026, 5, 1),
        "x",
    )
    assert late.late and late.attempt == 1 and late.due_on == date(2026, 4, 20)
    on_time = filing.file(
        state,
        FileDocument(filed_on=date(2026, 4, 20), filed_with="上党区司法局"),
        date(2026, 5, 1),
        "x",
    )
    assert not on_time.late
    filed = catalog_examples._fold(state, on_time)
    with pytest.raises(ValidationFailed) as no_reason:
        filing.review(
            filed,
            ReviewFiling(outcome="returned", reviewed_on=date(2026, 4, 25)),
            date(2026, 5, 1),
            "x",
        )
    assert (no_reason.value.rule, no_reason.value.field) == ("filing.reason_required", "reason")
    with pytest.raises(DomainRuleViolated) as again:
        filing.file(
            filed,
            FileDocument(filed_on=date(2026, 4, 22), filed_with="司法局"),
            date(2026, 5, 1),
            "x",
        )
    assert again.value.rule == "filing.awaiting_review"
    back = filing.review(
        filed,
        ReviewFiling(outcome="returned", reason="未附制定说明", reviewed_on=date(2026, 4, 25)),
        date(2026, 5, 1),
        "x",
    )
    returned = catalog_examples._fold(filed, back)
    refiled = filing.file(
        returned,
        FileDocument(filed_on=date(2026, 4, 30), filed_with="司法局"),
        date(2026, 5, 1),
        "x",
    )
    # A refiling follows the filing body's return: not late, whatever the day.
    assert refiled.attempt == 2 and not refiled.late
    accepted = catalog_examples._fold(
        returned,
        refiled,
        filing.review(
            catalog_examples._fold(returned, refiled),
            ReviewFiling(outcome="accepted", reviewed_on=date(2026, 5, 1)),
            date(2026, 5, 1),
            "x",
        ),
    )
    with pytest.raises(DomainRuleViolated) as done:
        filing.file(
            accepted,
            FileDocument(filed_on=date(2026, 5, 1), filed_with="司法局"),
            date(2026, 5, 1),
            "x",
        )
    assert done.value.rule == "filing.already_accepted"


def test_filing_dates_are_checked_and_other_kinds_owe_no_filing__s18() -> None:
    state = published_state()
    cases = [
        (date(2026, 3, 19), "filing.before_publication", "filed_on"),
        (date(2026, 6, 1), "date.in_future", "filed_on"),
    ]
    for filed_on, rule, field in cases:
        with pytest.raises(ValidationFailed) as err:
            filing.file(
                state, FileDocument(filed_on=filed_on, filed_with="司法局"), date(2026, 5, 1), "x"
            )
        assert (err.value.rule, err.value.field) == (rule, field)
    plain = replace(state, filing=None)
    with pytest.raises(ValidationFailed) as err:
        filing.file(
            plain,
            FileDocument(filed_on=date(2026, 4, 1), filed_with="司法局"),
            date(2026, 5, 1),
            "x",
        )
    assert (err.value.rule, err.value.field) == ("filing.not_required", "kind")


def test_unfiled_document_is_noticed_once_the_day_after_its_limit__s18() -> None:
    state = published_state()
    assert filing.notice_overdue(state, date(2026, 4, 20)) is None
    overdue = filing.notice_overdue(state, date(2026, 4, 21))
    assert overdue is not None and overdue.due_on == date(2026, 4, 20)
    assert filing.notice_overdue(catalog_examples._fold(state, overdue), date(2026, 4, 22)) is None
    filed = catalog_examples._fold(
        state,
        filing.file(
            state,
            FileDocument(filed_on=date(2026, 4, 1), filed_with="司法局"),
            date(2026, 4, 1),
            "x",
        ),
    )
    assert filing.notice_overdue(filed, date(2026, 5, 1)) is None


def test_overdue_and_late_filing_are_one_case_of_filing_overdue__s18() -> None:
    doc = str(uuid4())
    unit = "shangdang/sudian/party-office"
    (noticed,) = classify(
        src("FilingOverdue", document_id=doc, drafting_unit=unit, noticed_on="2026-04-21")
    )
    (late,) = classify(
        src("DocumentFiled", document_id=doc, drafting_unit=unit, filed_on="2026-04-25", late=True)
    )
    assert classify(src("DocumentFiled", document_id=doc, drafting_unit=unit, late=False)) == []
    assert noticed.signal == late.signal == "filing.overdue"
    assert noticed.case == late.case == doc and noticed.org == unit


# --- confirmed information-security incidents ----------------------------------------------


def demo_scheme() -> Any:
    text = (ROOT / "deploy" / "demo" / "assessment-scheme-2026.yaml").read_text(encoding="utf-8")
    return parse_scheme(yaml.safe_load(text))


def test_a_confirmed_secret_leak_vetoes_and_a_data_leak_deducts_six__s18() -> None:
    scheme = demo_scheme()
    secret = classify(
        src(
            "DisclosureIncidentConfirmed",
            incident_id="i1",
            kind="secret_leak",
            org="shangdang/sudian/party-office",
            confirmed_on="2026-03-02",
        )
    )
    card = scoring.score(scheme, SUDIAN, secret)
    assert card.vetoed == ("secret_leak",) and not card.passed and card.total == 10000
    (vetoing,) = card.veto_cases  # the breakdown names the event behind the veto
    assert vetoing.event_ids == (secret[0].event_id,)
    assert card.as_dict()["veto_cases"][0]["signal"] == "disclosure.secret_leak"
    leak = classify(
        src(
            "DisclosureIncidentConfirmed",
            incident_id="i2",
            kind="personal_data_leak",
            org="shangdang/sudian/party-office",
            confirmed_on="2026-03-02",
        )
    )
    card = scoring.score(scheme, SUDIAN, leak)
    line = next(x for x in card.lines if x.key == "information_security")
    assert card.passed and card.total == 9400 and line.points == 400
    (case,) = line.cases
    assert case.event_ids == (leak[0].event_id,)
    assert classify(src("DisclosureIncidentConfirmed", incident_id="i3", kind="other")) == []


# --- the annual report ----------------------------------------------------------------------


def test_deadline_is_31_january_for_a_township_and_31_march_for_the_district__art49() -> None:
    assert ap.due_on(2025, government=False) == date(2026, 1, 31)
    assert ap.due_on(2025, government=True) == date(2026, 3, 31)


def test_similarity_is_the_share_of_this_years_3_grams_found_last_year() -> None:
    last = "2024年，苏店镇坚持以公开为常态、不公开为例外，全面推进政务公开工作。"
    assert ap.similarity(last, last) == 1.0
    # Punctuation and whitespace do not count; a changed year barely moves it.
    assert ap.similarity(last.replace("2024", "2025") + "  ", last) >= 0.8
    fresh = "本年度重点围绕乡村振兴、民生保障开展专题公开，新建村务公开栏十二处。"
    assert ap.similarity(fresh, last) < 0.2
    assert ap.similarity("", last) == 0.0


TEXTS = {"overview": "2025年，苏店镇全面推进政务公开工作。", "problems": "栏目更新不及时。"}


def publish(**changes: Any) -> Any:
    args: dict[str, Any] = {
        "tenant": SUDIAN,
        "year": 2025,
        "government": False,
        "report": {"title": "苏店镇2025年政府信息公开工作年度报告"},
        "texts": TEXTS,
        "history": [],
        "previous_text": None,
        "cmd": PublishAnnualReport(published_on=date(2026, 1, 30)),
        "today": date(2026, 2, 3),
        "publisher": "guo-xinxin",
    }
    return ap.decide_publication(**(args | changes))


def test_on_time_by_31_january_late_after_it_copied_over_the_threshold__art49() -> None:
    on_time = publish()
    assert not on_time.late and not on_time.copied and on_time.similarity is None
    late = publish(cmd=PublishAnnualReport(published_on=date(2026, 2, 2)))
    assert late.late
    copied = publish(previous_text=ap.office_text(TEXTS))
    assert copied.copied and copied.similarity == 1.0 and copied.copy_threshold == 0.8
    rewritten = publish(previous_text="2024年度本镇组织开展了三次专题培训，公开栏目全部更新。")
    assert rewritten.similarity is not None and rewritten.similarity < 0.8 and not rewritten.copied
    found = classify(
        src("AnnualReportPublished", year=2025, late=True, copied=True, published_on="2026-02-02")
    )
    assert {f.signal for f in found} == {"annual_report.late", "annual_report.copied"}
    assert {f.case for f in found} == {f"{SUDIAN}:2025"}


def test_publication_refusals_name_field_and_rule__art49_50() -> None:
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"year": 2026}, "annual_report.year_not_over", "year"),
        ({"texts": {"overview": "x"}}, "annual_report.texts_missing", "texts"),
        (
            {"cmd": PublishAnnualReport(published_on=date(2025, 12, 31))},
            "annual_report.published_on_out_of_range",
            "published_on",
        ),
        (
            {"cmd": PublishAnnualReport(published_on=date(2026, 2, 4))},
            "annual_report.published_on_out_of_range",
            "published_on",
        ),
    ]
    for changes, rule, field in cases:
        with pytest.raises(ValidationFailed) as err:
            publish(**changes)
        assert (err.value.rule, err.value.field) == (rule, field)
    stored = RecordedEvent.model_construct(type="AnnualReportPublished")
    with pytest.raises(DomainRuleViolated) as twice:
        publish(history=[stored])
    assert twice.value.rule == "annual_report.already_published"


def test_missing_report_is_recorded_once_the_day_after_the_deadline__art49() -> None:
    assert ap.decide_missed(SUDIAN, 2025, False, [], date(2026, 1, 31)) is None
    missed = ap.decide_missed(SUDIAN, 2025, False, [], date(2026, 2, 1))
    assert missed is not None and missed.due == date(2026, 1, 31)
    again = RecordedEvent.model_construct(type="AnnualReportMissed")
    assert ap.decide_missed(SUDIAN, 2025, False, [again], date(2026, 2, 2)) is None
    published = RecordedEvent.model_construct(type="AnnualReportPublished")
    assert ap.decide_missed(SUDIAN, 2025, False, [published], date(2026, 2, 2)) is None
    assert ap.decide_missed("shangdang", 2025, True, [], date(2026, 2, 1)) is None
    (f,) = classify(src("AnnualReportMissed", year=2025, due="2026-01-31", noticed_on="2026-02-01"))
    assert (f.signal, f.case) == ("annual_report.late", f"{SUDIAN}:2025")


# --- 学法 ---------------------------------------------------------------------------------------


def session(sid: str, held: date | None, covers: bool, *people: str, org: str = SUDIAN) -> Any:
    return study.Session(sid, org, "条例专题", held, covers, tuple(people))


def test_sudian_leaders_are_its_principal_leader_and_leaders_in_charge__s6_1() -> None:
    leaders = study.leaders_of(ORGS, SUDIAN)
    assert "tian-yiming" in leaders and "guo-xinxin" in leaders
    assert "zhao-huiling" not in leaders  # an auditor of the township is not a leader here


def test_a_year_without_a_regulation_session_or_with_absent_leaders_falls_short__s6_1() -> None:
    leaders = study.leaders_of(ORGS, SUDIAN)
    unit = f"{SUDIAN}/party-office"
    complete = [
        session("a", date(2026, 6, 1), True, *leaders[:2], org=unit),
        session("b", date(2026, 9, 1), True, *leaders[2:]),
    ]
    assert study.shortfall(ORGS, SUDIAN, 2026, complete, date(2027, 1, 1)) is None
    assert study.shortfall(ORGS, SUDIAN, 2026, complete[:1], date(2026, 12, 31)) is None
    partial_year = study.shortfall(ORGS, SUDIAN, 2026, complete[:1], date(2027, 1, 1))
    assert partial_year is not None and partial_year.sessions_covering == 1
    assert partial_year.leaders_absent == leaders[2:]
    other_topic = [session("c", date(2026, 6, 1), False, *leaders)]
    none = study.shortfall(ORGS, SUDIAN, 2026, other_topic, date(2027, 1, 1))
    assert none is not None and none.sessions_covering == 0
    assert none.leaders_absent == leaders
    found = classify(src("RegulationStudyMissed", **none.model_dump(mode="json")))
    assert {f.signal for f in found} == {"study.regulation_not_covered", "study.leaders_absent"}
    assert {f.on for f in found} == {date(2026, 12, 31)}  # charged to the year that passed
    (only_absent,) = classify(src("RegulationStudyMissed", **partial_year.model_dump(mode="json")))
    assert only_absent.signal == "study.leaders_absent"


def test_the_leaders_record_lists_each_leaders_regulation_sessions__s6_1() -> None:
    leaders = study.leaders_of(ORGS, SUDIAN)
    record = study.record(
        ORGS,
        SUDIAN,
        2026,
        [
            session("a", date(2026, 6, 1), True, leaders[0]),
            session("z", date(2025, 6, 1), True, *leaders),
        ],
    )
    by_person = {x["person"]: x["sessions"] for x in record["leaders"]}
    assert [s["session_id"] for s in by_person[leaders[0]]] == ["a"]
    assert record["leaders_absent"] == leaders[1:] and not record["complete"]


def test_held_session_names_known_attendees_within_its_head_count__s6_1() -> None:
    state = ledger.SessionState(session_id=uuid4(), org=SUDIAN, planned_on=date(2026, 5, 1))
    known = {"tian-yiming", "guo-xinxin"}
    held = ledger.hold_session(
        state, date(2026, 5, 1), 30, date(2026, 5, 2), True, ["tian-yiming"], known
    )
    assert held.covers_regulation and held.attendee_ids == ["tian-yiming"]
    cases = [
        (30, ["nobody"], "training.unknown_attendee", "attendee_ids[0]"),
        (30, ["tian-yiming", "tian-yiming"], "training.duplicate_attendee", "attendee_ids[1]"),
        (1, ["tian-yiming", "guo-xinxin"], "training.attendees_below_named", "attendees"),
    ]
    for attendees, people, rule, field in cases:
        with pytest.raises(ValidationFailed) as err:
            ledger.hold_session(
                state, date(2026, 5, 1), attendees, date(2026, 5, 2), True, people, known
            )
        assert (err.value.rule, err.value.field) == (rule, field)


def test_a_v1_session_upcasts_to_one_that_did_not_cover_the_regulation() -> None:
    from services.assessment.events import registry

    event = RecordedEvent.model_construct(
        type="TrainingSessionHeld",
        schema_version=1,
        stream_id="assessment-training-x",
        stream_type="assessment-training",
        payload={"session_id": str(uuid4()), "held_on": "2026-05-01", "attendees": 3},
        actor=Actor(id="x", kind="user", role="openness_office_head"),
    )
    decoded = registry.decode(event)
    assert decoded.covers_regulation is False and decoded.attendee_ids == []  # type: ignore[attr-defined]


def test_overdue_filing_and_study_shortfalls_move_their_lines_with_their_events() -> None:
    """filing.overdue −2 on 主动公开 (方案§18); study.* −2.5 each on 培训计划落实 (方案§六(一))."""
    scheme = demo_scheme()
    overdue = classify(
        src(
            "FilingOverdue",
            document_id="d1",
            drafting_unit=f"{SUDIAN}/party-office",
            noticed_on="2026-04-21",
        )
    )
    card = scoring.score(scheme, SUDIAN, overdue)
    line = next(x for x in card.lines if x.key == "proactive_disclosure")
    assert line.points == 2300 and line.cases[0].event_ids == (overdue[0].event_id,)
    missed = classify(
        src(
            "RegulationStudyMissed",
            org=SUDIAN,
            year=2026,
            year_end="2026-12-31",
            sessions_covering=0,
            leaders=["tian-yiming"],
            leaders_absent=["tian-yiming"],
            noticed_on="2027-01-01",
        )
    )
    card = scoring.score(scheme, SUDIAN, missed)
    line = next(x for x in card.lines if x.key == "training")
    assert line.points == 0 and card.total == 9500
    assert {c.signal for c in line.cases} == {
        "study.regulation_not_covered",
        "study.leaders_absent",
    }


def test_the_breakdown_page_names_the_event_behind_a_veto() -> None:
    from services.assessment import board

    secret = classify(
        src(
            "DisclosureIncidentConfirmed",
            incident_id="i9",
            kind="secret_leak",
            org=f"{SUDIAN}/party-office",
            confirmed_on="2026-03-02",
        )
    )
    card = scoring.score(demo_scheme(), SUDIAN, secret).as_dict()
    event_id = secret[0].event_id
    events = {event_id: {"event_type": "DisclosureIncidentConfirmed", "on": "2026-03-02"}}
    page = board.breakdown_page(card, "苏店镇", {"year": "2026"}, events)
    assert 'class="line veto"' in page and event_id in page
    assert "DisclosureIncidentConfirmed" in page and "一票否决" in page
