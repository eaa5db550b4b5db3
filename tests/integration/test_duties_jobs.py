"""The issue #20 duty jobs on real SQLite and PostgreSQL, with the day injected:

- the filing sweep (方案§18; 《法规规章备案条例》第三条 公布之日起30日内): a published normative
  document with nothing filed gets FilingOverdue once, the day after its limit; a filed
  one and a work-news item never do; two sweeps racing write it once;
- the annual-report job (条例第四十九条): AnnualReportMissed once per township the day after
  31 January, for the district after 31 March, none for a published report, none for a
  year before the suite was in use;
- the 学法 step of the assessment scheduler (方案§六(一)): RegulationStudyMissed once per
  township that fell short, none for the complete one, none again after a restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pytest

from services.applications import annual_publication as ap
from services.assessment import study
from services.assessment.events import TrainingSessionHeld, TrainingSessionPlanned
from services.catalog import duties
from services.catalog.commands import (
    CheckAttribute,
    DetermineAttribute,
    DraftDocument,
    FileDocument,
    Proofreading,
    ProposeAttribute,
    PublishDocument,
    RecordReview,
)
from services.catalog.events import DocumentContent, ReviewStage
from services.catalog.handlers import DOCUMENT_COMMANDS, CatalogHandlers
from services.catalog.projections import DocumentLedger
from shared.commands import execute
from shared.db import Database, SqliteDatabase
from shared.envelope import Actor, StreamWrite, new_id
from shared.eventstore import SqlEventStore, open_postgres_store, open_sqlite_store
from shared.identity import Principal, Role
from shared.projections import ProjectionRunner
from shared.registry import to_new_event
from shared.tenancy import load_org_tree
from shared.workdays import WorkdayCalendar

pytestmark = pytest.mark.integration

ORGS = load_org_tree(Path(__file__).parents[2] / "deploy" / "demo" / "district.yaml")
NOW = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)  # published on 2026-03-20: limit 2026-04-20
CALENDAR = WorkdayCalendar.default()
SUDIAN = "shangdang/sudian"


def person(sub: str, org: str, *roles: Role) -> Principal:
    return Principal(sub=sub, org=org, roles=frozenset(roles))


LI_NA = person("li-na", "shangdang/sudian/party-office", Role.DRAFTER)
CHEN_JING = person("chen-jing", "shangdang/sudian/finance", Role.DRAFTER)
ZHANG_WEI = person("zhang-wei", "shangdang/sudian/party-office", Role.SECTION_HEAD)
GUO = person("guo-xinxin", SUDIAN, Role.LEADER_IN_CHARGE, Role.OPENNESS_OFFICE_HEAD)
WANG_TIETONG = person("wang-tietong", SUDIAN, Role.ATTRIBUTE_OFFICER)


@pytest.fixture(params=["sqlite", "postgres"])
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[SqlEventStore, Database]]:
    if request.param == "sqlite":
        store = await open_sqlite_store(str(tmp_path / "events.db"), name="duties")
        views: Database = await SqliteDatabase.open(tmp_path / "views.db")
    else:
        schema = request.getfixturevalue("pg_schema")
        store = await open_postgres_store(request.getfixturevalue("pg_url"), schema=schema)
        views = store.db
    yield store, views
    if views is not store.db:
        await views.close()
    await store.close()


# --- the filing sweep ----------------------------------------------------------------------


async def published(h: CatalogHandlers, n: int, kind: str) -> UUID:
    content = DocumentContent.model_validate(
        {
            "title": f"苏店镇关于加强农村集体资产管理的规定（第{n}号）",
            "body": f"第{n}条 农村集体资产实行台账管理，村务监督委员会每季度公示一次。",
            "document_number": f"苏政发〔2026〕{n}号",
            "issue_date": date(2026, 3, 10),
            "kind": kind,
            "column": "rule_of_law",
        }
    )
    corr = new_id()
    (drafted, _) = await h.draft(DraftDocument(content=content), LI_NA, corr)
    doc = UUID(drafted.payload["document_id"])
    steps: list[tuple[str, Any, Principal]] = [
        ("propose", ProposeAttribute(attribute="proactive"), LI_NA),
        ("check", CheckAttribute(agrees=True), WANG_TIETONG),
        ("determine", DetermineAttribute(attribute="proactive"), GUO),
    ]
    for who, stage in (
        (CHEN_JING, "first_review"),
        (ZHANG_WEI, "second_review"),
        (GUO, "final_review"),
    ):
        review = RecordReview(
            stage=ReviewStage(stage), outcome="pass", proofreading=Proofreading(signed=True)
        )
        steps.append(("review", review, who))
    steps.append(("publish", PublishDocument(channels=["website"]), GUO))
    for name, cmd, who in steps:
        await execute(h, DOCUMENT_COMMANDS, name, doc, cmd, who, corr)
    return doc


async def test_filing_sweep_flags_an_unfiled_normative_document_once__s18(
    backend: tuple[SqlEventStore, Database],
) -> None:
    store, views = backend
    h = CatalogHandlers(store=store, orgs=ORGS, calendar=lambda: CALENDAR, clock=lambda: NOW)
    unfiled = await published(h, 1, "normative")
    filed = await published(h, 2, "normative")
    news = await published(h, 3, "work_news")
    await execute(
        h,
        DOCUMENT_COMMANDS,
        "file",
        filed,
        FileDocument(filed_on=date(2026, 3, 20), filed_with="上党区司法局"),
        GUO,
        new_id(),
    )
    runner = ProjectionRunner(DocumentLedger(), store, views)
    await runner.setup()
    await runner.run_once()
    runtime: Any = SimpleNamespace(handlers=h, views=views)
    assert await duties.filing_sweep(runtime, today=date(2026, 4, 20)) == []
    # Two sweeps racing the day after the limit: one FilingOverdue, for the unfiled one.
    first, second = await asyncio.gather(
        duties.filing_sweep(runtime, today=date(2026, 4, 21)),
        duties.filing_sweep(runtime, today=date(2026, 4, 21)),
    )
    flagged = first + second
    assert [e.payload["document_id"] for e in flagged] == [str(unfiled)]
    assert flagged[0].type == "FilingOverdue" and flagged[0].payload["due_on"] == "2026-04-20"
    assert await duties.filing_sweep(runtime, today=date(2026, 5, 1)) == []
    for doc, types in ((filed, {"FilingRequired", "DocumentFiled"}), (news, set())):
        stream = await store.read_stream(f"document-{doc}")
        assert {e.type for e in stream} & {
            "FilingRequired",
            "DocumentFiled",
            "FilingOverdue",
        } == types


# --- the annual-report job -----------------------------------------------------------------


async def _seed_applications(store: SqlEventStore) -> int:
    """One text recorded now: the suite is in use this year (the first year owed)."""
    from services.applications.events import AnnualReportTextRecorded, TextSection

    event = AnnualReportTextRecorded(
        tenant=SUDIAN,
        year=2025,
        section=TextSection.problems,
        text="栏目更新不及时。",
        recorded_by="x",
    )
    (recorded,) = await store.append(
        [
            StreamWrite(
                stream_id="annual-report-shangdang/sudian-2025",
                stream_type=event.stream_type,
                expected_version=None,
                events=(to_new_event(event, SUDIAN, Actor(id="x", role="openness_office_head")),),
            )
        ]
    )
    return recorded.recorded_at.year


async def test_missing_annual_reports_are_recorded_once_after_their_deadlines__art49(
    backend: tuple[SqlEventStore, Database],
) -> None:
    store, _ = backend
    first = await _seed_applications(store)
    year = first  # reports of this year are owed from 31 January next year on
    townships = [str(t.path) for t in ORGS.townships()]
    # 韩店镇 published its report on time.
    published = ap.decide_publication(
        tenant="shangdang/handian",
        year=year,
        government=False,
        report={"title": "韩店镇年度报告"},
        texts={"overview": "总体情况。", "problems": "存在问题。"},
        history=[],
        previous_text=None,
        cmd=ap.PublishAnnualReport(published_on=date(year + 1, 1, 20)),
        today=date(year + 1, 1, 20),
        publisher="xu-li",
    )
    await store.append(
        [
            StreamWrite(
                stream_id=ap.stream_of("shangdang/handian", year),
                stream_type="annual-report",
                expected_version=0,
                events=(to_new_event(published, "shangdang/handian", Actor(id="xu-li")),),
            )
        ]
    )
    assert await ap.check_missing(store, ORGS, date(year, 2, 1)) == []  # before the suite
    assert await ap.check_missing(store, ORGS, date(year + 1, 1, 31)) == []
    missed = await ap.check_missing(store, ORGS, date(year + 1, 2, 1))
    assert sorted(e.tenant for e in missed) == sorted(
        t for t in townships if t != "shangdang/handian"
    )
    assert {e.payload["due"] for e in missed} == {f"{year + 1}-01-31"}
    assert await ap.check_missing(store, ORGS, date(year + 1, 2, 2)) == []
    (district,) = await ap.check_missing(store, ORGS, date(year + 1, 4, 1))
    assert district.tenant == "shangdang" and district.payload["due"] == f"{year + 1}-03-31"


# --- 学法 -----------------------------------------------------------------------------------


async def _session(
    store: SqlEventStore, org: str, held: date, covers: bool, people: list[str]
) -> None:
    sid = new_id()
    planned = TrainingSessionPlanned(
        session_id=sid, org=org, topic="政府信息公开条例专题学法", planned_on=held
    )
    held_event = TrainingSessionHeld(
        session_id=sid,
        held_on=held,
        attendees=max(1, len(people)),
        covers_regulation=covers,
        attendee_ids=people,
    )
    actor = Actor(id="guo-xinxin", role="openness_office_head")
    await store.append(
        [
            StreamWrite(
                stream_id=f"assessment-training-{sid}",
                stream_type="assessment-training",
                expected_version=0,
                events=(to_new_event(planned, org, actor), to_new_event(held_event, org, actor)),
            )
        ]
    )


async def test_study_shortfalls_are_recorded_once_per_township_and_year__s6_1(
    backend: tuple[SqlEventStore, Database],
) -> None:
    store, views = backend
    year = datetime.now(UTC).year
    leaders = study.leaders_of(ORGS, SUDIAN)
    await _session(store, f"{SUDIAN}/party-office", date(year, 3, 1), True, leaders)
    await _session(
        store,
        "shangdang/handian",
        date(year, 3, 1),
        False,
        study.leaders_of(ORGS, "shangdang/handian"),
    )
    log = study.StudyLog()
    assert await study.tick(store, log, ORGS, date(year, 12, 31)) == []
    written = await study.tick(store, log, ORGS, date(year + 1, 1, 1))
    townships = sorted(str(t.path) for t in ORGS.townships())
    assert sorted(s.rsplit("-", 1)[0].removeprefix("assessment-study-") for s in written) == [
        t for t in townships if t != SUDIAN
    ]
    handian = await store.read_stream(study.study_stream("shangdang/handian", year))
    assert handian[0].payload["sessions_covering"] == 0 and handian[0].payload["leaders_absent"]
    assert await study.tick(store, log, ORGS, date(year + 1, 1, 2)) == []
    assert await study.tick(store, study.StudyLog(), ORGS, date(year + 1, 1, 3)) == []  # restart
    # The read model behind the leaders' record agrees with the log.
    runner = ProjectionRunner(study.TrainingRecord(), store, views)
    await runner.setup()
    await runner.run_once()
    sessions = await study.held_sessions(views, SUDIAN, year)
    assert study.record(ORGS, SUDIAN, year, sessions)["complete"]
    assert sessions == [
        s for s in study.sessions_of(await store.read_all(0, 1000)) if s.org.startswith(SUDIAN)
    ]
