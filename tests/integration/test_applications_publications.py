"""The applications service's read model of the catalog's publications, on SQLite and
PostgreSQL, and `gongkai report annual --full` reading it (条例 Arts. 36(一), 50;
国办公开办函〔2021〕30号; DOMAIN.md §2; docs/decisions.md: section 二 from catalog events)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.applications.events import AnnualReportTextRecorded
from services.applications.handlers import annual_report_stream
from services.applications.publications import PublishedDocuments
from services.catalog.examples import history
from shared.db import SqliteDatabase
from shared.envelope import Actor, RecordedEvent, StreamWrite, new_id
from shared.eventstore import open_postgres_store, open_sqlite_store
from shared.projections import setup_projection
from shared.registry import DomainEvent, payload_of, to_new_event
from tests.integration.test_applications_report_cli import _fill, _run

UNIT = "shangdang/sudian/party-office"


def recorded(event: DomainEvent, version: int, position: int) -> RecordedEvent:
    now = datetime.now(UTC)
    return RecordedEvent(
        event_id=new_id(),
        stream_id=f"document-{event.document_id}",  # type: ignore[attr-defined]
        stream_type="document",
        version=version,
        position=position,
        type=event.event_type,
        schema_version=event.schema_version,
        tenant=UNIT,
        actor=Actor(id="guo-xinxin"),
        correlation_id=new_id(),
        causation_id=None,
        occurred_at=now,
        recorded_at=now,
        payload=payload_of(event),
    )


def catalog_log() -> tuple[list[RecordedEvent], str, str]:
    """Document A published then repealed; document B published then withdrawn."""
    h = history()
    a = h["DocumentPublished"]
    b_id = uuid.UUID("01936f0e-7c1a-7b3e-9d42-5a1e0c2f8b99")
    b = a.model_copy(update={"document_id": b_id, "title": "苏店镇农村危房改造补助对象名单公示"})
    gone = h["DocumentWithdrawn"].model_copy(update={"document_id": b_id})
    log = [
        recorded(a, 5, 1),
        recorded(b, 5, 2),
        recorded(h["DocumentRepealed"], 6, 3),
        recorded(gone, 6, 4),
    ]
    return log, str(a.document_id), str(b_id)


async def project(views: Any) -> tuple[str, str]:
    projection = PublishedDocuments()
    await setup_projection(views, projection)
    log, a, b = catalog_log()
    for event in [*log, log[0], log[1]]:  # the last two: replayed, a no-op
        async with views.transaction() as tx:
            await projection.apply(tx, event)
    return a, b


async def check_read_model(views: Any) -> None:
    a, b = await project(views)
    rows = {r["document_id"]: r for r in await views.fetch("SELECT * FROM app_publications")}
    assert rows[a]["repealed_on"] == "2026-03-20" and not rows[a]["withdrawn"]
    assert rows[b]["withdrawn"] and rows[b]["repealed_on"] is None
    assert rows[a]["township"] == "shangdang/sudian" and rows[a]["tenant"] == UNIT
    assert rows[a]["first_published_on"] == "2026-03-20" and rows[a]["version"] == 6
    terms = await views.fetch("SELECT document_id, term FROM app_publication_terms")
    assert {t["document_id"] for t in terms} == {a}, "a withdrawn document keeps no terms"
    assert {"集体", "资产", "苏政", "政发"} <= {t["term"] for t in terms}


async def fill_applications(store: Any) -> None:
    await _fill(store)
    text = AnnualReportTextRecorded(
        tenant="shangdang/sudian",
        year=2026,
        section="problems",
        text="部分栏目更新不及时。",
        recorded_by="guo-xinxin",
    )
    await store.append(
        [
            StreamWrite(
                stream_id=annual_report_stream("shangdang/sudian", 2026),
                stream_type="annual-report",
                expected_version=None,
                events=(to_new_event(text, "shangdang/sudian", Actor(id="guo-xinxin")),),
            )
        ]
    )


def assert_full_report(env: dict[str, str]) -> None:
    out = _run(env, "--full")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    sections = {s["key"]: s for s in body["sections"]}
    assert list(sections) == ["一", "二", "三", "四", "五", "六"]
    normative = next(d for d in sections["二"]["documents"] if d["kind"] == "normative")
    # A: issued 2026-03-10, repealed 2026-03-20; B withdrawn: not counted at all.
    assert (normative["made_this_year"], normative["repealed_this_year"]) == (1, 1)
    assert normative["in_force"] == 0
    three = {r["key"]: r["values"] for r in sections["三"]["rows"] if r["key"]}
    assert (three["一"]["total"], three["二"]["total"], three["四"]["total"]) == (2, 1, 1)
    assert sections["五"]["text"] == "部分栏目更新不及时。"
    table = list(csv.reader(io.StringIO(_run(env, "--full", "--format", "csv").stdout)))
    assert ["行政规范性文件", "1", "1", "0"] in table
    assert "<h2>二、主动公开政府信息情况</h2>" in _run(env, "--full", "--format", "html").stdout


def test_read_model_and_full_report_on_sqlite(tmp_path: Path) -> None:
    async def fill() -> None:
        folder = tmp_path / "applications"
        folder.mkdir(parents=True)
        store = await open_sqlite_store(str(folder / "events.db"), name="applications")
        views = await SqliteDatabase.open(folder / "views.db")
        try:
            await fill_applications(store)
            await check_read_model(views)
        finally:
            await views.close()
            await store.close()

    asyncio.run(fill())
    assert_full_report({"GONGKAI_VAR_DIR": str(tmp_path)})


def test_read_model_and_full_report_on_postgresql(pg_database_url: str) -> None:
    async def fill() -> None:
        store = await open_postgres_store(pg_database_url, schema="applications", listen=False)
        try:
            await fill_applications(store)
            await check_read_model(store.db)
        finally:
            await store.close()

    asyncio.run(fill())
    assert_full_report({"GONGKAI_DATABASE_URL": pg_database_url})


def test_without_the_read_model_yet_the_full_report_counts_no_documents(tmp_path: Path) -> None:
    """Before the projection first ran (no table), section 二 is zero, not an error."""

    async def fill() -> None:
        folder = tmp_path / "applications"
        folder.mkdir(parents=True)
        store = await open_sqlite_store(str(folder / "events.db"), name="applications")
        try:
            await fill_applications(store)
        finally:
            await store.close()

    asyncio.run(fill())
    out = _run({"GONGKAI_VAR_DIR": str(tmp_path)}, "--full")
    assert out.returncode == 0, out.stderr
    two = next(s for s in json.loads(out.stdout)["sections"] if s["key"] == "二")
    assert all(d["made_this_year"] == 0 for d in two["documents"])
