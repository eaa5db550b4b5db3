"""A small SQL port shared by the event stores, projections and service tables.

SQL is written once, PostgreSQL-style with `$1` placeholders; the SQLite adapter
rewrites them to `?1`. Read models keep to the portable subset (TEXT, BIGINT,
BOOLEAN, `INSERT ... ON CONFLICT`), so one projection runs on both engines.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import aiosqlite
import asyncpg

Row = Mapping[str, Any]

_PLACEHOLDER = re.compile(r"\$(\d+)")


class Tx(Protocol):
    """One open transaction."""

    async def execute(self, sql: str, *args: Any) -> None: ...
    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
    async def insert_new(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert `rows` (values in `columns` order) that are not in `table` yet, in bulk:
        PostgreSQL's binary COPY, SQLite an `executemany`. A row that is there after all
        fails the statement (a unique violation), as a plain INSERT would."""
        ...

    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...
    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...
    async def fetchval(self, sql: str, *args: Any) -> Any: ...


class Database(Protocol):
    """A connection pool: reads outside transactions, writes inside them."""

    dialect: str

    def transaction(self) -> Any: ...  # async context manager yielding Tx
    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...
    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...
    async def fetchval(self, sql: str, *args: Any) -> Any: ...
    async def execute(self, sql: str, *args: Any) -> None:
        """One write statement, committed on its own (PostgreSQL: one round trip)."""
        ...

    async def execute_script(self, statements: Sequence[str]) -> None: ...
    async def close(self) -> None: ...


# --- SQLite -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _sqlite_sql(sql: str) -> str:
    """`$n` placeholders as SQLite's `?n` (cached: the same statements come again and again)."""
    return _PLACEHOLDER.sub(r"?\1", sql)


class _SqliteTx:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    # Each call below is ONE hop to aiosqlite's thread (execute_fetchall runs, fetches and
    # closes the cursor there); hops, not SQLite, dominate small statements.

    async def execute(self, sql: str, *args: Any) -> None:
        await self._conn.execute_fetchall(_sqlite_sql(sql), args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._conn.executemany(_sqlite_sql(sql), rows)

    async def insert_new(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        marks = ", ".join(f"?{i}" for i in range(1, len(columns) + 1))
        await self._conn.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
        )

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return list(await self._conn.execute_fetchall(_sqlite_sql(sql), args))  # type: ignore[arg-type]

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchrow(sql, *args)
        return None if row is None else row[0]  # type: ignore[index]


class SqliteDatabase:
    """One SQLite file in WAL mode: a single writer connection (serialised), one reader.

    SQLite allows one writer at a time anyway; serialising in-process keeps
    `BEGIN IMMEDIATE` from ever waiting on a busy lock, and WAL lets the reader
    see every committed write without blocking it.
    """

    dialect = "sqlite"

    def __init__(self, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> SqliteDatabase:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)

        async def connect() -> aiosqlite.Connection:
            conn = await aiosqlite.connect(str(path), isolation_level=None)
            conn.row_factory = aiosqlite.Row
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA busy_timeout=10000")
            await conn.execute("PRAGMA foreign_keys=ON")
            return conn

        writer = await connect()
        reader = writer if str(path) == ":memory:" else await connect()
        return cls(writer, reader)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_SqliteTx]:
        async with self._write_lock:
            tx = _SqliteTx(self._writer)
            await tx.execute("BEGIN IMMEDIATE")
            try:
                yield tx
            except BaseException:
                await tx.execute("ROLLBACK")
                raise
            else:
                await tx.execute("COMMIT")

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return await _SqliteTx(self._reader).fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return await _SqliteTx(self._reader).fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await _SqliteTx(self._reader).fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> None:
        async with self.transaction() as tx:
            await tx.execute(sql, *args)

    async def execute_script(self, statements: Sequence[str]) -> None:
        async with self.transaction() as tx:
            for statement in statements:
                await tx.execute(statement)

    async def close(self) -> None:
        if self._reader is not self._writer:
            await self._reader.close()
        await self._writer.close()


# --- PostgreSQL ---------------------------------------------------------------------------


class _PgTx:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def execute(self, sql: str, *args: Any) -> None:
        await self.conn.execute(sql, *args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self.conn.executemany(sql, rows)

    async def insert_new(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        # COPY: the server parses no statement per row and the client sends binary values;
        # a rebuild's fresh read-model rows are most of its writes (issue #10 item 4)
        await self.conn.copy_records_to_table(table, records=rows, columns=list(columns))

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return list(await self.conn.fetch(sql, *args))

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return await self.conn.fetchrow(sql, *args)  # type: ignore[no-any-return]

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self.conn.fetchval(sql, *args)


async def _keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset on release: nothing beyond what asyncpg always does.

    asyncpg's default reset sends `pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET
    ALL` on every release: one more round trip per statement outside a transaction, a fifth
    of a serving process's time at 100 commands/s (issue #10 item 3, py-spy). Our pooled
    connections keep no session state to undo: no SET (search_path is a connect-time
    server setting, which RESET ALL would keep anyway), only transaction-scoped advisory
    locks, no cursors outside a transaction, and LISTEN only on the store's own dedicated
    connection. An open transaction is still rolled back on release (asyncpg does that
    before calling this).
    """


class PostgresDatabase:
    """An asyncpg pool whose connections use one schema (each service owns one)."""

    dialect = "postgres"

    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self.pool = pool
        self.schema = schema

    @classmethod
    async def open(
        cls, url: str, schema: str, *, min_size: int = 1, max_size: int = 10
    ) -> PostgresDatabase:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
            raise ValueError(f"bad schema name {schema!r}")
        admin = await asyncpg.connect(url)
        try:
            # PostgreSQL checks the CREATE privilege even for IF NOT EXISTS; a service role
            # whose schema was made by the operator must not need it.
            exists = await admin.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema)
            if not exists:
                await admin.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        except asyncpg.UniqueViolationError:
            pass  # created concurrently by another process
        finally:
            await admin.close()
        pool = await asyncpg.create_pool(
            url,
            min_size=min_size,
            max_size=max_size,
            server_settings={"search_path": schema, "application_name": f"gongkai-{schema}"},
            reset=_keep_session,
        )
        return cls(pool, schema)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_PgTx]:
        async with self.pool.acquire() as conn, conn.transaction():
            yield _PgTx(conn)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return list(await self.pool.fetch(sql, *args))

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return await self.pool.fetchrow(sql, *args)  # type: ignore[no-any-return]

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self.pool.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> None:
        await self.pool.execute(sql, *args)

    async def execute_script(self, statements: Sequence[str]) -> None:
        async with self.pool.acquire() as conn:
            # Serialise DDL across processes that start at once.
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext('gongkai-ddl'))")
                for statement in statements:
                    await conn.execute(statement)

    async def close(self) -> None:
        await self.pool.close()


#: Values per `IN (…)` look-up: far below SQLite's 32,766 parameters, and one plan per size.
IN_CHUNK = 500


async def fetch_in(
    tx: Tx | Database, sql: str, values: Sequence[Any], *args: Any, chunk: int = IN_CHUNK
) -> list[Row]:
    """`sql` with `{values}` standing for an `IN` list of `values`, run in chunks.

    The fixed `args` are `$1..$n` of `sql`; the chunk's values follow them. E.g.
    `fetch_in(tx, "SELECT event_id FROM inbox WHERE consumer = $1 AND event_id IN
    ({values})", ids, group)`.
    """
    rows: list[Row] = []
    first = len(args) + 1
    for start in range(0, len(values), chunk):
        part = values[start : start + chunk]
        marks = ", ".join(f"${n}" for n in range(first, first + len(part)))
        rows.extend(await tx.fetch(sql.format(values=marks), *args, *part))
    return rows
