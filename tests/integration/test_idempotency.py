"""Idempotency-Key on both databases (ARCHITECTURE.md "HTTP conventions").

Concurrent first requests with one key run the command exactly once; the rest get
the stored response or a 409 while it runs; a failed command frees the key.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.responses import JSONResponse

from shared.db import Database
from shared.errors import ConcurrencyConflict, DomainRuleViolated
from shared.http import Idempotency
from shared.identity import Principal, Role

CLERK = Principal(
    sub="wang-tietong", org="shangdang/sudian", roles=frozenset({Role.REQUEST_HANDLER})
)


@pytest.fixture
def db(database: Database) -> Database:
    return database


async def test_concurrent_first_requests_with_one_key_run_the_command_once(db: Database) -> None:
    idem = Idempotency(db)
    await idem.setup()
    runs = 0

    async def register() -> tuple[int, Any]:
        nonlocal runs
        runs += 1
        await asyncio.sleep(0.05)  # the command takes a while
        return 201, {"number": "苏店〔2026〕1号"}

    async def attempt() -> JSONResponse | ConcurrencyConflict:
        try:
            return await idem.run(CLERK, "k-1", {"description": "申请公开"}, register)
        except ConcurrencyConflict as err:
            return err

    outcomes = await asyncio.gather(*(attempt() for _ in range(10)))
    assert runs == 1
    created = [o for o in outcomes if isinstance(o, JSONResponse)]
    busy = [o for o in outcomes if isinstance(o, ConcurrencyConflict)]
    assert len(created) >= 1 and len(created) + len(busy) == 10
    assert all(b.rule == "idempotency_key.in_progress" for b in busy)
    replay = await idem.run(CLERK, "k-1", {"description": "申请公开"}, register)
    assert replay.headers["Idempotent-Replayed"] == "true" and runs == 1


async def test_a_refused_command_frees_its_key(db: Database) -> None:
    idem = Idempotency(db)
    await idem.setup()

    async def refuse() -> tuple[int, Any]:
        raise DomainRuleViolated(rule="x", message_zh="拒绝", message_en="refused")

    async def accept() -> tuple[int, Any]:
        return 201, {"ok": True}

    with pytest.raises(DomainRuleViolated):
        await idem.run(CLERK, "k-2", {"a": 1}, refuse)
    response = await idem.run(CLERK, "k-2", {"a": 1}, accept)
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
