"""The sentiment service's policy read models on real stores (SQLite and PostgreSQL).

Published policies come from the catalog's events, the follow-up state from the
interpretation service's events, the link from sentiment's own (误读政策, 方案§17, §五(一);
DOMAIN.md §4). The topics arrive in any order relative to each other (Kafka keeps per-stream
order only), so the case shows the same link and follow-up whichever came first.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from services.catalog import events as catalog
from services.interpretation import events as itp
from services.sentiment.events import PolicyMisreadingReported
from services.sentiment.policies import PolicyCatalog, PolicyLinks, links
from shared.db import Database, SqliteDatabase
from shared.envelope import Actor, StreamWrite, new_id
from shared.eventstore import SqlEventStore, open_postgres_store, open_sqlite_store
from shared.projections import ProjectionRunner
from shared.registry import DomainEvent, to_new_event
from tests.integration.test_interpretation_ledger import PUBLISHED_AT

TOWNSHIP = "shangdang/sudian"
ACTOR = Actor(id="liu-yang", kind="user", role="opinion_officer")
NAMES = ("catalog", "interpretation", "sentiment")


@pytest.fixture(params=["sqlite", "postgres"])
async def stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[dict[str, SqlEventStore], Database]]:
    opened: dict[str, SqlEventStore] = {}
    if request.param == "sqlite":
        for name in NAMES:
            opened[name] = await open_sqlite_store(str(tmp_path / f"{name}.db"), name=name)
        views: Database = await SqliteDatabase.open(tmp_path / "views.db")
    else:
        url = request.getfixturevalue("pg_url")
        schema = request.getfixturevalue("pg_schema")
        for name in NAMES:
            opened[name] = await open_postgres_store(
                url, schema=f"{schema}_{name[:3]}", listen=False
            )
        views = opened["sentiment"].db
    yield opened, views
    if request.param == "sqlite":
        await views.close()
    for store in opened.values():
        await store.close()
    if request.param == "postgres":
        conn = await asyncpg.connect(url)
        for name in NAMES:
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema}_{name[:3]} CASCADE")
        await conn.close()


async def append(store: SqlEventStore, stream: str, event: DomainEvent) -> None:
    await store.append(
        [
            StreamWrite(
                stream_id=stream,
                stream_type=event.stream_type,
                expected_version=None,
                events=(to_new_event(event, TOWNSHIP, ACTOR, new_id()),),
            )
        ]
    )


def published(document_id: UUID, kind: str) -> catalog.DocumentPublished:
    content = catalog.DocumentContent(
        title="苏店镇人民政府关于印发《苏店镇农村人居环境整治长效管护办法》的通知",
        body="各村设立保洁员，所需经费由镇财政按每人每月八百元标准予以补助。",
        document_number="苏政发〔2026〕12号",
        issue_date=date(2026, 9, 25),
        kind=catalog.DocumentKind(kind),
        column="rule_of_law",
    )
    return catalog.DocumentPublished(
        document_id=document_id,
        township=TOWNSHIP,
        drafting_unit=f"{TOWNSHIP}/party-office",
        drafting_unit_name="苏店镇党政办公室",
        revision=1,
        is_update=False,
        kind=content.kind,
        title=content.title,
        document_number=content.document_number,
        issue_date=content.issue_date,
        column=content.column,
        content=content,
        content_hash=hashlib.sha256(content.body.encode()).hexdigest(),
        attribute=catalog.DisclosureAttribute.proactive,
        needs_interpretation=kind == "normative",
        channels=[catalog.PublicationChannel.website],
        published_at=PUBLISHED_AT,
        publisher="tian-yiming",
        drafter="li-na",
        reviewers=catalog.Reviewers(
            first_review="chen-jing",
            second_review="zhang-wei",
            final_review="guo-xinxin",
            proofreaders=["chen-jing", "zhang-wei", "guo-xinxin"],
        ),
        publication_due=date(2026, 10, 29),
        due_provisional=False,
        late=False,
        working_days_taken=2,
    )


async def project(stores: dict[str, SqlEventStore], views: Database, *sources: str) -> None:
    for projection in (PolicyCatalog(), PolicyLinks()):
        for source in sources:
            if source not in projection.sources:
                continue
            runner = ProjectionRunner(
                projection, stores[source], views, checkpoint_name=f"{projection.name}@{source}"
            )
            await runner.setup()
            await runner.run_once()


async def test_only_interpreted_kinds_become_policies_and_withdrawal_is_recorded(
    stores: Any,
) -> None:
    s, views = stores
    policy, news = new_id(), new_id()
    await append(s["catalog"], f"document-{policy}", published(policy, "normative"))
    await append(s["catalog"], f"document-{news}", published(news, "work_news"))
    await project(s, views, "catalog")
    rows = await views.fetch("SELECT document_id, withdrawn FROM sent_policies")
    assert [(r["document_id"], bool(r["withdrawn"])) for r in rows] == [(str(policy), False)]
    cancelled = itp.ObligationCancelled(document_id=policy, reason="政策文件已撤销")
    await append(s["interpretation"], f"obligation-{policy}", cancelled)
    await project(s, views, "interpretation")
    row = await views.fetchrow("SELECT withdrawn FROM sent_policies")
    assert row is not None and bool(row["withdrawn"]) is True


@pytest.mark.parametrize("first", ["sentiment", "interpretation"])
async def test_the_case_shows_its_link_and_follow_up_whichever_topic_arrives_first(
    stores: Any, first: str
) -> None:
    s, views = stores
    document_id, case_id, follow_up_id, interpretation_id = new_id(), new_id(), new_id(), new_id()
    await append(s["catalog"], f"document-{document_id}", published(document_id, "normative"))
    link = PolicyMisreadingReported(
        case_id=case_id,
        document_id=document_id,
        policy_title="苏店镇人民政府关于印发《苏店镇农村人居环境整治长效管护办法》的通知",
        document_number="苏政发〔2026〕12号",
        policy_township=TOWNSHIP,
        misreading="群众误以为保洁员经费由村民分摊",
        reported_by="liu-yang",
        classified_misreading=True,
        match_score=1.0,
        match_reasons=["文号：苏政发〔2026〕12号"],
    )
    await append(s["sentiment"], f"opinion-case-{case_id}", link)
    stream = f"obligation-{document_id}"
    for event in (
        itp.FollowUpRequested(
            document_id=document_id,
            follow_up_id=follow_up_id,
            stage=2,
            case_ids=[str(case_id)],
            reason="误读政策：群众误以为保洁员经费由村民分摊",
            requested_by="liu-yang",
            due=date(2026, 10, 14),
        ),
        itp.FollowUpFulfilled(
            document_id=document_id,
            follow_up_id=follow_up_id,
            interpretation_id=interpretation_id,
            published_on=date(2026, 10, 13),
        ),
    ):
        await append(s["interpretation"], stream, event)
    second = "interpretation" if first == "sentiment" else "sentiment"
    await project(s, views, "catalog", first)
    await project(s, views, second)
    (one,) = await links(views, str(case_id))
    assert one["document_id"] == str(document_id)
    assert one["misreading"] == "群众误以为保洁员经费由村民分摊"
    assert one["match_reasons"] == ["文号：苏政发〔2026〕12号"]
    assert one["follow_up_status"] == "fulfilled"
    assert one["follow_up"]["follow_up_id"] == str(follow_up_id)
    assert one["follow_up"]["stage"] == 2 and one["follow_up"]["due"] == "2026-10-14"
    assert one["follow_up"]["interpretation_id"] == str(interpretation_id)
