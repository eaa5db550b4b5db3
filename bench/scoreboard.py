"""Assessment latency: event committed → score visible, at a sustained rate (issue #10 item 5).

    python -m bench.scoreboard [--mode embedded|distributed|both] [--rate R] [--seconds S]
                               [--database-url URL] [--bootstrap HOST:PORT] [--json OUT]

A mixed load from five townships goes into the five source stores the suite has
(applications, catalog, interpretation, sentiment, assessment), one event per append
(as a command handler writes), open loop at R events/s for S seconds. Four in five
events are ones the district scheme scores (DeadlineMissed, ColumnStale,
PublicationDeadlineMissed, InterpretationDeadlineMissed, CaseEscalated, each a new
case, payloads from the services' contract examples); one in five is an ordinary
RequestRegistered nobody scores, so the scorer also reads what it ignores.

The clock starts when `append` returns (the event is committed) and stops when a poller
(every 10 ms) sees the event's finding in `score_findings`. The finding, the
rescored card and the change rows commit in one transaction, so that is the moment the
score is visible to a query.

- embedded: SQLite stores and views, `ProjectionRunner`s of the real
  `services.assessment.projections.Scoreboard` over each store, in one process with the
  writer (as `gongkai run` is), idle wait 0.5 s as in the default settings (a runner
  in the same process is woken by the append itself);
- distributed: PostgreSQL stores (one schema each) with a `Relay` each (LISTEN/NOTIFY
  wake-up) in a process of their own, as `gongkai serve` has them beside the API's
  handlers, not on the load generator's loop; the Scoreboard fed by the faust app of
  `shared.streams.build_projection_app` in a separate process, as `gongkai worker
  assessment` has it.

The limit printed next to it: the same writer with nothing consuming (commit rate, and
how late commits fell behind the schedule). A script, never a test.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import multiprocessing
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from bench.common import (
    database_url,
    kafka_bootstrap,
    load,
    machine,
    median,
    percentile,
    print_machine,
)
from bench.kafka import ACTOR, drop_topics, registration
from services.assessment.examples import scheme_published
from services.assessment.projections import Scoreboard
from services.assessment.signals import Source, classify
from shared.db import Database, PostgresDatabase, SqliteDatabase
from shared.envelope import NewEvent, StreamWrite, canonical_json
from shared.eventstore import SqlEventStore, open_postgres_store, open_sqlite_store
from shared.kafka import Relay, ensure_topics, topic_for
from shared.projections import ProjectionRunner
from shared.registry import payload_of, to_new_event
from shared.streams import (
    build_projection_app,
    partitions_of,
    run_stream_processor,
    setup_projection_app,
)

SERVICES = ("applications", "catalog", "interpretation", "sentiment", "assessment")
TOWNSHIPS = (
    "shangdang/sudian",
    "shangdang/handian",
    "shangdang/yincheng",
    "shangdang/xihuo",
    "shangdang/bayi",
)
SCORED = (
    ("applications", "DeadlineMissed"),
    ("catalog", "ColumnStale"),
    ("catalog", "PublicationDeadlineMissed"),
    ("interpretation", "InterpretationDeadlineMissed"),
    ("sentiment", "CaseEscalated"),
)
POLL = 0.010


@dataclass
class Template:
    service: str
    type: str
    schema_version: int
    body: str  # canonical JSON of the example payload
    case: str  # the example's case key, replaced per event


def templates() -> list[Template]:
    found: list[Template] = []
    for service, event_type in SCORED:
        examples = importlib.import_module(f"services.{service}.examples").EXAMPLES
        for make in examples.values():
            event = make()
            if event.event_type != event_type:
                continue
            payload = payload_of(event)
            tenant = "shangdang/sudian"
            source = Source("x", event_type, tenant, scheme_time(), payload)
            (finding, *_) = classify(source)
            found.append(
                Template(
                    service,
                    event_type,
                    event.schema_version,
                    canonical_json(payload).decode(),
                    finding.case,
                )
            )
            break
        else:
            raise SystemExit(f"no example of {event_type} in services/{service}/examples.py")
    return found


def scheme_time() -> datetime:
    return datetime(2026, 3, 1, tzinfo=UTC)


@dataclass
class Planned:
    service: str
    write: StreamWrite
    event_id: str | None  # set when the event is scored


def plan(count: int) -> list[Planned]:
    """`count` events: 4 of 5 scored (rotating types), 1 of 5 ignored; 5 townships."""
    out: list[Planned] = []
    kinds = templates()
    for i in range(count):
        township = TOWNSHIPS[i % len(TOWNSHIPS)]
        if i % 5 == 4:
            e = registration(i)
            new = to_new_event(e, township, ACTOR)
            stream = f"request-{e.request_id}"
            out.append(Planned("applications", one(stream, "request", new), None))
            continue
        t = kinds[(i // 5 * 4 + i % 5) % len(kinds)]
        case = f"{t.case}-{uuid.uuid4().hex[:12]}"
        body = t.body.replace(f'"{t.case}"', f'"{case}"').replace("shangdang/sudian", township)
        new = NewEvent(
            type=t.type,
            schema_version=t.schema_version,
            tenant=township,
            actor=ACTOR,
            payload=orjson.loads(body),
        )
        out.append(Planned(t.service, one(f"bench-{case}", "bench", new), str(new.event_id)))
    return out


def one(stream: str, stream_type: str, event: NewEvent) -> StreamWrite:
    return StreamWrite(
        stream_id=stream, stream_type=stream_type, expected_version=0, events=(event,)
    )


@dataclass
class Run:
    mode: str
    rate: float
    committed: dict[str, float] = field(default_factory=dict)  # event id → commit time
    visible: dict[str, float] = field(default_factory=dict)
    behind: list[float] = field(default_factory=list)  # commit time − scheduled time
    elapsed: float = 0.0
    appended: int = 0

    def latencies(self) -> list[float]:
        return [self.visible[i] - t for i, t in self.committed.items() if i in self.visible]


async def drive(
    stores: dict[str, SqlEventStore], planned: list[Planned], rate: float, run: Run
) -> None:
    """Append every planned event at its scheduled time (open loop), one per append."""
    loop_start = time.monotonic() + 0.2
    tasks: set[asyncio.Task[None]] = set()

    async def append(p: Planned, due: float) -> None:
        await stores[p.service].append([p.write])
        now = time.monotonic()
        run.behind.append(now - due)
        run.appended += 1
        if p.event_id is not None:
            run.committed[p.event_id] = now

    for i, p in enumerate(planned):
        due = loop_start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(append(p, due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    while tasks:
        await asyncio.gather(*list(tasks))
    run.elapsed = time.monotonic() - loop_start


async def poll(views: Database, run: Run, stop: asyncio.Event) -> None:
    """Every 10 ms: which committed events have their finding (and score) visible."""
    while not stop.is_set():
        pending = [i for i in run.committed if i not in run.visible]
        for k in range(0, len(pending), 500):
            chunk = pending[k : k + 500]
            marks = ", ".join(f"${n}" for n in range(1, len(chunk) + 1))
            rows = await views.fetch(
                f"SELECT DISTINCT event_id FROM score_findings WHERE event_id IN ({marks})",
                *chunk,
            )
            now = time.monotonic()
            for r in rows:
                run.visible.setdefault(str(r["event_id"]), now)
        await asyncio.sleep(POLL)


async def settle(run: Run, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(run.visible) < len(run.committed) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)


async def publish_scheme(stores: dict[str, SqlEventStore]) -> str:
    event = scheme_published()
    new = to_new_event(event, "shangdang", ACTOR)
    await stores["assessment"].append([one(f"scheme-{uuid.uuid4().hex}", "scheme", new)])
    return str(event.scheme_id)


async def scheme_visible(views: Database, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if await views.fetchval("SELECT count(*) FROM score_schemes"):
                return
        except Exception:
            pass  # the table is made by the worker's setup
        await asyncio.sleep(0.1)
    raise RuntimeError("the scheme never reached the scoreboard")


# --- embedded ------------------------------------------------------------------------------


async def embedded(args: argparse.Namespace, planned: list[Planned], run: Run) -> None:
    with tempfile.TemporaryDirectory(prefix="gkbench-score-") as tmp:
        stores = {s: await open_sqlite_store(f"{tmp}/{s}/events.db", name=s) for s in SERVICES}
        views = await SqliteDatabase.open(f"{tmp}/assessment/views.db")
        stop = asyncio.Event()
        tasks = []
        try:
            for s, store in stores.items():
                runner = ProjectionRunner(Scoreboard(), store, views, checkpoint_name=f"sb@{s}")
                await runner.setup()
                tasks.append(asyncio.create_task(runner.run_forever(stop, 0.5)))
            await publish_scheme(stores)
            await scheme_visible(views)
            poller = asyncio.create_task(poll(views, run, stop))
            await drive(stores, planned, args.rate, run)
            await settle(run, args.settle)
            stop.set()
            await poller
        finally:
            stop.set()
            for task in tasks:  # a runner still behind would drain its backlog first
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for store in stores.values():
                await store.close()
            await views.close()


# --- distributed ---------------------------------------------------------------------------


def _worker_main(url: str, schema: str, bootstrap: str, prefix: str, ready: Any, stop: Any) -> None:
    """The scorer as `gongkai worker assessment` runs it (ServiceDefinition.streamed)."""

    async def main() -> None:
        views = await PostgresDatabase.open(url, schema)
        topics = [topic_for(s, prefix) for s in SERVICES]
        await ensure_topics(bootstrap, topics)
        await setup_projection_app(views, [Scoreboard()])
        partitions = await partitions_of(bootstrap, topics[0])
        done = asyncio.Event()

        def build() -> Any:
            return build_projection_app(
                [Scoreboard()],
                views,
                bootstrap,
                topics,
                app_id="assessment-streamed",
                prefix=prefix,
                partitions=partitions,
                datadir=tempfile.mkdtemp(prefix="gkbench-faust-"),
            )

        runner = asyncio.create_task(run_stream_processor(build, done))
        ready.set()
        try:
            while True:
                if stop.is_set() or runner.done():
                    break
                await asyncio.sleep(0.1)
        finally:
            done.set()
            await runner
            await views.close()

    asyncio.run(main())


def _relays_main(
    url: str, schemas: dict[str, str], bootstrap: str, prefix: str, ready: Any, stop: Any
) -> None:
    """The five relays in a process of their own, as each `gongkai serve` has its relay
    beside (not inside) the writer that loads this bench: sharing the writer's event loop,
    they fell behind with it and counted its lateness as the scorer's."""

    async def main() -> None:
        stores = {
            s: await open_postgres_store(url, schema=schemas[s], listen=True) for s in SERVICES
        }
        done = asyncio.Event()
        tasks = []
        for s, store in stores.items():
            relay = Relay(store, store.db, bootstrap, topic_for(s, prefix), dlq=f"{prefix}.dlq")
            await relay.setup()
            tasks.append(asyncio.create_task(relay.run(done, idle_wait=1.0)))
        ready.set()
        try:
            await asyncio.to_thread(stop.wait)  # a multiprocessing Event: wait in a thread
        finally:
            done.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for store in stores.values():
                await store.close()

    asyncio.run(main())


async def distributed(
    args: argparse.Namespace, url: str, bootstrap: str, planned: list[Planned], run: Run
) -> None:
    tag = uuid.uuid4().hex[:8]
    prefix = f"gkbench-score-{tag}"
    schemas = {s: f"gkbench_{tag}_{s}" for s in SERVICES}
    views_schema = f"gkbench_{tag}_views"
    stores = {s: await open_postgres_store(url, schema=schemas[s], listen=False) for s in SERVICES}
    stop = asyncio.Event()
    ctx = multiprocessing.get_context("spawn")
    ready, proc_stop = ctx.Event(), ctx.Event()
    relays_ready = ctx.Event()
    proc = ctx.Process(
        target=_worker_main, args=(url, views_schema, bootstrap, prefix, ready, proc_stop)
    )
    relays = ctx.Process(
        target=_relays_main, args=(url, schemas, bootstrap, prefix, relays_ready, proc_stop)
    )
    views: PostgresDatabase | None = None
    try:
        relays.start()
        await asyncio.to_thread(relays_ready.wait, 120)
        proc.start()
        await asyncio.to_thread(ready.wait, 120)
        views = await PostgresDatabase.open(url, views_schema)
        await publish_scheme(stores)
        await scheme_visible(views)
        poller = asyncio.create_task(poll(views, run, stop))
        await drive(stores, planned, args.rate, run)
        await settle(run, args.settle)
        stop.set()
        await poller
    finally:
        stop.set()
        proc_stop.set()
        for process in (proc, relays):
            if process.pid is None:
                continue  # never started
            await asyncio.to_thread(process.join, 30)
            if process.is_alive():
                process.kill()
        for store in stores.values():
            await store.close()
        if views is not None:
            await views.close()
        conn = await asyncpg.connect(url)
        try:
            for schema in [*schemas.values(), views_schema]:
                await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await conn.close()
        await drop_topics(bootstrap, [topic_for(s, prefix) for s in SERVICES] + [f"{prefix}.dlq"])


async def writer_only(mode: str, url: str | None, planned: list[Planned], rate: float) -> Run:
    """The limit: the same writer, nothing consuming."""
    run = Run(f"{mode} writer only", rate)
    if mode == "embedded":
        with tempfile.TemporaryDirectory(prefix="gkbench-score-") as tmp:
            stores = {s: await open_sqlite_store(f"{tmp}/{s}/events.db", name=s) for s in SERVICES}
            try:
                await drive(stores, planned, rate, run)
            finally:
                for store in stores.values():
                    await store.close()
        return run
    assert url is not None
    tag = uuid.uuid4().hex[:8]
    schemas = [f"gkbench_{tag}_{s}" for s in SERVICES]
    stores = {
        s: await open_postgres_store(url, schema=schema, listen=False)
        for s, schema in zip(SERVICES, schemas, strict=True)
    }
    try:
        await drive(stores, planned, rate, run)
    finally:
        for store in stores.values():
            await store.close()
        conn = await asyncpg.connect(url)
        try:
            for schema in schemas:
                await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await conn.close()
    return run


def summary(run: Run) -> dict[str, Any]:
    lat = [x * 1000 for x in run.latencies()]
    behind = [x * 1000 for x in run.behind]
    return {
        "mode": run.mode,
        "target rate": run.rate,
        "committed rate": run.appended / run.elapsed if run.elapsed else 0.0,
        "scored events": len(run.committed),
        "visible": len(run.visible),
        "median ms": median(lat),
        "p99 ms": percentile(lat, 99),
        "max ms": max(lat) if lat else float("nan"),
        "commit behind schedule p99 ms": percentile(behind, 99),
    }


def show(rows: list[dict[str, Any]]) -> None:
    print()
    print("event committed → score visible (score_findings), open-loop load, 5 townships")
    head = f"  {'':<30}{'target/s':>9}{'commit/s':>10}{'scored':>8}{'seen':>7}"
    head += f"{'median ms':>11}{'p99 ms':>9}{'max ms':>9}{'commit late p99':>17}"
    print(head)
    for r in rows:
        line = f"  {r['mode']:<30}{r['target rate']:>9,.0f}{r['committed rate']:>10,.0f}"
        line += f"{r['scored events']:>8,}{r['visible']:>7,}"
        line += f"{r['median ms']:>11,.0f}{r['p99 ms']:>9,.0f}{r['max ms']:>9,.0f}"
        line += f"{r['commit behind schedule p99 ms']:>14,.0f} ms"
        print(line)


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("embedded", "distributed", "both"), default="both")
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--settle", type=float, default=30.0, help="wait for stragglers (s)")
    parser.add_argument("--database-url")
    parser.add_argument("--bootstrap")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    url, bootstrap = database_url(args.database_url), kafka_bootstrap(args.bootstrap)
    modes = ["embedded", "distributed"] if args.mode == "both" else [args.mode]
    if "distributed" in modes and not (url and bootstrap):
        print("distributed mode needs PostgreSQL and Kafka (--database-url, --bootstrap)")
        return 2
    info = await machine(url if "distributed" in modes else None, ("pydantic",))
    count = int(args.rate * args.seconds)
    print_machine(
        info,
        {
            "load": f"{args.rate:,.0f} events/s for {args.seconds:.0f} s "
            f"= {count:,} events, 4/5 scored"
        },
    )
    rows = []
    for mode in modes:
        rows.append(summary(await writer_only(mode, url, plan(count), args.rate)))
        run = Run(mode, args.rate)
        if mode == "embedded":
            await embedded(args, plan(count), run)
        else:
            assert url and bootstrap
            await distributed(args, url, bootstrap, plan(count), run)
        rows.append(summary(run))
        print(f"  {mode}: {rows[-1]}", file=sys.stderr)
    show(rows)
    print(f"load avg    {load()} at end")
    if args.json:
        body = json.dumps({"machine": info, "rows": rows}, indent=2)
        await asyncio.to_thread(Path(args.json).write_text, body)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
