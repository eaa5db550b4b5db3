"""Audit throughput: chain append, chain verify, projection replay; peak memory.

    python -m bench.audit [--events N] [--engine sqlite|postgres|both]
                          [--database-url URL] [--json OUT]

For each engine, in a fresh SQLite directory / a fresh PostgreSQL schema:
1. N events (~600-byte Chinese payload, 50 per stream) are appended to a store
   (batched; not the measured part — bench/eventstore.py measures appends);
2. chain append: `ChainRecorder` fed by `ProjectionRunner` (1000 events per
   transaction, as in production), events/s;
3. verify: `chain.verify` walks and rehashes the whole chain, events/s;
4. replay: `replay.replay` of a small ledger projection from the log into a
   shadow, events/s (what `gongkai replay` does).
Peak memory is ru_maxrss of this process (resource.getrusage), after each engine.
The default (--events 10000) runs in well under two minutes; docs/operations.md
records the numbers with the command. A script, never a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg

from services.audit import chain, replay
from services.audit.chain import ChainRecorder
from shared.db import Database, PostgresDatabase, SqliteDatabase, Tx
from shared.envelope import Actor, NewEvent, RecordedEvent, StreamWrite
from shared.eventstore import SqlEventStore, open_postgres_store, open_sqlite_store
from shared.projections import ProjectionRunner

CLERK = Actor(id="wang-tietong", role="request_handler")
TOWNSHIPS = ("sudian", "handian", "xiliu", "nanchen", "babi", "dongyang")
PER_STREAM = 50


def payload(n: int) -> dict[str, Any]:
    return {
        "request_id": str(uuid.uuid4()),
        "number": f"苏店〔2026〕{n}号",
        "applicant": {
            "kind": "natural_person",
            "name": "王秀英",
            "id_document": "居民身份证 140421199001011234",
            "phone": "13812345678",
            "address": "长治市上党区苏店镇苏店村",
        },
        "description": "申请公开苏店镇2025年度惠民惠农财政补贴资金发放名单及标准，"
        "包括补贴对象、补贴金额、发放时间及审核程序等相关信息。",
        "requested_form": "paper",
        "delivery_channel": "post",
    }


class Ledger:
    name = "bench.ledger"
    tables: Sequence[str] = ("bench_ledger",)
    schema: Sequence[str] = (
        """CREATE TABLE IF NOT EXISTS bench_ledger (
            tenant TEXT PRIMARY KEY, requests BIGINT NOT NULL, last_number TEXT NOT NULL
        )""",
    )

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        await tx.execute(
            """INSERT INTO bench_ledger (tenant, requests, last_number) VALUES ($1, 1, $2)
               ON CONFLICT (tenant) DO UPDATE SET requests = bench_ledger.requests + 1,
                   last_number = excluded.last_number""",
            event.tenant,
            event.payload["number"],
        )


async def fill(store: SqlEventStore, events: int) -> float:
    started = time.perf_counter()
    n = 0
    while n < events:
        writes = []
        for _ in range(10):
            size = min(PER_STREAM, events - n)
            if size <= 0:
                break
            tenant = f"shangdang/{TOWNSHIPS[n % len(TOWNSHIPS)]}"
            batch = tuple(
                NewEvent(type="RequestRegistered", tenant=tenant, actor=CLERK, payload=payload(i))
                for i in range(n + 1, n + size + 1)
            )
            writes.append(
                StreamWrite(
                    stream_id=f"request-{uuid.uuid4()}", stream_type="request", events=batch
                )
            )
            n += size
        await store.append(writes)
    return time.perf_counter() - started


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def measure(
    engine: str, store: SqlEventStore, views: Database, shadow: Database, events: int
) -> dict[str, Any]:
    fill_s = await fill(store, events)
    runner = ProjectionRunner(ChainRecorder("bench"), store, views)
    await runner.setup()
    started = time.perf_counter()
    chained = await runner.run_once(batch=1000)
    append_s = time.perf_counter() - started
    verified = await chain.verify(views)
    assert verified.broken is None and verified.verified == events, verified
    target = replay.Target("bench", Ledger(), ("bench",))
    replayed = await replay.replay(target, {"bench": store}, shadow)
    return {
        "engine": engine,
        "events": events,
        "store_fill_events_per_s": round(events / fill_s),
        "chain_append_events_per_s": round(chained / append_s),
        "verify_events_per_s": round(verified.rate),
        "replay_events_per_s": round(replayed.rate),
        "peak_rss_mb": round(peak_mb(), 1),
    }


async def run_sqlite(events: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = await open_sqlite_store(str(folder / "events.db"), name="bench")
        views = await SqliteDatabase.open(folder / "views.db")
        shadow = await SqliteDatabase.open(folder / "shadow.db")
        try:
            return await measure("sqlite", store, views, shadow, events)
        finally:
            for db in (shadow, views, store):
                await db.close()


async def run_postgres(url: str, events: int) -> dict[str, Any]:
    schema = f"bench_audit_{uuid.uuid4().hex[:8]}"
    store = await open_postgres_store(url, schema=schema, listen=False)
    shadow = await PostgresDatabase.open(url, f"{schema}_shadow")
    try:
        return await measure("postgres", store, store.db, shadow, events)
    finally:
        await shadow.close()
        await store.close()
        conn = await asyncpg.connect(url)
        try:
            for name in (schema, f"{schema}_shadow"):
                await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        finally:
            await conn.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.audit", description=__doc__.split("\n")[0])
    p.add_argument("--events", type=int, default=10_000)
    p.add_argument("--engine", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--database-url", default=os.environ.get("GONGKAI_TEST_DATABASE_URL"))
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)
    results = []
    if args.engine in ("sqlite", "both"):
        results.append(asyncio.run(run_sqlite(args.events)))
    if args.engine in ("postgres", "both"):
        if not args.database_url:
            print("postgres needs --database-url or GONGKAI_TEST_DATABASE_URL", file=sys.stderr)
            return 2
        results.append(asyncio.run(run_postgres(args.database_url, args.events)))
    header = ("engine", "events", "chain append ev/s", "verify ev/s", "replay ev/s", "peak RSS MB")
    print(" | ".join(header))
    for r in results:
        print(
            f"{r['engine']} | {r['events']} | {r['chain_append_events_per_s']:,} | "
            f"{r['verify_events_per_s']:,} | {r['replay_events_per_s']:,} | {r['peak_rss_mb']}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
