"""Replay and flat cost: rebuild projections from a large log; does any step slow with history?

    python -m bench.replay [--events 1000000] [--sizes 10000,100000] [--engine sqlite|postgres|both]
                           [--projections NAME,...] [--chunk N] [--database-url URL] [--json OUT]

What it does, per engine, in a fresh SQLite directory / fresh PostgreSQL schemas:

1. Loads a realistic applications log straight into the event store's `events` table
   (COPY on PostgreSQL, executemany on SQLite; building it through the handlers would
   take hours): 依申请公开 requests across six townships of 上党区, each a lifecycle of
   RequestRegistered (a ~700-byte Chinese payload), RegistrationNumberIssued (its
   township's register stream), RequestAssigned, sometimes correction, consultation,
   extension, fee and deadline events, then a reply or a withdrawal, delivery and
   archiving; streams interleaved in the log as in a busy office. Every payload is a
   valid current-schema payload (templates checked by the event models once). Event,
   stream and correlation ids are UUIDv7 of the event's own time, as the suite makes
   them (`new_id`), so the id indexes grow at their right edge as in service.
2. Flat cost (issue #10 item 7): at each size of --sizes and at --events (median of
   --repeats rounds, after one warm-up round at the first size), with a live
   request-ledger runner caught up: single append (a new request), append to an
   existing stream with its expected version, batched append (100 events), read_stream
   of a stored request, catch-up `read_all` of the last 10,000 events, and the live
   runner applying 1,000 new lifecycle events: to open requests (the newest 5,000, as
   lifecycle events go in service), and again to requests drawn from the whole history.
3. Replay (item 4): `services/audit/replay.replay` (what `gongkai replay` runs) of each
   projection in --projections from position 0 into a fresh shadow: events/s, and the
   peak resident memory of the process during the replay (sampled every 20 ms from
   /proc/self/statm) next to the resident memory before it, and the process's CPU per
   event with its share of the wall time (the rest is waiting for the database).

The raw limit in the same run: reading the whole log with the driver and no decoding.
A script, never a test: nothing here asserts a speed. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench.common import cpu_seconds, cpu_spent, print_machine
from bench.common import machine as common_machine
from services.applications import events as le
from services.applications.events import (
    RegistrationNumberIssued,
    RequestAssigned,
    RequestRegistered,
)
from services.applications.projections import RequestLedger
from services.audit import replay as rp
from shared.db import Database, PostgresDatabase, SqliteDatabase
from shared.envelope import Actor, NewEvent, StreamWrite, canonical_json, new_id
from shared.eventstore import SqlEventStore, open_postgres_store, open_sqlite_store
from shared.projections import ProjectionRunner
from shared.service import discover

TOWNSHIPS = {
    "sudian": "苏店",
    "handian": "韩店",
    "xiliu": "西留",
    "nanchen": "南陈",
    "babi": "八义",
    "dongyang": "东和",
}
HANDLERS = ("wang-tietong", "li-na", "zhao-min", "guo-xinxin", "chen-jing")
CLERK = Actor(id="wang-tietong", kind="user", role="request_handler")
CLERK_JSON = canonical_json(CLERK.model_dump(mode="json")).decode()
SYSTEM_JSON = canonical_json({"id": "gongkai", "kind": "system", "role": None}).decode()
SUBJECTS = (
    "2025年度惠民惠农财政补贴资金发放名单及标准，包括补贴对象、补贴金额、发放时间及审核程序",
    "2025年度农村最低生活保障对象名单、保障标准及动态调整情况",
    "辖区内集体土地征收补偿安置方案、补偿标准及补偿款发放明细",
    "村级财务公开材料，包括2025年度收支明细、集体资产处置及工程项目招投标情况",
    "2026年度城乡居民基本医疗保险参保补助资金的分配方案及拨付记录",
)
SOURCE_COLUMNS = (
    "event_id, stream_id, stream_type, version, type, schema_version, tenant, actor, "
    "correlation_id, causation_id, occurred_at, recorded_at, payload"
)
START = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
SAMPLE = 2000
#: Requests still open, the ones lifecycle events go to: the newest this many.
RECENT = 5000


def _v7(rng: random.Random, at: datetime) -> uuid.UUID:
    """A UUIDv7 for the moment `at`, its random bits from `rng`: the shape of every id the
    suite makes (`shared.envelope.new_id`), so the indexes on event and stream ids grow at
    their right edge as they do in service, not at random leaves."""
    rand = rng.getrandbits(74)
    value = (int(at.timestamp() * 1000) << 80) | (0x7 << 76) | ((rand >> 62) << 64)
    return uuid.UUID(int=value | (0b10 << 62) | (rand & ((1 << 62) - 1)))


# -- the log --------------------------------------------------------------------------------


def _d(day: date, offset: int) -> str:
    return (day + timedelta(days=offset)).isoformat()


def _lifecycle(rng: random.Random, rid: str, received: date) -> list[tuple[str, dict[str, Any]]]:
    """(type, payload) of one request after its registration and number, in order."""
    due = 28
    out: list[tuple[str, dict[str, Any]]] = [
        ("RequestAssigned", {"request_id": rid, "handler": rng.choice(HANDLERS)})
    ]
    roll = rng.random()
    if roll < 0.25:
        out.append(
            (
                "CorrectionRequested",
                {
                    "request_id": rid,
                    "defects": ["请写明所需信息的年份及具体名称", "请提供身份证明复印件"],
                    "notified_on": _d(received, 2),
                    "correction_due": _d(received, 21),
                },
            )
        )
        if roll < 0.05:
            out.append(
                (
                    "CorrectionLapsed",
                    {
                        "request_id": rid,
                        "correction_due": _d(received, 21),
                        "lapsed_on": _d(received, 22),
                    },
                )
            )
            return out
        due += 14
        out.append(
            (
                "CorrectionReceived",
                {
                    "request_id": rid,
                    "corrected_on": _d(received, 9),
                    "reply_due": _d(received, due),
                },
            )
        )
    if rng.random() < 0.2:
        cid = str(uuid.UUID(int=rng.getrandbits(128)))
        out.append(
            (
                "ConsultationStarted",
                {
                    "request_id": rid,
                    "consultation_id": cid,
                    "party_kind": "agency",
                    "party": "上党区财政局",
                    "started_on": _d(received, 5),
                    "answer_due": _d(received, 26),
                },
            )
        )
        due += 21
        out.append(
            (
                "ConsultationEnded",
                {
                    "request_id": rid,
                    "consultation_id": cid,
                    "ended_on": _d(received, 20),
                    "outcome": "consent",
                    "deemed_consent": False,
                    "reply_due": _d(received, due),
                },
            )
        )
    if rng.random() < 0.1:
        due += 28
        out.append(
            (
                "ExtensionGranted",
                {
                    "request_id": rid,
                    "working_days": 20,
                    "reason": "涉及多个站所及村委会，需逐项汇总核实后方能答复",
                    "approved_by": "guo-xinxin",
                    "applicant_notified_on": _d(received, 24),
                    "reply_due": _d(received, due),
                },
            )
        )
    if rng.random() < 0.08:
        out.append(
            (
                "FeeNoticeIssued",
                {
                    "request_id": rid,
                    "mode": "per_page",
                    "pages": 120,
                    "monthly_ordinal": None,
                    "amount_yuan": 1100,
                    "notified_on": _d(received, 6),
                    "pay_by": _d(received, 34),
                },
            )
        )
        due += 7
        out.append(
            (
                "FeePaid",
                {
                    "request_id": rid,
                    "amount_yuan": 1100,
                    "paid_on": _d(received, 10),
                    "reply_due": _d(received, due),
                },
            )
        )
    if rng.random() < 0.2:
        out.append(
            (
                "DeadlineApproaching",
                {
                    "request_id": rid,
                    "reply_due": _d(received, due),
                    "working_days_left": 5,
                    "noticed_on": _d(received, due - 7),
                },
            )
        )
    if rng.random() < 0.07:
        out.append(
            (
                "RequestWithdrawnByApplicant",
                {"request_id": rid, "withdrawn_on": _d(received, 12), "note": "申请人来电撤回"},
            )
        )
        return out
    out.append(
        (
            "RequestReplied",
            {
                "request_id": rid,
                "reply_type": "disclosed",
                "withholding_reason": None,
                "legal_basis": "《中华人民共和国政府信息公开条例》第三十六条第（二）项",
                "location": None,
                "right_agency": None,
                "note": "已按申请人要求的纸质形式邮寄",
                "replied_on": _d(received, due - 3),
                "report_row": "三(一)",
            },
        )
    )
    out.append(
        (
            "DeliveryRecorded",
            {
                "request_id": rid,
                "document": "reply",
                "channel": "post",
                "evidence_kind": "postal_tracking",
                "evidence_ref": f"EMS 11900{rng.randrange(10**8):08d}",
                "delivered_on": _d(received, due - 1),
            },
        )
    )
    out.append(("RequestArchived", {"request_id": rid, "archived_on": _d(received, due + 5)}))
    return out


@dataclass
class LogState:
    """Where generation stands, so the log can be extended from one size to the next."""

    seed: int = 20260210
    requests: int = 0
    sequences: dict[str, int] = field(default_factory=dict)
    clock: datetime = START
    #: (stream_id, tenant, version) of up to SAMPLE stored requests drawn uniformly from
    #: the whole log, for reads and lifecycle appends.
    sample: list[tuple[str, str, int]] = field(default_factory=list)
    seen: int = 0
    #: The same of the newest RECENT requests (the open ones), oldest first.
    recent: list[tuple[str, str, int]] = field(default_factory=list)

    def moved(self, streams: set[str]) -> None:
        """One event was appended to each of `streams`: their versions went up by one."""
        self.sample = [(s, t, v + 1 if s in streams else v) for s, t, v in self.sample]
        self.recent = [(s, t, v + 1 if s in streams else v) for s, t, v in self.recent]


def registered(
    rng: random.Random, rid: str, town: str, sequence: int, received: date
) -> dict[str, Any]:
    doc = f"居民身份证 1404211{rng.randrange(10**11):011d}"
    return {
        "request_id": rid,
        "number": f"{TOWNSHIPS[town]}〔2026〕{sequence}号",
        "year": 2026,
        "sequence": sequence,
        "channel": rng.choice(("in_person", "online", "registered_mail")),
        "submitted_on": received.isoformat(),
        "received_on": received.isoformat(),
        "applicant": {
            "kind": "natural_person",
            "name": rng.choice(("王秀英", "李建国", "张桂兰", "刘志强", "陈淑芬")),
            "organization_kind": None,
            "id_document": doc,
            "phone": f"138{rng.randrange(10**8):08d}",
            "email": None,
            "address": f"长治市上党区{TOWNSHIPS[town]}镇{rng.randrange(1, 99)}号",
        },
        "description": f"申请公开{TOWNSHIPS[town]}镇{rng.choice(SUBJECTS)}等相关信息。",
        "requested_form": "paper",
        "delivery_channel": "post",
        "correction_notice_due": _d(received, 9),
        "reply_due": _d(received, 28),
        "reply_deadline": {
            "start": _d(received, 1),
            "working_days": 20,
            "due": _d(received, 28),
            "provisional": False,
            "calendars": ["2026: chinese-calendar 1.11.0 v1"],
        },
    }


def check_templates() -> None:
    """Every generated payload type validates against its current model (once, at start)."""
    rng = random.Random(1)
    rid = str(uuid.uuid4())
    RequestRegistered.model_validate(registered(rng, rid, "sudian", 1, date(2026, 2, 10)))
    RegistrationNumberIssued.model_validate(
        {"year": 2026, "sequence": 1, "number": "苏店〔2026〕1号", "request_id": rid}
    )
    models = {m.event_type: m for m in (RequestAssigned,)}
    models |= {
        name: getattr(le, name)
        for name in dir(le)
        if isinstance(getattr(le, name), type) and hasattr(getattr(le, name), "event_type")
    }
    seen = set()
    for i in range(400):
        for kind, body in _lifecycle(random.Random(i), rid, date(2026, 2, 10)):
            models[kind].model_validate(body)
            seen.add(kind)
    assert len(seen) >= 12, seen


def generate(state: LogState, events: int, *, window: int = 400) -> Iterator[tuple[Any, ...]]:
    """`events` more rows (source columns), streams interleaved `window` requests at a time."""
    rng = random.Random(state.seed + state.requests)
    made = 0
    while made < events:
        streams: list[list[tuple[str, str, str, dict[str, Any]]]] = []
        for _ in range(window):
            state.requests += 1
            town = list(TOWNSHIPS)[state.requests % len(TOWNSHIPS)]
            tenant = f"shangdang/{town}"
            sequence = state.sequences.get(town, 0) + 1
            state.sequences[town] = sequence
            received = date(2026, 1, 5) + timedelta(days=(state.requests // 600) % 330)
            rid = str(_v7(rng, state.clock))
            stream = f"request-{rid}"
            body = registered(rng, rid, town, sequence, received)
            number = {
                "year": 2026,
                "sequence": sequence,
                "number": body["number"],
                "request_id": rid,
            }
            life = [(stream, tenant, "RequestRegistered", body)]
            life.append(
                (
                    f"request-register-{tenant}-2026#{sequence}",
                    tenant,
                    "RegistrationNumberIssued",
                    number,
                )
            )
            life += [(stream, tenant, k, p) for k, p in _lifecycle(rng, rid, received)]
            streams.append(life)
        versions: dict[str, int] = {}
        for step in range(max(len(s) for s in streams)):
            for life in streams:
                if step >= len(life):
                    continue
                stream, tenant, kind, payload = life[step]
                if "#" in stream:
                    stream, seq = stream.split("#")
                    version = int(seq)
                    stream_type = "request-register"
                else:
                    version = versions.get(stream, 0) + 1
                    versions[stream] = version
                    stream_type = "request"
                state.clock += timedelta(milliseconds=37)
                yield (
                    _v7(rng, state.clock),
                    stream,
                    stream_type,
                    version,
                    kind,
                    1,
                    tenant,
                    SYSTEM_JSON if kind == "RegistrationNumberIssued" else CLERK_JSON,
                    _v7(rng, state.clock),
                    None,
                    state.clock,
                    state.clock,
                    canonical_json(payload).decode(),
                )
                made += 1
                if made >= events:
                    return
        for life in streams:  # a uniform sample of every stored request (reservoir)
            stream, tenant = life[0][0], life[0][1]
            if stream not in versions:
                continue  # cut off before its first event
            state.seen += 1
            state.recent.append((stream, tenant, versions[stream]))
            if len(state.sample) < SAMPLE:
                state.sample.append((stream, tenant, versions[stream]))
            elif (j := rng.randrange(state.seen)) < SAMPLE:
                state.sample[j] = (stream, tenant, versions[stream])
        del state.recent[:-RECENT]


def _sqlite_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return (
        str(row[0]),
        *row[1:8],
        str(row[8]),
        None,
        row[10].isoformat(),
        row[11].isoformat(),
        row[12],
    )


async def load(store: SqlEventStore, state: LogState, events: int, chunk: int = 50_000) -> float:
    """Append `events` generated rows to the store's table, bulk; return seconds taken."""
    started = time.perf_counter()
    rows = generate(state, events)
    while True:
        batch = [r for _, r in zip(range(chunk), rows, strict=False)]
        if not batch:
            break
        if isinstance(store.db, PostgresDatabase):
            async with store.db.pool.acquire() as conn:
                await conn.copy_records_to_table(
                    "events",
                    records=batch,
                    columns=[c.strip() for c in SOURCE_COLUMNS.split(",")],
                    schema_name=store.db.schema,
                )
        else:
            async with store.db.transaction() as tx:
                await tx.executemany(
                    f"INSERT INTO events ({SOURCE_COLUMNS}) VALUES "
                    "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                    [_sqlite_row(r) for r in batch],
                )
    if isinstance(store.db, PostgresDatabase):
        # A store in service had its rows vacuumed (hint bits set, visibility map built) by
        # autovacuum long ago and its pages written out by checkpoints. Rows bulk-loaded a
        # moment before are neither: the first reads would write every page again (hint
        # bits) while the checkpointer flushes the load, and every figure timed next —
        # appends included — would measure that instead (the 2026-12-06 run at 1M).
        await store.db.pool.execute("VACUUM (ANALYZE) events")
        await store.db.pool.execute("CHECKPOINT")
    return time.perf_counter() - started


# -- memory ---------------------------------------------------------------------------------


class RssSampler:
    """Peak resident memory of this process while in the block (sampled every 20 ms)."""

    PAGE = os.sysconf("SC_PAGE_SIZE")

    def __init__(self) -> None:
        self.before = self.peak = self.rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @classmethod
    def rss(cls) -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * cls.PAGE

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.rss())

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())


# -- engines --------------------------------------------------------------------------------


class Engine:
    """Fresh stores and databases of one engine, removed at the end."""

    def __init__(self, kind: str, url: str | None, root: Path) -> None:
        self.kind = kind
        self.url = url
        self.root = root
        self.tag = uuid.uuid4().hex[:8]
        self.schemas: list[str] = []
        self.opened: list[Any] = []

    async def store(self, service: str) -> SqlEventStore:
        if self.kind == "postgres":
            assert self.url
            schema = f"bench_rp_{self.tag}_{service}"
            self.schemas.append(schema)
            store = await open_postgres_store(self.url, schema=schema, listen=False, pool_max=4)
        else:
            store = await open_sqlite_store(str(self.root / service / "events.db"), name=service)
        self.opened.append(store)
        return store

    async def database(self, name: str) -> Database:
        if self.kind == "postgres":
            assert self.url
            schema = f"bench_rp_{self.tag}_{name}"
            self.schemas.append(schema)
            db: Database = await PostgresDatabase.open(self.url, schema, max_size=4)
        else:
            db = await SqliteDatabase.open(self.root / f"{name}.db")
        self.opened.append(db)
        return db

    async def close(self) -> None:
        for thing in self.opened:
            with contextlib.suppress(Exception):
                await thing.close()
        if self.kind == "postgres" and self.schemas:
            assert self.url
            conn = await asyncpg.connect(self.url)
            try:
                for schema in self.schemas:
                    await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            finally:
                await conn.close()


# -- measurements ---------------------------------------------------------------------------


def _new_request(state: LogState, rng: random.Random) -> StreamWrite:
    rid = str(new_id())
    town = rng.choice(list(TOWNSHIPS))
    state.sequences[town] = state.sequences.get(town, 0) + 1
    body = registered(rng, rid, town, state.sequences[town], date(2026, 11, 27))
    event = NewEvent(
        type="RequestRegistered", tenant=f"shangdang/{town}", actor=CLERK, payload=body
    )
    return StreamWrite(
        stream_id=f"request-{rid}", stream_type="request", expected_version=0, events=(event,)
    )


async def steady(
    engine: Engine, store: SqlEventStore, runner: ProjectionRunner, state: LogState
) -> dict[str, float]:
    """Per-operation rates with the log at its current size (item 7)."""
    rng = random.Random(len(state.sample))
    out: dict[str, float] = {}
    n = 300
    writes = [_new_request(state, rng) for _ in range(n)]
    t = time.perf_counter()
    for w in writes:
        await store.append([w])
    out["append single (events/s)"] = n / (time.perf_counter() - t)

    targets = rng.sample(state.sample, min(n, len(state.sample)))
    lifecycle = []
    for stream, tenant, version in targets:
        rid = stream[len("request-") :]
        lifecycle.append(
            StreamWrite(
                stream_id=stream,
                stream_type="request",
                expected_version=version,
                events=(
                    NewEvent(
                        type="DeadlineMissed",
                        tenant=tenant,
                        actor=CLERK,
                        payload={
                            "request_id": rid,
                            "reply_due": "2026-11-20",
                            "noticed_on": "2026-11-27",
                        },
                    ),
                ),
            )
        )
    t = time.perf_counter()
    for w in lifecycle:
        await store.append([w])
    out["append to stored stream (events/s)"] = len(lifecycle) / (time.perf_counter() - t)
    state.moved({s for s, _, _ in targets})

    batches = []
    for _ in range(20):
        rid = str(new_id())
        one = _new_request(state, rng).events[0]
        batches.append(
            StreamWrite(
                stream_id=f"request-{rid}",
                stream_type="request",
                expected_version=0,
                events=tuple(one for _ in range(100)),
            )
        )
    # The same NewEvent 100 times would share an event id: give each its own.
    batches = [
        b.model_copy(
            update={"events": tuple(e.model_copy(update={"event_id": new_id()}) for e in b.events)}
        )
        for b in batches
    ]
    t = time.perf_counter()
    for b in batches:
        await store.append([b])
    out["append batched x100 (events/s)"] = 2000 / (time.perf_counter() - t)

    reads = [s for s, _, _ in rng.sample(state.sample, min(n, len(state.sample)))]
    t = time.perf_counter()
    for stream in reads:
        await store.read_stream(stream)
    out["read_stream (streams/s)"] = len(reads) / (time.perf_counter() - t)

    head = await store.head_position()
    t = time.perf_counter()
    position, got = max(0, head - 10_000), 0
    while batch := await store.read_all(position, 1000):
        position = batch[-1].position
        got += len(batch)
    out["catch-up last 10k (events/s)"] = got / (time.perf_counter() - t)

    await runner.run_once()  # the appends above
    # Lifecycle events go to open requests (a request is decided within 20 working days):
    # the newest ones. The same to requests drawn from the whole history is the second
    # line: it reads ledger rows all over a table that outgrows the caches.
    for label, which in (
        ("live projection of new events (events/s)", "recent"),
        ("live projection, any stored request (events/s)", "sample"),
    ):
        pool = getattr(state, which)  # read now: `moved` replaces the lists
        more = [
            StreamWrite(
                stream_id=stream,
                stream_type="request",
                expected_version=version,
                events=(
                    NewEvent(
                        type="DeadlineApproaching",
                        tenant=tenant,
                        actor=CLERK,
                        payload={
                            "request_id": stream[len("request-") :],
                            "reply_due": "2026-12-04",
                            "working_days_left": 5,
                            "noticed_on": "2026-11-27",
                        },
                    ),
                ),
            )
            for stream, tenant, version in rng.sample(pool, min(1000, len(pool)))
        ]
        for i in range(0, len(more), 100):
            await store.append(more[i : i + 100])
        state.moved({w.stream_id for w in more})
        t = time.perf_counter()
        applied = await runner.run_once()
        out[label] = applied / (time.perf_counter() - t)
    return out


async def raw_read(store: SqlEventStore, path: str) -> float:
    """The limit: the whole log through the driver, keyset pages of 5,000, no decoding."""
    t = time.perf_counter()
    n, position = 0, 0
    sql = (
        f"SELECT position, {SOURCE_COLUMNS} FROM events"
        " WHERE position > $1 ORDER BY position LIMIT 5000"
    )
    if isinstance(store.db, PostgresDatabase):
        async with store.db.pool.acquire() as conn:
            while rows := await conn.fetch(sql, position):
                position, n = rows[-1][0], n + len(rows)
    else:
        conn = sqlite3.connect(path)
        try:
            while rows := conn.execute(sql.replace("$1", "?"), (position,)).fetchall():
                position, n = rows[-1][0], n + len(rows)
        finally:
            conn.close()
    return n / (time.perf_counter() - t)


async def replay_all(
    engine: Engine, stores: dict[str, SqlEventStore], names: list[str], chunk: int
) -> dict[str, dict[str, float]]:
    out = {}
    for name in names:
        target = rp.find(name)
        shadow = await engine.database(f"shadow_{name.replace('.', '_')}")
        cpu = time.process_time()
        machine_before = cpu_seconds()
        with RssSampler() as rss:
            result = await rp.replay(target, dict(stores), shadow, batch=chunk)
        cpu = time.process_time() - cpu  # this process only: the database's CPU is not in it
        spent = cpu_spent(machine_before, cpu_seconds())
        events = max(result.events, 1)
        database = spent.get("postgres", 0.0) / events * 1e6
        # The rate the machine's cores could give if nothing but this replay's two parts —
        # this process and the database — ran on them, split over processes perfectly.
        ceiling = (os.cpu_count() or 1) / ((cpu / events) + database / 1e6)
        out[name] = {
            "database CPU us/event": round(database, 2),
            "CPU ceiling events/s": round(ceiling),
            "events": result.events,
            "seconds": round(result.seconds, 2),
            "events/s": round(result.rate),
            "rss before MiB": round(rss.before / 2**20),
            "rss peak MiB": round(rss.peak / 2**20),
            "process CPU us/event": round(cpu / max(result.events, 1) * 1e6, 2),
            "process CPU share of wall": round(cpu / result.seconds, 2) if result.seconds else 0,
        }
        print(
            f"  replay {name}: {result.events:,} events in {result.seconds:.1f} s = "
            f"{result.rate:,.0f} events/s; RSS {rss.before / 2**20:.0f} -> peak "
            f"{rss.peak / 2**20:.0f} MiB; this process's CPU "
            f"{out[name]['process CPU us/event']} µs/event "
            f"({out[name]['process CPU share of wall']:.0%} of the wall time), the "
            f"database's {database:.1f} µs/event: all {os.cpu_count()} cores on it, split over "
            f"processes, could reach {ceiling:,.0f} events/s",
            flush=True,
        )
    return out


async def run_engine(kind: str, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    engine = Engine(kind, args.database_url, root / kind)
    result: dict[str, Any] = {"growth": {}, "replay": {}}
    try:
        services = discover()
        stores = {name: await engine.store(name) for name in services}
        store = stores["applications"]
        live = await engine.database("live")
        runner = ProjectionRunner(RequestLedger(), store, live)
        await runner.setup()
        state = LogState()
        sizes = sorted({*args.sizes, args.events})
        for size in sizes:
            have = await store.head_position()
            seconds = await load(store, state, size - have)
            print(f"{kind}: log at {size:,} events (loaded {size - have:,} in {seconds:.1f} s)")
            t = time.perf_counter()
            caught = await runner.run_once(batch=args.chunk)
            print(f"  live ledger caught up {caught:,} events in {time.perf_counter() - t:.1f} s")
            if isinstance(store.db, PostgresDatabase):
                # The catch-up just wrote the ledger's rows for every request: vacuumed and
                # written out, as autovacuum and checkpoints leave a read model in service,
                # before anything is timed on it (see `load`).
                await store.db.pool.execute("VACUUM (ANALYZE)")
                await store.db.pool.execute("CHECKPOINT")
            if not result["growth"]:
                await steady(engine, store, runner, state)  # warm-up: caches, prepared statements
            rounds = [await steady(engine, store, runner, state) for _ in range(args.repeats)]
            figures = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
            for label, value in figures.items():
                print(f"  {label:45} {value:>10,.0f}")
            result["growth"][size] = figures
        result["raw read (events/s)"] = await raw_read(
            store, str(engine.root / "applications" / "events.db")
        )
        raw = result["raw read (events/s)"]
        print(f"  {'raw read, no decoding (events/s)':45} {raw:>10,.0f}")
        result["replay"] = await replay_all(engine, stores, args.projections, args.chunk)
        rows = await live.fetchval("SELECT COUNT(*) FROM app_ledger")
        result["ledger rows"] = rows
    finally:
        await engine.close()
    return result


def table(results: dict[str, Any]) -> str:
    lines = []
    for kind, r in results.items():
        sizes = list(r["growth"])
        lines.append(f"\n{kind}: flat cost (item 7), each figure with the log at N events")
        lines.append(f"  {'N':45}" + "".join(f"{s:>12,}" for s in sizes) + "   last/first")
        for label in r["growth"][sizes[0]]:
            values = [r["growth"][s][label] for s in sizes]
            lines.append(
                f"  {label:45}"
                + "".join(f"{v:>12,.0f}" for v in values)
                + f"   {values[-1] / values[0]:.2f}"
            )
        lines.append(f"\n{kind}: replay (item 4) from position 0")
        for name, rep in r["replay"].items():
            lines.append(
                f"  {name:40} {rep['events']:>10,} events {rep['events/s']:>10,} events/s "
                f"RSS {rep['rss before MiB']} -> {rep['rss peak MiB']} MiB"
            )
        lines.append(f"  {'raw read, no decoding':40} {r['raw read (events/s)']:>28,.0f} events/s")
    return "\n".join(lines)


def machine() -> str:
    cpu = "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "?")
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {cpu}, {os.cpu_count()} CPUs; "
        f"Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}; "
        f"load {' / '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--events", type=int, default=1_000_000, help="final log size (default 1,000,000)"
    )
    parser.add_argument(
        "--sizes",
        default="10000,100000",
        help="smaller log sizes measured first, comma-separated (default 10000,100000)",
    )
    parser.add_argument("--engine", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--projections",
        default="applications.request_ledger,assessment.scoreboard.v2",
        help="projections to replay (default: every replayable one applications events feed)",
    )
    parser.add_argument(
        "--chunk", type=int, default=5000, help="events per replay transaction (default 5000)"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="flat-cost rounds per size; the median (default 3)"
    )
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",") if s and int(s) < args.events]
    args.projections = [p for p in args.projections.split(",") if p]
    args.database_url = (
        args.database_url
        or os.environ.get("GONGKAI_BENCH_DATABASE_URL")
        or os.environ.get("GONGKAI_TEST_DATABASE_URL")
    )
    engines = ["sqlite", "postgres"] if args.engine == "both" else [args.engine]
    if "postgres" in engines and not args.database_url:
        print("NOTE: PostgreSQL skipped: no database URL", file=sys.stderr)
        engines.remove("postgres")
    print(f"machine: {machine()}")
    info = asyncio.run(common_machine(args.database_url if "postgres" in engines else None))
    print_machine(
        info,
        {
            "durability": "SQLite WAL, synchronous=NORMAL (the store's own settings); "
            "PostgreSQL as shown above (replay commits one transaction per chunk)"
        },
    )
    check_templates()
    started = time.perf_counter()
    results = {}
    root = Path(tempfile.mkdtemp(prefix="gk-bench-replay-"))
    try:
        for kind in engines:
            results[kind] = asyncio.run(run_engine(kind, args, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(table(results))
    print(
        f"\ntotal wall time {time.perf_counter() - started:.0f} s; peak RSS "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
