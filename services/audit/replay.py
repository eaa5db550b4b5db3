"""Point-in-time replay of any projection into a shadow copy; diff; atomic swap.

The shadow runs the projection's own DDL in a separate place (SQLite: var/<service>/
shadow.db; PostgreSQL: schema `<service>_shadow`), so no SQL is rewritten. Replaying
"as of" T applies, per source log, the events recorded at or before T and stops at the
first later one: the shadow's checkpoints then point just before T, so after a swap the
live runner catches up from T on its own (embedded mode).
"""

from __future__ import annotations

import contextlib
import gc
import re
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.db import Database, PostgresDatabase
from shared.errors import NotFound, ValidationFailed
from shared.eventstore import EventStore
from shared.projections import KERNEL_TABLES, Projection, apply_chunk, pages, postgres_storage
from shared.service import ALL_SERVICES, discover, sources_of

#: (label, events so far, events in the logs to replay, events/s)
Progress = Callable[[str, int, int, float], None]


@dataclass(frozen=True)
class Target:
    service: str
    projection: Projection
    sources: tuple[str, ...]

    def checkpoint_name(self, source: str) -> str:
        """The same names gongkai/app.py gives the live runners."""
        name = self.projection.name
        return name if source == self.service else f"{name}@{source}"


def find(name: str) -> Target:
    services = discover()
    for service, definition in services.items():
        for projection in definition.projections():
            if projection.name != name:
                continue
            if not getattr(projection, "replayable", True):
                raise ValidationFailed(
                    rule="replay.not_replayable",
                    field="projection",
                    message_zh=f"{name} 不可重放（审计链只校验，不重建）",
                    message_en=f"{name} cannot be replayed: the chain is verified, never rebuilt",
                )
            names = sources_of(projection, service)
            sources = tuple(services) if ALL_SERVICES in names else names
            return Target(service, projection, sources)
    known = sorted(p.name for d in services.values() for p in d.projections())
    raise NotFound(
        rule="replay.unknown_projection",
        field="projection",
        message_zh=f"没有名为 {name} 的投影",
        message_en=f"no projection named {name}; known: {', '.join(known)}",
    )


@dataclass
class ReplayResult:
    events: int = 0
    applied: int = 0
    seconds: float = 0.0
    checkpoints: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float(self.events)


def progress_line(label: str, events: int, total: int, rate: float, width: int = 30) -> str:
    """`label [#########.....]  62%  12,400/20,000 events  8,123 events/s`; the total is
    the logs' length, so an as-of replay that stops early ends below 100 %."""
    share = min(events / total, 1.0) if total else 1.0
    filled = round(share * width)
    bar = "#" * filled + "." * (width - filled)
    return f"{label} [{bar}] {share:4.0%}  {events:,}/{total:,} events  {rate:,.0f} events/s"


def print_progress(label: str, events: int, total: int, rate: float) -> None:
    print(f"\r{progress_line(label, events, total, rate)}", end="", file=sys.stderr, flush=True)


#: A plain (not unique) index: it answers queries but decides nothing while events are
#: applied, so a rebuild may create it after the rows are in.
_PLAIN_INDEX = re.compile(r"\s*CREATE\s+INDEX\b", re.IGNORECASE)


def deferred_indexes(target: Target) -> list[str]:
    """The plain indexes of a projection that declares `indexes_after_rebuild = True`,
    built once the replay has written the rows: one sorted build instead of an entry per
    row (issue #10 item 4). Opt-in, because a projection whose `apply` looks rows up by an
    indexed column would scan its table once per event without the index; unique indexes
    and constraints always stay in place from the start, since applying may rely on them.
    """
    if not getattr(target.projection, "indexes_after_rebuild", False):
        return []
    return [sql for sql in target.projection.schema if _PLAIN_INDEX.match(sql)]


async def reset(db: Database, target: Target) -> None:
    """Empty tables (without their plain indexes: `deferred_indexes`) and no checkpoints."""
    await db.execute_script(KERNEL_TABLES)
    async with db.transaction() as tx:
        for table in target.projection.tables:
            await tx.execute(f"DROP TABLE IF EXISTS {table}")
        for source in target.sources:
            name = target.checkpoint_name(source)
            await tx.execute("DELETE FROM projection_checkpoints WHERE name = $1", name)
            await tx.execute("DELETE FROM dead_letters WHERE consumer = $1", name)
    later = set(deferred_indexes(target))
    await db.execute_script([sql for sql in target.projection.schema if sql not in later])
    if db.dialect == "postgres":  # a rebuilt read model keeps its pages' room (fillfactor)
        await db.execute_script(postgres_storage(target.projection))


async def replay(
    target: Target,
    stores: dict[str, EventStore],
    shadow: Database,
    *,
    as_of: datetime | None = None,
    batch: int = 5000,
    progress: Progress | None = None,
) -> ReplayResult:
    """Rebuild `target` into `shadow` from its source logs (as of `as_of`, if given)."""
    await reset(shadow, target)
    result = ReplayResult()
    started = time.perf_counter()
    with bulk_gc():
        await _replay_sources(target, stores, shadow, as_of, batch, progress, result, started)
    await shadow.execute_script(deferred_indexes(target))
    result.seconds = time.perf_counter() - started
    return result


@contextlib.contextmanager
def bulk_gc() -> Iterator[None]:
    """Fewer garbage collections while replaying (each event allocates a few objects).

    Objects alive before the replay (modules, models, schemas) are frozen out of the
    collector's walks and the young-generation threshold is raised; both are restored
    after. A replay allocates no reference cycles worth collecting early, and a full
    collection over a large heap per few thousand events was a third of the time.
    """
    threshold = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


async def _replay_sources(
    target: Target,
    stores: dict[str, EventStore],
    shadow: Database,
    as_of: datetime | None,
    batch: int,
    progress: Progress | None,
    result: ReplayResult,
    started: float,
) -> None:
    total = 0
    if progress is not None:
        total = sum([await stores[source].head_position() for source in target.sources])
    for source in target.sources:
        name = target.checkpoint_name(source)
        async with contextlib.aclosing(pages(stores[source], 0, batch)) as log:
            async for page in log:
                events = page
                if as_of is not None:
                    cut = next((i for i, e in enumerate(page) if e.recorded_at > as_of), None)
                    events = page if cut is None else page[:cut]
                if events:
                    result.applied += await apply_chunk(shadow, target.projection, events, name)
                    result.events += len(events)
                    result.checkpoints[name] = events[-1].position
                    if progress is not None:
                        elapsed = time.perf_counter() - started
                        rate = result.events / elapsed if elapsed else 0.0
                        progress(name, result.events, total, rate)
                if len(events) < len(page):
                    break


# -- diff ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    table: str
    key: tuple[Any, ...]
    kind: str  # only_live | only_shadow | changed
    columns: tuple[str, ...] = ()

    def describe(self) -> str:
        cols = f" columns: {', '.join(self.columns)}" if self.columns else ""
        return f"{self.table} {self.kind} key={list(self.key)}{cols}"


async def primary_key(db: Database, table: str) -> list[str]:
    if db.dialect == "postgres":
        assert isinstance(db, PostgresDatabase)
        rows = await db.fetch(
            """SELECT a.attname FROM pg_index i
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
               WHERE i.indrelid = ($1 || '.' || $2)::regclass AND i.indisprimary""",
            db.schema,
            table,
        )
        return [r["attname"] for r in rows]
    rows = await db.fetch(f"SELECT name, pk FROM pragma_table_info('{table}') WHERE pk > 0")
    return [r["name"] for r in sorted(rows, key=lambda r: r["pk"])]


def _normal(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


Rows = dict[tuple[Any, ...], dict[str, Any]]


async def _table_rows(db: Database, table: str, key: list[str]) -> Rows:
    rows = await db.fetch(f"SELECT * FROM {table}")
    out: Rows = {}
    for row in rows:
        values = {k: _normal(row[k]) for k in row.keys()}
        ident = tuple(values[k] for k in key) if key else tuple(sorted(values.items()))
        out[ident] = values
    return out


async def diff(target: Target, live: Database, shadow: Database) -> list[Difference]:
    found: list[Difference] = []
    for table in target.projection.tables:
        key = await primary_key(live, table)
        left = await _table_rows(live, table, key)
        right = await _table_rows(shadow, table, key)
        for ident in sorted(set(left) | set(right), key=repr):
            if ident not in right:
                found.append(Difference(table, ident, "only_live"))
            elif ident not in left:
                found.append(Difference(table, ident, "only_shadow"))
            elif left[ident] != right[ident]:
                old, new = left[ident], right[ident]
                cols = tuple(sorted(c for c in old if old[c] != new.get(c)))
                found.append(Difference(table, ident, "changed", cols))
    return found


# -- swap ----------------------------------------------------------------------------------


def _checkpoint_names(target: Target) -> Sequence[str]:
    return [target.checkpoint_name(s) for s in target.sources]


def swap_sqlite(target: Target, live_path: Path, shadow_path: Path) -> None:
    """One transaction on the live file: tables and checkpoints replaced by the shadow's."""
    for path in (live_path, shadow_path):
        if not path.exists():
            raise FileNotFoundError(path)
    conn = sqlite3.connect(str(live_path), isolation_level=None, timeout=30)
    try:
        conn.execute("ATTACH DATABASE ? AS shadow", (str(shadow_path),))
        conn.execute("BEGIN IMMEDIATE")
        try:
            for table in target.projection.tables:
                columns = [r[1] for r in conn.execute(f"PRAGMA shadow.table_info({table})")]
                cols = ", ".join(columns)
                conn.execute(f"DELETE FROM main.{table}")
                conn.execute(f"INSERT INTO main.{table} ({cols}) SELECT {cols} FROM shadow.{table}")
            for name in _checkpoint_names(target):
                for kernel, column in _KERNEL_ROWS:
                    conn.execute(f"DELETE FROM main.{kernel} WHERE {column} = ?", (name,))
                    conn.execute(
                        f"INSERT INTO main.{kernel} "
                        f"SELECT * FROM shadow.{kernel} WHERE {column} = ?",
                        (name,),
                    )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()


#: The kernel's rows of a projection that move with its tables: its checkpoints and its
#: parked (dead-lettered) events, keyed by the column naming the consumer.
_KERNEL_ROWS = (("projection_checkpoints", "name"), ("dead_letters", "consumer"))


async def swap_postgres(target: Target, live: PostgresDatabase, shadow_schema: str) -> None:
    """One transaction: drop each live table, move the shadow's into the live schema."""
    schema = live.schema
    async with live.transaction() as tx:
        for table in target.projection.tables:
            await tx.execute(f"LOCK TABLE {schema}.{table} IN ACCESS EXCLUSIVE MODE")
            await tx.execute(f"DROP TABLE {schema}.{table} CASCADE")
            await tx.execute(f"ALTER TABLE {shadow_schema}.{table} SET SCHEMA {schema}")
        for name in _checkpoint_names(target):
            for kernel, column in _KERNEL_ROWS:
                await tx.execute(f"DELETE FROM {schema}.{kernel} WHERE {column} = $1", name)
                await tx.execute(
                    f"""INSERT INTO {schema}.{kernel}
                        SELECT * FROM {shadow_schema}.{kernel} WHERE {column} = $1""",
                    name,
                )
