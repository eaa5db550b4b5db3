"""Event-store throughput: gongkai against the raw database limit and against a peer.

    python -m bench.eventstore [--events N] [--writers 1,4,8,16] [--repeats 3]
                               [--repeat-under SECONDS] [--database-url URL] [--json OUT]

What it measures, with one ~620-byte Chinese JSON payload (a 依申请公开
RequestRegistered) in every event:

- gongkai appends (shared/eventstore.py) on SQLite and on PostgreSQL: single
  (one event per append, a new stream each; N events) and batched (100 events
  per append into one new stream; 10*N events), with 1, 4, 8, 16 concurrent
  writers (asyncio tasks sharing one store, as in a service);
- subscriber catch-up: `read_all` from 0 to the head, 1000 events per call;
- the limit, in the same run on the same server: the same rows inserted into a
  same-shape table by raw asyncpg (1 row/tx; 100 rows/tx by executemany, by
  unnest and by COPY) and by raw sqlite3 / aiosqlite (1 row/tx, 100 rows/tx);
- the peer: the `eventsourcing` library (9.x) saving the same events through
  `Application.save` on the same PostgreSQL server (eventsourcing.postgres) and
  on SQLite (eventsourcing.sqlite), with writer threads;
- ratios gongkai / raw and gongkai / eventsourcing, per writer count.

The database URL comes from --database-url, GONGKAI_BENCH_DATABASE_URL or
GONGKAI_TEST_DATABASE_URL; without one only SQLite runs, and the report says so.
Events and rows are built once, before any timing; every run writes them into a
fresh schema (PostgreSQL) or file (SQLite), dropped right after. This is a
script, never a test: nothing here asserts a speed. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosqlite
import asyncpg

from shared.envelope import Actor, NewEvent, StreamWrite, canonical_json
from shared.eventstore import SqlEventStore, open_postgres_store, open_sqlite_store

try:  # the peer is a dev dependency; without it the peer rows are skipped
    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate, event

    HAVE_EVENTSOURCING = True
except ImportError:  # pragma: no cover - depends on the environment
    HAVE_EVENTSOURCING = False

BATCH = 100  # events per batched append / rows per raw transaction
READ_BATCH = 1000  # events per read_all call during catch-up
POOL_MAX = 10  # shared.db.PostgresDatabase.open's default; every PG pool here uses it
DEFAULT_EVENTS = 1000  # single appends; batched runs use 10x this (keeps a run near 3 min)
DEFAULT_WRITERS = (1, 4, 8, 16)
DEFAULT_REPEAT_UNDER = 1.0  # seconds: a measurement this quick is run --repeats times

TENANT = "js-sz-gusu-shuangta"  # 苏州市姑苏区双塔街道
ACTOR = Actor(id="u-wangfang", kind="user", role="registrar")
STREAM_TYPE = "request"
EVENT_TYPE = "RequestRegistered"


# --- the payload ----------------------------------------------------------------------------


def make_payload(i: int) -> dict[str, Any]:
    """A realistic 依申请公开 registration (services/applications RequestRegistered)."""
    return {
        "request_id": str(uuid.uuid4()),
        "number": f"姑双〔2026〕{i + 1}号",
        "year": 2026,
        "sequence": i + 1,
        "channel": "online",
        "received_on": "2026-03-02",
        "applicant": {
            "kind": "natural_person",
            "name": "王秀英",
            "id_document": "居民身份证 320508199001011234",
            "phone": "13912345678",
            "address": "江苏省苏州市姑苏区人民路1234号",
        },
        "description": "申请公开本街道2025年度老旧小区改造项目的资金分配明细及施工合同金额。",
        "requested_form": "electronic",
        "delivery_channel": "email",
        "reply_due": "2026-03-30",
        "reply_deadline": {"start": "2026-03-02", "working_days": 20, "provisional": False},
    }


PAYLOAD_BYTES = len(canonical_json(make_payload(0)))
ACTOR_JSON = canonical_json(ACTOR.model_dump(mode="json")).decode()


def new_events(count: int) -> list[NewEvent]:
    return [
        NewEvent(type=EVENT_TYPE, tenant=TENANT, actor=ACTOR, payload=make_payload(i))
        for i in range(count)
    ]


def single_appends(count: int) -> list[list[StreamWrite]]:
    """One event per append, each into a new stream (expected_version=0)."""
    return [
        [
            StreamWrite(
                stream_id=f"request-{e.event_id}",
                stream_type=STREAM_TYPE,
                expected_version=0,
                events=(e,),
            )
        ]
        for e in new_events(count)
    ]


def batched_appends(count: int) -> list[list[StreamWrite]]:
    """BATCH events per append, each batch into one new stream."""
    events = new_events(count)
    return [
        [
            StreamWrite(
                stream_id=f"request-{events[i].event_id}",
                stream_type=STREAM_TYPE,
                expected_version=0,
                events=tuple(events[i : i + BATCH]),
            )
        ]
        for i in range(0, count, BATCH)
    ]


def pg_rows(appends: list[list[StreamWrite]]) -> list[tuple[Any, ...]]:
    """The rows gongkai would store, as asyncpg parameters (serialised up front)."""
    now = datetime.now(UTC)
    return [
        (
            e.event_id,
            w.stream_id,
            w.stream_type,
            version,
            e.type,
            e.schema_version,
            e.tenant,
            ACTOR_JSON,
            e.correlation_id,
            e.causation_id,
            e.occurred_at,
            now,
            canonical_json(e.payload).decode(),
        )
        for writes in appends
        for w in writes
        for version, e in enumerate(w.events, start=1)
    ]


def sqlite_rows(appends: list[list[StreamWrite]]) -> list[tuple[Any, ...]]:
    now = datetime.now(UTC).isoformat()
    return [
        (
            str(e.event_id),
            w.stream_id,
            w.stream_type,
            version,
            e.type,
            e.schema_version,
            e.tenant,
            ACTOR_JSON,
            str(e.correlation_id),
            None,
            e.occurred_at.isoformat(),
            now,
            canonical_json(e.payload).decode(),
        )
        for writes in appends
        for w in writes
        for version, e in enumerate(w.events, start=1)
    ]


def chunked(rows: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


# --- the raw tables: gongkai's columns, keys and indexes; no function, lock or trigger ------

RAW_COLUMNS = (
    "event_id",
    "stream_id",
    "stream_type",
    "version",
    "type",
    "schema_version",
    "tenant",
    "actor",
    "correlation_id",
    "causation_id",
    "occurred_at",
    "recorded_at",
    "payload",
)
_COLS = ", ".join(RAW_COLUMNS)

PG_RAW_DDL = [
    """CREATE TABLE raw_events (
        position BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_id UUID NOT NULL UNIQUE,
        stream_id TEXT NOT NULL,
        stream_type TEXT NOT NULL,
        version INTEGER NOT NULL,
        type TEXT NOT NULL,
        schema_version INTEGER NOT NULL,
        tenant TEXT NOT NULL,
        actor JSONB NOT NULL,
        correlation_id UUID NOT NULL,
        causation_id UUID,
        occurred_at TIMESTAMPTZ NOT NULL,
        recorded_at TIMESTAMPTZ NOT NULL,
        payload JSONB NOT NULL,
        UNIQUE (stream_id, version)
    )""",
    "CREATE INDEX raw_events_tenant ON raw_events (tenant, position)",
]
PG_INSERT = (
    f"INSERT INTO raw_events ({_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, "
    "$11, $12, $13::jsonb)"
)
PG_UNNEST = (
    f"INSERT INTO raw_events ({_COLS}) SELECT e, s, st, v, t, sv, tn, a::jsonb, c, ca, o, r, "
    "p::jsonb FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::text[], "
    "$6::int[], $7::text[], $8::text[], $9::uuid[], $10::uuid[], $11::timestamptz[], "
    "$12::timestamptz[], $13::text[]) AS u(e, s, st, v, t, sv, tn, a, c, ca, o, r, p)"
)
PG_READ = f"SELECT position, {_COLS} FROM events WHERE position > $1 ORDER BY position LIMIT $2"

SQLITE_RAW_DDL = [
    """CREATE TABLE raw_events (
        position INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL UNIQUE,
        stream_id TEXT NOT NULL,
        stream_type TEXT NOT NULL,
        version INTEGER NOT NULL,
        type TEXT NOT NULL,
        schema_version INTEGER NOT NULL,
        tenant TEXT NOT NULL,
        actor TEXT NOT NULL,
        correlation_id TEXT NOT NULL,
        causation_id TEXT,
        occurred_at TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        payload TEXT NOT NULL,
        UNIQUE (stream_id, version)
    )""",
    "CREATE INDEX raw_events_tenant ON raw_events (tenant, position)",
]
SQLITE_INSERT = f"INSERT INTO raw_events ({_COLS}) VALUES ({', '.join('?' * len(RAW_COLUMNS))})"
SQLITE_READ = f"SELECT position, {_COLS} FROM events WHERE position > ? ORDER BY position LIMIT ?"
SQLITE_PRAGMAS = [  # the same as shared.db.SqliteDatabase
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=10000",
    "PRAGMA foreign_keys=ON",
]


# --- the peer: eventsourcing ---------------------------------------------------------------

if HAVE_EVENTSOURCING:

    class Request(Aggregate):
        """The same registration as an eventsourcing aggregate: tenant, actor, payload."""

        @event("Registered")
        def __init__(self, tenant: str, actor: dict[str, Any], payload: dict[str, Any]) -> None:
            self.tenant = tenant
            self.payload = payload

        @event("Amended")
        def amend(self, tenant: str, actor: dict[str, Any], payload: dict[str, Any]) -> None:
            self.payload = payload

    class BenchApp(Application):  # type: ignore[type-arg]
        name = "GongkaiBench"


def es_saves(count: int, per_save: int) -> list[list[Any]]:
    """The events of count // per_save new aggregates, per_save events each, one list per save.

    Saving an aggregate's events (`app.save(*events)`) runs the same path as saving the
    aggregate (mapper, transcoder, recorder), and the events can be saved again into
    another fresh database, so they are built once per run of the script.
    """
    actor = ACTOR.model_dump(mode="json")
    saves: list[list[Any]] = []
    for start in range(0, count, per_save):
        agg = Request(TENANT, actor, make_payload(start))
        for i in range(start + 1, min(start + per_save, count)):
            agg.amend(TENANT, actor, make_payload(i))
        saves.append(list(agg.collect_events()))
    return saves


def es_pg_env(url: str, schema: str, writers: int) -> dict[str, str]:
    parts = urlsplit(url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(parts.path.lstrip("/")) or "postgres",
        "POSTGRES_HOST": parts.hostname or "localhost",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_POOL_SIZE": str(min(writers, POOL_MAX)),
        "POSTGRES_MAX_OVERFLOW": "0",
        "CREATE_TABLE": "y",
    }


def es_sqlite_env(path: Path) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(path),
        "CREATE_TABLE": "y",
    }


def run_threads(items: Sequence[Any], writers: int, fn: Callable[[Any], Any]) -> float:
    """Split items round-robin over `writers` threads; return the wall time of all of them."""
    chunks = [items[i::writers] for i in range(writers)]
    barrier = threading.Barrier(writers + 1)

    def worker(chunk: Sequence[Any]) -> None:
        barrier.wait()
        for item in chunk:
            fn(item)

    with ThreadPoolExecutor(max_workers=writers) as pool:
        futures = [pool.submit(worker, c) for c in chunks]
        gc.collect()
        barrier.wait()
        started = time.perf_counter()
        for f in futures:
            f.result()
        return time.perf_counter() - started


async def run_tasks(
    items: Sequence[Any], writers: int, fn: Callable[[Any], Awaitable[Any]]
) -> float:
    """Split items round-robin over `writers` asyncio tasks; return their wall time."""
    chunks = [items[i::writers] for i in range(writers)]

    async def worker(chunk: Sequence[Any]) -> None:
        for item in chunk:
            await fn(item)

    gc.collect()
    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in chunks))
    return time.perf_counter() - started


def warm_size(single: bool, writers: int) -> int:
    """Warm-up events: enough to open every pool connection and prepare every statement."""
    busy = min(writers, POOL_MAX)
    return max(50, 5 * busy) if single else BATCH * max(2, busy)


async def gongkai_read(store: SqlEventStore) -> int:
    """A subscriber catching up: read_all from 0 until it comes back empty."""
    position, n = 0, 0
    while events := await store.read_all(position, READ_BATCH):
        n += len(events)
        position = events[-1].position
    return n


# --- results -------------------------------------------------------------------------------


@dataclass
class Result:
    backend: str  # postgres | sqlite
    group: str  # single | batched | catch-up
    key: str  # gongkai | raw-... | eventsourcing
    label: str
    writers: int
    events: int  # events per run
    runs: list[float] = field(default_factory=list)  # events/s, one per run
    first_seconds: float = 0.0  # the first run's timed section

    @property
    def median(self) -> float:
        return statistics.median(self.runs)


Hook = Callable[..., Any]


@dataclass
class Spec:
    """One measurement: `run(after)` does one run in a fresh store and returns its seconds."""

    backend: str
    group: str
    key: str
    label: str
    writers: int
    count: int
    run: Callable[[Hook | None], Awaitable[float]]
    after: Hook | None = None  # called on the filled store of the first run (catch-up)


@dataclass
class Bench:
    events: int
    writers: list[int]
    repeats: int
    repeat_under: float
    url: str | None
    results: list[Result] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tmpdir: Path | None = None  # made on first use, removed at the end
    schemas: set[str] = field(default_factory=set)
    token: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    _seq: int = 0
    _data: dict[tuple[Any, ...], Any] = field(default_factory=dict)

    @property
    def batched_events(self) -> int:
        return self.events * 10

    # -- the data: built once, before any timing; every run writes it to a fresh store ---

    def _memo(self, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        if key not in self._data:
            self._data[key] = build()
        return self._data[key]

    def appends(self, single: bool, warm: int | None = None) -> list[list[StreamWrite]]:
        """The timed appends, or (warm=n) a separate warm-up set of n events."""
        n = warm if warm is not None else self.events if single else self.batched_events
        build = single_appends if single else batched_appends
        return self._memo(("appends", single, warm), lambda: build(n))  # type: ignore[no-any-return]

    def rows(self, dialect: str, single: bool, warm: int | None = None) -> list[tuple[Any, ...]]:
        """The same events as rows for the raw inserts."""
        to_rows = pg_rows if dialect == "postgres" else sqlite_rows
        return self._memo(  # type: ignore[no-any-return]
            ("rows", dialect, single, warm), lambda: to_rows(self.appends(single, warm))
        )

    def es_events(self, single: bool, warm: int | None = None) -> list[list[Any]]:
        n = warm if warm is not None else self.events if single else self.batched_events
        per_save = 1 if single else BATCH
        return self._memo(("es", single, warm), lambda: es_saves(n, per_save))  # type: ignore[no-any-return]

    def prepare(self, postgres: bool) -> None:
        """Build every data set up front, then freeze it out of the garbage collector."""
        for single in (True, False):
            self.appends(single)
            self.rows("sqlite", single)
            if postgres:
                self.rows("postgres", single)
            if HAVE_EVENTSOURCING:
                self.es_events(single)
            for w in {*self.writers, 1}:
                warm = warm_size(single, w)
                self.rows("sqlite", single, warm)
                if postgres:
                    self.rows("postgres", single, warm)
                if HAVE_EVENTSOURCING:
                    self.es_events(single, warm)
        gc.collect()
        gc.freeze()

    # -- measuring -----------------------------------------------------------------------

    def _say(self, result: Result, value: float, note: str) -> None:
        print(
            f"  {result.backend:<8} {result.group:<8} {result.label:<46} w={result.writers:<3} "
            f"{value:>10,.0f} ev/s  ({note})",
            file=sys.stderr,
            flush=True,
        )

    async def run_rounds(self, plan: list[Spec]) -> None:
        """Round 1 runs every measurement; rounds 2..repeats run again those whose first run
        took less than repeat_under seconds. Spreading a measurement's runs over the whole
        script means a burst of other work on the host spoils one of its runs, not all."""
        results: dict[int, Result] = {}
        for round_no in range(1, self.repeats + 1):
            for i, spec in enumerate(plan):
                result = results.get(i)
                if result is not None and result.first_seconds >= self.repeat_under:
                    continue
                seconds = await spec.run(spec.after if result is None else None)
                if result is None:
                    result = Result(
                        spec.backend,
                        spec.group,
                        spec.key,
                        spec.label,
                        spec.writers,
                        spec.count,
                        first_seconds=seconds,
                    )
                    results[i] = result
                    self.results.append(result)
                result.runs.append(spec.count / seconds)
                self._say(result, result.runs[-1], f"round {round_no}, {seconds:.1f} s")

    async def measure(
        self,
        backend: str,
        group: str,
        key: str,
        label: str,
        writers: int,
        count: int,
        run: Callable[[], Awaitable[float]],
    ) -> None:
        """Catch-up reads: back to back on the one filled store, repeated when cheap."""
        result = Result(backend, group, key, label, writers, count)
        result.first_seconds = await run()
        result.runs.append(count / result.first_seconds)
        if result.first_seconds < self.repeat_under:
            for _ in range(self.repeats - 1):
                result.runs.append(count / await run())
        self.results.append(result)
        self._say(result, result.median, f"median of {len(result.runs)}")

    def measure_sync(
        self,
        backend: str,
        group: str,
        key: str,
        label: str,
        writers: int,
        count: int,
        run: Callable[[], float],
    ) -> None:
        result = Result(backend, group, key, label, writers, count)
        result.first_seconds = run()
        result.runs.append(count / result.first_seconds)
        if result.first_seconds < self.repeat_under:
            for _ in range(self.repeats - 1):
                result.runs.append(count / run())
        self.results.append(result)
        self._say(result, result.median, f"median of {len(result.runs)}")

    def fresh_name(self, what: str) -> str:
        self._seq += 1
        return f"gkbench_{self.token}_{what}_{self._seq}"

    # -- PostgreSQL ----------------------------------------------------------------------

    async def new_schema(self, what: str) -> str:
        assert self.url is not None
        schema = self.fresh_name(what)
        self.schemas.add(schema)
        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute(f"CREATE SCHEMA {schema}")
        finally:
            await conn.close()
        return schema

    async def drop_schema(self, schema: str) -> None:
        assert self.url is not None
        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await conn.close()
        self.schemas.discard(schema)

    async def drop_all_schemas(self) -> None:
        for schema in list(self.schemas):
            with contextlib.suppress(Exception):
                await self.drop_schema(schema)

    async def pg_gongkai(self, mode: str, writers: int, after: Hook | None) -> float:
        single = mode == "single"
        warm = self.appends(single, warm_size(single, writers))
        items = self.appends(single)
        schema = await self.new_schema("gk")
        store = await open_postgres_store(self.url or "", schema=schema, listen=False)
        try:
            await run_tasks(warm, writers, store.append)
            elapsed = await run_tasks(items, writers, store.append)
            total = sum(len(w.events) for ws in warm + items for w in ws)
            assert await store.count() == total, "gongkai lost or duplicated events"
            if after is not None:
                await after(store, total)
            return elapsed
        finally:
            await store.close()
            await self.drop_schema(schema)

    async def pg_catch_up(self, store: SqlEventStore, total: int) -> None:
        """read_all from 0 to the head, READ_BATCH per call; then the same SELECT, raw."""

        async def gongkai() -> float:
            started = time.perf_counter()
            n = await gongkai_read(store)
            elapsed = time.perf_counter() - started
            assert n == total, (n, total)
            return elapsed

        pool = store.db.pool  # type: ignore[attr-defined]

        async def raw() -> float:
            started = time.perf_counter()
            position, n = 0, 0
            while rows := await pool.fetch(PG_READ, position, READ_BATCH):
                n += len(rows)
                position = rows[-1]["position"]
            elapsed = time.perf_counter() - started
            assert n == total, (n, total)
            return elapsed

        await gongkai()  # warm-up: plans, caches, prepared statements
        await raw()
        await self.measure("postgres", "catch-up", "gongkai", "gongkai read_all", 1, total, gongkai)
        await self.measure(
            "postgres",
            "catch-up",
            "raw",
            "raw asyncpg SELECT (no decoding)",
            1,
            total,
            raw,
        )

    async def pg_raw(self, mode: str, writers: int, after: Hook | None = None) -> float:
        single = mode == "insert"
        warm_rows = self.rows("postgres", single, warm_size(single, writers))
        rows = self.rows("postgres", single)
        schema = await self.new_schema("raw")
        admin = await asyncpg.connect(self.url, server_settings={"search_path": schema})
        try:
            for ddl in PG_RAW_DDL:
                await admin.execute(ddl)
        finally:
            await admin.close()
        pool = await asyncpg.create_pool(
            self.url, min_size=1, max_size=POOL_MAX, server_settings={"search_path": schema}
        )
        assert pool is not None

        async def insert(row: tuple[Any, ...]) -> None:
            await pool.execute(PG_INSERT, *row)

        async def many(batch: Sequence[tuple[Any, ...]]) -> None:
            async with pool.acquire() as conn, conn.transaction():
                await conn.executemany(PG_INSERT, batch)

        async def unnest(batch: Sequence[tuple[Any, ...]]) -> None:
            await pool.execute(PG_UNNEST, *(list(c) for c in zip(*batch, strict=True)))

        async def copy(batch: Sequence[tuple[Any, ...]]) -> None:
            async with pool.acquire() as conn:
                await conn.copy_records_to_table(
                    "raw_events", records=batch, columns=RAW_COLUMNS, schema_name=schema
                )

        fn = {"insert": insert, "executemany": many, "unnest": unnest, "copy": copy}[mode]
        try:
            await run_tasks(warm_rows if single else chunked(warm_rows, BATCH), writers, fn)
            elapsed = await run_tasks(rows if single else chunked(rows, BATCH), writers, fn)
            stored = await pool.fetchval("SELECT count(*) FROM raw_events")
            assert stored == len(warm_rows) + len(rows), "raw insert lost rows"
            return elapsed
        finally:
            await pool.close()
            await self.drop_schema(schema)

    async def pg_eventsourcing(self, per_save: int, writers: int, after: Hook | None) -> float:
        single = per_save == 1
        warm = self.es_events(single, warm_size(single, writers))
        saves = self.es_events(single)
        schema = await self.new_schema("es")
        env = es_pg_env(self.url or "", schema, writers)

        def run() -> float:
            app = BenchApp(env=env)
            try:
                run_threads(warm, writers, lambda events: app.save(*events))
                elapsed = run_threads(saves, writers, lambda events: app.save(*events))
                total = (len(warm) + len(saves)) * per_save
                assert app.recorder.max_notification_id() == total, "eventsourcing lost events"
                if after is not None:
                    after(app, "postgres", total)
                return elapsed
            finally:
                app.close()

        try:
            return await asyncio.to_thread(run)
        finally:
            await self.drop_schema(schema)

    def es_catch_up(self, app: Any, backend: str, total: int) -> None:
        """select_notifications + mapper.to_domain_event, READ_BATCH per call."""

        def read() -> float:
            started = time.perf_counter()
            last, n = 0, 0
            while notes := app.recorder.select_notifications(
                last, READ_BATCH, inclusive_of_start=False
            ):
                for note in notes:
                    app.mapper.to_domain_event(note)
                n += len(notes)
                last = notes[-1].id
            elapsed = time.perf_counter() - started
            assert n == total, (n, total)
            return elapsed

        read()  # warm-up
        self.measure_sync(
            backend,
            "catch-up",
            "eventsourcing",
            "eventsourcing select_notifications + decode",
            1,
            total,
            read,
        )

    # -- SQLite --------------------------------------------------------------------------

    def new_file(self, what: str) -> Path:
        if self.tmpdir is None:
            self.tmpdir = Path(tempfile.mkdtemp(prefix="gongkai-bench-"))
        return self.tmpdir / f"{self.fresh_name(what)}.db"

    @staticmethod
    def remove_file(path: Path) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    async def sqlite_gongkai(self, mode: str, writers: int, after: Hook | None) -> float:
        single = mode == "single"
        warm = self.appends(single, warm_size(single, writers))
        items = self.appends(single)
        path = self.new_file("gk")
        store = await open_sqlite_store(str(path), name="bench")
        try:
            await run_tasks(warm, writers, store.append)
            elapsed = await run_tasks(items, writers, store.append)
            total = sum(len(w.events) for ws in warm + items for w in ws)
            assert await store.count() == total, "gongkai lost or duplicated events"
            if after is not None:
                await after(store, path, total)
            return elapsed
        finally:
            await store.close()
            self.remove_file(path)

    async def sqlite_catch_up(self, store: SqlEventStore, path: Path, total: int) -> None:
        async def gongkai() -> float:
            started = time.perf_counter()
            n = await gongkai_read(store)
            elapsed = time.perf_counter() - started
            assert n == total, (n, total)
            return elapsed

        conn = sqlite3.connect(path)

        def raw() -> float:
            started = time.perf_counter()
            position, n = 0, 0
            while rows := conn.execute(SQLITE_READ, (position, READ_BATCH)).fetchall():
                n += len(rows)
                position = rows[-1][0]
            elapsed = time.perf_counter() - started
            assert n == total, (n, total)
            return elapsed

        try:
            await gongkai()
            raw()
            await self.measure(
                "sqlite", "catch-up", "gongkai", "gongkai read_all", 1, total, gongkai
            )
            self.measure_sync(
                "sqlite", "catch-up", "raw", "raw sqlite3 SELECT (no decoding)", 1, total, raw
            )
        finally:
            conn.close()

    def sqlite_raw(self, single: bool) -> float:
        """Raw sqlite3 on one connection (SQLite has one writer at a time), gongkai's pragmas."""
        warm_rows = self.rows("sqlite", single, warm_size(single, 1))
        rows = self.rows("sqlite", single)
        path = self.new_file("raw")
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            for statement in SQLITE_PRAGMAS + SQLITE_RAW_DDL:
                conn.execute(statement)

            def one(row: Any) -> None:
                conn.execute(SQLITE_INSERT, row)

            def many(batch: Any) -> None:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(SQLITE_INSERT, batch)
                conn.execute("COMMIT")

            fn = one if single else many
            for item in warm_rows if single else chunked(warm_rows, BATCH):
                fn(item)
            timed = rows if single else chunked(rows, BATCH)
            gc.collect()
            started = time.perf_counter()
            for item in timed:
                fn(item)
            elapsed = time.perf_counter() - started
            stored = conn.execute("SELECT count(*) FROM raw_events").fetchone()[0]
            assert stored == len(warm_rows) + len(rows), "raw insert lost rows"
            return elapsed
        finally:
            conn.close()
            self.remove_file(path)

    async def aiosqlite_raw(self, single: bool, writers: int, after: Hook | None = None) -> float:
        """Raw aiosqlite, the same statements as raw sqlite3: what the thread hop costs."""
        warm_rows = self.rows("sqlite", single, warm_size(single, writers))
        rows = self.rows("sqlite", single)
        path = self.new_file("aio")
        conn = await aiosqlite.connect(str(path), isolation_level=None)
        lock = asyncio.Lock()  # one writer connection, serialised, as shared.db does
        try:
            for statement in SQLITE_PRAGMAS + SQLITE_RAW_DDL:
                await conn.execute(statement)

            async def one(row: tuple[Any, ...]) -> None:
                async with lock:
                    await conn.execute(SQLITE_INSERT, row)

            async def many(batch: Sequence[tuple[Any, ...]]) -> None:
                async with lock:
                    await conn.execute("BEGIN IMMEDIATE")
                    await conn.executemany(SQLITE_INSERT, batch)
                    await conn.execute("COMMIT")

            fn = one if single else many
            await run_tasks(warm_rows if single else chunked(warm_rows, BATCH), writers, fn)
            elapsed = await run_tasks(rows if single else chunked(rows, BATCH), writers, fn)
            async with conn.execute("SELECT count(*) FROM raw_events") as cur:
                stored = (await cur.fetchone())[0]  # type: ignore[index]
            assert stored == len(warm_rows) + len(rows), "raw insert lost rows"
            return elapsed
        finally:
            await conn.close()
            self.remove_file(path)

    def sqlite_eventsourcing(self, per_save: int, writers: int, after: Hook | None) -> float:
        single = per_save == 1
        warm = self.es_events(single, warm_size(single, writers))
        saves = self.es_events(single)
        path = self.new_file("es")
        app = BenchApp(env=es_sqlite_env(path))
        try:
            run_threads(warm, writers, lambda events: app.save(*events))
            elapsed = run_threads(saves, writers, lambda events: app.save(*events))
            total = (len(warm) + len(saves)) * per_save
            assert app.recorder.max_notification_id() == total, "eventsourcing lost events"
            if after is not None:
                after(app, "sqlite", total)
            return elapsed
        finally:
            app.close()
            self.remove_file(path)

    # -- the run -------------------------------------------------------------------------

    async def sqlite_es(self, per_save: int, writers: int, after: Hook | None) -> float:
        return await asyncio.to_thread(self.sqlite_eventsourcing, per_save, writers, after)

    async def sqlite_raw_run(self, single: bool, after: Hook | None = None) -> float:
        return self.sqlite_raw(single)

    def plan_postgres(self) -> list[Spec]:
        plan: list[Spec] = []
        for w in self.writers:
            # Catch-up reads the stores that the first writer count's batched runs filled.
            first = w == self.writers[0]
            n1, nb = self.events, self.batched_events
            plan += [
                Spec(
                    "postgres",
                    "single",
                    "gongkai",
                    "gongkai append",
                    w,
                    n1,
                    partial(self.pg_gongkai, "single", w),
                ),
                Spec(
                    "postgres",
                    "single",
                    "raw-insert",
                    "raw asyncpg INSERT, 1 row/tx",
                    w,
                    n1,
                    partial(self.pg_raw, "insert", w),
                ),
                Spec(
                    "postgres",
                    "single",
                    "eventsourcing",
                    "eventsourcing save, 1 event/save (threads)",
                    w,
                    n1,
                    partial(self.pg_eventsourcing, 1, w),
                ),
                Spec(
                    "postgres",
                    "batched",
                    "gongkai",
                    "gongkai append",
                    w,
                    nb,
                    partial(self.pg_gongkai, "batched", w),
                    self.pg_catch_up if first else None,
                ),
                Spec(
                    "postgres",
                    "batched",
                    "raw-executemany",
                    f"raw asyncpg executemany, {BATCH} rows/tx",
                    w,
                    nb,
                    partial(self.pg_raw, "executemany", w),
                ),
                Spec(
                    "postgres",
                    "batched",
                    "raw-unnest",
                    f"raw asyncpg INSERT..unnest, {BATCH} rows/tx",
                    w,
                    nb,
                    partial(self.pg_raw, "unnest", w),
                ),
                Spec(
                    "postgres",
                    "batched",
                    "raw-copy",
                    f"raw asyncpg COPY, {BATCH} rows/tx",
                    w,
                    nb,
                    partial(self.pg_raw, "copy", w),
                ),
                Spec(
                    "postgres",
                    "batched",
                    "eventsourcing",
                    f"eventsourcing save, {BATCH} events/save (threads)",
                    w,
                    nb,
                    partial(self.pg_eventsourcing, BATCH, w),
                    self.es_catch_up if first else None,
                ),
            ]
        return [s for s in plan if HAVE_EVENTSOURCING or s.key != "eventsourcing"]

    def plan_sqlite(self) -> list[Spec]:
        n1, nb = self.events, self.batched_events
        # Raw sqlite3 runs with one writer: SQLite has one writer at a time.
        plan = [
            Spec(
                "sqlite",
                "single",
                "raw-sqlite3",
                "raw sqlite3 INSERT, 1 row/tx",
                1,
                n1,
                partial(self.sqlite_raw_run, True),
            ),
            Spec(
                "sqlite",
                "batched",
                "raw-sqlite3",
                f"raw sqlite3 executemany, {BATCH} rows/tx",
                1,
                nb,
                partial(self.sqlite_raw_run, False),
            ),
        ]
        for w in self.writers:
            first = w == self.writers[0]
            plan += [
                Spec(
                    "sqlite",
                    "single",
                    "gongkai",
                    "gongkai append",
                    w,
                    n1,
                    partial(self.sqlite_gongkai, "single", w),
                ),
                Spec(
                    "sqlite",
                    "single",
                    "raw-aiosqlite",
                    "raw aiosqlite INSERT, 1 row/tx",
                    w,
                    n1,
                    partial(self.aiosqlite_raw, True, w),
                ),
                Spec(
                    "sqlite",
                    "single",
                    "eventsourcing",
                    "eventsourcing save, 1 event/save (threads)",
                    w,
                    n1,
                    partial(self.sqlite_es, 1, w),
                ),
                Spec(
                    "sqlite",
                    "batched",
                    "gongkai",
                    "gongkai append",
                    w,
                    nb,
                    partial(self.sqlite_gongkai, "batched", w),
                    self.sqlite_catch_up if first else None,
                ),
                Spec(
                    "sqlite",
                    "batched",
                    "raw-aiosqlite",
                    f"raw aiosqlite executemany, {BATCH} rows/tx",
                    w,
                    nb,
                    partial(self.aiosqlite_raw, False, w),
                ),
                Spec(
                    "sqlite",
                    "batched",
                    "eventsourcing",
                    f"eventsourcing save, {BATCH} events/save (threads)",
                    w,
                    nb,
                    partial(self.sqlite_es, BATCH, w),
                    self.es_catch_up if first else None,
                ),
            ]
        return [s for s in plan if HAVE_EVENTSOURCING or s.key != "eventsourcing"]


# --- the machine ---------------------------------------------------------------------------


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory() -> str:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def _load() -> str:
    with contextlib.suppress(OSError):
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    return "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _psycopg_impl() -> str:
    try:
        import psycopg

        return str(psycopg.pq.__impl__)  # python (ctypes), c or binary
    except ImportError:
        return "none"


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


async def machine(url: str | None) -> dict[str, Any]:
    info: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory": _memory(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "asyncpg": _version("asyncpg"),
        "aiosqlite": _version("aiosqlite"),
        "eventsourcing": _version("eventsourcing"),
        "psycopg": _version("psycopg"),
        "psycopg_impl": _psycopg_impl(),
        "postgres": None,
        "load_average_start": _load(),
    }
    if url:
        conn = await asyncpg.connect(url)
        try:
            info["postgres"] = await conn.fetchval("SELECT version()")
            info["postgres_settings"] = {
                name: await conn.fetchval(f"SHOW {name}")
                for name in (
                    "fsync",
                    "synchronous_commit",
                    "wal_sync_method",
                    "shared_buffers",
                    "max_connections",
                )
            }
        finally:
            await conn.close()
        host = urlsplit(url).hostname or ""
        info["postgres_host"] = (
            "same machine" if host in {"127.0.0.1", "localhost", "::1", ""} else host
        )
    return info


# --- the report ----------------------------------------------------------------------------

# (group, numerator key, denominator key, label), computed per writer column.
RATIOS = {
    "postgres": [
        ("single", "gongkai", "raw-insert", "gongkai / raw INSERT"),
        ("single", "gongkai", "eventsourcing", "gongkai / eventsourcing"),
        ("batched", "gongkai", "raw-executemany", "gongkai / raw executemany"),
        ("batched", "gongkai", "raw-unnest", "gongkai / raw unnest"),
        ("batched", "gongkai", "raw-copy", "gongkai / raw COPY"),
        ("batched", "gongkai", "eventsourcing", "gongkai / eventsourcing"),
        ("catch-up", "gongkai", "raw", "gongkai / raw SELECT"),
        ("catch-up", "gongkai", "eventsourcing", "gongkai / eventsourcing"),
    ],
    "sqlite": [
        ("single", "gongkai", "raw-sqlite3", "gongkai / raw sqlite3 (its 1 writer)"),
        ("single", "gongkai", "raw-aiosqlite", "gongkai / raw aiosqlite"),
        ("single", "gongkai", "eventsourcing", "gongkai / eventsourcing"),
        ("batched", "gongkai", "raw-sqlite3", "gongkai / raw sqlite3 (its 1 writer)"),
        ("batched", "gongkai", "raw-aiosqlite", "gongkai / raw aiosqlite"),
        ("batched", "gongkai", "eventsourcing", "gongkai / eventsourcing"),
        ("catch-up", "gongkai", "raw", "gongkai / raw SELECT"),
        ("catch-up", "gongkai", "eventsourcing", "gongkai / eventsourcing"),
    ],
}

GROUP_TITLES = {
    "single": "single appends: 1 event per append, a new stream each (events/s)",
    "batched": f"batched appends: {BATCH} events per append into one new stream (events/s)",
    "catch-up": f"catch-up: read 0 -> head, {READ_BATCH} events per call, 1 reader (events/s)",
}


def _rank(key: str) -> int:
    return 0 if key == "gongkai" else 2 if key == "eventsourcing" else 1


def compute_ratios(bench: Bench) -> list[dict[str, Any]]:
    index = {(r.backend, r.group, r.key, r.writers): r.median for r in bench.results}
    out = []
    for backend, specs in RATIOS.items():
        for group, num, den, label in specs:
            for w in [1] if group == "catch-up" else bench.writers:
                a = index.get((backend, group, num, w))
                b = index.get((backend, group, den, w))
                if b is None and den == "raw-sqlite3":
                    b = index.get((backend, group, den, 1))  # raw sqlite3 runs 1 writer only
                if a and b:
                    out.append(
                        {
                            "backend": backend,
                            "group": group,
                            "label": label,
                            "writers": w,
                            "ratio": a / b,
                        }
                    )
    return out


def _cell(result: Result | None) -> str:
    if result is None:
        return "—"
    return f"{result.median:,.0f}" + ("" if len(result.runs) > 1 else "*")


def render(bench: Bench, info: dict[str, Any], ratios: list[dict[str, Any]], elapsed: float) -> str:
    lines = ["", "gongkai event store benchmark", "=============================", ""]
    lines += [
        f"date        {info['date']}",
        f"cpu         {info['cpu']} — {info['cores']} cores, {info['memory']} memory",
        f"os          {info['os']}",
        f"load        {info['load_average_start']} at start, {info['load_average_end']} at end "
        "(1/5/15 min; other work on the host shows here)",
        f"python      {info['python']}; asyncpg {info['asyncpg']}, aiosqlite "
        f"{info['aiosqlite']}, eventsourcing {info['eventsourcing']}, psycopg "
        f"{info['psycopg']} ({info['psycopg_impl']} implementation)",
        f"sqlite      {info['sqlite']} (gongkai and raw: WAL, synchronous=NORMAL)",
    ]
    if info.get("postgres"):
        s = info["postgres_settings"]
        lines.append(f"postgresql  {info['postgres']}")
        lines.append(
            f"            on the {info['postgres_host']}; fsync={s['fsync']}, "
            f"synchronous_commit={s['synchronous_commit']}, wal_sync_method="
            f"{s['wal_sync_method']}, shared_buffers={s['shared_buffers']}"
        )
    else:
        lines.append("postgresql  skipped")
    lines += [
        f"payload     {PAYLOAD_BYTES} bytes of canonical JSON (a RequestRegistered, Chinese text)",
        f"events      {bench.events:,} single appends and {bench.batched_events:,} batched "
        f"events per run; PG pools hold at most {POOL_MAX} connections",
        f"runs        median of {bench.repeats} runs, one per round over the whole suite, for "
        f"measurements whose first run took < {bench.repeat_under:g} s; * = run once",
        "",
    ]
    lines += [f"NOTE: {note}" for note in bench.notes]
    if bench.notes:
        lines.append("")

    index = {(r.backend, r.group, r.key, r.writers): r for r in bench.results}
    rindex = {(x["backend"], x["group"], x["label"], x["writers"]): x["ratio"] for x in ratios}
    width = 50
    for backend in ("postgres", "sqlite"):
        rows = [r for r in bench.results if r.backend == backend]
        if not rows:
            continue
        lines.append("PostgreSQL" if backend == "postgres" else "SQLite")
        for group in ("single", "batched", "catch-up"):
            columns = [1] if group == "catch-up" else bench.writers
            lines.append(f"  {GROUP_TITLES[group]}")
            if group != "catch-up":
                lines.append(f"    {'writers':<{width}}" + "".join(f"{w:>10}" for w in columns))
            seen: dict[str, str] = {}
            for r in sorted(rows, key=lambda r: _rank(r.key)):
                if r.group == group:
                    seen.setdefault(r.key, r.label)
            for key, label in seen.items():
                lines.append(
                    f"    {label:<{width}}"
                    + "".join(f"{_cell(index.get((backend, group, key, w))):>10}" for w in columns)
                )
            for g, _num, _den, label in RATIOS[backend]:
                values = [rindex.get((backend, g, label, w)) for w in columns]
                if g == group and any(v is not None for v in values):
                    lines.append(
                        f"    {'ratio ' + label:<{width}}"
                        + "".join(f"{'—' if v is None else f'{v:.2f}':>10}" for v in values)
                    )
            lines.append("")
    lines.append(f"total wall time {elapsed:.0f} s")
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.eventstore",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--events",
        type=int,
        default=DEFAULT_EVENTS,
        help=f"single appends per run; batched runs use 10x (default {DEFAULT_EVENTS})",
    )
    p.add_argument(
        "--writers",
        default=",".join(map(str, DEFAULT_WRITERS)),
        help="concurrent writer counts (default 1,4,8,16)",
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="runs per cheap measurement; the median is reported (default 3)",
    )
    p.add_argument(
        "--repeat-under",
        type=float,
        default=DEFAULT_REPEAT_UNDER,
        metavar="SECONDS",
        help="a measurement is cheap, and repeated, when its first run takes less "
        f"(default {DEFAULT_REPEAT_UNDER:g}; a large value repeats everything)",
    )
    p.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL URL (else GONGKAI_BENCH_DATABASE_URL, then "
        "GONGKAI_TEST_DATABASE_URL; with none, SQLite only)",
    )
    p.add_argument(
        "--json",
        dest="json_out",
        default=None,
        metavar="OUT",
        help="also write the results as JSON to OUT",
    )
    args = p.parse_args(argv)
    try:
        args.writers = sorted({int(w) for w in args.writers.split(",") if w.strip()})
    except ValueError:
        p.error("--writers must be a comma-separated list of integers, e.g. 1,4,8,16")
    if args.events < BATCH or args.events % BATCH:
        p.error(f"--events must be a positive multiple of {BATCH}")
    if not args.writers or min(args.writers) < 1:
        p.error("--writers must list positive integers")
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    return args


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    # SIGTERM cancels the run like Ctrl-C does, so the cleanup below still drops what it made.
    task = asyncio.current_task()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        if task is not None:
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    url = (
        args.database_url
        or os.environ.get("GONGKAI_BENCH_DATABASE_URL")
        or os.environ.get("GONGKAI_TEST_DATABASE_URL")
    )
    bench = Bench(
        events=args.events,
        writers=args.writers,
        repeats=args.repeats,
        repeat_under=args.repeat_under,
        url=url,
    )
    if not url:
        bench.notes.append(
            "PostgreSQL skipped: no database URL (pass --database-url, or set "
            "GONGKAI_BENCH_DATABASE_URL or GONGKAI_TEST_DATABASE_URL)."
        )
    if not HAVE_EVENTSOURCING:
        bench.notes.append(
            "eventsourcing rows skipped: the package is not installed "
            "(pip install 'eventsourcing[postgres]', part of the dev extra)."
        )
    for note in bench.notes:
        print(f"NOTE: {note}", file=sys.stderr)
    started = time.perf_counter()
    info = await machine(url)
    bench.prepare(postgres=bool(url))
    try:
        await bench.run_rounds((bench.plan_postgres() if url else []) + bench.plan_sqlite())
    finally:
        if url:
            await bench.drop_all_schemas()
        if bench.tmpdir is not None:
            shutil.rmtree(bench.tmpdir, ignore_errors=True)
    elapsed = time.perf_counter() - started
    info["load_average_end"] = _load()
    ratios = compute_ratios(bench)
    print(render(bench, info, ratios, elapsed))
    return {
        "machine": info,
        "config": {
            "command": " ".join(["python", "-m", "bench.eventstore", *sys.argv[1:]]),
            "events_single": bench.events,
            "events_batched": bench.batched_events,
            "batch": BATCH,
            "read_batch": READ_BATCH,
            "writers": bench.writers,
            "repeats": bench.repeats,
            "repeat_under_seconds": bench.repeat_under,
            "payload_bytes": PAYLOAD_BYTES,
            "pg_pool_max": POOL_MAX,
            "database_url": redact(url) if url else None,
        },
        "notes": bench.notes,
        "results": [{**asdict(r), "median": r.median} for r in bench.results],
        "ratios": ratios,
        "wall_seconds": round(elapsed, 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        doc = asyncio.run(amain(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted; the schemas and files made so far were removed", file=sys.stderr)
        return 130
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
