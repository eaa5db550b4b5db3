"""The sentiment application layer on real stores (SQLite and PostgreSQL), with a set clock.

What e2e cannot wait for: escalation of an overdue case (48 hours later) and a hotspot
window, driven by an injected clock; plus "a rebuild equals the live read model" and
same-issue grouping through the read model (DOMAIN.md §4, 方案§17, §五(四)).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pytest

from services.sentiment.classifier import default_classifier
from services.sentiment.commands import (
    AcceptCase,
    AssignCase,
    FollowUpCase,
    ReceiveMessage,
    RemindCase,
    RespondCase,
)
from services.sentiment.handlers import CASE_COMMANDS, SentimentHandlers
from services.sentiment.hotspots import HotspotRules
from services.sentiment.jobs import detect_hotspots
from services.sentiment.projections import OpinionLedger
from shared.commands import execute
from shared.db import Database, SqliteDatabase
from shared.envelope import new_id
from shared.errors import Forbidden, NotFound
from shared.eventstore import SqlEventStore, open_postgres_store, open_sqlite_store
from shared.identity import Principal, Role
from shared.projections import ProjectionRunner
from shared.tenancy import load_org_tree
from shared.workdays import WorkdayCalendar

ORGS = load_org_tree(Path(__file__).parents[2] / "deploy" / "demo" / "district.yaml")
SUDIAN = "shangdang/sudian"
OFFICER = Principal(sub="liu-yang", org=SUDIAN, roles=frozenset({Role.OPINION_OFFICER}))
START = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["sqlite", "postgres"])
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[SqlEventStore, Database]]:
    if request.param == "sqlite":
        store = await open_sqlite_store(str(tmp_path / "events.db"), name="sentiment")
        views: Database = await SqliteDatabase.open(tmp_path / "views.db")
    else:
        schema = request.getfixturevalue("pg_schema")
        store = await open_postgres_store(request.getfixturevalue("pg_url"), schema=schema)
        views = store.db
    yield store, views
    if views is not store.db:
        await views.close()
    await store.close()


async def setup(backend: tuple[SqlEventStore, Database]) -> tuple[Any, ProjectionRunner, Clock]:
    store, views = backend
    clock = Clock()
    handlers = SentimentHandlers(
        store=store,
        views=views,
        orgs=ORGS,
        calendar=WorkdayCalendar.default,
        clock=clock,
        classifier=default_classifier(),
    )
    runner = ProjectionRunner(OpinionLedger(), store, views)
    await runner.setup()
    return handlers, runner, clock


def msg(text: str, **extra: Any) -> ReceiveMessage:
    return ReceiveMessage.model_validate({"source": "message_board", "text": text, **extra})


async def test_overdue_case_escalates_once_per_level_as_the_clock_moves(
    backend: tuple[SqlEventStore, Database],
) -> None:
    handlers, runner, clock = await setup(backend)
    opened = await handlers.receive(msg("苏店镇东街污水井冒水三天，臭气熏天"), OFFICER, new_id())
    await runner.run_once()
    case_id = UUID(opened["case_id"])
    assert await handlers.escalate_overdue() == 0  # within 48 hours
    clock.now = START + timedelta(hours=49)
    assert await handlers.escalate_overdue() == 1
    await runner.run_once()
    assert await handlers.escalate_overdue() == 0  # level 1 only once
    clock.now = START + timedelta(hours=97)
    assert await handlers.escalate_overdue() == 1
    await runner.run_once()
    state = await handlers.load_case(case_id)
    assert state.escalation_level == 2
    _, views = backend
    row = await views.fetchrow(
        "SELECT escalation_level FROM sent_cases WHERE case_id = $1", str(case_id)
    )
    assert row is not None and row["escalation_level"] == 2


async def test_near_duplicate_is_grouped_through_the_read_model(
    backend: tuple[SqlEventStore, Database],
) -> None:
    handlers, runner, _ = await setup(backend)
    text = "苏店镇幸福小区东侧工地每天晚上十一点以后还在施工，噪音非常大，严重影响休息"
    first = await handlers.receive(msg(text), OFFICER, new_id())
    await runner.run_once()
    second = await handlers.receive(
        msg(text + "，请尽快处理！", source="mailbox"), OFFICER, new_id()
    )
    other = await handlers.receive(msg("公司拖欠工资三个月，讨薪无果"), OFFICER, new_id())
    assert second["case_id"] == first["case_id"] and not second["opened_case"]
    assert other["case_id"] != first["case_id"]


async def test_alike_messages_arriving_together_all_join_the_one_case(
    backend: tuple[SqlEventStore, Database],
) -> None:
    """A street's residents calling about the same lamp at once: every message is taken
    and joins the open case (the portal's flood test met a version conflict shown to a
    citizen as 「记录…已被他人修改」 before intake was serialised per township)."""
    handlers, runner, _ = await setup(backend)
    text = "苏店村东街路灯坏了一个月，晚上老人出门摔倒，请尽快维修"
    first = await handlers.receive(msg(text), OFFICER, new_id())
    await runner.run_once()  # the case is in the read model: alike messages find it
    alike = [msg(f"{text}（第{i}位居民反映）", source="hotline") for i in range(20)]
    answers = await asyncio.gather(*(handlers.receive(m, OFFICER, new_id()) for m in alike))
    assert {a["case_id"] for a in answers} == {first["case_id"]}
    state = await handlers.load_case(UUID(first["case_id"]))
    assert len(state.messages) == 21


async def test_hotspot_is_announced_once_per_window(
    backend: tuple[SqlEventStore, Database],
) -> None:
    handlers, runner, clock = await setup(backend)
    store, views = backend
    texts = [
        "化工厂偷排废水，河道发黑发臭",
        "养猪场臭味熏天，村民不敢开窗",
        "搅拌站粉尘太大，庄稼上全是灰",
        "砂石厂夜间噪音扰民，环保部门不管",
        "垃圾焚烧冒黑烟，空气质量很差",
    ]
    for i, text in enumerate(texts):
        clock.now = START + timedelta(minutes=10 * i)
        await handlers.receive(msg(text), OFFICER, new_id())
    await runner.run_once()
    runtime = SimpleNamespace(views=views, store=store, handlers=handlers)
    rules = HotspotRules()
    clock.now = START + timedelta(hours=1)
    assert await detect_hotspots(runtime, clock.now, rules) == 1
    assert await detect_hotspots(runtime, clock.now + timedelta(minutes=5), rules) == 0
    await runner.run_once()
    rows = await views.fetch("SELECT township, category, message_count FROM sent_hotspots")
    assert [(r["township"], r["category"], r["message_count"]) for r in rows] == [
        (SUDIAN, "环境保护", 5)
    ]


async def test_rebuild_equals_the_live_read_model(
    backend: tuple[SqlEventStore, Database],
) -> None:
    handlers, runner, _ = await setup(backend)
    _, views = backend
    for text in ("东街路灯坏了一个月", "公交班次太少", "东街路灯坏了一个月没人修"):
        await handlers.receive(msg(text), OFFICER, new_id())
        await runner.run_once()

    async def snapshot() -> list[Any]:
        out = []
        for table, key in (("sent_messages", "message_id"), ("sent_cases", "case_id")):
            rows = await views.fetch(f"SELECT * FROM {table} ORDER BY {key}")
            out.append([dict(r) for r in rows])
        return out

    live = await snapshot()
    await runner.rebuild()
    assert await snapshot() == live


async def test_a_case_closed_behind_a_lagging_read_model_is_not_joined(
    backend: tuple[SqlEventStore, Database],
) -> None:
    handlers, runner, _ = await setup(backend)
    text = "苏店镇西街自来水管爆裂，路面积水结冰，行人多次滑倒"
    first = await handlers.receive(msg(text), OFFICER, new_id())
    await runner.run_once()  # the read model sees the case open ...
    case_id = UUID(first["case_id"])
    steps: list[tuple[str, Any]] = [
        ("assign", AssignCase(unit="shangdang/sudian/party-office", officer="liu-yang")),
        ("accept", AcceptCase()),
        ("respond", RespondCase(response="已抢修并撒盐除冰")),
        ("follow-up", FollowUpCase(satisfaction="satisfied")),
    ]
    for name, cmd in steps:  # ... and is closed before the projection catches up
        await execute(handlers, CASE_COMMANDS, name, case_id, cmd, OFFICER, new_id())
    again = await handlers.receive(msg(text + "，至今无人处理"), OFFICER, new_id())
    assert again["opened_case"] is True and again["case_id"] != first["case_id"]


async def test_the_assigned_unit_gives_its_own_steps_others_do_not_see_the_case__issue21(
    backend: tuple[SqlEventStore, Database],
) -> None:
    """The unit a case is dispatched to sees it and gives its own steps (签收); the township's
    steps stay the township's (403 org.outside_subtree); another unit sees nothing (404)."""
    handlers, _, _ = await setup(backend)
    unit = f"{SUDIAN}/party-office"
    opened = await handlers.receive(
        msg("苏店镇南关路口红绿灯坏了三天，早晚高峰很危险"), OFFICER, new_id()
    )
    case_id = UUID(opened["case_id"])
    assign = AssignCase(unit=unit, officer="zhang-wei")
    await execute(handlers, CASE_COMMANDS, "assign", case_id, assign, OFFICER, new_id())
    head = Principal(sub="zhang-wei", org=unit, roles=frozenset({Role.SECTION_HEAD}))
    (accepted,) = await execute(
        handlers, CASE_COMMANDS, "accept", case_id, AcceptCase(), head, new_id()
    )
    assert accepted.type == "CaseAccepted" and accepted.actor.role == "section_head"
    unit_leader = Principal(sub="li-na", org=unit, roles=frozenset({Role.LEADER_IN_CHARGE}))
    with pytest.raises(Forbidden) as refused:
        await execute(
            handlers, CASE_COMMANDS, "remind", case_id, RemindCase(), unit_leader, new_id()
        )
    assert refused.value.rule == "org.outside_subtree"
    other = Principal(sub="x", org=f"{SUDIAN}/finance", roles=frozenset({Role.SECTION_HEAD}))
    with pytest.raises(NotFound) as hidden:
        await execute(handlers, CASE_COMMANDS, "accept", case_id, AcceptCase(), other, new_id())
    assert hidden.value.rule == "case.not_found"
    assert await handlers.store.stream_version(f"opinion-case-{case_id}") == 3  # open, 派单, 签收
