"""The hash chain: every event the audit service receives, linked by SHA-256.

link hash = SHA-256(previous link hash ‖ canonical bytes of the event), where the
canonical bytes are `RecordedEvent.to_wire()` (shared/envelope.py: sorted keys, UTF-8,
UTC as `Z`) and the first link's "previous hash" is 32 zero bytes.

ONE global chain, not one per tenant: one head to checkpoint and sign, one order, and
deleting every event of one tenant still breaks the chain (a per-tenant chain could be
dropped whole without a trace in the others); district-level events need no tenant
arbitration. The order is ARRIVAL order (several feeds append to one chain); the chain
proves what the audit service received was not altered afterwards, the completeness
check (completeness.py) proves it received everything.

The chain table refuses UPDATE and DELETE (SQLite triggers; PostgreSQL a trigger plus
REVOKE); a superuser can still disable those, and then `verify` finds the broken link.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from shared.db import Database, Tx, fetch_in
from shared.envelope import RecordedEvent

GENESIS = "0" * 64
TABLE = "audit_chain"

CHAIN_SCHEMA: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS audit_chain (
        seq BIGINT PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE,
        service TEXT NOT NULL,
        position BIGINT NOT NULL,
        stream_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        tenant TEXT NOT NULL,
        actor_id TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        body TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS audit_chain_stream ON audit_chain (stream_id, seq)",
    "CREATE INDEX IF NOT EXISTS audit_chain_actor ON audit_chain (actor_id, seq)",
    "CREATE INDEX IF NOT EXISTS audit_chain_tenant ON audit_chain (tenant, recorded_at)",
    "CREATE INDEX IF NOT EXISTS audit_chain_service ON audit_chain (service, recorded_at)",
)

SQLITE_GUARDS: tuple[str, ...] = (
    """CREATE TRIGGER IF NOT EXISTS audit_chain_no_update BEFORE UPDATE ON audit_chain
       BEGIN SELECT RAISE(ABORT, 'audit chain is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_chain_no_delete BEFORE DELETE ON audit_chain
       BEGIN SELECT RAISE(ABORT, 'audit chain is append-only: DELETE refused'); END""",
)

PG_GUARDS: tuple[str, ...] = (
    """CREATE OR REPLACE FUNCTION audit_chain_refuse() RETURNS trigger
       LANGUAGE plpgsql AS $body$
       BEGIN RAISE EXCEPTION 'audit chain is append-only: % refused', TG_OP; END
       $body$""",
    """CREATE OR REPLACE TRIGGER audit_chain_immutable BEFORE UPDATE OR DELETE ON audit_chain
       FOR EACH ROW EXECUTE FUNCTION audit_chain_refuse()""",
    """CREATE OR REPLACE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
       FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_refuse()""",
    # Privileges: nobody but the owner may change rows; the owner itself loses them too
    # (a superuser or the owner can re-grant: that is what the hash chain is for).
    "REVOKE UPDATE, DELETE, TRUNCATE ON audit_chain FROM PUBLIC",
    "REVOKE UPDATE, DELETE, TRUNCATE ON audit_chain FROM CURRENT_USER",
)

_INSERT = """INSERT INTO audit_chain (seq, event_id, service, position, stream_id, event_type,
        tenant, actor_id, recorded_at, body, prev_hash, hash)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"""


def is_postgres(tx: Tx | Database) -> bool:
    return getattr(tx, "dialect", None) == "postgres" or hasattr(tx, "conn")


def link_hash(prev_hash: str, body: bytes) -> str:
    """SHA-256(previous link hash as 32 raw bytes ‖ canonical event bytes), hex."""
    return hashlib.sha256(bytes.fromhex(prev_hash) + body).hexdigest()


def time_key(moment: datetime) -> str:
    """Fixed-width UTC text, so string order is time order on both engines."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def install_guards(tx: Tx) -> None:
    """Create the guards if missing. PostgreSQL: under the kernel's DDL lock, and only when
    absent, so two processes starting at once never race on CREATE OR REPLACE."""
    if not is_postgres(tx):
        for statement in SQLITE_GUARDS:
            await tx.execute(statement)
        return
    await tx.execute("SELECT pg_advisory_xact_lock(hashtext('gongkai-ddl'))")
    present = await tx.fetchval(
        """SELECT COUNT(*) FROM pg_trigger
           WHERE tgrelid = 'audit_chain'::regclass
             AND tgname IN ('audit_chain_immutable', 'audit_chain_no_truncate')"""
    )
    if int(present) < 2:
        for statement in PG_GUARDS:
            await tx.execute(statement)


async def setup_chain(db: Database) -> None:
    """The table and its guards (idempotent); every process touching the chain calls it."""
    async with db.transaction() as tx:
        if is_postgres(db):
            await tx.execute("SELECT pg_advisory_xact_lock(hashtext('gongkai-ddl'))")
        for statement in CHAIN_SCHEMA:
            await tx.execute(statement)
        await install_guards(tx)


class ChainWriter:
    """Appends links inside the caller's transaction, one round trip per event.

    Within one transaction the head is remembered (the next link needs it) and the
    PostgreSQL chain lock is taken once; a new transaction object starts afresh, so a
    rolled-back batch leaves no stale head behind. The insert is the last statement of
    an append: if it fails, nothing was remembered.
    """

    def __init__(self) -> None:
        self._tx: Tx | None = None
        self._head: tuple[int, str] = (0, GENESIS)

    async def _start(self, tx: Tx) -> None:
        if is_postgres(tx):
            # One chain, one writer at a time, whatever process or partition feeds it.
            await tx.execute("SELECT pg_advisory_xact_lock(hashtext('gongkai-audit-chain'))")
        row = await tx.fetchrow("SELECT seq, hash FROM audit_chain ORDER BY seq DESC LIMIT 1")
        self._head = (0, GENESIS) if row is None else (int(row["seq"]), str(row["hash"]))
        self._tx = tx

    async def append(self, tx: Tx, event: RecordedEvent, service: str) -> bool:
        """Link `event` to the head; False if it is already chained (a duplicate arrival)."""
        if tx is not self._tx:
            await self._start(tx)
        last_seq, prev = self._head
        row = _link(last_seq + 1, event, service, prev)
        inserted = await tx.fetchval(
            _INSERT + " ON CONFLICT (event_id) DO NOTHING RETURNING seq", *row
        )
        if inserted is None:
            return False
        self._head = (last_seq + 1, row[-1])
        return True

    async def append_batch(self, tx: Tx, events: Sequence[RecordedEvent], service: str) -> int:
        """Link `events` in order in one `executemany`; return how many were new.

        The same links as `append` one by one: events already chained (or twice in the
        batch) are left out *before* seqs and hashes are given, because a skipped row
        inside a batched insert would leave a seq gap and a link to a missing hash. The
        chain lock (PostgreSQL) or the single writer (SQLite) keeps anyone else from
        chaining an id between the look-up and the insert.
        """
        if tx is not self._tx:
            await self._start(tx)
        ids = [str(e.event_id) for e in events]
        rows = await fetch_in(
            tx, "SELECT event_id FROM audit_chain WHERE event_id IN ({values})", ids
        )
        known = {str(r["event_id"]) for r in rows}
        last_seq, prev = self._head
        links: list[tuple[Any, ...]] = []
        for event, event_id in zip(events, ids, strict=True):
            if event_id in known:
                continue
            known.add(event_id)
            last_seq += 1
            links.append(_link(last_seq, event, service, prev))
            prev = links[-1][-1]
        if links:
            await tx.executemany(_INSERT, links)
            self._head = (last_seq, prev)
        return len(links)


def _link(seq: int, event: RecordedEvent, service: str, prev: str) -> tuple[Any, ...]:
    """The row of `_INSERT` that links `event` after `prev`; its hash is the last column."""
    body = event.to_wire()
    return (
        seq,
        str(event.event_id),
        service,
        event.position,
        event.stream_id,
        event.type,
        event.tenant,
        event.actor.id,
        time_key(event.recorded_at),
        body.decode(),
        prev,
        link_hash(prev, body),
    )


async def append(tx: Tx, event: RecordedEvent, service: str) -> bool:
    """Link one event in its own writer (tests, one-off tools)."""
    return await ChainWriter().append(tx, event, service)


class ChainRecorder:
    """The projection feeding the chain from one service's events (one per service).

    One recorder per source service, so each chained row names its service exactly
    (the completeness check compares per service). The guards are installed in the
    first transaction, as the portable `schema` cannot hold triggers.
    """

    tables: Sequence[str] = (TABLE,)
    schema: Sequence[str] = CHAIN_SCHEMA
    #: `gongkai replay` refuses it: the chain is never rebuilt, only verified.
    replayable = False

    def __init__(self, service: str) -> None:
        self.service = service
        self.name = f"audit.chain.{service}"
        self.sources = (service,)
        self._guarded = False
        self._writer = ChainWriter()

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        await self._guard(tx)
        await self._writer.append(tx, event, self.service)

    async def apply_batch(self, tx: Tx, events: Sequence[RecordedEvent]) -> None:
        """The chunk in one `executemany` (issue #8 bench: a savepoint and an INSERT per event
        chained ~1k events/s). Keeps no state past `tx`: the writer re-reads the head in
        every new transaction."""
        await self._guard(tx)
        await self._writer.append_batch(tx, events, self.service)

    async def _guard(self, tx: Tx) -> None:
        if not self._guarded:
            await install_guards(tx)
            self._guarded = True


async def backfill(store: Any, db: Database, service: str, batch: int = 1000) -> int:
    """Chain every stored event of `service` not chained yet; return how many were added.

    The repair for what `completeness` reports missing (a feed that was down): the whole
    log is read again and duplicates are skipped by event id, so running it twice, or
    while the live feed runs, adds nothing twice.
    """
    writer = ChainWriter()
    added, position = 0, 0
    while events := await store.read_all(position, batch):
        async with db.transaction() as tx:
            await install_guards(tx)
            added += await writer.append_batch(tx, events, service)
        position = events[-1].position
    return added


@dataclass(frozen=True)
class BrokenLink:
    seq: int
    event_id: str | None
    reason: str

    def describe(self) -> str:
        return f"seq {self.seq} (event {self.event_id}): {self.reason}"


@dataclass(frozen=True)
class Verification:
    verified: int
    head_seq: int
    head_hash: str
    seconds: float
    broken: BrokenLink | None

    @property
    def rate(self) -> float:
        return self.verified / self.seconds if self.seconds > 0 else float(self.verified)


def _check_row(row: Any, expected_seq: int, prev: str) -> str | None:
    if int(row["seq"]) != expected_seq:
        return f"sequence gap: expected seq {expected_seq}, found {row['seq']} (rows deleted?)"
    if row["prev_hash"] != prev:
        return "prev_hash does not match the previous link (a row before was changed or removed)"
    body = str(row["body"]).encode()
    if link_hash(prev, body) != row["hash"]:
        return "hash does not match SHA-256(prev_hash ‖ body): the event or its hash was altered"
    envelope = orjson.loads(body)
    for column, key in (
        ("event_id", "event_id"),
        ("stream_id", "stream_id"),
        ("event_type", "type"),
        ("tenant", "tenant"),
    ):
        if str(row[column]) != str(envelope.get(key)):
            return f"column {column} disagrees with the hashed event"
    if str(row["actor_id"]) != str(envelope.get("actor", {}).get("id")):
        return "column actor_id disagrees with the hashed event"
    return None


async def verify(
    db: Database,
    *,
    from_seq: int = 1,
    checkpoints: Sequence[tuple[int, str]] = (),
    batch: int = 5000,
) -> Verification:
    """Walk the chain from `from_seq`; stop at the first broken link and name it.

    Starting past 1 trusts the stored hash of the row before (or the genesis). Each
    `(seq, head_hash)` of `checkpoints` must match the chain: a checkpoint past the head
    means the chain was truncated after it was taken.
    """
    started = time.perf_counter()
    from_seq = max(from_seq, 1)
    prev = GENESIS
    if from_seq > 1:
        value = await db.fetchval("SELECT hash FROM audit_chain WHERE seq = $1", from_seq - 1)
        if value is None:
            broken = BrokenLink(from_seq - 1, None, "no such row to start after")
            return Verification(0, 0, GENESIS, time.perf_counter() - started, broken)
        prev = str(value)
    expected = from_seq
    verified = 0
    wanted = dict(checkpoints)
    head_seq, head_hash = from_seq - 1, prev
    while True:
        rows = await db.fetch(
            "SELECT * FROM audit_chain WHERE seq >= $1 ORDER BY seq LIMIT $2", expected, batch
        )
        for row in rows:
            reason = _check_row(row, expected, prev)
            seq = int(row["seq"])
            if reason is None and seq in wanted and wanted[seq] != row["hash"]:
                reason = "hash differs from the checkpoint taken at this seq"
            if reason is not None:
                elapsed = time.perf_counter() - started
                broken = BrokenLink(seq, str(row["event_id"]), reason)
                return Verification(verified, head_seq, head_hash, elapsed, broken)
            prev = str(row["hash"])
            head_seq, head_hash = seq, prev
            expected += 1
            verified += 1
        if len(rows) < batch:
            break
    elapsed = time.perf_counter() - started
    beyond = [seq for seq in wanted if seq > head_seq]
    if beyond:
        reason = f"chain ends at seq {head_seq} but a checkpoint covers seq {min(beyond)}"
        return Verification(
            verified, head_seq, head_hash, elapsed, BrokenLink(min(beyond), None, reason)
        )
    return Verification(verified, head_seq, head_hash, elapsed, None)


async def head(db: Database) -> tuple[int, str]:
    row = await db.fetchrow("SELECT seq, hash FROM audit_chain ORDER BY seq DESC LIMIT 1")
    return (0, GENESIS) if row is None else (int(row["seq"]), str(row["hash"]))
