"""行政执法公示 on real stores (SQLite and PostgreSQL), with an injected clock (issue #23).

import (CSV, row errors, idempotent) → 法制审核 → decision → 公示 within 7 working days
(国办发〔2018〕118号 二(二)) → the public list with search, masked → section 二 of the annual
report (the applications service's own read model of these events) → the scheduler flags
an overdue publication and ends a period; annulment withdraws (行政处罚法第四十八条).
A refused command writes nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pytest

from services.applications import annual
from services.applications.enforcement_rows import EnforcementDecisions, enforcement_rows
from services.catalog.privacy import resident_id_check_digit
from services.enforcement import queries
from services.enforcement.api import _import
from services.enforcement.commands import Annul, Publish, RecordDecision, RecordReview
from services.enforcement.domain import Rules
from services.enforcement.handlers import DECISION_COMMANDS, EnforcementHandlers
from services.enforcement.importer import parse_csv
from services.enforcement.jobs import tick
from services.enforcement.projections import DecisionLedger
from shared.commands import execute
from shared.db import Database, SqliteDatabase
from shared.envelope import new_id
from shared.errors import GongkaiError, ValidationFailed
from shared.eventstore import SqlEventStore, open_postgres_store, open_sqlite_store
from shared.identity import Principal, Role
from shared.projections import ProjectionRunner
from shared.settings import Settings
from shared.tenancy import load_org_tree
from shared.workdays import WorkdayCalendar

SUDIAN = "shangdang/sudian"
TEAM = "shangdang/sudian/law-enforcement"
# 2026-09-30 (Wed), eve of 国庆: 7 working days later is 2026-10-15 (10/10 is a make-up day).
DECIDED = date(2026, 9, 30)
NOW = datetime(2026, 10, 9, 2, 0, tzinfo=UTC)
SYSTEM = Principal(sub="sudian-zhifa", org=TEAM, roles=frozenset({Role.SERVICE}), kind="service")
HEAD = Principal(sub="feng-gang", org=TEAM, roles=frozenset({Role.SECTION_HEAD}))
OFFICE = Principal(sub="guo-xinxin", org=SUDIAN, roles=frozenset({Role.OPENNESS_OFFICE_HEAD}))
ID_NUMBER = "14040219850315002" + resident_id_check_digit("14040219850315002")
HASH = "0f" * 32

CSV_HEADER = (
    "kind,action,reference,title,facts,legal_basis,party_kind,party_name,party_id_number,"
    "amount_yuan,decided_on,major,records,review_reviewer,review_opinion,review_approved,"
    "reviewed_on\n"
)


def csv_row(*cells: str) -> str:
    return ",".join(cells) + "\n"


def import_file() -> bytes:
    rows = [
        # 1 (line 2): a penalty of a person, major, reviewed in the unit's system
        csv_row(
            "penalty", "", "苏执罚〔2026〕31号", "占道经营案",
            f"当事人李四（身份证号 {ID_NUMBER}）在镇区主干道占道经营。",
            "《城市市容和环境卫生管理条例》第三十六条", "person", "李四", ID_NUMBER,
            "200", "2026-09-30", "true",
            f"document:处罚决定书 31号:{HASH};audio_video:执法记录仪 0930-02:{HASH}",
            "司法所 王律", "事实清楚，程序合法，同意。", "true", "2026-09-29",
        ),
        # 2 (line 3): a licence to an organisation
        csv_row(
            "licensing", "granted", "苏许〔2026〕7号", "户外广告设置许可",
            "准予设置户外广告牌一块。",
            "《城市市容和环境卫生管理条例》第十一条", "organisation", "苏店镇红星商店",
            "92140404MA0K7777XY", "", "2026-09-30", "false", "", "", "", "", "",
        ),
        # 3 (line 4): a fee (counted in 万元, not published)
        csv_row(
            "fee", "", "苏收〔2026〕101号", "城市道路占用费", "", "《城市道路管理条例》第三十七条",
            "", "", "", "1234.50", "2026-09-30", "false", "", "", "", "", "",
        ),
        # 4 (line 5): a penalty without legal basis — refused, row named
        csv_row(
            "penalty", "", "苏执罚〔2026〕32号", "无照经营案", "", "", "organisation", "某店",
            "", "100", "2026-09-30", "false", "", "", "", "", "",
        ),
        # 5 (line 6): a major penalty without review — refused (行政处罚法第五十八条)
        csv_row(
            "penalty", "", "苏执罚〔2026〕33号", "违法建设案", "", "《城乡规划法》第六十五条",
            "organisation", "某公司", "", "5000", "2026-09-30", "true", "", "", "", "", "",
        ),
        # 6 (line 7): a decision dated in the future — refused
        csv_row(
            "coercion", "measure", "苏执强〔2026〕3号", "查封", "", "《行政强制法》第二十二条",
            "organisation", "某厂", "", "", "2026-12-01", "false", "", "", "", "", "",
        ),
    ]  # fmt: skip
    return (CSV_HEADER + "".join(rows)).encode()


@dataclass
class World:
    store: SqlEventStore
    views: Database
    app_views: Database
    handlers: EnforcementHandlers
    runners: list[ProjectionRunner]
    now: list[datetime]

    async def project(self) -> None:
        for runner in self.runners:
            await runner.run_once()

    @property
    def runtime(self) -> Any:
        h = self.handlers
        return SimpleNamespace(
            store=h.store, clock=h.clock, calendar=h.calendar, orgs=h.orgs, handlers=h
        )

    async def run(self, name: str, did: str, cmd: Any, who: Principal) -> Any:
        return await execute(self.runtime, DECISION_COMMANDS, name, UUID(did), cmd, who, new_id())


@pytest.fixture(params=["sqlite", "postgres"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    if request.param == "sqlite":
        store = await open_sqlite_store(str(tmp_path / "events.db"), name="enforcement")
        views: Database = await SqliteDatabase.open(tmp_path / "views.db")
        app_views: Database = await SqliteDatabase.open(tmp_path / "app_views.db")
    else:
        url = request.getfixturevalue("pg_url")
        schema = request.getfixturevalue("pg_schema")
        store = await open_postgres_store(url, schema=schema, listen=False)
        views = app_views = store.db
    now = [NOW]
    handlers = EnforcementHandlers(
        store=store,
        orgs=load_org_tree(Settings().org_file),
        calendar=WorkdayCalendar.default,
        clock=lambda: now[0],
        views=views,
        rules=Rules(),
    )
    ledger, rows = DecisionLedger(), EnforcementDecisions()
    runners = [
        ProjectionRunner(ledger, store, views),
        ProjectionRunner(rows, store, app_views, checkpoint_name=rows.name + "@enforcement"),
    ]
    for runner in runners:
        await runner.setup()
    yield World(store, views, app_views, handlers, runners, now)
    if request.param == "sqlite":
        await views.close()
        await app_views.close()
    await store.close()


async def test_import_review_decide_publish_count_and_withdraw(world: World) -> None:
    h = world.handlers
    report = await _import(h, parse_csv(import_file()), SYSTEM, new_id())
    assert (report["rows"], report["imported"], report["reviews"]) == (6, 3, 1)
    refused = {(e["line"], e["field"], e["rule"]) for e in report["errors"]}
    assert refused == {
        (5, "legal_basis", "enforcement.legal_basis_missing"),
        (6, "major", "enforcement.legal_review_missing"),
        (7, "decided_on", "enforcement.decided_in_future"),
    }
    head = await world.store.head_position()
    assert head == 4  # one review, three decisions: the refused rows wrote nothing
    again = await _import(h, parse_csv(import_file()), SYSTEM, new_id())
    assert (again["imported"], again["duplicates"], again["reviews"]) == (0, 3, 0)
    assert await world.store.head_position() == head  # idempotent

    await world.project()
    page = await queries.decisions(world.views, SUDIAN, None, None, 50, None)
    by_kind = {i["kind"]: i for i in page["items"]}
    penalty = by_kind["penalty"]
    assert penalty["major"] and penalty["reviewed"] and len(penalty["records"]) == 2
    assert penalty["records"][0]["sha256"] == HASH  # 全过程记录, in the event (and the chain)
    assert penalty["publication_due"] == "2026-10-15"
    assert by_kind["fee"]["status"] == "not_published"

    # 公示 on 10/9 (2 working days: 10/8, 10/9): on time, the person masked everywhere.
    published = await world.run("publish", penalty["decision_id"], Publish(), OFFICE)
    assert published[0].payload["late"] is False
    assert published[0].payload["working_days_taken"] == 2
    await world.project()
    public = await queries.published(world.views, SUDIAN, "占道", None, 20, None)
    (item,) = public["items"]
    assert "李四" not in item["text"] and ID_NUMBER not in item["text"]
    assert item["party"].startswith("李*（身份证号 1404")
    assert (await queries.published(world.views, "shangdang/handian", None, None, 20, None))[
        "items"
    ] == []

    # Section 二 of the annual report, per township and for the district.
    rows = await enforcement_rows(world.app_views)
    for scope in (SUDIAN, "shangdang"):
        two = annual.section_two([], 2026, [r for r in rows if annual.within(r["tenant"], scope)])
        values = {r["key"]: r["value"] for r in two["other_rows"]}
        assert values == {"licensing": 1, "penalty": 1, "enforcement": 0, "fees": 0.1235}

    # The licence is not published in time: the scheduler flags it once on 10/16.
    world.now[0] = datetime(2026, 10, 16, 2, 0, tzinfo=UTC)
    assert await tick(h, date(2026, 10, 16)) == 1
    await world.project()
    assert await tick(h, date(2026, 10, 16)) == 0
    licence = await queries.one(world.views, by_kind["licensing"]["decision_id"])
    assert licence["overdue"]
    late = await world.run("publish", licence["decision_id"], Publish(), OFFICE)
    assert late[0].payload["late"] is True

    # Revoked on review: withdrawn in the same append, gone from the public list.
    cmd = Annul(outcome="revoked", annulled_on=date(2026, 10, 16), basis="复议决定书")
    events = await world.run("annul", penalty["decision_id"], cmd, HEAD)
    assert [e.type for e in events] == [
        "EnforcementDecisionAnnulled",
        "EnforcementPublicationWithdrawn",
    ]
    await world.project()
    assert (await queries.published(world.views, SUDIAN, "占道", None, 20, None))["items"] == []


async def test_refusals_write_nothing(world: World) -> None:
    h = world.handlers
    base: dict[str, Any] = {
        "kind": "penalty",
        "reference": "苏执罚〔2026〕40号",
        "title": "占道经营案",
        "legal_basis": ["《城市市容和环境卫生管理条例》第三十六条"],
        "party": {"kind": "person", "name": "王五"},
        "amount_yuan": "50",
        "decided_on": "2026-10-08",
    }
    for change, rule in [
        ({"amount_yuan": None}, "enforcement.amount_missing"),
        ({"party": None}, "enforcement.party_missing"),
        ({"major": True}, "enforcement.legal_review_missing"),
        ({"decided_on": "2019-01-01"}, "enforcement.decided_too_long_ago"),
    ]:
        with pytest.raises(ValidationFailed) as exc:
            await h.record_decision(RecordDecision.model_validate(base | change), SYSTEM, new_id())
        assert exc.value.rule == rule
    assert await world.store.head_position() == 0

    # The privacy guard holds a published text with a phone number in it.
    phone = base | {"facts": "举报电话13912345678。"}
    body = await h.record_decision(RecordDecision.model_validate(phone), SYSTEM, new_id())
    with pytest.raises(GongkaiError) as held:
        await world.run("publish", body["decision_id"], Publish(), OFFICE)
    assert held.value.rule == "enforcement.personal_data_unmasked"
    assert await world.store.head_position() == 1
    summary = Publish(summary="当事人在镇区主干道占道经营。")
    (published,) = await world.run("publish", body["decision_id"], summary, OFFICE)
    assert "王*" in published.payload["text"] and "139" not in published.payload["text"]

    # A review after the decision is refused; a review of another township's unit is 403.
    review = RecordReview(
        kind="penalty",
        reference="苏执罚〔2026〕40号",
        reviewer="王律",
        opinion="同意",
        approved=True,
        reviewed_on=date(2026, 10, 8),
    )
    with pytest.raises(GongkaiError) as late:
        await h.record_review(review, SYSTEM, new_id())
    assert late.value.rule == "enforcement.review_after_decision"
    outside = review.model_copy(update={"unit": "shangdang/handian/finance"})
    with pytest.raises(GongkaiError) as forbidden:
        await h.record_review(outside, SYSTEM, new_id())
    assert forbidden.value.rule == "org.outside_subtree"
    assert await world.store.head_position() == 2
