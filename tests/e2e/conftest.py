"""The suite as a user runs it, through HTTP, in both runtime modes.

`suite` starts real processes: embedded = `gongkai run` on SQLite under a temp
var/; distributed = `gongkai serve applications`, `gongkai worker applications`
and `gongkai serve platform` on a fresh PostgreSQL database and a real Kafka
broker (topics under a prefix of their own). The same tests run against both.

Session-scoped: one embedded and one distributed suite serve every e2e test (process
start-up dominates otherwise), so tests use their own data (a tenant, a description, a
key) and never assume an empty ledger.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from gongkai.app import DEFINITIONS
from shared.identity import Principal, Role, issue_token
from shared.service import start_order
from tests.integration.test_subscriptions_delivery import MailServer

SECRET = "e2e-secret-" + "x" * 40
ADMIN = "e2e-admin"
INITIAL_PASSWORD = "Init-Pass-2026"
ADMIN_PASSWORD = "Admin-Pass-2026!"
GONGKAI = str(Path(sys.executable).parent / "gongkai")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SuiteHandle:
    mode: str
    base_url: str
    logs: Path
    #: Base URL per service (distributed: one process each; embedded: all the same).
    urls: dict[str, str] = field(default_factory=dict)
    #: Base URL of each service's projection worker (distributed only).
    worker_urls: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    #: The environment its processes run with (for CLI commands against the same state).
    env: dict[str, str] = field(default_factory=dict)
    #: The bootstrap district administrator's bearer token (bootstrap_accounts).
    admin_token: str = ""
    _tokens: dict[tuple[str, str, frozenset[Role]], str] = field(default_factory=dict)

    @property
    def platform_url(self) -> str:
        return self.url_for("platform")

    def url_for(self, service: str) -> str:
        return self.urls.get(service, self.base_url)

    def token(self, sub: str, org: str, *roles: Role) -> str:
        """A token for `sub` acting at `org` with `roles`, backed by a real account: the
        account is opened (or granted what it lacks) through the accounts API by the
        bootstrap administrator, and the token is signed with its session generation once
        every process's account book accepts it (tests/accounts.py)."""
        key = (sub, org, frozenset(roles))
        if key not in self._tokens:
            generation = self.provision(sub, org, *roles)
            principal = Principal(
                sub=sub,
                org=org,
                roles=frozenset(roles),
                kind="service" if Role.SERVICE in roles else "user",
                generation=generation,
            )
            token = issue_token(principal, SECRET, timedelta(hours=2), datetime.now(UTC))
            self.wait_accepted(token)
            self._tokens[key] = token
        return self._tokens[key]

    def provision(self, sub: str, org: str, *roles: Role) -> int:
        """Open `sub` (or grant the roles it lacks at `org`); its session generation."""
        with self.client(self.admin_token, service="accounts") as c:
            found = c.get(f"/v1/accounts/{sub}")
            if found.status_code == 404:
                if Role.SERVICE in roles:
                    body: dict[str, Any] = {
                        "account_id": sub,
                        "display_name": f"测试服务{sub}",
                        "org": org,
                    }
                    created = c.post("/v1/accounts/services", json=body)
                else:
                    body = {
                        "account_id": sub,
                        "display_name": f"测试{sub}"[:50],
                        "org": org,
                        "roles": [r.value for r in roles],
                        "initial_password": INITIAL_PASSWORD,
                    }
                    created = c.post("/v1/accounts", json=body)
                assert created.status_code == 201, created.text
                found = c.get(f"/v1/accounts/{sub}")
            assert found.status_code == 200, found.text
            account = found.json()
            for role in roles:
                held = any(
                    g["role"] == role.value and (org == g["org"] or org.startswith(g["org"] + "/"))
                    for g in account["grants"]
                )
                if not held:
                    granted = c.post(
                        f"/v1/accounts/{sub}/grant-role", json={"role": role.value, "org": org}
                    )
                    assert granted.status_code == 200, granted.text
                    account = c.get(f"/v1/accounts/{sub}").json()
            return int(account["generation"])

    def wait_accepted(self, token: str, timeout: float = 30.0) -> None:
        """Until every process's account book accepts `token` (GET /v1/auth/whoami)."""
        deadline = time.monotonic() + timeout
        for url in sorted(set(self.urls.values()) | {self.base_url}):
            while True:
                r = httpx.get(
                    url + "/v1/auth/whoami",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=10,
                )
                if r.status_code == 200:
                    break
                assert time.monotonic() < deadline, f"{url} never accepted the token: {r.text}"
                time.sleep(0.05)

    def client(
        self, token: str | None = None, *, platform: bool = False, service: str = "applications"
    ) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        url = self.url_for("platform" if platform else service)
        return httpx.Client(base_url=url, headers=headers, timeout=30)

    def head_position(self, service: str = "applications") -> int:
        """The service's store head (GET /ready): proves whether a command wrote events."""
        with self.client(service=service) as c:
            return int(c.get("/ready").json()["checks"][service]["head_position"])

    def written_since(self, service: str, position: int) -> list[str]:
        """The types of the events `service` stored after `position` that a person or a
        service account wrote: the witness that a refused command wrote nothing. The
        service's own jobs (actor kind "system": hotspots, escalation) may append at any
        moment on a shared suite, so the bare head is no witness there."""
        sql = "SELECT type, actor FROM events WHERE position > $1 ORDER BY position"
        if self.mode == "embedded":
            path = Path(self.env["GONGKAI_VAR_DIR"]) / service / "events.db"
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
                rows = conn.execute(sql.replace("$1", "?"), (position,)).fetchall()
        else:
            rows = asyncio.run(_pg_rows(self.env["GONGKAI_DATABASE_URL"], service, sql, position))
        actors = [
            (kind, json.loads(actor) if isinstance(actor, str) else actor) for kind, actor in rows
        ]
        return [kind for kind, actor in actors if actor.get("kind") != "system"]

    def count_events(self, service: str, event_type: str) -> int:
        """How many events of `event_type` `service` has stored (read from its store)."""
        sql = "SELECT COUNT(*) FROM events WHERE type = $1"
        if self.mode == "embedded":
            path = Path(self.env["GONGKAI_VAR_DIR"]) / service / "events.db"
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
                (n,) = conn.execute(sql.replace("$1", "?"), (event_type,)).fetchone()
            return int(n)
        url = self.env["GONGKAI_DATABASE_URL"]
        ((n,),) = asyncio.run(_pg_rows(url, service, sql, event_type))
        return int(n)

    def log_records(self, service: str = "applications") -> list[dict[str, Any]]:
        """The JSON log lines of the process serving `service`'s API (warning and up)."""
        path = self.logs / ("run.log" if self.mode == "embedded" else f"serve-{service}.log")
        records = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("{"):
                records.append(json.loads(line))
        return records

    def eventually(self, probe: Callable[[], Any], timeout: float = 20.0) -> Any:
        """Poll `probe` until it returns a truthy value (projections are asynchronous).
        On a timeout the failure says what the probe last saw and, in distributed mode,
        where each event stood: every worker's consumer (the topics it holds none of, its
        lag per topic, what it parked), every relay that is behind, every check in error,
        and the workers' last warnings."""
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"not visible after {timeout}s ({self.mode}); the probe last gave "
                    f"{value!r}{self.diagnosis()}"
                )
            time.sleep(0.05)

    def eventually_equal(self, read: Callable[[], Any], expected: Any, timeout: float) -> None:
        """Poll `read` until it gives `expected`; a timeout names what it last gave."""
        seen: list[Any] = []

        def probe() -> bool:
            seen[:] = [read()]
            return bool(seen[0] == expected)

        try:
            self.eventually(probe, timeout=timeout)
        except AssertionError as exc:
            raise AssertionError(f"expected {expected!r}, last read {seen[0]!r}: {exc}") from None

    def diagnosis(self) -> str:
        """The processes' own account of the pipeline (GET /ready), for a failure message."""
        if self.mode != "distributed":
            return ""
        lines: list[str] = []
        for role, urls in (("serve", self.urls), ("worker", self.worker_urls)):
            for service, url in sorted(urls.items()):
                try:
                    checks = httpx.get(url + "/ready", timeout=5).json().get("checks", {})
                except (httpx.HTTPError, ValueError) as exc:
                    lines.append(f"{role} {service}: /ready failed: {exc!r}")
                    continue
                for name, check in sorted(checks.items()):
                    if not isinstance(check, dict):
                        continue
                    always = ("error", "restarting", "partitions_unknown")
                    when_not_zero = ("relay_lag", "lag_by_topic", "topics_without_partitions")
                    shown = {
                        k: v
                        for k, v in check.items()
                        if k in always or (k in (*when_not_zero, "dead_lettered") and v)
                    }
                    if shown:
                        lines.append(f"{role} {service} {name}: {shown}")
        for service in sorted(self.worker_urls):
            path = self.logs / f"worker-{service}.log"
            warned = []
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    record = json.loads(line) if line.startswith("{") else {}
                except ValueError:
                    record = {}
                if record.get("level") in ("warning", "error", "critical"):
                    warned.append(line[:300])
            lines += [f"worker {service} log: {line}" for line in warned[-3:]]
        return "\n  " + "\n  ".join(lines) if lines else "\n  (every relay and consumer caught up)"


def _start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url + "/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout}s:\n{log.read_text()[-3000:]}")


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for p in processes:
        p.terminate()
    for p in processes:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()


def bootstrap_accounts(handle: SuiteHandle, env: dict[str, str], logs: Path) -> None:
    """The first district administrator, as an operator makes one: `gongkai accounts
    bootstrap` (org units and the suite's service accounts too), the first sign-in with its
    forced password change; the test administrator's token is then signed with its session
    generation, as `gongkai token issue` would."""
    handle.env = dict(env)
    password_file = logs / "admin-password"
    password_file.write_text("Boot-Pass-2026", encoding="utf-8")
    done = subprocess.run(
        [
            *(GONGKAI, "accounts", "bootstrap", "--admin", ADMIN, "--name", "测试管理员"),
            *("--password-file", str(password_file)),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    with httpx.Client(base_url=handle.url_for("accounts"), timeout=30) as c:
        first = {"username": ADMIN, "password": "Boot-Pass-2026"}
        assert c.post("/v1/auth/password", json=first).json()["rule"] == "password.change_required"
        changed = c.post("/v1/auth/password/change", json={**first, "new_password": ADMIN_PASSWORD})
        assert changed.status_code == 200, changed.text
        signed_in = changed.json()["access_token"]
        handle.wait_accepted(signed_in)
        me = c.get(f"/v1/accounts/{ADMIN}", headers={"Authorization": f"Bearer {signed_in}"})
        generation = me.json()["generation"]
    principal = Principal(
        sub=ADMIN,
        org="shangdang",
        roles=frozenset({Role.DISTRICT_ADMINISTRATOR}),
        generation=generation,
    )
    handle.admin_token = issue_token(principal, SECRET, timedelta(hours=6), datetime.now(UTC))
    handle.wait_accepted(handle.admin_token)


async def _pg_rows(url: str, schema: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    conn = await asyncpg.connect(url, server_settings={"search_path": schema})
    try:
        return [tuple(r) for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


async def _create_database(url: str, name: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    return url.rsplit("/", 1)[0] + "/" + name


async def _drop_database(url: str, name: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def mail_server() -> Iterator[MailServer]:
    """A real SMTP server (aiosmtpd) every suite's processes send their mail to."""
    server = MailServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session", params=["embedded", "distributed"])
def suite(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SuiteHandle]:
    yield from run_suite(request, tmp_path_factory)


#: What every distributed district runs whatever a module names: accounts (every process's
#: account book, the test tokens) and platform (the working-day calendars).
BASE_SERVICES = frozenset({"accounts", "platform"})


def run_suite(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    services: Collection[str] | None = None,
    env_overrides: Mapping[str, str] | None = None,
) -> Iterator[SuiteHandle]:
    """Start the suite in `request.param` mode; a module whose assertions need a district
    no other test touched (e.g. exact scores) overrides `suite` with a module-scoped
    fixture that yields from this. `services`: in distributed mode, start only these and
    BASE_SERVICES, for a module that exercises a few of them (a district's start-up is most
    of such a module's time); a page or call that needs a service left out fails naming it
    (the gateway's "no URL for service"). Embedded mode always runs the one process with
    all. `env_overrides`: settings of this module's district (e.g. the portal's kept pages)."""
    logs = tmp_path_factory.mktemp(f"suite-{request.param}")
    env = {
        **os.environ,
        "GONGKAI_TOKEN_SECRET": SECRET,
        "GONGKAI_LOG_LEVEL": "warning",
        "GONGKAI_PROJECTION_IDLE_WAIT": "0.1",
    }
    env.pop("GONGKAI_DATABASE_URL", None)
    env.pop("GONGKAI_KAFKA_BOOTSTRAP", None)
    # Mail goes to the session's SMTP server; page views and subscription notices are
    # flushed within a second or two (the subscription journey waits for both).
    mail: MailServer = request.getfixturevalue("mail_server")
    env["GONGKAI_SMTP_HOST"] = "127.0.0.1"
    env["GONGKAI_SMTP_PORT"] = str(mail.port)
    env["GONGKAI_SMTP_SENDER"] = "noreply@shangdang.example"
    env["GONGKAI_PORTAL_VIEWS_FLUSH_SECONDS"] = "1"
    env["GONGKAI_SUBSCRIPTIONS_JOB_SECONDS"] = "0.5"
    # The journeys read a portal page right after the command that changes it: kept pages
    # (until an event changes them, decision 157) are off here, and on in
    # tests/e2e/test_portal_freshness.py, which asserts how long a page is kept.
    env["GONGKAI_PORTAL_PAGE_SECONDS"] = "0"
    env.update(env_overrides or {})
    if request.param == "embedded":
        port = free_port()
        env["GONGKAI_VAR_DIR"] = str(logs / "var")
        handle = SuiteHandle("embedded", f"http://127.0.0.1:{port}", logs)
        log = logs / "run.log"
        proc = _start([GONGKAI, "run", "--no-demo-data", "--port", str(port)], env, log)
        handle.processes.append(proc)
        try:
            _wait_ready(handle.base_url, proc, log)
            bootstrap_accounts(handle, env, logs)
            yield handle
        finally:
            _stop(handle.processes)
        return

    pg_url = request.getfixturevalue("pg_url")
    bootstrap = request.getfixturevalue("kafka_bootstrap")
    db_name = f"e2e_{uuid.uuid4().hex[:10]}"
    env["GONGKAI_DATABASE_URL"] = asyncio.run(_create_database(pg_url, db_name))
    env["GONGKAI_KAFKA_BOOTSTRAP"] = bootstrap
    env["GONGKAI_TOPIC_PREFIX"] = db_name.replace("_", "-")
    handle = SuiteHandle("distributed", "", logs)
    try:
        # Every discovered service: its API + relay, and its projection worker if it has one.
        # All ports are chosen first, so every process (the workbench and the portal call
        # the others) gets the whole URL map, and all start at once, as a deployment's pods
        # do: start-up is import and connection time, so starting them one after another
        # only adds those up (DDL is serialised by an advisory lock, topics are created
        # idempotently).
        plan: list[tuple[str, str, int]] = []
        wanted = set(DEFINITIONS if services is None else {*services, *BASE_SERVICES})
        for service in (s for s in start_order(DEFINITIONS) if s in wanted):
            definition = DEFINITIONS[service]
            roles = ["serve"] + (["worker"] if list(definition.projections()) else [])
            for role in roles:
                port = free_port()
                while port in {p for _, _, p in plan}:  # the OS may hand a closed port out again
                    port = free_port()
                if role == "serve":
                    handle.urls[service] = f"http://127.0.0.1:{port}"
                else:
                    handle.worker_urls[service] = f"http://127.0.0.1:{port}"
                plan.append((service, role, port))
        env["GONGKAI_SERVICE_URLS"] = json.dumps(handle.urls)
        started = []
        for service, role, port in plan:
            log = logs / f"{role}-{service}.log"
            proc = _start([GONGKAI, role, service, "--port", str(port)], env, log)
            handle.processes.append(proc)
            started.append((f"http://127.0.0.1:{port}", proc, log))
        for url, proc, log in started:
            _wait_ready(url, proc, log, timeout=180)
        handle.base_url = handle.urls.get("applications", handle.urls["accounts"])
        bootstrap_accounts(handle, env, logs)
        yield handle
    finally:
        _stop(handle.processes)
        asyncio.run(_drop_database(pg_url, db_name))
