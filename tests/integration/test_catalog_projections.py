"""The catalog's handlers and read models on real SQLite and PostgreSQL.

- a rebuild of every catalog projection from position 0 equals the live read model
  (ARCHITECTURE.md "Audit log and replay"), and nothing is parked;
- concurrent gazette compilations get gapless, unique issue numbers (方案§13: numbered
  issues), the stream version being the number, as for registration numbers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from pydantic import BaseModel

from services.catalog.commands import (
    CheckAttribute,
    CompileGazette,
    DetermineAttribute,
    DraftDocument,
    Proofreading,
    ProposeAttribute,
    PublishDocument,
    RecordReview,
    WithdrawDocument,
)
from services.catalog.events import DocumentContent, ReviewStage
from services.catalog.gazette_views import GazetteIssues, verify
from services.catalog.handlers import DOCUMENT_COMMANDS, CatalogHandlers
from services.catalog.interpretations import PublishedInterpretations, interpretations_of
from services.catalog.projections import DocumentLedger, PublicCatalog
from shared.commands import execute
from shared.db import Database, SqliteDatabase
from shared.envelope import Actor, NewEvent, RecordedEvent, StreamWrite, new_id
from shared.eventstore import SqlEventStore, open_postgres_store, open_sqlite_store
from shared.identity import Principal, Role
from shared.projections import ProjectionRunner
from shared.tenancy import load_org_tree
from shared.workdays import WorkdayCalendar

pytestmark = pytest.mark.integration

ORG_FILE = Path(__file__).parents[2] / "deploy" / "demo" / "district.yaml"
NOW = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
CALENDAR = WorkdayCalendar.default()


def person(sub: str, org: str, *roles: Role) -> Principal:
    return Principal(sub=sub, org=org, roles=frozenset(roles))


LI_NA = person("li-na", "shangdang/sudian/party-office", Role.DRAFTER)
CHEN_JING = person("chen-jing", "shangdang/sudian/finance", Role.DRAFTER)
ZHANG_WEI = person("zhang-wei", "shangdang/sudian/party-office", Role.SECTION_HEAD)
GUO = person("guo-xinxin", "shangdang/sudian", Role.LEADER_IN_CHARGE, Role.OPENNESS_OFFICE_HEAD)
WANG_TIETONG = person("wang-tietong", "shangdang/sudian", Role.ATTRIBUTE_OFFICER)


@pytest.fixture(params=["sqlite", "postgres"])
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[SqlEventStore, Database]]:
    if request.param == "sqlite":
        store = await open_sqlite_store(str(tmp_path / "events.db"), name="catalog")
        views: Database = await SqliteDatabase.open(tmp_path / "views.db")
    else:
        schema = request.getfixturevalue("pg_schema")
        store = await open_postgres_store(request.getfixturevalue("pg_url"), schema=schema)
        views = store.db
    yield store, views
    if views is not store.db:
        await views.close()
    await store.close()


def handlers(store: SqlEventStore) -> CatalogHandlers:
    return CatalogHandlers(
        store=store, orgs=load_org_tree(ORG_FILE), calendar=lambda: CALENDAR, clock=lambda: NOW
    )


async def act(
    h: CatalogHandlers, name: str, doc: UUID, cmd: BaseModel, who: Principal, corr: UUID
) -> list[RecordedEvent]:
    """One step on one document, as the kernel runs it behind the generated route."""
    return await execute(h, DOCUMENT_COMMANDS, name, doc, cmd, who, corr)


async def published(h: CatalogHandlers, n: int, kind: str = "normative") -> UUID:
    content = DocumentContent.model_validate(
        {
            "title": f"苏店镇第{n}号行政规范性文件：关于加强农村集体资产管理的规定",
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
    proposal = ProposeAttribute(attribute="proactive")
    await act(h, "propose", doc, proposal, LI_NA, corr)
    await act(h, "check", doc, CheckAttribute(agrees=True), WANG_TIETONG, corr)
    await act(h, "determine", doc, DetermineAttribute(attribute="proactive"), GUO, corr)
    for who, stage in (
        (CHEN_JING, "first_review"),
        (ZHANG_WEI, "second_review"),
        (GUO, "final_review"),
    ):
        review = RecordReview(
            stage=ReviewStage(stage), outcome="pass", proofreading=Proofreading(signed=True)
        )
        await act(h, "review", doc, review, who, corr)
    await act(h, "publish", doc, PublishDocument(channels=["website", "bulletin_board"]), GUO, corr)
    return doc


async def snapshot(views: Database) -> dict[str, list[dict[str, Any]]]:
    tables = {
        "catalog_documents": "document_id",
        "catalog_publications": "event_id",
        "catalog_public": "document_id",
        "catalog_search": "term, document_id",
        "catalog_gazette_issues": "issue_id",
    }
    return {
        t: [dict(r) for r in await views.fetch(f"SELECT * FROM {t} ORDER BY {key}")]
        for t, key in tables.items()
    }


async def test_rebuild_of_catalog_read_models_equals_live(
    backend: tuple[SqlEventStore, Database],
) -> None:
    store, views = backend
    h = handlers(store)
    projections = (DocumentLedger(), PublicCatalog(), GazetteIssues())
    runners = [ProjectionRunner(p, store, views) for p in projections]
    for runner in runners:
        await runner.setup()
    docs = [await published(h, n) for n in range(1, 4)]
    await act(h, "withdraw", docs[1], WithdrawDocument(reason="文号重复，撤稿"), GUO, new_id())
    await h.compile_gazette(CompileGazette(document_ids=[str(docs[0])]), GUO, new_id())
    await h.compile_gazette(CompileGazette(document_ids=[str(docs[2])]), GUO, new_id())
    for runner in runners:
        await runner.run_once()
    live = await snapshot(views)
    assert len(live["catalog_public"]) == 2 and len(live["catalog_gazette_issues"]) == 2
    rows = await views.fetch("SELECT * FROM catalog_gazette_issues ORDER BY number")
    first, second = [await verify(views, r) for r in rows]
    assert second["previous_hash"] == first["content_hash"]
    assert first["verified"] and second["verified"] and second["chain_verified"]
    assert [e["public_status"] for e in first["entries"] + second["entries"]] == ["matches"] * 2
    # A row changed behind the projection's back no longer verifies, nor does the next link.
    async with views.transaction() as tx:
        await tx.execute(
            "UPDATE catalog_gazette_issues SET content_hash = $1 WHERE number = 1", "0" * 64
        )
        await tx.execute(  # and a public text that is not the one compiled
            "UPDATE catalog_public SET content_hash = $1 WHERE document_id = $2",
            "f" * 64,
            str(docs[2]),
        )
    rows = await views.fetch("SELECT * FROM catalog_gazette_issues ORDER BY number")
    first, second = [await verify(views, r) for r in rows]
    assert first["hash_verified"] is False and second["chain_verified"] is False
    assert second["entries"][0]["public_status"] == "differs" and not second["verified"]
    assert {r["status"] for r in live["catalog_documents"]} == {"published", "withdrawn"}
    assert await views.fetchval("SELECT COUNT(*) FROM dead_letters") == 0
    for runner in runners:  # the rebuild equals the live model, from before the tampering
        await runner.rebuild()
    assert await snapshot(views) == live


async def test_concurrent_gazette_issues_get_gapless_unique_numbers__s13(
    backend: tuple[SqlEventStore, Database],
) -> None:
    store, _ = backend
    h = handlers(store)
    docs = [await published(h, n) for n in range(1, 7)]

    async def compile_one(doc: UUID) -> int:
        event = await h.compile_gazette(CompileGazette(document_ids=[str(doc)]), GUO, new_id())
        return int(event.payload["number"])

    numbers = await asyncio.gather(*(compile_one(d) for d in docs))
    assert sorted(numbers) == list(range(1, 7))


def _interpretation_published(
    interpretation_id: UUID, document_id: UUID, revision: int, title: str
) -> NewEvent:
    """The interpretation service's event as it is on its topic (only what the catalog reads)."""
    return NewEvent(
        type="InterpretationPublished",
        schema_version=1,
        tenant="shangdang/sudian/party-office",
        actor=Actor(id="zhang-wei", kind="user", role="section_head"),
        payload={
            "interpretation_id": str(interpretation_id),
            "document_id": str(document_id),
            "revision": revision,
            "title": title,
            "forms": ["text", "graphic"],
            "stage": 1,
            "published_at": NOW.isoformat(),
            "a_field_added_later": True,
        },
    )


async def test_published_interpretations_link_back_to_their_policy_and_rebuild_equally__s3(
    backend: tuple[SqlEventStore, Database],
) -> None:
    """双向关联 on the catalog side: its own read model of InterpretationPublished."""
    store, views = backend
    runner = ProjectionRunner(PublishedInterpretations(), store, views)
    await runner.setup()
    doc, interpretation_id = new_id(), new_id()
    for version, title in ((1, "《实施方案》政策解读"), (2, "《实施方案》政策解读（修订）")):
        event = _interpretation_published(interpretation_id, doc, version, title)
        await store.append(
            [
                StreamWrite(
                    stream_id=f"interpretation-{interpretation_id}",
                    stream_type="interpretation",
                    expected_version=version - 1,
                    events=(event,),
                )
            ]
        )
    await runner.run_once()
    (link,) = await interpretations_of(views, str(doc))
    assert link["title"] == "《实施方案》政策解读（修订）" and link["forms"] == ["graphic", "text"]
    assert link["url"] == f"/v1/public/interpretation/interpretations/{interpretation_id}"
    await runner.rebuild()
    assert await interpretations_of(views, str(doc)) == [link]
    assert await interpretations_of(views, str(new_id())) == []
