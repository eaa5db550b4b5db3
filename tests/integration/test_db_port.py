"""The SQL port's bulk insert and single-statement write, on both engines (shared/db.py).

`Tx.insert_new` is PostgreSQL's binary COPY and SQLite's executemany: the same rows must
come back either way, Chinese text, NULLs and booleans included, and a row that exists
already must fail the whole statement as a plain INSERT would (a rebuild relies on it:
docs/architecture.md "Projections"). `Database.execute` commits one statement on its own.
"""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest

from shared.db import Database

TABLE = """CREATE TABLE IF NOT EXISTS ledger_like (
    request_id TEXT PRIMARY KEY,
    number TEXT NOT NULL,
    year INTEGER NOT NULL,
    fee_yuan INTEGER,
    archived BOOLEAN NOT NULL
)"""
COLUMNS = ("request_id", "number", "year", "fee_yuan", "archived")
ROWS = [
    ("r-1", "苏店〔2026〕1号", 2026, None, False),
    ("r-2", "苏店〔2026〕2号 😀", 2026, 120, True),
]


@pytest.fixture
async def db(database: Database) -> Database:
    await database.execute_script([TABLE])
    return database


async def test_insert_new_writes_the_rows_as_given(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.insert_new("ledger_like", COLUMNS, ROWS)
    stored = await db.fetch(f"SELECT {', '.join(COLUMNS)} FROM ledger_like ORDER BY request_id")
    assert [tuple(r[c] for c in COLUMNS) for r in stored] == [
        (rid, number, year, fee, bool(archived)) for rid, number, year, fee, archived in ROWS
    ]
    assert [type(r["archived"]) for r in stored] in ([bool, bool], [int, int])


async def test_insert_new_of_a_stored_row_fails_whole_and_writes_nothing(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.insert_new("ledger_like", COLUMNS, ROWS[:1])
    with pytest.raises((asyncpg.UniqueViolationError, sqlite3.IntegrityError)):
        async with db.transaction() as tx:
            await tx.insert_new("ledger_like", COLUMNS, [ROWS[1], ROWS[0]])
    assert await db.fetchval("SELECT COUNT(*) FROM ledger_like") == 1


async def test_execute_commits_one_statement(db: Database) -> None:
    await db.execute(
        "INSERT INTO ledger_like (request_id, number, year, archived) VALUES ($1, $2, $3, $4)",
        "r-9",
        "韩店〔2026〕9号",
        2026,
        False,
    )
    assert await db.fetchval("SELECT number FROM ledger_like WHERE request_id = $1", "r-9") == (
        "韩店〔2026〕9号"
    )
