"""The interpretation service on real stores (SQLite and PostgreSQL), with an injected clock.

A catalog DocumentPublished (built with the catalog's own event model, so a change of its
shape shows here) reaches the policy inbox; the scheduler opens the obligation; the
handlers draft, review and publish; the rates and the missed-deadline event follow
(DOMAIN.md §3; 方案§15: 多样化解读率 and 多渠道发布率 ≥ 90%).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pytest

from services.catalog import events as catalog
from services.catalog.state import needs_interpretation as catalog_needs_interpretation
from services.interpretation import domain, queries, samples
from services.interpretation.commands import DraftInterpretation, RegisterPolicy, Review
from services.interpretation.domain import DeadlineRules
from services.interpretation.handlers import (
    INTERPRETATION_COMMANDS,
    InterpretationHandlers,
    publish,
)
from services.interpretation.jobs import append_one, tick
from services.interpretation.projections import (
    InterpretationLedger,
    MisreadingInbox,
    PolicyInbox,
)
from services.interpretation.quality import QualityRules
from shared.commands import execute
from shared.db import Database, SqliteDatabase
from shared.envelope import Actor, NewEvent, RecordedEvent, StreamWrite, new_id
from shared.errors import Forbidden, ValidationFailed
from shared.eventstore import SqlEventStore, open_postgres_store, open_sqlite_store
from shared.identity import Principal, Role
from shared.projections import ProjectionRunner
from shared.registry import payload_of
from shared.settings import Settings
from shared.tenancy import load_org_tree
from shared.workdays import WorkdayCalendar

UNIT = "shangdang/sudian/agri-service"
PUBLISHED_AT = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, eve of 国庆
DRAFTER = Principal(sub="yang-fan", org=UNIT, roles=frozenset({Role.DRAFTER}))
HEAD = Principal(sub="zhao-lei", org=UNIT, roles=frozenset({Role.SECTION_HEAD}))


@dataclass
class World:
    catalog: SqlEventStore
    store: SqlEventStore
    views: Database
    handlers: InterpretationHandlers
    runners: list[ProjectionRunner]
    now: list[datetime]

    async def project(self) -> None:
        for runner in self.runners:
            await runner.run_once()

    @property
    def runtime(self) -> Any:
        """What the command tables run on: the store, clock and calendar, and the handlers."""
        h = self.handlers
        return SimpleNamespace(
            store=h.store, clock=h.clock, calendar=h.calendar, orgs=h.orgs, handlers=h
        )

    async def review(
        self, interpretation_id: UUID, principal: Principal, corr: UUID
    ) -> list[RecordedEvent]:
        approve = Review(approve=True)
        table = INTERPRETATION_COMMANDS
        return await execute(
            self.runtime, table, "review", interpretation_id, approve, principal, corr
        )

    async def publish(
        self, interpretation_id: UUID, principal: Principal, corr: UUID
    ) -> list[RecordedEvent]:
        return await publish(self.runtime, interpretation_id, principal, corr, None)


@pytest.fixture(params=["sqlite", "postgres"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    if request.param == "sqlite":
        cat = await open_sqlite_store(str(tmp_path / "catalog.db"), name="catalog")
        store = await open_sqlite_store(str(tmp_path / "events.db"), name="interpretation")
        views: Database = await SqliteDatabase.open(tmp_path / "views.db")
    else:
        url = request.getfixturevalue("pg_url")
        schema = request.getfixturevalue("pg_schema")
        cat = await open_postgres_store(url, schema=schema + "_cat", listen=False)
        store = await open_postgres_store(url, schema=schema, listen=False)
        views = store.db
    now = [PUBLISHED_AT]
    handlers = InterpretationHandlers(
        store=store,
        orgs=load_org_tree(Settings().org_file),
        calendar=WorkdayCalendar.default,
        clock=lambda: now[0],
        views=views,
        deadlines=DeadlineRules(),
        quality=QualityRules(),
    )
    inbox, ledger, misreadings = PolicyInbox(), InterpretationLedger(), MisreadingInbox()
    runners = [
        ProjectionRunner(inbox, cat, views, checkpoint_name=inbox.name + "@catalog"),
        ProjectionRunner(inbox, store, views),
        ProjectionRunner(ledger, store, views),
        ProjectionRunner(misreadings, store, views),
    ]
    for runner in runners:
        await runner.setup()
    yield World(cat, store, views, handlers, runners, now)
    if views is not store.db:
        await views.close()
    await store.close()
    await cat.close()
    if request.param == "postgres":
        conn_url = request.getfixturevalue("pg_url")
        import asyncpg

        conn = await asyncpg.connect(conn_url)
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema}_cat CASCADE")
        await conn.close()


async def publish_in_catalog(
    w: World, kind: str = "implementation_plan", flagged: bool = False
) -> UUID:
    """A DocumentPublished as the catalog writes it; `flagged` = 拟稿人标记需解读."""
    document_id = new_id()
    content = catalog.DocumentContent(
        title=samples.POLICY_TITLE,
        body=samples.POLICY_TEXT,
        document_number=samples.POLICY_NUMBER,
        issue_date=date(2026, 9, 25),
        kind=catalog.DocumentKind(kind),
        column="rural-revitalisation",
        needs_interpretation=flagged,
    )
    event = catalog.DocumentPublished(
        document_id=document_id,
        township="shangdang/sudian",
        drafting_unit=UNIT,
        drafting_unit_name="苏店镇农业综合服务中心",
        revision=1,
        is_update=False,
        kind=content.kind,
        title=content.title,
        document_number=content.document_number,
        issue_date=content.issue_date,
        column=content.column,
        content=content,
        content_hash=hashlib.sha256(samples.POLICY_TEXT.encode()).hexdigest(),
        attribute=catalog.DisclosureAttribute.proactive,
        needs_interpretation=catalog_needs_interpretation(content),
        channels=[catalog.PublicationChannel.website],
        published_at=PUBLISHED_AT,
        publisher="tian-yiming",
        drafter="yang-fan",
        reviewers=catalog.Reviewers(
            first_review="zhao-lei",
            second_review="cui-xulin",
            final_review="tian-yiming",
            proofreaders=["zhao-lei", "cui-xulin", "tian-yiming"],
        ),
        publication_due=date(2026, 10, 29),
        due_provisional=False,
        late=False,
        working_days_taken=2,
    )
    await w.catalog.append(
        [
            StreamWrite(
                stream_id=f"document-{document_id}",
                stream_type="document",
                events=(
                    NewEvent(
                        type=event.event_type,
                        tenant=UNIT,
                        actor=Actor(id="tian-yiming", role="principal_leader"),
                        payload=payload_of(event),
                    ),
                ),
            )
        ]
    )
    return document_id


def draft_command(document_id: UUID, sections: list[dict[str, Any]]) -> DraftInterpretation:
    return DraftInterpretation.model_validate(
        {"document_id": str(document_id), "content": samples.interpretation_body(sections)}
    )


async def test_a_catalog_publication_opens_an_obligation_due_after_national_day(w: World) -> None:
    document_id = await publish_in_catalog(w)
    await publish_in_catalog(w, kind="work_news")  # needs no interpretation
    await w.project()
    assert await tick(w.handlers, date(2026, 9, 30)) == 1
    assert await tick(w.handlers, date(2026, 9, 30)) == 0  # opened once
    await w.project()
    rows = await w.views.fetch("SELECT * FROM itp_obligations")
    assert [(r["document_id"], r["owner_unit"], r["due"], r["latest_due"]) for r in rows] == [
        (str(document_id), UNIT, "2026-09-30", "2026-10-10")
    ]


async def test_a_work_news_item_the_drafter_flagged_opens_an_obligation__flagged_trigger(
    w: World,
) -> None:
    """Audit gap 6: DOMAIN.md §3 / issue #5 "and what the drafter flags" — a 工作动态 the
    catalog publishes with content.needs_interpretation opens an obligation through the
    catalog event, with trigger "flagged"; the same kind unflagged opens none."""
    flagged = await publish_in_catalog(w, kind="work_news", flagged=True)
    await publish_in_catalog(w, kind="work_news")
    await w.project()
    inbox = await w.views.fetch("SELECT document_id, kind, flagged, source FROM itp_policies")
    assert [tuple(r.values()) for r in map(dict, inbox)] == [
        (str(flagged), "work_news", True, "catalog")
    ]
    assert await tick(w.handlers, date(2026, 9, 30)) == 1
    await w.project()
    rows = await w.views.fetch("SELECT * FROM itp_obligations")
    assert [(r["document_id"], r["kind"], r["trigger"], r["source"]) for r in rows] == [
        (str(flagged), "work_news", "flagged", "catalog")
    ]
    (required,) = await w.store.read_stream(f"obligation-{flagged}")
    assert required.payload["trigger"] == "flagged" and required.payload["owner_unit"] == UNIT
    assert (await w.handlers.obligation(flagged)).status == "open"


async def test_publishing_fulfils_the_obligation_and_the_rates_count_it(w: World) -> None:
    document_id = await publish_in_catalog(w)
    await w.project()
    await tick(w.handlers, date(2026, 9, 30))
    await w.project()
    corr = new_id()
    events, report = await w.handlers.draft(
        draft_command(document_id, samples.GOOD_SECTIONS), DRAFTER, corr
    )
    assert report["passed"]
    interpretation_id = UUID(events[0].payload["interpretation_id"])
    with pytest.raises(Forbidden):  # the drafter does not approve their own text
        await w.review(interpretation_id, DRAFTER, corr)
    await w.review(interpretation_id, HEAD, corr)
    published = await w.publish(interpretation_id, HEAD, corr)
    assert [e.type for e in published] == ["InterpretationPublished", "ObligationFulfilled"]
    await w.project()
    rates = await queries.rates(w.views, "shangdang/sudian", 2026, date(2026, 10, 1))
    assert rates["interpreted"] == 1
    assert rates["diversified_rate"]["rate"] == 1.0  # text + 图解
    assert rates["multichannel_rate"]["rate"] == 1.0  # website + new media
    assert rates["on_time_rate"]["rate"] == 1.0
    assert rates["diversified_rate"]["policies"][0]["document_id"] == str(document_id)


async def test_a_copy_is_refused_at_publication_and_writes_nothing(w: World) -> None:
    required = await w.handlers.register_policy(
        RegisterPolicy(
            lead_unit=UNIT,
            title=samples.POLICY_TITLE,
            kind="implementation_plan",
            text=samples.POLICY_TEXT,
            published_on=date(2026, 9, 30),
        ),
        HEAD,
        new_id(),
    )
    document_id = UUID(required[0].payload["document_id"])
    corr = new_id()
    events, report = await w.handlers.draft(
        draft_command(document_id, samples.COPIED_SECTIONS), DRAFTER, corr
    )
    assert not report["passed"]
    interpretation_id = UUID(events[0].payload["interpretation_id"])
    await w.review(interpretation_id, HEAD, corr)
    head = await w.store.head_position()
    with pytest.raises(ValidationFailed) as err:
        await w.publish(interpretation_id, HEAD, corr)
    assert err.value.rule == "interpretation.quality_gate"
    assert await w.store.head_position() == head


async def test_the_scheduler_records_a_missed_deadline_once_with_the_injected_day(w: World) -> None:
    document_id = await publish_in_catalog(w)
    await w.project()
    await tick(w.handlers, date(2026, 9, 30))
    await w.project()
    assert await tick(w.handlers, date(2026, 10, 10)) == 0  # the make-up Saturday: still on time
    assert await tick(w.handlers, date(2026, 10, 11)) == 1
    await w.project()
    assert await tick(w.handlers, date(2026, 10, 12)) == 0
    stream = await w.store.read_stream(f"obligation-{document_id}")
    assert [e.type for e in stream] == ["InterpretationRequired", "InterpretationDeadlineMissed"]
    rates = await queries.rates(w.views, "shangdang/sudian", 2026, date(2026, 10, 12))
    assert rates["on_time_rate"]["rate"] == 0.0
    assert [o["document_id"] for o in rates["overdue"]] == [str(document_id)]


async def test_a_withdrawn_policy_cancels_its_obligation(w: World) -> None:
    document_id = await publish_in_catalog(w)
    await w.project()
    await tick(w.handlers, date(2026, 9, 30))
    # The fields the catalog's model declares today (the inbox reads only document_id).
    candidates: dict[str, Any] = {
        "document_id": document_id,
        "township": "shangdang/sudian",
        "drafting_unit": UNIT,
        "title": samples.POLICY_TITLE,
        "reason": "内容需调整",
        "withdrawn_by": "tian-yiming",
        "kind": catalog.DocumentKind.implementation_plan,
    }
    fields = catalog.DocumentWithdrawn.model_fields
    withdrawn = catalog.DocumentWithdrawn(**{k: v for k, v in candidates.items() if k in fields})
    await w.catalog.append(
        [
            StreamWrite(
                stream_id=f"document-{document_id}",
                stream_type="document",
                events=(
                    NewEvent(
                        type=withdrawn.event_type,
                        tenant=UNIT,
                        actor=Actor(id="tian-yiming"),
                        payload=payload_of(withdrawn),
                    ),
                ),
            )
        ]
    )
    await w.project()
    assert await tick(w.handlers, date(2026, 10, 20)) == 1
    stream = await w.store.read_stream(f"obligation-{document_id}")
    assert [e.type for e in stream][-1] == "ObligationCancelled"


async def interpret(w: World, document_id: UUID, **content: Any) -> None:
    """Draft, approve and publish one good interpretation with the given forms/channels."""
    body = samples.interpretation_body(samples.GOOD_SECTIONS, **content)
    cmd = DraftInterpretation.model_validate({"document_id": str(document_id), "content": body})
    corr = new_id()
    events, _ = await w.handlers.draft(cmd, DRAFTER, corr)
    interpretation_id = UUID(events[0].payload["interpretation_id"])
    await w.review(interpretation_id, HEAD, corr)
    await w.publish(interpretation_id, HEAD, corr)


async def test_rates_count_forms_and_channels_per_policy_against_the_90_percent_target__s15(
    w: World,
) -> None:
    """Three policies: 图解 + two channels; text only on one channel, then a 短视频 stage on
    政务新媒体 for the same policy (forms and channels add up per policy); text only on one
    channel. 多样化 2/3, 多渠道 2/3: both below the 90% target; a withdrawn one is not counted."""
    rich, later, plain, withdrawn = [await publish_in_catalog(w) for _ in range(4)]
    await w.project()
    await tick(w.handlers, date(2026, 9, 30))
    await w.project()
    await interpret(w, rich)
    text_only = {"forms": [{"form": "text"}], "channels": ["website"]}
    await interpret(w, later, **text_only)
    video = [{"form": "short_video", "url": "https://sudian.example/v.mp4"}]
    await interpret(w, later, forms=video, channels=["new_media"])
    await interpret(w, plain, **text_only)
    await w.project()
    state = await w.handlers.obligation(withdrawn)
    cancelled = domain.cancel(state, "撤销")
    assert cancelled is not None
    assert await append_one(w.handlers, state, cancelled) == 1
    await w.project()
    rates = await queries.rates(w.views, "shangdang/sudian", 2026, date(2026, 10, 1))
    assert rates["policies_needing_interpretation"] == 3
    assert rates["interpreted"] == 3
    for key in ("diversified_rate", "multichannel_rate"):
        assert (rates[key]["numerator"], rates[key]["denominator"]) == (2, 3)
        assert rates[key]["rate"] == 0.6667 and rates[key]["meets_target"] is False
    counted = {p["document_id"]: p["counted"] for p in rates["diversified_rate"]["policies"]}
    assert counted == {str(rich): True, str(later): True, str(plain): False}
    unit = await queries.rates(w.views, UNIT, 2026, date(2026, 10, 1))
    assert unit["interpreted"] == 3
    other = await queries.rates(w.views, "shangdang/handian", 2026, date(2026, 10, 1))
    assert other["interpreted"] == 0 and other["diversified_rate"]["rate"] is None
    october = await queries.rates(
        w.views, UNIT, 2026, date(2026, 10, 1), date(2026, 10, 1), date(2026, 10, 31)
    )
    assert october["policies_needing_interpretation"] == 0  # all published on 9/30
    september = await queries.rates(
        w.views, UNIT, 2026, date(2026, 10, 1), date(2026, 9, 1), date(2026, 9, 30)
    )
    assert september["interpreted"] == 3

    # Rebuilding the ledger from the log gives the same read model, and nothing was parked.
    async def snapshot() -> list[list[dict[str, Any]]]:
        return [
            [dict(r) for r in await w.views.fetch(f"SELECT * FROM {table} ORDER BY 1")]
            for table in ("itp_obligations", "itp_interpretations")
        ]

    live = await snapshot()
    ledger = w.runners[2]
    assert ledger.projection.name == InterpretationLedger.name
    await ledger.rebuild()
    assert await snapshot() == live
    assert await w.views.fetchval("SELECT COUNT(*) FROM dead_letters") == 0


# The fixture is named `world`; tests take `w` for brevity.
@pytest.fixture
def w(world: World) -> World:
    return world
