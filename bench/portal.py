"""The public portal under public traffic, beside Debian's nginx serving the same HTML.

    python -m bench.portal [--mode embedded|distributed|both] [--documents N] [--seconds S]
                           [--rate R] [--database-url URL] [--bootstrap HOST:PORT] [--json OUT]

For each mode:
1. N published documents of 苏店镇 (each through its whole 主动公开 life in the catalog's
   domain: draft, 公开属性 proposed/checked/determined, 三审三校, publication; ~800
   characters of 公文 text) are appended to the catalog's fresh store, and the suite is
   started on it as bench/e2e.py starts it — embedded: one `gongkai run --no-demo-data` on
   SQLite, every service in that process; distributed: `gongkai serve X` and `gongkai
   worker X` for every service on a fresh PostgreSQL database and Kafka topics, so the
   portal is a process of its own, as a deployment serves public traffic. The time until
   the portal's column index lists the newest is reported (the projections building the
   read models from the log), then the time until every read model has caught up.
2. Two page kinds, as a citizen opens them: a document page (`/gk/doc/{id}`) and a column
   index (`/gk/sudian/column/{code}`). Each is fetched once and its HTML written to disk.
3. The peer, in the same run: Debian's nginx (one worker, sendfile, no access log) serves
   those files — the limit for serving the same bytes on this machine.
4. For each page on both servers: the highest rate (wrk, 1 thread, 16 connections, S
   seconds; requests/s and p99), then an open-loop client sending R requests/s for S seconds
   (p50/p99, errors) — the portal's target is p99 < 50 ms at 200 requests/s and ≥ 0.3 of
   nginx's rate.

Needs nginx and wrk (`bash deploy/bench-tools.sh` installs them from Debian). A script,
never a test; docs/portal.md "Measured" records a run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    database_url,
    free_port,
    kafka_bootstrap,
    machine,
    median,
    percentile,
    print_machine,
    wait_until,
)
from bench.e2e import running_suite
from services.catalog import domain, filing
from services.catalog.commands import (
    CheckAttribute,
    DetermineAttribute,
    Proofreading,
    ProposeAttribute,
    PublishDocument,
    RecordReview,
)
from services.catalog.events import DocumentContent, PublicationChannel
from services.catalog.publication import publish
from shared.envelope import Actor, NewEvent, StreamWrite
from shared.eventstore import open_postgres_store, open_sqlite_store
from shared.registry import DomainEvent, to_new_event
from shared.workdays import WorkdayCalendar

GONGKAI = str(Path(sys.executable).parent / "gongkai")
TOWNSHIP = "shangdang/sudian"
UNIT = "shangdang/sudian/party-office"
COLUMN = "livelihood"
PHRASES = (
    "各村（社区）、镇直各单位：",
    "为深入贯彻落实党中央、国务院决策部署，",
    "切实做好农村人居环境整治工作，",
    "按照“谁主管、谁负责”的原则，",
    "补贴资金由镇财政所统一发放，",
    "实行台账管理，村务监督委员会每季度公示一次。",
    "严格落实安全生产责任制，",
    "对符合条件的农户给予适当补助，",
    "进一步优化营商环境，提升政务服务水平。",
    "各有关单位要高度重视，明确责任分工，",
    "确保各项工作按时保质完成。",
)
PEOPLE = {  # who signs what (the demo district's 苏店镇 people)
    "drafter": ("li-na", "drafter"),
    "officer": ("wang-tietong", "attribute_officer"),
    "signer": ("wang-xiaole", "leader_in_charge"),
    "first_review": ("zhang-lei", "drafter"),
    "second_review": ("zhang-wei", "section_head"),
    "final_review": ("guo-xinxin", "leader_in_charge"),
}


def lifecycle(n: int, rng: random.Random, today: date, now: datetime) -> StreamWrite:
    """One document's life: each command's events as its handler decides them, by its actor
    (appended in one write: one append names each stream once)."""
    calendar = WorkdayCalendar.default()
    body = ""
    while len(body) < 800:
        body += rng.choice(PHRASES)
    content = DocumentContent.model_validate(
        {
            "title": f"苏店镇关于做好第{n}批民生实事项目实施工作的通知",
            "body": body + "请认真贯彻执行。",
            "attachments_text": [],
            "document_number": f"苏政发〔{today.year}〕{n + 1}号",
            "issue_date": today - timedelta(days=1),
            "kind": "notice",
            "column": COLUMN,
        }
    )
    document_id = uuid.uuid4()
    stream = f"document-{document_id}"
    state = domain.DocumentState()
    recorded: list[NewEvent] = []

    def step(role: str, events: list[DomainEvent]) -> None:
        nonlocal state
        person, held = PEOPLE[role]
        actor = Actor(id=person, role=held)
        for event in events:
            state = domain.evolve(state, event)
        recorded.extend(to_new_event(e, UNIT, actor) for e in events)

    step(
        "drafter",
        domain.draft(
            document_id=document_id,
            township=TOWNSHIP,
            drafting_unit=UNIT,
            drafting_unit_name="苏店镇党政办公室",
            drafter="li-na",
            content=content,
        ),
    )
    attribute = ProposeAttribute(attribute="proactive")
    step("drafter", [domain.propose(state, attribute, "li-na")])
    step("officer", [domain.check(state, CheckAttribute(agrees=True), "wang-tietong")])
    decision = DetermineAttribute(attribute="proactive")
    step("signer", [domain.determine(state, decision, "wang-xiaole")])
    signed = Proofreading(signed=True, corrections=0)
    for stage in domain.STAGES:
        person = PEOPLE[stage.value][0]
        cmd = RecordReview(stage=stage, outcome="pass", proofreading=signed)
        step(stage.value, [domain.review(state, cmd, person)])
    channels = PublishDocument(channels=[PublicationChannel.website])
    published = publish(
        state, channels, publisher="guo-xinxin", now=now, today=today, calendar=calendar
    )
    step("final_review", filing.with_filing(published, calendar))
    return StreamWrite(
        stream_id=stream, stream_type="document", expected_version=0, events=tuple(recorded)
    )


async def seed(env: dict[str, str], documents: int) -> tuple[int, float]:
    """Append the documents' lives to the catalog's store (the embedded file, or the
    catalog's schema in the suite's PostgreSQL database); (events, seconds)."""
    if env.get("GONGKAI_DATABASE_URL"):
        store = await open_postgres_store(
            env["GONGKAI_DATABASE_URL"], schema="catalog", listen=False
        )
    else:
        folder = Path(env["GONGKAI_VAR_DIR"]) / "catalog"
        folder.mkdir(parents=True, exist_ok=True)
        store = await open_sqlite_store(str(folder / "events.db"), name="catalog")
    rng = random.Random(20261206)
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.date()
    t0 = time.perf_counter()
    events = 0
    try:
        batch: list[StreamWrite] = []
        for n in range(documents):
            # a second apart, the newest last: the column index lists it first
            write = lifecycle(n, rng, today, now - timedelta(seconds=documents - n))
            batch.append(write)
            events += len(write.events)
            if len(batch) >= 400:
                await store.append(batch)
                batch = []
        if batch:
            await store.append(batch)
    finally:
        await store.close()
    return events, time.perf_counter() - t0


NGINX_CONF = """
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
daemon off;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    client_body_temp_path {root}/tmp;
    proxy_temp_path {root}/tmp;
    fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp;
    scgi_temp_path {root}/tmp;
    types {{ text/html html; }}
    server {{
        listen 127.0.0.1:{port};
        root {root}/html;
        location / {{ default_type "text/html; charset=utf-8"; }}
    }}
}}
"""

WRK_LATENCY = re.compile(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", re.M)
WRK_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, seconds: int) -> dict[str, float]:
    """Highest rate: 1 thread, 16 connections, `seconds`; requests/s and p99 ms."""
    done = subprocess.run(
        ["wrk", "-t1", "-c16", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    )
    rate = WRK_RATE.search(done.stdout)
    p99 = WRK_LATENCY.search(done.stdout)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", done.stdout)
    assert rate and p99, done.stdout
    return {
        "requests_per_s": float(rate.group(1)),
        "p99_ms": float(p99.group(1)) * UNIT_MS[p99.group(2)],
        "non_2xx": float(non2xx.group(1)) if non2xx else 0.0,
    }


async def open_loop(url: str, rate: int, seconds: int) -> dict[str, float]:
    """R requests/s sent on schedule whatever the answers take (no coordinated omission):
    latency from each request's scheduled send time."""
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:

        async def one(scheduled: float) -> None:
            nonlocal errors
            try:
                r = await client.get(url)
                if r.status_code != 200:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            latencies.append((time.perf_counter() - scheduled) * 1000)

        start = time.perf_counter()
        tasks = []
        for i in range(rate * seconds):
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(scheduled)))
        await asyncio.gather(*tasks)
    return {
        "sent": rate * seconds,
        "p50_ms": median(latencies),
        "p99_ms": percentile(latencies, 99),
        "errors": errors,
    }


PORTAL = {
    "embedded": "gongkai run (embedded: every service in one process, SQLite read models)",
    "distributed": "gongkai serve portal (its own process; the other services' serve and "
    "worker processes on PostgreSQL and Kafka beside it)",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("embedded", "distributed", "both"), default="both")
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--database-url")
    parser.add_argument("--bootstrap")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    for tool in ("nginx", "wrk"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            print(
                f"bench.portal: {tool} missing: run `bash deploy/bench-tools.sh`", file=sys.stderr
            )
            return 2
    url, bootstrap = database_url(args.database_url), kafka_bootstrap(args.bootstrap)
    modes = ["embedded", "distributed"] if args.mode == "both" else [args.mode]
    if "distributed" in modes and not (url and bootstrap):
        print("distributed mode needs PostgreSQL and Kafka (--database-url, --bootstrap)")
        return 2
    nginx_bin = shutil.which("nginx") or "/usr/sbin/nginx"

    info = asyncio.run(machine(url, ("fastapi", "uvicorn", "jinja2")))
    nginx_version = subprocess.run(
        [nginx_bin, "-v"], capture_output=True, text=True, check=False
    ).stderr.strip()
    print_machine(
        info,
        {
            **{f"portal, {m}": PORTAL[m] for m in modes},
            "peer": f"{nginx_version} (Debian), 1 worker, the same HTML from disk",
            "durability": "reads only; the seeding writes: SQLite WAL synchronous=NORMAL, "
            "PostgreSQL as the server is set (see the line above)",
        },
    )
    results: dict[str, Any] = {"machine": info, "documents": args.documents, "modes": {}}
    for mode in modes:
        print(f"\n=== {mode}: {PORTAL[mode]}")
        results["modes"][mode] = bench_mode(mode, args, url, bootstrap, nginx_bin)
    print(f"\nload avg    {os.getloadavg()[0]:.2f} at the end")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str))
    return 0


def bench_mode(
    mode: str, args: argparse.Namespace, url: str | None, bootstrap: str | None, nginx_bin: str
) -> dict[str, Any]:
    results: dict[str, Any] = {"pages": {}}

    def prepare(env: dict[str, str]) -> None:
        events, seconds = asyncio.run(seed(env, args.documents))
        print(f"seeded {args.documents:,} documents ({events:,} events) in {seconds:.1f} s")
        results["seed"] = {"events": events, "seconds": seconds}

    quiet = {"GONGKAI_COLUMN_CHECKS": "off"}
    with (
        tempfile.TemporaryDirectory(prefix="bench-portal-") as tmp,
        running_suite(mode, url, bootstrap, extra_env=quiet, prepare=prepare) as suite,
    ):
        root = Path(tmp)
        root.chmod(0o755)  # nginx's workers run as an unprivileged user: they must read it
        nginx: subprocess.Popen[bytes] | None = None
        try:
            base = suite.urls["portal"]
            index = f"{base}/gk/sudian/column/{COLUMN}"
            newest = f"第{args.documents - 1}批"
            caught_up = wait_until(
                lambda: newest in httpx.get(index, timeout=30).text, 1800, "the column index"
            )
            print(f"portal up; the column index lists the newest document after {caught_up:.1f} s")
            results["catch_up_seconds"] = caught_up
            answering = sorted({*suite.urls.values(), *suite.worker_urls.values()})

            def all_applied() -> bool:
                for where in answering:
                    checks = httpx.get(where + "/ready", timeout=30).json()["checks"]
                    if any(c.get("lag", 0) != 0 for c in checks.values()):
                        return False
                return True

            # The other read models (the audit chain, search, assessment …) still catching up
            # would take the CPU the measurements need: they start when every one is idle.
            settled = caught_up + wait_until(all_applied, 1800, "every read model", poll=1.0)
            print(f"every read model caught up after {settled:.1f} s")
            results["settled_seconds"] = settled
            page = httpx.get(index).text
            found = re.search(r'href="(?:/gk)?/doc/([0-9a-f-]{36})"', page)
            assert found, "no document link on the column index"
            pages = {
                "document": f"/gk/doc/{found.group(1)}",
                "column": f"/gk/sudian/column/{COLUMN}",
            }
            html = root / "html"
            html.mkdir()
            for name, path in pages.items():
                r = httpx.get(base + path)
                r.raise_for_status()
                (html / f"{name}.html").write_bytes(r.content)
            (root / "tmp").mkdir()
            nport = free_port()
            (root / "nginx.conf").write_text(NGINX_CONF.format(root=root, port=nport))
            nginx = subprocess.Popen(
                [nginx_bin, "-c", str(root / "nginx.conf"), "-p", str(root)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            peer = f"http://127.0.0.1:{nport}"
            wait_until(lambda: httpx.get(peer + "/column.html").status_code == 200, 30, "nginx")

            print(
                f"\n{'page':<10} {'server':<7} {'size':>8} {'max req/s':>10} {'p99 ms':>8}"
                f"   {'at ' + str(args.rate) + '/s: p50 ms':>16} {'p99 ms':>8} {'errors':>7}"
            )
            for name, path in pages.items():
                row: dict[str, Any] = {}
                for server, where in (("portal", base + path), ("nginx", f"{peer}/{name}.html")):
                    size = len(httpx.get(where).content)
                    top = wrk(where, args.seconds)
                    paced = asyncio.run(open_loop(where, args.rate, args.seconds))
                    row[server] = {"bytes": size, "max": top, "paced": paced}
                    print(
                        f"{name:<10} {server:<7} {size:>8,} {top['requests_per_s']:>10,.0f}"
                        f" {top['p99_ms']:>8.1f}   {paced['p50_ms']:>16.1f}"
                        f" {paced['p99_ms']:>8.1f} {paced['errors']:>7}"
                    )
                ratio = (
                    row["portal"]["max"]["requests_per_s"] / row["nginx"]["max"]["requests_per_s"]
                )
                row["ratio_of_nginx"] = ratio
                print(f"{'':<10} portal / nginx: {ratio:.2f} of the peer's rate")
                results["pages"][name] = row
        finally:
            if nginx is not None:
                nginx.send_signal(signal.SIGQUIT)
                nginx.wait(timeout=10)
    return results


if __name__ == "__main__":
    raise SystemExit(main())
