"""The event store: append-only streams with optimistic concurrency and one global log.

One port (`EventStore`), two adapters on the SQL port (SQLite, PostgreSQL),
and one conformance suite (tests/integration/test_eventstore_conformance.py)
that both pass unchanged.

Ordering guarantee: positions become visible in position order. Readers tail
the log with `position > checkpoint` and can never skip an event. On
PostgreSQL a sequence alone does not give this (two transactions may commit
out of the order in which they drew positions, and a tailing reader that saw
the later one would skip the earlier one forever); appends therefore take a
transaction-scoped advisory lock before they draw positions, so positions
commit in order. See docs/architecture.md "Ordering" for the trade-off.

Group commit (PostgreSQL): the lock is held until the commit's WAL flush, so appends
that each paid their own flush would run one flush at a time. Appends that arrive while
one is in flight are therefore combined by `_GroupCommit` into one call of the append
function (one transaction, one flush) as long as they name different streams; each
caller still gets its own records or its own refusal (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg
import orjson

from shared import tracing
from shared.db import Database, PostgresDatabase, Row, SqliteDatabase
from shared.envelope import RecordedEvent, StreamWrite, canonical_json
from shared.errors import ConcurrencyConflict
from shared.rows import COLUMNS as _COLUMNS
from shared.rows import new_record, parse_time, record_of, stored_actor


class EventStore(Protocol):
    async def append(self, writes: Sequence[StreamWrite]) -> list[RecordedEvent]: ...
    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]: ...
    async def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]: ...
    async def read_all_rows(self, after_position: int = 0, limit: int = 1000) -> list[Row]: ...
    async def stream_version(self, stream_id: str) -> int: ...
    async def head_position(self) -> int: ...
    async def wait_for_events(self, after_position: int, timeout: float) -> None: ...
    async def close(self) -> None: ...


class Notifier:
    """Wakes every waiter when something was appended (in this process or, via LISTEN, another)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)


_SQLITE_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS events (
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
    "CREATE INDEX IF NOT EXISTS events_tenant ON events (tenant, position)",
    """CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
       BEGIN SELECT RAISE(ABORT, 'events are immutable: UPDATE refused'); END""",
    """CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
       BEGIN SELECT RAISE(ABORT, 'events are immutable: DELETE refused'); END""",
]

_PG_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS events (
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
    "CREATE INDEX IF NOT EXISTS events_tenant ON events (tenant, position)",
    """CREATE OR REPLACE FUNCTION gongkai_refuse_change() RETURNS trigger
       LANGUAGE plpgsql AS $body$
       BEGIN RAISE EXCEPTION 'events are immutable: % refused on %', TG_OP, TG_TABLE_NAME; END
       $body$""",
    """CREATE OR REPLACE TRIGGER events_immutable BEFORE UPDATE OR DELETE ON events
       FOR EACH ROW EXECUTE FUNCTION gongkai_refuse_change()""",
    """CREATE OR REPLACE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
       FOR EACH STATEMENT EXECUTE FUNCTION gongkai_refuse_change()""",
    # One round trip per append: lock, idempotency, version checks, insert, notify.
    # GK001 = version mismatch (message: stream id, detail: "expected,current");
    # GK002 = some but not all event ids already stored.
    # Streams come once per write (p_count events each, in order), events once each.
    # Returns only what the client lacks: per new event its position and version, the
    # stored payload if p_echo names it (JSON that the JSONB round trip changes, see
    # `_jsonb_changes`), and on the first event's row only, recorded_at (the same for all).
    # No row at all: every id was already stored (an idempotent retry) and nothing was
    # written; the client then reads the stored rows.
    # (Rows, not one row of arrays: aggregating the INSERT's RETURNING in a CTE cost
    # ~80 us per call inside the lock, 15 % of the rate of single appends.)
    # A new name, not `append_events` (which returned whole rows): CREATE OR REPLACE cannot
    # change a function's return type, and stores created earlier still hold the old one.
    """CREATE OR REPLACE FUNCTION append_events_v2(
        p_stream_id text[], p_stream_type text[], p_expected int[], p_count int[],
        p_event_id uuid[], p_type text[], p_schema_version int[], p_tenant text[],
        p_actor text[], p_correlation_id uuid[], p_causation_id uuid[],
        p_occurred_at timestamptz[], p_payload bytea[], p_echo uuid[], p_lock text,
        p_channel text)
       RETURNS TABLE(event_position bigint, event_id uuid, event_version int,
         recorded_at timestamptz, stored_payload jsonb)
       LANGUAGE plpgsql AS $body$
       #variable_conflict use_column
       DECLARE
         n int := cardinality(p_event_id);
         v_found int;
         v_current int;
         v_placed int := 0;
         v_write int[] := array_fill(0, ARRAY[cardinality(p_event_id)]);
         v_versions int[] := array_fill(0, ARRAY[cardinality(p_event_id)]);
         v_now timestamptz := clock_timestamp();
       BEGIN
         PERFORM pg_advisory_xact_lock(hashtext(p_lock));
         SELECT count(*) INTO v_found FROM events WHERE event_id = ANY(p_event_id);
         IF v_found = n THEN
           RETURN;
         ELSIF v_found > 0 THEN
           RAISE EXCEPTION USING ERRCODE = 'GK002', MESSAGE = 'partial duplicate';
         END IF;
         FOR j IN 1..cardinality(p_stream_id) LOOP
           SELECT COALESCE(MAX(version), 0) INTO v_current
             FROM events WHERE stream_id = p_stream_id[j];
           IF p_expected[j] IS NOT NULL AND p_expected[j] <> v_current THEN
             RAISE EXCEPTION USING ERRCODE = 'GK001', MESSAGE = p_stream_id[j],
               DETAIL = p_expected[j]::text || ',' || v_current::text;
           END IF;
           FOR k IN 1..p_count[j] LOOP
             v_placed := v_placed + 1;
             v_write[v_placed] := j;
             v_versions[v_placed] := v_current + k;
           END LOOP;
         END LOOP;
         IF v_placed <> n THEN
           RAISE EXCEPTION 'append_events_v2: p_count adds up to %, not %', v_placed, n;
         END IF;
         RETURN QUERY INSERT INTO events (event_id, stream_id, stream_type, version, type,
             schema_version, tenant, actor, correlation_id, causation_id, occurred_at,
             recorded_at, payload)
           SELECT p_event_id[i], p_stream_id[v_write[i]], p_stream_type[v_write[i]],
             v_versions[i], p_type[i], p_schema_version[i], p_tenant[i], p_actor[i]::jsonb,
             p_correlation_id[i], p_causation_id[i], p_occurred_at[i], v_now,
             convert_from(p_payload[i], 'UTF8')::jsonb
           FROM generate_series(1, n) AS i ORDER BY i
           RETURNING position, event_id, version,
             CASE WHEN event_id = p_event_id[1] THEN recorded_at END,
             CASE WHEN event_id = ANY(p_echo) THEN payload END;
         PERFORM pg_notify(p_channel, '');
       END
       $body$""",
]


def version_conflict(stream_id: str, expected: int, current: int) -> ConcurrencyConflict:
    return ConcurrencyConflict(
        rule="stream.version_mismatch",
        field="expected_version",
        message_zh=f"记录 {stream_id} 已被他人修改：期望版本 {expected}，当前版本 {current}",
        message_en=f"{stream_id} changed meanwhile: expected version {expected}, current {current}",
        details={"expected": expected, "current": current},
    )


def _partial_duplicate() -> ConcurrencyConflict:
    return ConcurrencyConflict(
        rule="append.partial_duplicate",
        field="event_id",
        message_zh="批次中部分事件已存在，整批拒绝",
        message_en="some events of the batch are already stored; batch refused",
    )


#: Numbers that JSONB gives back as a different value: JSONB keeps numbers as `numeric`,
#: which has no -0.0 (it reads back as 0.0) and writes 1e+16 as 10000000000000000 (an int,
#: where it fits in 64 bits). orjson writes every other float so that it reads back the
#: same (checked on PostgreSQL 15 against 40,000 random floats). A match inside a string
#: only costs the event its stored payload sent back.
_JSONB_CHANGES = re.compile(rb"[0-9]e\+[0-9]|-0\.0[,\]}]")


_Waiting = tuple[Sequence[StreamWrite], "asyncio.Future[list[RecordedEvent]]"]


class _GroupCommit:
    """Combine the appends that wait for each other into one transaction.

    One batch is in flight at a time per store (the advisory lock serialises them in the
    database anyway). Callers that arrive meanwhile queue; when the batch ends, the
    queued appends go as the next batch, at most `max_events` events, never two that
    name the same stream (a later one waits for the next batch, so expected versions
    hold in arrival order). A batch of several appends is all or nothing in the database,
    but its callers are independent: if the combined call is refused (a version conflict
    or a partial duplicate in one of them), nothing was written and each append is run
    again alone, so only the one at fault is refused. A lone append goes as it always
    did: no waiting is added to wait for company.
    """

    def __init__(
        self,
        run: Callable[[Sequence[StreamWrite]], Awaitable[list[RecordedEvent]]],
        *,
        max_events: int = 2000,
    ) -> None:
        self._run = run
        self._max_events = max_events
        self._queue: list[_Waiting] = []
        self._drainer: asyncio.Task[None] | None = None
        #: Appends per transaction, for the benchmark's report (batches, appends).
        self.batches = 0
        self.appends = 0

    async def append(self, writes: Sequence[StreamWrite]) -> list[RecordedEvent]:
        future: asyncio.Future[list[RecordedEvent]] = asyncio.get_running_loop().create_future()
        self._queue.append((writes, future))
        if self._drainer is None:
            self._drainer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                await self._flush(self._take())
        finally:
            self._drainer = None
            for _, future in self._queue:  # only when the drain itself was cancelled
                future.cancel()
            self._queue = []

    async def wait_idle(self) -> None:
        """Let the batch in flight and those queued finish (before the store closes)."""
        if self._drainer is not None:
            await asyncio.wait([self._drainer])

    def _take(self) -> list[_Waiting]:
        batch: list[_Waiting] = []
        rest: list[_Waiting] = []
        streams: set[str] = set()
        events = 0
        for item in self._queue:
            names = {w.stream_id for w in item[0]}
            size = sum(len(w.events) for w in item[0])
            fits = not batch or events + size <= self._max_events
            if fits and not names & streams and not rest:
                batch.append(item)
                streams |= names
                events += size
            else:
                rest.append(item)
        self._queue = rest
        return batch

    async def _flush(self, batch: list[_Waiting]) -> None:
        self.batches += 1
        self.appends += len(batch)
        if len(batch) == 1:
            await self._settle(*batch[0])
            return
        merged = [w for writes, _ in batch for w in writes]
        try:
            records = await self._run(merged)
        except ConcurrencyConflict:
            for writes, future in batch:
                await self._settle(writes, future)
            return
        except BaseException as exc:
            for _, future in batch:
                _fail(future, exc)
            if not isinstance(exc, Exception):
                raise
            return
        start = 0
        for writes, future in batch:
            count = sum(len(w.events) for w in writes)
            if not future.done():
                future.set_result(records[start : start + count])
            start += count

    async def _settle(
        self, writes: Sequence[StreamWrite], future: asyncio.Future[list[RecordedEvent]]
    ) -> None:
        try:
            result = await self._run(writes)
        except BaseException as exc:
            _fail(future, exc)
            if not isinstance(exc, Exception):
                raise
            return
        if not future.done():
            future.set_result(result)


def _fail(future: asyncio.Future[list[RecordedEvent]], exc: BaseException) -> None:
    if future.done():
        return
    if isinstance(exc, asyncio.CancelledError):
        future.cancel()
    else:
        future.set_exception(exc)


def _jsonb_changes(text: bytes) -> bool:
    """Whether the payload `text` may read back from JSONB as another value."""
    # One-byte finds (memchr) first: most payloads hold no "+", and many no "-".
    if text.find(b"+") < 0 and (text.find(b"-") < 0 or text.find(b"-0.0") < 0):
        return False
    return _JSONB_CHANGES.search(text) is not None


class SqlEventStore:
    """The append and read logic both engines share; dialect differences are in the SQL."""

    def __init__(self, db: Database, *, name: str) -> None:
        self.db = db
        self.name = name
        self.notifier = Notifier()
        self._listener: asyncpg.Connection | None = None
        self.group_commit = _GroupCommit(self._append_postgres)

    async def setup(self) -> None:
        await self.db.execute_script(
            _PG_SCHEMA if self.db.dialect == "postgres" else _SQLITE_SCHEMA
        )

    # -- writing -------------------------------------------------------------------------

    async def append(self, writes: Sequence[StreamWrite]) -> list[RecordedEvent]:
        """Append atomically to one or more streams; all or nothing.

        Re-appending events whose ids are already stored writes nothing and
        returns the stored records (an idempotent retry).
        """
        if not writes:
            return []
        streams = [w.stream_id for w in writes]
        if len(set(streams)) != len(streams):
            raise ValueError("one append may name each stream once")
        if tracing.enabled():
            return await self._append_traced(writes)
        if self.db.dialect == "postgres":
            records = await self.group_commit.append(writes)
        else:
            records = await self._append_sqlite(writes)
        self.notifier.notify()
        return records

    async def _append_traced(self, writes: Sequence[StreamWrite]) -> list[RecordedEvent]:
        """`append` in a span of the first event's trace, with a span per appended event
        (its id the event's: shared/tracing.py), the parent of what relays and applies it."""
        first = writes[0].events[0]
        with tracing.span(
            "eventstore.append",
            trace_id=first.correlation_id.int,
            attributes={
                "gongkai.store": self.name,
                "db.system": self.db.dialect,
                "gongkai.streams": len(writes),
                "gongkai.events": sum(len(w.events) for w in writes),
            },
        ):
            started = time.time_ns()
            if self.db.dialect == "postgres":
                records = await self.group_commit.append(writes)
            else:
                records = await self._append_sqlite(writes)
            self.notifier.notify()
            for event in records:
                tracing.record(
                    f"event {event.type}",
                    trace_id=event.correlation_id.int,
                    span_id=tracing.event_span_id(event.event_id),
                    start_ns=started,
                    attributes={
                        "gongkai.event_id": str(event.event_id),
                        "gongkai.event_type": event.type,
                        "gongkai.stream_id": event.stream_id,
                        "gongkai.position": event.position,
                        "gongkai.store": self.name,
                    },
                )
        return records

    async def _append_postgres(self, writes: Sequence[StreamWrite]) -> list[RecordedEvent]:
        """One call of `append_events_v2` (and a read of the stored rows for a retry).

        The records are built here from what was sent and the positions, versions and
        recorded_at it returns, equal (`==`, and `to_wire` byte for byte) to what
        `read_stream` and `read_all` return later (tests/integration/
        test_eventstore_conformance.py)."""
        pairs = [(w, e) for w in writes for e in w.events]
        ids = [e.event_id for _, e in pairs]
        actors = [stored_actor(e.actor) for _, e in pairs]
        payloads = [canonical_json(e.payload) for _, e in pairs]
        echo = [e.event_id for (_, e), p in zip(pairs, payloads, strict=True) if _jsonb_changes(p)]
        try:
            result = await self.db.fetch(
                """SELECT * FROM append_events_v2($1::text[], $2::text[], $3::int[], $4::int[],
                       $5::uuid[], $6::text[], $7::int[], $8::text[], $9::text[], $10::uuid[],
                       $11::uuid[], $12::timestamptz[], $13::bytea[], $14::uuid[], $15, $16)""",
                [w.stream_id for w in writes],
                [w.stream_type for w in writes],
                [w.expected_version for w in writes],
                [len(w.events) for w in writes],
                ids,
                [e.type for _, e in pairs],
                [e.schema_version for _, e in pairs],
                [e.tenant for _, e in pairs],
                [a[0] for a in actors],
                [e.correlation_id for _, e in pairs],
                [e.causation_id for _, e in pairs],
                [e.occurred_at for _, e in pairs],
                payloads,
                echo,
                self._lock_key,
                self._channel,
            )
        except asyncpg.PostgresError as exc:
            if exc.sqlstate == "GK001":
                expected, current = (int(x) for x in str(exc.detail).split(","))
                raise version_conflict(str(exc.args[0]), expected, current) from None
            if exc.sqlstate == "GK002":
                raise _partial_duplicate() from None
            raise
        if not result:
            # Every id was already stored (an idempotent retry): the stored records,
            # whatever this retry carried.
            stored = await self.db.fetch(
                f"SELECT {_COLUMNS} FROM events WHERE event_id = ANY($1::uuid[])", ids
            )
            by_id = {r["event_id"]: record_of(r) for r in stored}
            return [by_id[i] for i in ids]
        new = {r["event_id"]: r for r in result}
        recorded_at = parse_time(new[ids[0]]["recorded_at"])
        records = []
        for (w, e), (_, actor), payload in zip(pairs, actors, payloads, strict=True):
            row = new[e.event_id]
            echoed = row["stored_payload"]
            records.append(
                new_record(
                    {
                        "event_id": e.event_id,
                        "stream_id": w.stream_id,
                        "stream_type": w.stream_type,
                        "version": row["event_version"],
                        "position": row["event_position"],
                        "type": e.type,
                        "schema_version": e.schema_version,
                        "tenant": e.tenant,
                        "actor": actor,
                        "correlation_id": e.correlation_id,
                        "causation_id": e.causation_id,
                        "occurred_at": parse_time(e.occurred_at),
                        "recorded_at": recorded_at,
                        # The JSON as stored, parsed as a read parses it (`record_of`).
                        "payload": orjson.loads(payload if echoed is None else echoed),
                    }
                )
            )
        return records

    async def _append_sqlite(self, writes: Sequence[StreamWrite]) -> list[RecordedEvent]:
        """Three statements whatever the batch: one check, one multi-row insert, commit."""
        ids = [str(e.event_id) for w in writes for e in w.events]
        streams = [w.stream_id for w in writes]
        id_marks = ", ".join(f"${i}" for i in range(1, len(ids) + 1))
        versions = ", ".join(
            f"(SELECT COALESCE(MAX(version), 0) FROM events WHERE stream_id = ${len(ids) + i})"
            for i in range(1, len(streams) + 1)
        )
        async with self.db.transaction() as tx:
            row = await tx.fetchrow(
                f"SELECT (SELECT COUNT(*) FROM events WHERE event_id IN ({id_marks})), {versions}",
                *ids,
                *streams,
            )
            assert row is not None
            found, currents = row[0], list(row)[1:]
            if found:
                if found != len(ids):
                    raise _partial_duplicate()
                stored = await tx.fetch(
                    f"SELECT {_COLUMNS} FROM events WHERE event_id IN ({id_marks})", *ids
                )
                by_id = {str(r["event_id"]): record_of(r) for r in stored}
                return [by_id[i] for i in ids]
            recorded_at = datetime.now(UTC).isoformat()
            values: list[Any] = []
            for write, current in zip(writes, currents, strict=True):
                if write.expected_version is not None and current != write.expected_version:
                    raise version_conflict(write.stream_id, write.expected_version, current)
                for version, e in enumerate(write.events, start=current + 1):
                    values += [
                        str(e.event_id),
                        write.stream_id,
                        write.stream_type,
                        version,
                        e.type,
                        e.schema_version,
                        e.tenant,
                        stored_actor(e.actor)[0],
                        str(e.correlation_id),
                        e.causation_id and str(e.causation_id),
                        e.occurred_at.isoformat(),
                        recorded_at,
                        canonical_json(e.payload).decode(),
                    ]
            width, inserted = 13, []
            # SQLite allows 32,766 parameters per statement: insert at most 1,000 rows at once.
            for offset in range(0, len(values), 1000 * width):
                chunk = values[offset : offset + 1000 * width]
                rows_sql = ", ".join(
                    "(" + ", ".join(f"${r * width + c + 1}" for c in range(width)) + ")"
                    for r in range(len(chunk) // width)
                )
                inserted += await tx.fetch(
                    f"""INSERT INTO events (event_id, stream_id, stream_type, version, type,
                            schema_version, tenant, actor, correlation_id, causation_id,
                            occurred_at, recorded_at, payload)
                        VALUES {rows_sql} RETURNING {_COLUMNS}""",
                    *chunk,
                )
        return sorted((record_of(r) for r in inserted), key=lambda r: r.position)

    @property
    def _lock_key(self) -> str:
        return f"gongkai-events-{self.name}"

    @property
    def _channel(self) -> str:
        return f"gongkai_events_{self.name}"

    # -- reading -------------------------------------------------------------------------

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
        rows = await self.db.fetch(
            f"SELECT {_COLUMNS} FROM events WHERE stream_id = $1 AND version > $2 ORDER BY version",
            stream_id,
            after_version,
        )
        return [record_of(r) for r in rows]

    async def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        return [record_of(r) for r in await self.read_all_rows(after_position, limit)]

    async def read_all_rows(self, after_position: int = 0, limit: int = 1000) -> list[Row]:
        """`read_all` undecoded: the stored rows (columns `_COLUMNS`, as each driver hands
        them out: PostgreSQL UUIDs, datetimes and JSONB text; SQLite text) for readers that
        pass events on rather than use them (the relay: `wire_of_row`)."""
        return await self.db.fetch(
            f"SELECT {_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2",
            after_position,
            limit,
        )

    async def stream_version(self, stream_id: str) -> int:
        value = await self.db.fetchval(
            "SELECT COALESCE(MAX(version), 0) FROM events WHERE stream_id = $1", stream_id
        )
        return int(value)

    async def head_position(self) -> int:
        return int(await self.db.fetchval("SELECT COALESCE(MAX(position), 0) FROM events"))

    async def count(self) -> int:
        return int(await self.db.fetchval("SELECT COUNT(*) FROM events"))

    # -- waiting -------------------------------------------------------------------------

    async def wait_for_events(self, after_position: int, timeout: float) -> None:
        """Return when the log may hold events after `after_position`, or after `timeout`."""
        if await self.head_position() > after_position:
            return
        await self.notifier.wait(timeout)

    async def listen(self, url: str) -> None:
        """PostgreSQL only: wake waiters when another process appends (LISTEN/NOTIFY)."""
        self._listener = await asyncpg.connect(url)
        await self._listener.add_listener(self._channel, lambda *_: self.notifier.notify())

    async def close(self) -> None:
        await self.group_commit.wait_idle()
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        await self.db.close()


async def open_sqlite_store(path: str, *, name: str) -> SqlEventStore:
    store = SqlEventStore(await SqliteDatabase.open(path), name=name)
    await store.setup()
    return store


async def open_postgres_store(
    url: str, *, schema: str, listen: bool = True, pool_max: int = 10
) -> SqlEventStore:
    store = SqlEventStore(await PostgresDatabase.open(url, schema, max_size=pool_max), name=schema)
    await store.setup()
    if listen:
        await store.listen(url)
    return store


async def tail(
    store: EventStore, after_position: int = 0, *, batch: int = 500, idle_wait: float = 1.0
) -> AsyncIterator[RecordedEvent]:
    """Every event after `after_position`, in position order, then wait for more, forever."""
    position = after_position
    while True:
        events = await store.read_all(position, batch)
        for event in events:
            yield event
            position = event.position
        if len(events) < batch:
            await store.wait_for_events(position, idle_wait)
