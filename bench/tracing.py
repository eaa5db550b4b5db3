"""What tracing costs: commands through HTTP and the store, and their projection, with
tracing off (no endpoint) and on (spans exported over OTLP/HTTP to a receiver in this
process, which decodes nothing and answers 200), in one run (issue #21).

    .venv/bin/python -m bench.tracing [--commands 2000] [--rounds 3]

Each round measures off, then on, then off again on fresh SQLite stores under a temporary
folder: `--commands` POSTs through the request context middleware (in-process ASGI, one
event appended each), then the embedded projection runner applying them, then the relay's
framing of the stored rows for Kafka (value and headers, `traceparent` included: that is
paid with tracing off too). The report gives the median of each. Printed, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bench.common import cpu_model, load, version
from shared import tracing
from shared.db import SqliteDatabase, Tx
from shared.envelope import Actor, NewEvent, RecordedEvent, StreamWrite
from shared.eventstore import SqlEventStore, open_sqlite_store
from shared.http import Metrics, correlation_id, install_request_context
from shared.kafka import headers_of_row
from shared.projections import ProjectionRunner
from shared.rows import uuid_text, wire_of_row

ACTOR = Actor(id="bench", role="request_handler")


class Count:
    name = "bench.count"
    tables = ("bench_count",)
    schema = ("CREATE TABLE IF NOT EXISTS bench_count (tenant TEXT PRIMARY KEY, n INTEGER)",)

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        await tx.execute(
            """INSERT INTO bench_count (tenant, n) VALUES ($1, 1)
               ON CONFLICT (tenant) DO UPDATE SET n = bench_count.n + 1""",
            event.tenant,
        )


def app_of(store: SqlEventStore) -> FastAPI:
    app = FastAPI()
    install_request_context(app, Metrics())

    @app.post("/v1/things")
    async def thing(request: Request) -> JSONResponse:
        event = NewEvent(
            type="RequestRegistered",
            tenant="shangdang/sudian",
            actor=ACTOR,
            correlation_id=correlation_id(request),
            payload={"number": "1号", "description": "申请公开本镇2026年财政预算" * 4},
        )
        await store.append(
            [
                StreamWrite(
                    stream_id=f"request-{uuid.uuid4()}", stream_type="request", events=(event,)
                )
            ]
        )
        return JSONResponse({}, status_code=201)

    return app


class Sink(BaseHTTPRequestHandler):
    received = 0

    def do_POST(self) -> None:
        Sink.received += len(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


async def one(folder: Path, commands: int) -> dict[str, float]:
    store = await open_sqlite_store(str(folder / "events.db"), name="bench")
    views = await SqliteDatabase.open(folder / "views.db")
    try:
        transport = httpx.ASGITransport(app=app_of(store))
        async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
            started = time.perf_counter()
            for _ in range(commands):
                (await client.post("/v1/things")).raise_for_status()
            http = time.perf_counter() - started
        runner = ProjectionRunner(Count(), store, views)
        await runner.setup()
        started = time.perf_counter()
        assert await runner.run_once() == commands
        apply = time.perf_counter() - started
        rows = await store.read_all_rows(0, commands)
        started = time.perf_counter()
        for row in rows:
            wire_of_row(row)
            headers_of_row(row)
        frame = time.perf_counter() - started
        started = time.perf_counter()
        for row in rows:  # the part of the framing tracing added
            tracing.event_traceparent(uuid_text(row["correlation_id"]), uuid_text(row["event_id"]))
        header = time.perf_counter() - started
        tracing.force_flush()
    finally:
        await views.close()
        await store.close()
    return {
        "commands/s": commands / http,
        "applied/s": commands / apply,
        "framed µs/event": frame / commands * 1e6,
        "traceparent µs/ev": header / commands * 1e6,
    }


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--commands", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    print(
        f"{cpu_model()}; load {load()}; Python {sys.version.split()[0]}; "
        f"opentelemetry-sdk {version('opentelemetry-sdk')}; {args.commands} commands, "
        f"{args.rounds} rounds (off, on, off)"
    )
    results: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            for mode in ("off", "on", "off"):
                tracing.configure_tracing("bench", endpoint if mode == "on" else None)
                folder = Path(tmp) / f"{round_}-{mode}-{len(results[mode])}"
                folder.mkdir()
                results[mode].append(await one(folder, args.commands))
                print(f"  round {round_ + 1} {mode}: {results[mode][-1]}", file=sys.stderr)
    tracing.shutdown_tracing()
    server.shutdown()
    print(f"{'':18}{'off':>12}{'on':>12}{'on/off':>10}")
    for key in results["off"][0]:
        off = statistics.median(r[key] for r in results["off"])
        on = statistics.median(r[key] for r in results["on"])
        print(f"{key:18}{off:12,.1f}{on:12,.1f}{on / off:10.2f}")
    print(f"OTLP bytes received: {Sink.received:,}; load after: {load()}")


if __name__ == "__main__":
    asyncio.run(main())
