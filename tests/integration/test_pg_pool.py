"""The PostgreSQL pool releases connections without asyncpg's reset query (shared/db.py
`_keep_session`, issue #10 item 3): what the reset would have undone must never leak from
one user of a pooled connection to the next.
"""

from __future__ import annotations

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
            held = await conn.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
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
