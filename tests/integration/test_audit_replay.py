"""Point-in-time replay into a shadow copy, diff and atomic swap, on SQLite and PostgreSQL.

Issue #8: "what did the request ledger show on 2026-06-30 17:00?" — a projection is
rebuilt from the log as of an instant into a shadow (the projection's own DDL in a
separate file / schema), compared with live row by row, and swapped in atomically.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from services.audit import replay
from shared.db import Database, PostgresDatabase, SqliteDatabase, Tx
from shared.envelope import Actor, NewEvent, RecordedEvent, StreamWrite
from shared.eventstore import SqlEventStore, open_postgres_store, open_sqlite_store
from shared.projections import ProjectionRunner, setup_projection

CLERK = Actor(id="li-guifang", role="request_handler")


class TownshipLedger:
    """Requests per township: a tiny projection with a primary key and a counter."""

    name = "test.township_ledger"
    tables = ("township_ledger",)
    schema = (
        """CREATE TABLE IF NOT EXISTS township_ledger (
            tenant TEXT PRIMARY KEY, requests INTEGER NOT NULL, last_number TEXT NOT NULL
        )""",
    )

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        await tx.execute(
            """INSERT INTO township_ledger (tenant, requests, last_number) VALUES ($1, 1, $2)
               ON CONFLICT (tenant) DO UPDATE SET requests = township_ledger.requests + 1,
                   last_number = excluded.last_number""",
            event.tenant,
            event.payload["number"],
        )


@dataclass
class Setup:
    store: SqlEventStore
    live: Database
    shadow: Database
    live_path: Path | None = None
    shadow_path: Path | None = None
    shadow_schema: str | None = None

    async def swap(self, target: replay.Target) -> None:
        if self.live_path is not None and self.shadow_path is not None:
            replay.swap_sqlite(target, self.live_path, self.shadow_path)
        else:
            assert isinstance(self.live, PostgresDatabase) and self.shadow_schema
            await replay.swap_postgres(target, self.live, self.shadow_schema)


@pytest.fixture(params=["sqlite", "postgres"])
async def setup(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Setup]:
    if request.param == "sqlite":
        store = await open_sqlite_store(str(tmp_path / "events.db"), name="test")
        live = await SqliteDatabase.open(tmp_path / "views.db")
        shadow = await SqliteDatabase.open(tmp_path / "shadow.db")
        yield Setup(store, live, shadow, tmp_path / "views.db", tmp_path / "shadow.db")
        for closing in (shadow, live, store):
            await closing.close()
        return
    url = request.getfixturevalue("pg_url")
    schema = request.getfixturevalue("pg_schema")
    store = await open_postgres_store(url, schema=schema, listen=False)
    shadow = await PostgresDatabase.open(url, f"{schema}_shadow")
    try:
        yield Setup(store, store.db, shadow, shadow_schema=f"{schema}_shadow")
    finally:
        await shadow.close()
        await store.close()
        conn = await asyncpg.connect(url)
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema}_shadow CASCADE")
        await conn.close()


TARGET = replay.Target("test", TownshipLedger(), ("test",))


async def register(store: SqlEventStore, tenant: str, n: int) -> RecordedEvent:
    event = NewEvent(
        type="RequestRegistered", tenant=tenant, actor=CLERK, payload={"number": f"〔2026〕{n}号"}
    )
    [recorded] = await store.append(
        [StreamWrite(stream_id=f"request-{tenant}-{n}", stream_type="request", events=(event,))]
    )
    return recorded


async def live_runner(s: Setup) -> ProjectionRunner:
    runner = ProjectionRunner(TownshipLedger(), s.store, s.live)
    await runner.setup()
    await runner.run_once()
    return runner


async def rows(db: Database) -> list[tuple[str, int, str]]:
    found = await db.fetch("SELECT * FROM township_ledger ORDER BY tenant")
    return [(r["tenant"], int(r["requests"]), r["last_number"]) for r in found]


async def test_a_full_replay_matches_live_row_by_row(setup: Setup) -> None:
    for n in range(1, 6):
        await register(setup.store, "shangdang/sudian" if n % 2 else "shangdang/handian", n)
    await live_runner(setup)
    seen: list[tuple[int, int]] = []
    result = await replay.replay(
        TARGET,
        {"test": setup.store},
        setup.shadow,
        progress=lambda _name, n, total, _rate: seen.append((n, total)),
    )
    assert (result.events, result.applied) == (5, 5)
    assert seen and seen[-1] == (5, 5)  # the bar reaches 100 %
    assert await rows(setup.shadow) == await rows(setup.live)
    assert await replay.diff(TARGET, setup.live, setup.shadow) == []


async def test_replay_as_of_an_instant_shows_the_ledger_as_it_was_then(setup: Setup) -> None:
    events = [await register(setup.store, "shangdang/sudian", n) for n in range(1, 5)]
    await register(setup.store, "shangdang/handian", 5)
    await live_runner(setup)
    result = await replay.replay(
        TARGET, {"test": setup.store}, setup.shadow, as_of=events[1].recorded_at
    )
    assert result.events == 2
    assert result.checkpoints == {"test.township_ledger": events[1].position}
    assert await rows(setup.shadow) == [("shangdang/sudian", 2, "〔2026〕2号")]
    found = {
        (d.key, d.kind, d.columns) for d in await replay.diff(TARGET, setup.live, setup.shadow)
    }
    assert found == {
        (("shangdang/handian",), "only_live", ()),
        (("shangdang/sudian",), "changed", ("last_number", "requests")),
    }


async def test_swap_replaces_live_atomically_and_live_catches_up_from_the_instant(
    setup: Setup,
) -> None:
    events = [await register(setup.store, "shangdang/sudian", n) for n in range(1, 4)]
    runner = await live_runner(setup)
    await replay.replay(TARGET, {"test": setup.store}, setup.shadow, as_of=events[0].recorded_at)
    await setup.swap(TARGET)
    assert await rows(setup.live) == [("shangdang/sudian", 1, "〔2026〕1号")]
    assert await runner.checkpoint() == events[0].position
    # The live runner resumes after the instant: nothing lost, nothing applied twice.
    assert await runner.run_once() == 2
    assert await rows(setup.live) == [("shangdang/sudian", 3, "〔2026〕3号")]


async def test_an_unknown_projection_is_refused_with_the_known_names() -> None:
    with pytest.raises(Exception, match=r"replay\.unknown_projection"):
        replay.find("no.such.projection")


async def test_swap_moves_the_parked_events_with_the_tables_on_both_engines(setup: Setup) -> None:
    """An event the projection refuses is parked in the shadow too; after the swap live holds
    the shadow's dead letters of the projection, as it holds its rows and checkpoints."""
    await register(setup.store, "shangdang/sudian", 1)
    poison = NewEvent(
        type="RequestRegistered", tenant="shangdang/sudian", actor=CLERK, payload={"no": "number"}
    )
    [parked] = await setup.store.append(
        [StreamWrite(stream_id="request-poison", stream_type="request", events=(poison,))]
    )
    await register(setup.store, "shangdang/sudian", 2)
    name = TARGET.checkpoint_name("test")

    async def dead(db: Database) -> list[str]:
        found = await db.fetch("SELECT event_id FROM dead_letters WHERE consumer = $1", name)
        return [str(r["event_id"]) for r in found]

    await setup_projection(setup.live, TARGET.projection)  # live exists, never fed
    assert await dead(setup.live) == []
    result = await replay.replay(TARGET, {"test": setup.store}, setup.shadow)
    assert (result.events, result.applied) == (3, 2)
    assert await dead(setup.shadow) == [str(parked.event_id)]
    await setup.swap(TARGET)
    assert await dead(setup.live) == [str(parked.event_id)]
    assert await rows(setup.live) == [("shangdang/sudian", 2, "〔2026〕2号")]


class IndexedLedger(TownshipLedger):
    """The tiny ledger with a plain index and a unique one, noting which exist while the
    replay applies events."""

    schema = (
        *TownshipLedger.schema,
        "CREATE INDEX IF NOT EXISTS township_ledger_number ON township_ledger (last_number)",
        "CREATE UNIQUE INDEX IF NOT EXISTS township_ledger_one"
        " ON township_ledger (tenant, requests)",
    )

    def __init__(self, dialect: str, *, indexes_after_rebuild: bool) -> None:
        self.dialect = dialect
        self.indexes_after_rebuild = indexes_after_rebuild
        self.seen_while_applying: set[str] = set()

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        self.seen_while_applying |= await indexes(tx, self.dialect)
        await super().apply(tx, event)


async def indexes(db: Tx | Database, dialect: str) -> set[str]:
    if dialect == "postgres":
        sql = "SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema()"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'index'"
    return {r["name"] for r in await db.fetch(sql)} & {
        "township_ledger_number",
        "township_ledger_one",
    }


async def test_a_rebuild_builds_plain_indexes_after_the_rows_and_unique_ones_first(
    setup: Setup,
) -> None:
    """Issue #10 item 4: for a projection that says so, a plain index is built once the
    rows are in (one sorted build), a unique one is there from the start (applying may rely
    on it); both exist after. A projection that does not say so keeps both throughout."""
    for n in range(1, 4):
        await register(setup.store, "shangdang/sudian", n)
    both = {"township_ledger_number", "township_ledger_one"}
    for deferring, while_applying in ((True, {"township_ledger_one"}), (False, both)):
        projection = IndexedLedger(setup.shadow.dialect, indexes_after_rebuild=deferring)
        target = replay.Target("test", projection, ("test",))
        result = await replay.replay(target, {"test": setup.store}, setup.shadow)
        assert result.applied == 3
        assert projection.seen_while_applying == while_applying
        assert await indexes(setup.shadow, setup.shadow.dialect) == both
        assert await rows(setup.shadow) == [("shangdang/sudian", 3, "〔2026〕3号")]
