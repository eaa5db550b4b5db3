"""Registration numbers: gapless and unique when two serving processes register at once.

DOMAIN.md §1 (登记, 方案§14): every request gets the next number of its township's yearly
register. Each `ApplicationsHandlers` remembers the register's version and lets its own
registrations take turns (issue #10 item 3: one append per registration); two of them on
one store stand for two replicas of the applications service, whose appends conflict and
must be retried with the next number, never skipped or given twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest

from services.applications.commands import RegisterRequest
from services.applications.handlers import ApplicationsHandlers, register_stream
from shared.eventstore import SqlEventStore, open_postgres_store, open_sqlite_store
from shared.identity import Principal, Role
from shared.settings import Settings
from shared.tenancy import load_org_tree
from shared.workdays import WorkdayCalendar

TOWNSHIP = "shangdang/sudian"
CLERK = Principal(sub="wang-tietong", org=TOWNSHIP, roles=frozenset({Role.REQUEST_HANDLER}))
NOW = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
NOW_CORRELATION = UUID("01950000-0000-7000-8000-000000000001")


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlEventStore]:
    if request.param == "sqlite":
        opened = await open_sqlite_store(str(tmp_path / "events.db"), name="applications")
    else:
        opened = await open_postgres_store(
            request.getfixturevalue("pg_url"),
            schema=request.getfixturevalue("pg_schema"),
            listen=False,
        )
    yield opened
    await opened.close()


def replica(store: SqlEventStore) -> ApplicationsHandlers:
    calendar = WorkdayCalendar.default()
    return ApplicationsHandlers(
        store=store,
        orgs=load_org_tree(Settings().org_file),
        calendar=lambda: calendar,
        clock=lambda: NOW,
    )


def command(i: int) -> RegisterRequest:
    return RegisterRequest.model_validate(
        {
            "channel": "in_person",
            "submitted_on": "2026-03-19",
            "applicant": {
                "kind": "natural_person",
                "name": "王秀英",
                "id_document": "居民身份证",
                "phone": "13812345678",
            },
            "description": f"申请公开苏店镇2025年度惠民惠农资金发放名单（第{i}件）",
            "requested_form": "paper",
            "delivery_channel": "post",
        }
    )


async def test_two_replicas_registering_at_once_number_one_to_n_each_once(
    store: SqlEventStore,
) -> None:
    a, b = replica(store), replica(store)
    # b numbers 1 and remembers it; a reads the register (1) and numbers 2; b then appends
    # from its stale version 1, conflicts, reads again and numbers 3
    await b.register(command(0), CLERK, NOW_CORRELATION)
    await a.register(command(1), CLERK, NOW_CORRELATION)
    await b.register(command(2), CLERK, NOW_CORRELATION)
    registered = await asyncio.gather(
        *((a if i % 2 else b).register(command(i), CLERK, NOW_CORRELATION) for i in range(3, 43))
    )
    sequences = sorted(
        [e.payload["sequence"] for e in registered] + [1, 2, 3]  # the three before
    )
    assert sequences == list(range(1, 44))
    register = await store.read_stream(register_stream(TOWNSHIP, 2026))
    assert [e.version for e in register] == list(range(1, 44))
    assert [e.payload["sequence"] for e in register] == list(range(1, 44))
    assert len({e.payload["request_id"] for e in register}) == 43
