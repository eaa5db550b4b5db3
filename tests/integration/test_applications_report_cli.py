"""`gongkai report annual` reads the applications event store (SQLite and PostgreSQL) and
prints section 三 (条例 Art. 50; 国办公开办函〔2021〕30号; DOMAIN.md §2)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from services.applications import domain
from services.applications.commands import RegisterRequest, Reply
from services.applications.domain import evolve, register
from services.applications.handlers import request_stream, to_new_event
from services.applications.state import RequestState
from shared.envelope import Actor, StreamWrite, new_id
from shared.eventstore import open_postgres_store, open_sqlite_store
from shared.workdays import WorkdayCalendar

CAL = WorkdayCalendar.default()
ACTOR = Actor(id="wang-tietong", role="request_handler")
GONGKAI = str(Path(sys.executable).parent / "gongkai")


def _command(received: date, kind: str) -> RegisterRequest:
    applicant = {
        "kind": "natural_person",
        "name": "王秀英",
        "id_document": "身份证",
        "phone": "13812345678",
    }
    if kind != "natural_person":
        applicant = {
            **applicant,
            "kind": "organization",
            "organization_kind": kind,
            "name": "某公司",
        }
    return RegisterRequest.model_validate(
        {
            "channel": "in_person",
            "submitted_on": received.isoformat(),
            "applicant": applicant,
            "description": "申请公开苏店镇2025年度惠民惠农资金发放名单",
            "requested_form": "paper",
            "delivery_channel": "post",
        }
    )


async def _fill(store: object) -> None:
    """2025: one carried over into 2026 and replied there; 2026: two new, one replied."""
    cases = [
        (date(2025, 12, 20), "natural_person", date(2026, 1, 12)),
        (date(2026, 3, 2), "commercial", date(2026, 3, 20)),
        (date(2026, 12, 1), "legal_services", None),
    ]
    for sequence, (received, kind, replied) in enumerate(cases, start=1):
        rid = new_id()
        event = register(
            _command(received, kind),
            request_id=rid,
            short_name="苏店",
            year=received.year,
            sequence=sequence,
            today=received,
            calendar=CAL,
        )
        events = [event]
        if replied:
            state = evolve(RequestState(), event)
            cmd = Reply(reply_type="disclosed", replied_on=replied)
            events.append(domain.reply(state, cmd, replied))
        await store.append(  # type: ignore[attr-defined]
            [
                StreamWrite(
                    stream_id=request_stream(rid),
                    stream_type="request",
                    expected_version=0,
                    events=tuple(
                        to_new_event(e, "shangdang/sudian", ACTOR, new_id()) for e in events
                    ),
                )
            ]
        )


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GONGKAI, "report", "annual", "--tenant", "shangdang/sudian", "--year", "2026", *args],
        env={**{k: v for k, v in os.environ.items() if k != "GONGKAI_DATABASE_URL"}, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _assert_report(env: dict[str, str]) -> None:
    out = _run(env)
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    rows = {r["key"]: r["values"] for r in body["rows"] if r["key"]}
    assert (rows["一"]["total"], rows["二"]["total"]) == (2, 1)
    assert (rows["三(一)"]["total"], rows["三(七)"]["total"], rows["四"]["total"]) == (2, 2, 1)
    assert rows["二"]["natural_person"] == 1 and rows["四"]["legal_services"] == 1
    assert all(body["check"].values())
    table = list(csv.reader(io.StringIO(_run(env, "--format", "csv").stdout)))
    assert table[0] == [
        "行",
        "自然人",
        "商业企业",
        "科研机构",
        "社会公益组织",
        "法律服务机构",
        "其他",
        "总计",
    ]
    assert table[1] == ["一、本年新收政府信息公开申请数量", "0", "1", "0", "0", "1", "0", "2"]
    assert "<table" in _run(env, "--format", "html").stdout


def test_report_annual_on_the_embedded_sqlite_store(tmp_path: Path) -> None:
    async def fill() -> None:
        folder = tmp_path / "applications"
        folder.mkdir(parents=True)
        store = await open_sqlite_store(str(folder / "events.db"), name="applications")
        try:
            await _fill(store)
        finally:
            await store.close()

    asyncio.run(fill())
    env = {"GONGKAI_VAR_DIR": str(tmp_path)}
    _assert_report(env)


def test_report_annual_on_postgresql(pg_database_url: str) -> None:
    async def fill() -> None:
        store = await open_postgres_store(pg_database_url, schema="applications", listen=False)
        try:
            await _fill(store)
        finally:
            await store.close()

    asyncio.run(fill())
    _assert_report({"GONGKAI_DATABASE_URL": pg_database_url})
