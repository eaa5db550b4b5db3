"""How long the monthly 报送刊登情况通报 takes to count (services/catalog/submission_views.py).

Fills the 信息报送 read model with `--items` items spread over a year and 240 units, then
times `unit_counts` for the whole district and one month (the four GROUP BY queries the
page, the CSV and the issued bulletin run). SQLite always; PostgreSQL when a URL is given
(`--database-url` or GONGKAI_TEST_DATABASE_URL), in a throw-away schema.

    .venv/bin/python -m bench.catalog_submissions --items 20000 --repeat 20
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from services.catalog.submission_views import SubmissionLedger, unit_counts
from shared.db import Database, SqliteDatabase
from shared.eventstore import open_postgres_store

ITEM = (
    "INSERT INTO catalog_submissions (submission_id, tenant, township, unit_name, liaison,"
    " title, kind, column_code, status, privacy_findings, submitted_at, submitted_month,"
    " accepted_month, updated_at, version) VALUES ($1, $2, 'shangdang/t', '单位', 'liaison',"
    " '标题', 'notice', 'finance', 'accepted', 0, '2026-01-01', $3, $3, '2026-01-01', 1)"
)
DRAFT = (
    "INSERT INTO catalog_submission_drafts (document_id, submission_id, published_month)"
    " VALUES ($1, $2, $3)"
)


async def measure(db: Database, items: int, repeat: int) -> list[float]:
    ledger = SubmissionLedger()
    async with db.transaction() as tx:
        for statement in ledger.schema:
            await tx.execute(statement)
    rnd = random.Random(20)
    units = [f"shangdang/t{t}/u{u}" for t in range(12) for u in range(20)]
    rows = [
        (str(uuid.uuid4()), rnd.choice(units), f"2026-{rnd.randint(1, 12):02d}")
        for _ in range(items)
    ]
    async with db.transaction() as tx:
        await tx.executemany(ITEM, rows)
        await tx.executemany(DRAFT, [(str(uuid.uuid4()), sid, month) for sid, _, month in rows])
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await unit_counts(db, "shangdang", "2026-05")
        times.append((time.perf_counter() - started) * 1000)
    return times


def report(name: str, times: list[float]) -> None:
    times = sorted(times)
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    print(f"{name}: p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database-url", default=os.environ.get("GONGKAI_TEST_DATABASE_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = await SqliteDatabase.open(Path(tmp) / "views.db")
        try:
            report("SQLite", await measure(db, args.items, args.repeat))
        finally:
            await db.close()
    if not args.database_url:
        print("PostgreSQL: skipped (no --database-url, no GONGKAI_TEST_DATABASE_URL)")
        return
    schema = f"bench_submissions_{uuid.uuid4().hex[:8]}"
    store = await open_postgres_store(args.database_url, schema=schema)
    try:
        report("PostgreSQL", await measure(store.db, args.items, args.repeat))
    finally:
        async with store.db.transaction() as tx:
            await tx.execute(f"DROP SCHEMA {schema} CASCADE")
        await store.close()


if __name__ == "__main__":
    asyncio.run(main())
