"""The PostgreSQL pool releases connections without asyncpg's reset query (shared/db.py
`_keep_session`, issue #10 item 3): what the reset would have undone must never leak from
one user of a pooled connection to the next. The tests below check what the pool still
undoes (an open transaction); `test_no_code_keeps_session_state` checks that nothing sets
what it no longer undoes (docs/decisions.md 35).
"""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg
import pytest

from shared.db import PostgresDatabase


async def test_a_released_connection_carries_no_transaction_or_lock(
    pg_url: str, pg_schema: str
) -> None:
    db = await PostgresDatabase.open(pg_url, pg_schema, min_size=1, max_size=1)
    try:
        # A transaction left open by a caller that forgot to end it is rolled back.
        async with db.pool.acquire() as conn:
            await conn.execute("BEGIN")
            await conn.execute("CREATE TABLE left_open (x int)")
        async with db.pool.acquire() as conn:
            assert not conn.is_in_transaction()
            exists = await conn.fetchval("SELECT to_regclass('left_open')")
            assert exists is None
        # The advisory locks the kernel takes are transaction-scoped: gone at commit.
        async with db.transaction() as tx:
            await tx.execute("SELECT pg_advisory_xact_lock(hashtext('gongkai-test'))")
        async with db.pool.acquire() as conn:
            held = await conn.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                " AND pid = pg_backend_pid()"
            )
            assert held == 0
        # The schema comes from the connect-time setting, not a SET the reset would undo.
        assert await db.fetchval("SHOW search_path") == pg_schema
    finally:
        await db.close()


async def test_a_failed_statement_does_not_poison_the_next_user(
    pg_url: str, pg_schema: str
) -> None:
    db = await PostgresDatabase.open(pg_url, pg_schema, min_size=1, max_size=1)
    try:
        with pytest.raises(asyncpg.PostgresError):
            async with db.transaction() as tx:
                await tx.execute("SELECT 1 / 0")
        assert await db.fetchval("SELECT 41 + 1") == 42
    finally:
        await db.close()


#: Session state a pooled connection would carry to its next user without the reset query.
_SESSION_STATE = re.compile(
    r"[\"';]\s*SET\s+(?!LOCAL\b)(SESSION\s+)?[a-z_.]+\s*(=|\bTO\b)"  # a SET statement
    r"|pg_advisory_lock(_shared)?\s*\("  # session-level advisory locks
    r"|[\"';]\s*LISTEN\s+\w|set_config\s*\([^)]*,\s*false\s*\)"  # LISTEN, set_config
    r"|WITH\s+HOLD",  # a cursor that outlives its transaction
    re.IGNORECASE,
)


def test_no_code_keeps_session_state() -> None:
    """Every SQL statement of the kernel and the services leaves no session state: the one
    LISTEN lives on the event store's own connection (`SqlEventStore.listen`, via asyncpg's
    `add_listener`, not a statement)."""
    root = Path(__file__).resolve().parents[2]
    found = [
        f"{path.relative_to(root)}:{n}: {line.strip()}"
        for folder in ("shared", "services", "gongkai")
        for path in sorted((root / folder).rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if _SESSION_STATE.search(line)
    ]
    assert found == []
