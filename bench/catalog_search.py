"""Chinese full-text search of the public catalog: indexing cost and query latency.

    python -m bench.catalog_search [--documents N] [--queries Q]
                                   [--engine sqlite|postgres|both]
                                   [--database-url URL] [--json OUT]

For each engine, in a fresh SQLite file / a fresh PostgreSQL schema:
1. N published documents (~800 Chinese characters of realistic 公文 text each; 1 in 100
   mentions 秸秆还田) go through the real `PublicCatalog` projection, one
   `DocumentPublished` per transaction as the projection runner applies them: ms per
   document, and the rows of the (term, document_id) index;
2. Q searches of each query with the public API's SQL (`search.search_sql`: every bigram
   of the query, GROUP BY … HAVING COUNT = terms), p50 / p95 ms and hits;
3. the peer, measured in the same run on the same rows: a naive scan,
   `body LIKE '%query%'`, which needs no index and finds only the contiguous phrase.
A script, never a test; docs/catalog.md "Measured" records a run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench.common import database_url, load, machine, median, percentile, print_machine
from services.catalog.events import DocumentPublished
from services.catalog.examples import history
from services.catalog.projections import PublicCatalog
from services.catalog.search import Filters, query_terms, search_sql
from services.catalog.state import content_hash
from shared.db import Database, PostgresDatabase, SqliteDatabase
from shared.envelope import Actor, RecordedEvent
from shared.projections import setup_projection
from shared.registry import payload_of

QUERIES = ("秸秆还田", "农村人居环境", "补贴资金")
PHRASES = (
    "各村（社区）、镇直各单位：",
    "为深入贯彻落实党中央、国务院决策部署，",
    "切实做好农村人居环境整治工作，",
    "按照“谁主管、谁负责”的原则，",
    "补贴资金由镇财政所统一发放，",
    "实行台账管理，村务监督委员会每季度公示一次。",
    "加强对集体资产、资源的监督管理，",
    "严格落实安全生产责任制，",
    "对符合条件的农户给予适当补助，",
    "进一步优化营商环境，提升政务服务水平。",
    "各有关单位要高度重视，明确责任分工，",
    "确保各项工作按时保质完成。",
    "请认真贯彻执行。",
    "做好森林防火和防汛抗旱各项准备，",
    "推动乡村振兴战略落地见效，",
)
RARE = "对实施秸秆还田的农户，按每亩二十元标准给予补贴。"


def body(rng: random.Random, n: int) -> str:
    parts: list[str] = []
    while sum(map(len, parts)) < 800:
        parts.append(rng.choice(PHRASES))
    if n % 100 == 7:
        parts.insert(rng.randrange(len(parts)), RARE)
    return "".join(parts)


def events(count: int) -> list[RecordedEvent]:
    template = history()["DocumentPublished"]
    assert isinstance(template, DocumentPublished)
    rng = random.Random(20260320)
    start = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
    found = []
    for n in range(count):
        content = template.content.model_copy(
            update={"title": f"苏店镇关于印发第{n}号工作方案的通知", "body": body(rng, n)}
        )
        at = start + timedelta(minutes=n)
        event = template.model_copy(
            update={
                "document_id": uuid.uuid4(),
                "content": content,
                "title": content.title,
                "content_hash": content_hash(content),
                "published_at": at,
            }
        )
        found.append(
            RecordedEvent(
                event_id=uuid.uuid4(),
                stream_id=f"document-{event.document_id}",
                stream_type="document",
                version=9,
                position=n + 1,
                type=event.event_type,
                schema_version=event.schema_version,
                tenant=event.drafting_unit,
                actor=Actor(id="guo-xinxin", role="leader_in_charge"),
                correlation_id=uuid.uuid4(),
                causation_id=None,
                occurred_at=at,
                recorded_at=at,
                payload=payload_of(event),
            )
        )
    return found


async def timed(db: Database, sql: str, args: list[Any], repeats: int) -> tuple[list[float], int]:
    times, hits = [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        rows = await db.fetch(sql, *args)
        times.append((time.perf_counter() - t0) * 1000)
        hits = len(rows)
    return times, hits


async def run_engine(db: Database, recorded: list[RecordedEvent], queries: int) -> dict[str, Any]:
    projection = PublicCatalog()
    await setup_projection(db, projection)
    t0 = time.perf_counter()
    for event in recorded:
        async with db.transaction() as tx:
            await projection.apply(tx, event)
    indexing = time.perf_counter() - t0
    rows = int(await db.fetchval("SELECT COUNT(*) FROM catalog_search"))
    results: dict[str, Any] = {
        "documents": len(recorded),
        "index_ms_per_document": indexing / len(recorded) * 1000,
        "index_rows": rows,
        "queries": {},
    }
    for q in QUERIES:
        index_sql, index_args = search_sql(query_terms(q), Filters(), 20)
        scan_sql = (
            "SELECT * FROM catalog_public WHERE body LIKE $1 ORDER BY updated_at DESC LIMIT $2"
        )
        await timed(db, index_sql, index_args, 2)  # warm-up: caches, prepared statements
        await timed(db, scan_sql, [f"%{q}%", 20], 2)
        index_times, index_hits = await timed(db, index_sql, index_args, queries)
        scan_times, scan_hits = await timed(db, scan_sql, [f"%{q}%", 20], queries)
        results["queries"][q] = {
            "index": {
                "p50_ms": median(index_times),
                "p95_ms": percentile(index_times, 95),
                "hits": index_hits,
            },
            "like_scan": {
                "p50_ms": median(scan_times),
                "p95_ms": percentile(scan_times, 95),
                "hits": scan_hits,
            },
        }
    return results


async def sqlite(recorded: list[RecordedEvent], queries: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-catalog-") as tmp:
        db = await SqliteDatabase.open(Path(tmp) / "views.db")
        try:
            return await run_engine(db, recorded, queries)
        finally:
            await db.close()


async def postgres(url: str, recorded: list[RecordedEvent], queries: int) -> dict[str, Any]:
    schema = f"bench_catalog_{uuid.uuid4().hex[:8]}"
    db = await PostgresDatabase.open(url, schema)
    try:
        return await run_engine(db, recorded, queries)
    finally:
        await db.close()
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await conn.close()


def report(engine: str, r: dict[str, Any]) -> None:
    print()
    print(
        f"{engine}: {r['documents']} documents indexed, "
        f"{r['index_ms_per_document']:.1f} ms per document, {r['index_rows']:,} index rows"
    )
    print(
        f"  {'query':<10} {'bigram index p50/p95 ms':>24} {'hits':>5}   "
        f"{'LIKE scan p50/p95 ms':>21} {'hits':>5}"
    )
    for q, m in r["queries"].items():
        i, s = m["index"], m["like_scan"]
        print(
            f"  {q:<10} {i['p50_ms']:>11.1f} / {i['p95_ms']:<10.1f} {i['hits']:>5}   "
            f"{s['p50_ms']:>8.1f} / {s['p95_ms']:<10.1f} {s['hits']:>5}"
        )


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.catalog_search")
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--engine", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--database-url")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    url = database_url(args.database_url)
    info = await machine(url if args.engine != "sqlite" else None, ["aiosqlite"])
    print_machine(info, {"bench": f"{args.documents} documents, {args.queries} searches each"})
    recorded = events(args.documents)
    results: dict[str, Any] = {"machine": info, "config": vars(args), "engines": {}}
    if args.engine in ("sqlite", "both"):
        results["engines"]["sqlite"] = await sqlite(recorded, args.queries)
        report("SQLite", results["engines"]["sqlite"])
    if args.engine in ("postgres", "both"):
        if url:
            results["engines"]["postgres"] = await postgres(url, recorded, args.queries)
            report("PostgreSQL", results["engines"]["postgres"])
        else:
            print("\nPostgreSQL skipped: no --database-url / GONGKAI_BENCH_DATABASE_URL")
    results["load_end"] = load()
    print(f"\nload avg    {results['load_end']} at end (1/5/15 min)")
    if args.json:
        write_json(Path(args.json), results)
    return 0


def write_json(path: Path, results: dict[str, Any]) -> None:
    path.write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str))


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
