"""Audit throughput: chain append, chain verify, projection replay; peak memory.

    python -m bench.audit [--events N] [--engine sqlite|postgres|both]
                          [--database-url URL] [--json OUT]

For each engine, in a fresh SQLite directory / a fresh PostgreSQL schema, and in a process
of its own (so the peak RSS is that engine's):
1. N events (~600-byte Chinese payload, 50 per stream) are appended to a store
   (batched; not the measured part — bench/eventstore.py measures appends);
2. chain append: `ChainRecorder` fed by `ProjectionRunner` (1000 events per
   transaction, as in production), events/s;
3. verify: `chain.verify` walks and rehashes the whole chain, events/s;
4. replay: `replay.replay` of a small ledger projection from the log into a
   shadow, events/s (what `gongkai replay` does).
Limits measured in the same run, on the same rows: SHA-256 linking of the same bytes in
memory (the chain's CPU floor); a raw `executemany` of the same chain rows into a table
without guards, 1000 per transaction (the database's floor for append); a raw read of the
chain with the hash recomputed and compared (verify's floor); on the first 100,000 events.
Peak memory is ru_maxrss of the engine's process, taken before the limits run. A script,
never a test.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg

from bench.common import database_url, load, machine, print_machine
from services.audit import chain, replay
from services.audit.chain import ChainRecorder
from shared.db import Database, PostgresDatabase, SqliteDatabase, Tx
from shared.envelope import Actor, NewEvent, RecordedEvent, StreamWrite
from shared.eventstore import SqlEventStore, open_postgres_store, open_sqlite_store
from shared.projections import ProjectionRunner

CLERK = Actor(id="wang-tietong", role="request_handler")
TOWNSHIPS = ("sudian", "handian", "xiliu", "nanchen", "babi", "dongyang")
PER_STREAM = 50
#: The limits run on the first events of the log (a rate per event; they hold the rows).
LIMIT_SAMPLE = 100_000


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

    async def apply_batch(self, tx: Tx, events: Sequence[RecordedEvent]) -> None:
        """The same rows as `apply` event by event, one upsert per tenant and chunk."""
        counts: dict[str, tuple[int, str]] = {}
        for event in events:
            n, _ = counts.get(event.tenant, (0, ""))
            counts[event.tenant] = (n + 1, event.payload["number"])
        await tx.executemany(
            """INSERT INTO bench_ledger (tenant, requests, last_number) VALUES ($1, $2, $3)
               ON CONFLICT (tenant) DO UPDATE SET requests = bench_ledger.requests
                   + excluded.requests, last_number = excluded.last_number""",
            [(tenant, n, last) for tenant, (n, last) in counts.items()],
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


async def limits(views: Database, events: list[RecordedEvent]) -> dict[str, float]:
    """The floors of the same work: hashing alone, raw inserts, raw read + rehash."""
    bodies = [e.to_wire() for e in events]
    started = time.perf_counter()
    prev = chain.GENESIS
    rows = []
    for seq, (event, body) in enumerate(zip(events, bodies, strict=True), start=1):
        digest = hashlib.sha256(bytes.fromhex(prev) + body).hexdigest()
        rows.append((seq, str(event.event_id), body.decode(), prev, digest))
        prev = digest
    hash_s = time.perf_counter() - started
    await views.execute_script(
        [
            """CREATE TABLE IF NOT EXISTS bench_raw_chain (seq BIGINT PRIMARY KEY,
               event_id TEXT NOT NULL UNIQUE, body TEXT NOT NULL, prev_hash TEXT NOT NULL,
               hash TEXT NOT NULL)"""
        ]
    )
    started = time.perf_counter()
    for i in range(0, len(rows), 1000):
        async with views.transaction() as tx:
            await tx.executemany(
                "INSERT INTO bench_raw_chain (seq, event_id, body, prev_hash, hash) "
                "VALUES ($1, $2, $3, $4, $5)",
                rows[i : i + 1000],
            )
    insert_s = time.perf_counter() - started
    started = time.perf_counter()
    after, prev, read = 0, chain.GENESIS, 0
    while found := await views.fetch(
        "SELECT seq, body, hash FROM bench_raw_chain WHERE seq > $1 ORDER BY seq LIMIT 5000",
        after,
    ):
        for row in found:
            digest = hashlib.sha256(bytes.fromhex(prev) + str(row["body"]).encode()).hexdigest()
            assert digest == row["hash"]
            prev = digest
        read += len(found)
        after = int(found[-1]["seq"])
    read_s = time.perf_counter() - started
    assert read == len(events)
    n = len(events)
    return {"hash": n / hash_s, "raw_insert": n / insert_s, "raw_read_rehash": n / read_s}


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
    peak = peak_mb()  # before the limits, which hold their sample in memory
    sample: list[RecordedEvent] = []
    position = 0
    while len(sample) < min(events, LIMIT_SAMPLE) and (
        page := await store.read_all(position, 5000)
    ):
        sample.extend(page)
        position = page[-1].position
    floor = await limits(views, sample[:LIMIT_SAMPLE])
    append_rate = chained / append_s
    return {
        "engine": engine,
        "events": events,
        "store_fill_events_per_s": round(events / fill_s),
        "chain_append_events_per_s": round(append_rate),
        "verify_events_per_s": round(verified.rate),
        "replay_events_per_s": round(replayed.rate),
        "limit_hash_events_per_s": round(floor["hash"]),
        "limit_raw_insert_events_per_s": round(floor["raw_insert"]),
        "limit_raw_read_rehash_events_per_s": round(floor["raw_read_rehash"]),
        "ratio_append_raw_insert": round(append_rate / floor["raw_insert"], 2),
        "ratio_verify_raw_read_rehash": round(verified.rate / floor["raw_read_rehash"], 2),
        "limit_sample_events": min(events, LIMIT_SAMPLE),
        "peak_rss_mb": round(peak, 1),
        "load_end": load(),
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


def _child(engine: str, events: int, url: str | None) -> dict[str, Any]:
    """Run one engine in a process of its own: its ru_maxrss is that engine's peak."""
    cmd = [sys.executable, "-m", "bench.audit", "--events", str(events), "--engine", engine]
    cmd += ["--child"] + (["--database-url", url] if url else [])
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench.audit {engine} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.audit", description=__doc__.split("\n")[0])
    p.add_argument("--events", type=int, default=10_000)
    p.add_argument("--engine", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--database-url", default=None)
    p.add_argument("--json", help="also write the results here")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    url = database_url(args.database_url)
    if args.child:  # one engine, its result as one JSON line
        run = (
            run_sqlite(args.events)
            if args.engine == "sqlite"
            else run_postgres(url or "", args.events)
        )
        print(json.dumps(asyncio.run(run)))
        return 0
    engines = ["sqlite", "postgres"] if args.engine == "both" else [args.engine]
    if "postgres" in engines and not url:
        print("postgres needs --database-url or GONGKAI_TEST_DATABASE_URL", file=sys.stderr)
        return 2
    info = asyncio.run(machine(url if "postgres" in engines else None))
    print_machine(info)
    results = [_child(engine, args.events, url) for engine in engines]
    print(
        "\nengine   | events    | chain append ev/s (÷ raw insert) | verify ev/s "
        "(÷ raw read+rehash) | SHA-256 alone | replay ev/s | peak RSS MB"
    )
    for r in results:
        print(
            f"{r['engine']:<8} | {r['events']:>9,} | {r['chain_append_events_per_s']:>9,} "
            f"of {r['limit_raw_insert_events_per_s']:>9,} ({r['ratio_append_raw_insert']:.2f}) | "
            f"{r['verify_events_per_s']:>9,} of {r['limit_raw_read_rehash_events_per_s']:>9,} "
            f"({r['ratio_verify_raw_read_rehash']:.2f}) | {r['limit_hash_events_per_s']:>9,} | "
            f"{r['replay_events_per_s']:>9,} | {r['peak_rss_mb']}"
        )
    print(f"load avg    {load()} at end")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
