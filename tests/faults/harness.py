"""The fault-test harness: a Kafka broker and a PostgreSQL server of our own, real processes.

The shared test infrastructure (127.0.0.1:19092 / :15432) is never touched: these tests
stop and restart servers, so they start their own through deploy/kafka.sh and
deploy/postgres.sh on other ports (29092/29093, 25433 by default; override with
GONGKAI_FAULT_KAFKA_PORT, GONGKAI_FAULT_KAFKA_CONTROLLER_PORT, GONGKAI_FAULT_PG_PORT).

Invariants every fault test ends with (`Deployment.converge`):
- every request the API acknowledged (201) is in the event store (nothing acknowledged lost);
- the read model (GET /v1/requests, paginated) holds exactly the requests in the store,
  each once (no event lost on the way, none counted twice);
- the projection worker's inbox holds exactly one entry per stored event (every event
  applied once, whatever the relay re-published);
- the audit chain (`gongkai worker audit`, which consumes every service's topic) holds
  every stored event exactly once and nothing else, and `gongkai audit verify` and
  `gongkai audit completeness` pass (`Deployment.check_chain`).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from shared.identity import Principal, Role, issue_token
from tests.e2e.factories import registration

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
GONGKAI = str(Path(sys.executable).parent / "gongkai")
SECRET = "faults-secret-" + "x" * 40
HANDLER_ORG = "shangdang/sudian"


def _port(var: str, default: int) -> int:
    return int(os.environ.get(var, default))


class OwnInfra:
    """A broker and a database server that only the fault tests use, and may kill."""

    def __init__(self, state: Path) -> None:
        self.kafka_port = _port("GONGKAI_FAULT_KAFKA_PORT", 29092)
        self.controller_port = _port("GONGKAI_FAULT_KAFKA_CONTROLLER_PORT", 29093)
        self.pg_port = _port("GONGKAI_FAULT_PG_PORT", 25433)
        # postgres must traverse every parent of its dir (docs/infra.md): not under pytest's 0700.
        self.pg_dir = Path(f"/tmp/gongkai-faults-pg-{self.pg_port}")
        self.env = {
            **os.environ,
            "GONGKAI_INFRA_DIR": str(state),
            "GONGKAI_KAFKA_PORT": str(self.kafka_port),
            "GONGKAI_KAFKA_CONTROLLER_PORT": str(self.controller_port),
            "GONGKAI_PG_PORT": str(self.pg_port),
            "GONGKAI_PG_DIR": str(self.pg_dir),
            # Durable as in production: with synchronous_commit=off (GONGKAI_PG_FAST=1) a
            # kill -9 of the server loses its last commits, events the relay may already
            # have published (the postmaster test found one chained but no longer stored).
            "GONGKAI_PG_FAST": "0",
            "GONGKAI_KAFKA_HEAP": "384m",
        }

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def pg_url(self) -> str:
        return f"postgresql://gongkai@127.0.0.1:{self.pg_port}/gongkai"

    def _run(self, script: str, command: str) -> None:
        done = subprocess.run(
            ["bash", str(DEPLOY / script), command],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{script} {command} failed:\n{done.stderr[-3000:]}")

    def start(self) -> None:
        both = [
            subprocess.Popen(["bash", str(DEPLOY / s), "start"], env=self.env, text=True)
            for s in ("postgres.sh", "kafka.sh")
        ]
        if any(p.wait(timeout=180) != 0 for p in both):
            self.stop()
            raise RuntimeError("could not start the fault tests' own PostgreSQL and Kafka")

    def stop(self) -> None:
        for script in ("kafka.sh", "postgres.sh"):
            subprocess.run(["bash", str(DEPLOY / script), "stop"], env=self.env, timeout=120)
        shutil.rmtree(self.pg_dir, ignore_errors=True)

    def stop_kafka(self) -> None:
        self._run("kafka.sh", "stop")

    def start_kafka(self) -> None:
        self._run("kafka.sh", "start")

    def stop_postgres(self) -> None:
        self._run("postgres.sh", "stop")

    def kill_kafka(self) -> None:
        """kill -9 the broker's JVM: no controlled shutdown, no flushed segments (the broker
        recovers its logs on the next start)."""
        pid = int((Path(self.env["GONGKAI_INFRA_DIR"]) / "kafka" / "kafka.pid").read_text())
        _kill9_and_wait(pid)

    def kill_postgres(self) -> None:
        """kill -9 the postmaster, then its backends: the database server dies as in a crash
        (no shutdown checkpoint; the next start replays the WAL). The backends are killed
        too because a new postmaster refuses to start while the old shared memory is still
        attached, as it is until they notice their parent is gone (its children are each in
        a session of their own: no process group to kill at once)."""
        data = self.pg_dir / "data"
        postmaster = int((data / "postmaster.pid").read_text().splitlines()[0])
        # Frozen first, so that no backend is forked between listing its children and the
        # kill (a connection arrives every few milliseconds under the load).
        os.kill(postmaster, signal.SIGSTOP)
        children = subprocess.run(
            ["pgrep", "-P", str(postmaster)], capture_output=True, text=True, check=False
        ).stdout.split()
        _kill9_and_wait(postmaster)
        for child in children:
            _kill9_and_wait(int(child))

    def start_postgres(self) -> None:
        self._run("postgres.sh", "start")


def _kill9_and_wait(pid: int, timeout: float = 20) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return
        if stat.rsplit(")", 1)[1].split()[0] == "Z":  # dead, its parent not reaped it yet
            return
        time.sleep(0.05)
    raise RuntimeError(f"pid {pid} still alive {timeout}s after SIGKILL")


async def _load_accounts(env: dict[str, str]) -> None:
    from gongkai.demo import load_demo_accounts
    from services.accounts.cli import open_accounts
    from shared.settings import Settings
    from shared.tenancy import load_org_tree

    settings = Settings(
        database_url=env["GONGKAI_DATABASE_URL"],
        token_secret=env["GONGKAI_TOKEN_SECRET"],
        var_dir=Path(env["GONGKAI_VAR_DIR"]),
    )
    async with open_accounts(settings) as accounts:
        await load_demo_accounts(accounts, load_org_tree(settings.org_file))


def token(sub: str = "wang-tietong", org: str = HANDLER_ORG, *roles: Role) -> str:
    """A token of a demo account (loaded by `create_database`; session generation 0)."""
    principal = Principal(sub=sub, org=org, roles=frozenset(roles or {Role.REQUEST_HANDLER}))
    return issue_token(principal, SECRET, timedelta(hours=2), datetime.now(UTC))


@dataclass(frozen=True)
class Writer:
    """What a load writes to one service: the command, its body, who sends it, and where the
    store and the read model keep what it created."""

    service: str
    path: str
    body: Callable[[], dict[str, Any]]
    token: Callable[[], str]
    #: The created object's id: in the 201 answer and in the creating event's payload.
    id_field: str
    created_event: str
    #: The read model's cursor-paginated list, read by `reader`.
    list_path: str
    reader: Callable[[], str]


def _document() -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    return {
        "content": {
            "title": f"苏店镇人民政府关于做好{tag}片区冬季供暖保障工作的通知",
            "body": "各村（社区）：\n现就做好今冬供暖保障工作通知如下。\n一、各村排查供暖管网。",
            "attachments_text": [],
            "document_number": f"苏政发〔2026〕{tag}号",
            "issue_date": "2026-12-01",
            "kind": "notice",
            "column": "livelihood",
        }
    }


def _message() -> dict[str, Any]:
    # No citizen: listing such messages records no personal-data read (no extra events).
    estate = f"{uuid.uuid4().hex[:6]}小区"
    return {
        "source": "message_board",
        "text": f"苏店镇{estate}东侧工地每天晚上十一点以后还在施工，噪音非常大，严重影响休息。",
    }


def _auditor() -> str:
    return token("liu-min", "shangdang", Role.AUDITOR)


APPLICATIONS = Writer(
    "applications",
    "/v1/requests",
    registration,
    lambda: token(),
    "request_id",
    "RequestRegistered",
    "/v1/requests",
    # Read as an auditor: a handler is shown applicants, and each such read is itself
    # recorded as an event (ApplicantDataRead), which would keep the store moving.
    _auditor,
)
CATALOG = Writer(
    "catalog",
    "/v1/catalog/documents",
    _document,
    lambda: token("li-na", "shangdang/sudian/party-office", Role.DRAFTER),
    "document_id",
    "DocumentDrafted",
    "/v1/catalog/documents",
    lambda: token("li-na", "shangdang/sudian/party-office", Role.DRAFTER),
)
SENTIMENT = Writer(
    "sentiment",
    "/v1/messages",
    _message,
    lambda: token("liu-yang", HANDLER_ORG, Role.OPINION_OFFICER),
    "message_id",
    "MessageReceived",
    "/v1/messages",
    lambda: token("liu-yang", HANDLER_ORG, Role.OPINION_OFFICER),
)


@dataclass
class Process:
    role: str
    service: str
    port: int
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    #: Size of the log when the process was last launched: what it logged since.
    log_offset: int = 0
    restarts: int = 0

    def crashed(self) -> bool:
        """Exited, or a task of it (relay, worker) crashed and the process lingers on."""
        if self.popen is None or self.popen.poll() is not None:
            return True
        with self.log.open("rb") as fh:
            fh.seek(self.log_offset)
            return b"task.crashed" in fh.read()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Deployment:
    """One test's services: a fresh database and topic prefix on the fault infrastructure."""

    infra: OwnInfra
    logs: Path
    database: str = field(default_factory=lambda: f"faults_{uuid.uuid4().hex[:10]}")
    processes: list[Process] = field(default_factory=list)

    @property
    def prefix(self) -> str:
        return self.database.replace("_", "-")

    @property
    def database_url(self) -> str:
        return self.infra.pg_url.rsplit("/", 1)[0] + "/" + self.database

    @property
    def group(self) -> str:
        return f"{self.prefix}.applications.projections"

    @property
    def topic(self) -> str:
        return f"{self.prefix}.applications.events"

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "GONGKAI_DATABASE_URL": self.database_url,
            "GONGKAI_KAFKA_BOOTSTRAP": self.infra.bootstrap,
            "GONGKAI_TOPIC_PREFIX": self.prefix,
            "GONGKAI_TOKEN_SECRET": SECRET,
            "GONGKAI_LOG_LEVEL": "warning",
            "GONGKAI_VAR_DIR": str(self.logs / "var"),
        }
        return env

    def create_database(self) -> None:
        """A fresh database with the demo district's accounts (every token the tests sign
        speaks for one, issue #16) and the accounts service's API, whose relay publishes
        them to the topic every process's account book follows."""
        asyncio.run(_admin(self.infra.pg_url, f"CREATE DATABASE {self.database}"))
        asyncio.run(_load_accounts(self.env()))
        self.start("serve", service="accounts")

    def drop_database(self) -> None:
        asyncio.run(
            _admin(self.infra.pg_url, f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
        )

    def start(self, *roles: str, service: str = "applications") -> list[Process]:
        """Start processes one after the other, each ready before the next: on a fresh
        database their first start creates the tables (no concurrent DDL)."""
        started = []
        for role in roles:
            n = sum(p.role == role for p in self.processes)
            log = self.logs / f"{role}-{service}{f'-{n + 1}' if n else ''}.log"
            process = Process(role, service, _free_port(), log)
            self.processes.append(process)
            started.append(process)
            self.launch(process)
        return started

    def launch(self, *processes: Process) -> None:
        """(Re)start processes on their ports, side by side, and wait until each answers /ready."""
        for process in processes:
            process.log_offset = process.log.stat().st_size if process.log.exists() else 0
            # Each process keeps its name across restarts, as a supervisor's unit does:
            # a restarted worker is the same static group member (docs/deployment.md).
            env = {**self.env(), "GONGKAI_KAFKA_INSTANCE_ID": process.log.stem}
            with process.log.open("ab") as out:
                process.popen = subprocess.Popen(
                    [GONGKAI, process.role, process.service, "--port", str(process.port)],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
        for process in processes:
            wait_ready(process)

    def start_audit(self) -> Process:
        """The audit service's worker: it chains every event of every topic (docs/audit.md)."""
        (process,) = self.start("worker", service="audit")
        return process

    def kill9(self, process: Process) -> None:
        assert process.popen is not None
        process.popen.send_signal(signal.SIGKILL)
        process.popen.wait(timeout=10)

    def restart_crashed(self) -> int:
        """What an orchestrator does on a failed liveness check: restart crashed processes.

        The kernel restarts a failed relay or worker task itself (gongkai/app.py
        `_supervise`); `task.crashed` is logged only when a task dies for good while the
        process stays up. Then, or when the process exited, the operator's supervisor
        restarts it; the tests report how often that was needed (0 in the runs recorded in
        docs/deployment.md).
        """
        crashed = [p for p in self.processes if p.crashed()]
        for process in crashed:
            if process.popen is not None and process.popen.poll() is None:
                process.popen.terminate()
                try:
                    process.popen.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.popen.kill()
            process.restarts += 1
        self.launch(*crashed)
        return len(crashed)

    def stop_all(self) -> None:
        running = [p.popen for p in self.processes if p.popen and p.popen.poll() is None]
        for popen in running:
            popen.terminate()
        for popen in running:
            try:
                popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                popen.kill()

    # ------------------------------------------------------------------ invariants
    def stored_requests(self) -> tuple[set[str], int]:
        """The request ids registered in the event store, and the number of stored events."""
        return asyncio.run(_stored(self.database_url))

    def stored_event_ids(self) -> set[str]:
        sql = "SELECT event_id::text FROM applications.events"
        return asyncio.run(_ids(self.database_url, sql))

    def chained(self) -> tuple[set[str], int]:
        """The applications event ids in the audit chain, and the number of their links."""
        return asyncio.run(_chained(self.database_url))

    def audit_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`gongkai audit ARGS` against this deployment's database (the operator's tools)."""
        return subprocess.run(
            [GONGKAI, "audit", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )

    def check_chain(self, foreign: frozenset[str] | set[str] = frozenset()) -> str:
        """After convergence: the chain verifies link by link, and the completeness check
        finds every stored applications event chained. `foreign`: ids chained that no
        store holds (a forged message injected into Kafka): completeness must name each.
        Returns verify's report line."""
        verify = self.audit_cli("verify")
        assert verify.returncode == 0, verify.stdout + verify.stderr
        complete = self.audit_cli("completeness", "--service", "applications", "--settle", "0")
        if not foreign:
            assert complete.returncode == 0, complete.stdout + complete.stderr
        else:
            assert complete.returncode == 1, complete.stdout + complete.stderr
            named = {
                line.split(":", 1)[1].strip()
                for line in complete.stdout.splitlines()
                if "chained but not in store" in line
            }
            assert named == foreign, complete.stdout
            assert "0 missing" in complete.stdout, complete.stdout
        return verify.stdout.strip()

    def inbox_size(self) -> int:
        return asyncio.run(
            _fetchval(
                self.database_url,
                "SELECT count(*) FROM applications.consumer_inbox WHERE consumer = $1",
                self.group,
            )
        )

    def read_model(self, api: Process) -> list[str]:
        """Every request id GET /v1/requests lists (all pages), duplicates kept.

        Read as an auditor: a handler is shown applicants, and each such read is itself
        recorded as an event (ApplicantDataRead), which would keep the store moving.
        """
        ids: list[str] = []
        cursor: str | None = None
        headers = {"Authorization": f"Bearer {token('liu-min', 'shangdang', Role.AUDITOR)}"}
        with httpx.Client(base_url=api.url, headers=headers, timeout=10) as client:
            while True:
                params: dict[str, Any] = {"limit": 200}
                if cursor:
                    params["cursor"] = cursor
                page = client.get("/v1/requests", params=params)
                page.raise_for_status()
                body = page.json()
                ids += [item["request_id"] for item in body["items"]]
                cursor = body["next_cursor"]
                if not cursor:
                    return ids

    def converge(
        self, api: Process, acknowledged: set[str], timeout: float = 90, *, supervise: bool = False
    ) -> float:
        """Wait until the invariants hold; return when (monotonic). Fails with the difference.

        `supervise`: restart crashed processes meanwhile (see `restart_crashed`).
        """
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if supervise:
                self.restart_crashed()
            try:
                listed = self.read_model(api)
                # Before the store: inbox ⊆ store and chain ⊆ store at every instant.
                inbox = self.inbox_size()
                chained, links = self.chained()
                stored, events = self.stored_requests()
                event_ids = self.stored_event_ids()
            except Exception as exc:  # a server still coming back
                last = f"{type(exc).__name__}: {exc}"
                time.sleep(0.25)
                continue
            assert acknowledged <= stored, f"acknowledged but not stored: {acknowledged - stored}"
            assert len(listed) == len(set(listed)), "a request is listed twice"
            assert inbox <= events, f"inbox {inbox} > stored events {events}"
            assert links == len(chained), "an event is chained twice"
            assert chained <= event_ids, f"chained but not stored: {chained - event_ids}"
            if set(listed) == stored and inbox == events and chained == event_ids:
                return time.monotonic()
            last = (
                f"stored {len(stored)} requests / {events} events, listed {len(listed)}, "
                f"inbox {inbox}, chained {links}"
            )
            time.sleep(0.2)
        tails = "\n".join(
            f"--- {p.log.name}:\n" + p.log.read_text(errors="replace")[-1500:]
            for p in self.processes
        )
        raise AssertionError(f"not converged after {timeout}s: {last}\n{tails}")

    # ------------------------------------------------ invariants over several services
    def listed(self, writer: Writer, api: Process) -> list[str]:
        """Every id the service's read model lists (all pages), duplicates kept."""
        ids: list[str] = []
        cursor: str | None = None
        headers = {"Authorization": f"Bearer {writer.reader()}"}
        with httpx.Client(base_url=api.url, headers=headers, timeout=10) as client:
            while True:
                params: dict[str, Any] = {"limit": 200}
                if cursor:
                    params["cursor"] = cursor
                page = client.get(writer.list_path, params=params)
                page.raise_for_status()
                body = page.json()
                ids += [str(item[writer.id_field]) for item in body["items"]]
                cursor = body["next_cursor"]
                if not cursor:
                    return ids

    def converge_loads(self, loads: list[tuple[Process, Load]], timeout: float = 120) -> float:
        """`converge` for a mixed load: for each service (its API and its load), until the
        invariants hold; restarts crashed processes meanwhile (`restart_crashed`)."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            self.restart_crashed()
            pending = []
            try:
                for api, load in loads:
                    w = load.writer
                    listed = self.listed(w, api)
                    chained, links = asyncio.run(_chained(self.database_url, w.service))
                    event_ids = asyncio.run(
                        _ids(self.database_url, f"SELECT event_id::text FROM {w.service}.events")
                    )
                    stored = asyncio.run(
                        _ids(
                            self.database_url,
                            f"SELECT payload->>'{w.id_field}' FROM {w.service}.events"
                            f" WHERE type = '{w.created_event}'",
                        )
                    )
                    acknowledged = load.acknowledged
                    assert acknowledged <= stored, (
                        f"{w.service}: acknowledged but not stored: {acknowledged - stored}"
                    )
                    assert len(listed) == len(set(listed)), f"{w.service}: listed twice"
                    assert links == len(chained), f"{w.service}: an event is chained twice"
                    assert chained <= event_ids, f"{w.service}: chained but not stored"
                    if set(listed) != stored or chained != event_ids:
                        pending.append(
                            f"{w.service}: stored {len(stored)}/{len(event_ids)} events,"
                            f" listed {len(listed)}, chained {links}"
                        )
            except AssertionError:
                raise
            except Exception as exc:  # a server still coming back
                last = f"{type(exc).__name__}: {exc}"
                time.sleep(0.25)
                continue
            if not pending:
                return time.monotonic()
            last = "; ".join(pending)
            time.sleep(0.2)
        tails = "\n".join(
            f"--- {p.log.name}:\n" + p.log.read_text(errors="replace")[-1500:]
            for p in self.processes
        )
        raise AssertionError(f"not converged after {timeout}s: {last}\n{tails}")

    def check_chains(self, *services: str) -> str:
        """After convergence: the chain verifies, and completeness finds every stored event
        of each of `services` chained. Returns verify's report line."""
        verify = self.audit_cli("verify")
        assert verify.returncode == 0, verify.stdout + verify.stderr
        for service in services:
            complete = self.audit_cli("completeness", "--service", service, "--settle", "0")
            assert complete.returncode == 0, complete.stdout + complete.stderr
        return verify.stdout.strip()


def wait_ready(process: Process, timeout: float = 90) -> None:
    assert process.popen is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.role} exited early:\n{process.log.read_text()[-3000:]}")
        try:
            if httpx.get(process.url + "/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{process.url} not ready after {timeout}s")


class Load(threading.Thread):
    """Sends one service's creating command (`writer`) through HTTP, each with its own
    Idempotency-Key, retried until it lands.

    A retry reuses the key, so an object is created at most once whatever failed. A key
    whose first attempt died with its process stays claimed ("in progress", 409): after
    `give_up` seconds the object counts as of unknown outcome (it may or may not be stored;
    the invariants then compare the read model with the store, not with the client).
    """

    def __init__(
        self,
        api: Process,
        count: int,
        *,
        pause: float = 0.0,
        give_up: float = 8.0,
        writer: Writer = APPLICATIONS,
    ):
        super().__init__(daemon=True)
        self.api = api
        self.count = count
        self.pause = pause
        self.give_up = give_up
        self.writer = writer
        self.acknowledged: set[str] = set()
        self.unknown = 0
        self.retries = 0
        self.errors: list[str] = []

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.writer.token()}"}
        with httpx.Client(headers=headers, timeout=10) as client:
            for _ in range(self.count):
                self._one(client)
                if self.pause:
                    time.sleep(self.pause)

    def _one(self, client: httpx.Client) -> None:
        key = str(uuid.uuid4())
        body = self.writer.body()
        first_conflict: float | None = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                r = client.post(
                    self.api.url + self.writer.path, json=body, headers={"Idempotency-Key": key}
                )
            except httpx.HTTPError:
                self.retries += 1
                time.sleep(0.2)
                continue
            if r.status_code == 201:
                self.acknowledged.add(str(r.json()[self.writer.id_field]))
                return
            if r.status_code == 409:
                first_conflict = first_conflict or time.monotonic()
                if time.monotonic() - first_conflict > self.give_up:
                    self.unknown += 1
                    return
            elif r.status_code < 500:
                self.errors.append(f"{self.writer.service}: {r.status_code} {r.text[:200]}")
                return
            self.retries += 1
            time.sleep(0.2)
        self.errors.append(f"{self.writer.service}: gave up after 120 s")


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _fetchval(url: str, sql: str, *args: Any) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(sql, *args) or 0)
    finally:
        await conn.close()


async def _stored(url: str) -> tuple[set[str], int]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT payload->>'request_id' AS id FROM applications.events "
            "WHERE type = 'RequestRegistered'"
        )
        events = await conn.fetchval("SELECT count(*) FROM applications.events")
        return {r["id"] for r in rows}, int(events)
    finally:
        await conn.close()


async def _ids(url: str, sql: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        return {str(r[0]) for r in await conn.fetch(sql)}
    finally:
        await conn.close()


async def _chained(url: str, service: str = "applications") -> tuple[set[str], int]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT event_id::text FROM audit.audit_chain WHERE service = $1", service
        )
        return {r["event_id"] for r in rows}, len(rows)
    finally:
        await conn.close()
