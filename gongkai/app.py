"""The composition root: builds the services from settings and wires the adapters.

Services are discovered (shared/service.py): every `services/<name>/service.py`.
Three process roles, one code path:
- `embedded` (gongkai run): every service in one process on SQLite files under
  var/; projections follow the stores' own logs. No external services.
- `serve` (gongkai serve SERVICE): one service's HTTP API on PostgreSQL, its
  background jobs, and the relay that publishes its stored events to Kafka.
- `worker` (gongkai worker SERVICE): one service's projections, fed from Kafka.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

import httpx
import structlog
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp

from gongkai import dead_letters
from shared import tracing
from shared.account_book import ACCOUNTS_SERVICE, AccountBook
from shared.calendar_book import CalendarBook
from shared.db import Database, SqliteDatabase
from shared.deps import Caller
from shared.envelope import utcnow
from shared.eventstore import SqlEventStore, open_postgres_store, open_sqlite_store, tail
from shared.http import (
    DOCS_STATIC,
    BodyLimitMiddleware,
    Idempotency,
    Metrics,
    install_problem_handlers,
    install_request_context,
    metrics_response,
)
from shared.jobs import JobCollector
from shared.kafka import (
    DEFAULT_PARTITIONS,
    KafkaProjectionWorker,
    Relay,
    dlq_for,
    ensure_topics,
    follow_topic,
    topic_for,
)
from shared.logging import configure_logging
from shared.openapi import complete_contract
from shared.projections import ProjectionRunner, setup_projection
from shared.routes import COMMAND_RESPONSES, catalogue_router
from shared.service import ALL_SERVICES, Definitions, ServiceDefinition, sources_of
from shared.settings import Settings
from shared.tenancy import OrgTree, load_org_tree

if TYPE_CHECKING:  # faust is imported by the workers that run it (start-up time)
    from shared.streams import ProjectionApp

log = structlog.get_logger("gongkai.app")

Role = Literal["embedded", "serve", "worker"]
#: Every service by name; a process imports only those it runs (shared/service.py).
DEFINITIONS: Mapping[str, ServiceDefinition] = Definitions()
SERVICES: tuple[str, ...] = tuple(DEFINITIONS)


@dataclass
class ServiceRuntime:
    """One service's adapters, filled in when the process starts."""

    definition: ServiceDefinition
    calendar: CalendarBook
    clock: Callable[[], datetime]
    orgs: OrgTree
    store: SqlEventStore = field(init=False)
    views: Database = field(init=False)
    idempotency: Idempotency = field(init=False)
    handlers: Any = None
    #: Partitions of the service's topic, read from the broker by a distributed worker
    #: (its faust apps' tables must match them).
    partitions: int = DEFAULT_PARTITIONS

    @property
    def name(self) -> str:
        return self.definition.name


@dataclass
class Suite:
    settings: Settings
    role: Role
    services: Sequence[str]
    clock: Callable[[], datetime] = utcnow
    orgs: OrgTree = field(init=False)
    calendar: CalendarBook = field(default_factory=CalendarBook)
    #: The accounts this process knows (shared/account_book.py): every request's token is
    #: checked against it.
    accounts: AccountBook = field(default_factory=AccountBook)
    runtimes: dict[str, ServiceRuntime] = field(default_factory=dict)
    runners: list[ProjectionRunner] = field(default_factory=list)
    #: Kafka consumer workers (their dead-lettered counts are on /metrics).
    workers: list[KafkaProjectionWorker] = field(default_factory=list)
    #: The relays of a `serve` process, by service (their lag is on /ready and /metrics).
    relays: dict[str, Relay] = field(default_factory=dict)
    #: The faust projection app of each service that has one, as last built (on /ready).
    streamed_apps: dict[str, ProjectionApp] = field(default_factory=dict)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _closers: list[Any] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    #: Supervised tasks that crashed and are waiting to be started again, with the error.
    failing: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.orgs = load_org_tree(self.settings.org_file)
        for name in self.services:
            self.runtimes[name] = ServiceRuntime(
                DEFINITIONS[name], self.calendar, self.clock, self.orgs
            )

    def sources(self, service: str, projection: Any) -> list[str]:
        names = sources_of(projection, service)
        return list(SERVICES) if ALL_SERVICES in names else list(names)

    def _embedded_sources(self, service: str, projection: Any) -> list[str]:
        """The logs an embedded projection reads: `*` means every service this suite runs;
        a named service it does not run is a start-up error, not an empty read model."""
        if ALL_SERVICES in sources_of(projection, service):
            return [name for name in self.sources(service, projection) if name in self.runtimes]
        missing = [name for name in self.sources(service, projection) if name not in self.runtimes]
        if missing:
            raise RuntimeError(
                f"projection {projection.name} of {service} reads the log of "
                f"{', '.join(missing)}, which this embedded suite does not run: start "
                f"{', '.join(missing)} too"
            )
        return self.sources(service, projection)

    async def _open(self, runtime: ServiceRuntime) -> None:
        s = self.settings
        if s.database_url:
            runtime.store = await open_postgres_store(
                s.database_url, schema=runtime.name, pool_max=s.db_pool_max
            )
            runtime.views = runtime.store.db
        else:
            folder = s.var_dir / runtime.name
            runtime.store = await open_sqlite_store(str(folder / "events.db"), name=runtime.name)
            runtime.views = await SqliteDatabase.open(folder / "views.db")
            self._closers.append(runtime.views)
        self._closers.append(runtime.store)
        runtime.idempotency = Idempotency(runtime.views)
        await runtime.idempotency.setup()
        if runtime.definition.build_handlers is not None:
            runtime.handlers = runtime.definition.build_handlers(runtime, self)

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(_log_crash)
        self._tasks.append(task)

    def _supervise(self, start: Callable[[], Awaitable[None]], name: str) -> None:
        """Run `start()` and start it again after a crash, with backoff, until stopped.

        Relays and workers resume from their stored checkpoints, so a restart loses
        nothing and applies nothing twice.
        """

        async def loop() -> None:
            delay = 0.5
            while not self._stop.is_set():
                try:
                    await start()
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self.failing[name] = repr(exc)
                    log.error("task.restarting", task=name, error=repr(exc), delay=delay)
                    await asyncio.sleep(delay)
                    self.failing.pop(name, None)
                    delay = min(delay * 2, 10.0)

        self._spawn(loop(), name)

    async def start(self) -> None:
        for runtime in self.runtimes.values():
            await self._open(runtime)
        if self.role == "embedded":
            await self._start_embedded()
        else:
            await self._start_distributed()
        if self.role != "worker":
            for runtime in self.runtimes.values():
                for job in runtime.definition.background:
                    self._spawn(job(runtime, self, self._stop), f"{runtime.name}-job")

    async def _start_embedded(self) -> None:
        wait = self.settings.projection_idle_wait
        for runtime in self.runtimes.values():
            for projection in runtime.definition.projections():
                for source in self._embedded_sources(runtime.name, projection):
                    name = (
                        projection.name if source == runtime.name else f"{projection.name}@{source}"
                    )
                    runner = ProjectionRunner(
                        projection,
                        self.runtimes[source].store,
                        runtime.views,
                        checkpoint_name=name,
                    )
                    await runner.setup()
                    self.runners.append(runner)
                    self._supervise(partial(runner.run_forever, self._stop, wait), name)
        platform = self.runtimes.get("platform")
        if platform is not None:
            self.calendar.apply_all(await platform.store.read_all(0, 100_000))
            head = await platform.store.head_position()
            self._spawn(self.calendar.follow(tail(platform.store, head)), "calendar")
        accounts = self.runtimes.get(ACCOUNTS_SERVICE)
        if accounts is not None:
            # Read whole before the first request is served, then followed: a revocation
            # reaches the book as soon as it is stored (the store wakes its tail).
            position = 0
            while batch := await accounts.store.read_all(position, 10_000):
                self.accounts.apply_all(batch)
                position = batch[-1].position
            self._spawn(
                self.accounts.follow(tail(accounts.store, position, idle_wait=0.2)),
                "account-book",
            )

    async def _start_distributed(self) -> None:
        s = self.settings
        assert s.kafka_bootstrap, "distributed roles need GONGKAI_KAFKA_BOOTSTRAP"
        bootstrap, prefix = s.kafka_bootstrap, s.topic_prefix
        self._spawn(
            self.calendar.follow(follow_topic(bootstrap, topic_for("platform", prefix))),
            "calendar",
        )
        # Every process, API or worker, reads the accounts topic whole and follows it.
        # A restart reads the topic from the beginning again: applying an event twice is
        # harmless (the book skips versions it holds).
        accounts_topic = topic_for(ACCOUNTS_SERVICE, prefix)
        self._supervise(
            lambda: self.accounts.follow(follow_topic(bootstrap, accounts_topic)),
            "account-book",
        )
        for runtime in self.runtimes.values():
            if self.role == "serve":
                # The API reads the read models its worker fills: create them before the
                # first request, not when the worker first starts (which may come later).
                for projection in runtime.definition.projections():
                    await setup_projection(runtime.views, projection)
                relay = Relay(
                    runtime.store,
                    runtime.views,
                    bootstrap,
                    topic_for(runtime.name, prefix),
                    dlq=dlq_for(prefix),
                )
                await relay.setup()
                self.relays[runtime.name] = relay
                self._supervise(partial(relay.run, self._stop), f"relay-{runtime.name}")
                continue
            for i, processor in enumerate(runtime.definition.stream_processors):

                async def run(p: Any = processor, rt: ServiceRuntime = runtime) -> None:
                    from shared.streams import partitions_of, run_stream_processor

                    topic = topic_for(rt.name, prefix)
                    await ensure_topics(bootstrap, [topic])  # inside: a broker down at start
                    rt.partitions = await partitions_of(bootstrap, topic)  # is retried
                    await run_stream_processor(lambda: p(rt, self), self._stop)

                self._supervise(run, f"stream-{runtime.name}-{i}")
            every = list(runtime.definition.projections())
            streamed = [p for p in every if p.name in runtime.definition.streamed]
            projections = [p for p in every if p.name not in runtime.definition.streamed]
            if streamed:
                self._supervise(
                    partial(self._run_streamed, runtime, streamed),
                    f"streamed-{runtime.name}",
                )
            if not projections:
                continue
            routes = {
                p.name: {topic_for(src, prefix) for src in self.sources(runtime.name, p)}
                for p in projections
            }
            worker = KafkaProjectionWorker(
                projections,
                runtime.views,
                bootstrap,
                sorted(set().union(*routes.values())),
                group=f"{prefix}.{runtime.name}.projections",
                dlq=dlq_for(prefix),
                routes=routes,
                session_timeout_ms=s.kafka_session_timeout_ms,
                instance_id=s.kafka_instance_id,
            )
            self.workers.append(worker)
            self._supervise(partial(worker.run, self._stop), f"worker-{runtime.name}")

    async def _run_streamed(self, runtime: ServiceRuntime, projections: list[Any]) -> None:
        """Projections a distributed worker feeds from a faust app (ServiceDefinition.streamed);
        supervised from the start, so a broker or database down at start is retried."""
        from shared.streams import (
            build_projection_app,
            partitions_of,
            run_stream_processor,
            setup_projection_app,
        )

        s = self.settings
        assert s.kafka_bootstrap
        bootstrap, prefix = s.kafka_bootstrap, s.topic_prefix
        routes = {
            p.name: {topic_for(src, prefix) for src in self.sources(runtime.name, p)}
            for p in projections
        }
        topics = sorted(set().union(*routes.values()))
        await ensure_topics(bootstrap, topics)
        partitions = await partitions_of(bootstrap, topics[0])
        await setup_projection_app(runtime.views, projections)
        datadir = str(s.var_dir / runtime.name / "faust")

        def build() -> Any:
            built = build_projection_app(
                projections,
                runtime.views,
                bootstrap,
                topics,
                app_id=f"{runtime.name}-streamed",
                prefix=prefix,
                routes=routes,
                partitions=partitions,
                datadir=datadir,
            )
            self.streamed_apps[runtime.name] = built
            return built

        await run_stream_processor(build, self._stop)

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for closer in reversed(self._closers):
            with contextlib.suppress(Exception):
                await closer.close()

    async def ready(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        for name, runtime in self.runtimes.items():
            try:
                checks[name] = {"head_position": await runtime.store.head_position()}
            except Exception as exc:
                checks[name] = {"error": type(exc).__name__}
        for runner in self.runners:
            checks[runner.name] = {"lag": await runner.lag()}
        for name, relay in self.relays.items():
            try:
                head = await self.runtimes[name].store.head_position()
                relayed = await relay.checkpoint()
                checks[f"relay-{name}"] = {"relayed": relayed, "relay_lag": head - relayed}
            except Exception as exc:
                checks[f"relay-{name}"] = {"error": type(exc).__name__}
        for worker in self.workers:
            checks[f"consumer-{worker.group}"] = worker.status()
        for name, streamed in self.streamed_apps.items():
            checks[f"streamed-{name}"] = await streamed.status()
        checks["account-book"] = {
            "accounts": len(self.accounts.accounts),
            "events": self.accounts.applied,
        }
        for task, error in self.failing.items():
            checks[task] = {"error": error, "restarting": True}
        return checks


#: Event types that record a missed deadline end so (DeadlineMissed, TaskOverdue, …): a
#: new service's event is counted on /metrics when it follows the names (docs/operations.md).
MISSED_DEADLINE_SQL = "(type LIKE '%Missed' OR type LIKE '%Overdue')"


@dataclass
class DeadlineTally:
    """Counts the missed-deadline events of each store for `gongkai_deadlines_missed_total`.

    Each scrape reads only what was appended since the last one: up to the head read first
    (positions commit in order, so every position up to a visible head is visible)."""

    seen: dict[str, int] = field(default_factory=dict)
    #: Two scrapes at once must not count the same events twice.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def update(self, runtimes: Mapping[str, ServiceRuntime], counter: Any) -> None:
        async with self.lock:
            await self._update(runtimes, counter)

    async def _update(self, runtimes: Mapping[str, ServiceRuntime], counter: Any) -> None:
        for name, runtime in runtimes.items():
            after = self.seen.get(name, 0)
            head = await runtime.store.head_position()
            if head <= after:
                continue
            rows = await runtime.store.db.fetch(
                "SELECT type, COUNT(*) AS n FROM events WHERE position > $1 AND position <= $2"
                f" AND {MISSED_DEADLINE_SQL} GROUP BY type",
                after,
                head,
            )
            for row in rows:
                counter.labels(name, row["type"]).inc(int(row["n"]))
            self.seen[name] = head


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("task.crashed", task=task.get_name(), error=repr(task.exception()))


def served(app: FastAPI) -> ASGIApp:
    """What the server runs: `app`, behind what its services put in front of it (the
    portal's fast path of cached public pages, decision 154), outside the framework's own
    layers, which is where their speed comes from."""
    outer: ASGIApp = app
    for runtime in app.state.suite.runtimes.values():
        if runtime.definition.front is not None:
            outer = runtime.definition.front(outer, app.state.suite, app.state.metrics)
    return outer


def create_app(
    settings: Settings | None = None,
    *,
    role: Role = "embedded",
    services: Sequence[str] = SERVICES,
    clock: Callable[[], datetime] = utcnow,
    on_started: Callable[[Suite], Awaitable[None]] | None = None,
) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_format)
    tracing.configure_tracing(
        "gongkai" if role == "embedded" else f"gongkai-{'-'.join(services)}-{role}",
        tracing.endpoint_from(settings.otlp_endpoint),
    )
    suite = Suite(settings=settings, role=role, services=services, clock=clock)
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await suite.start()
        app.state.dead_letters = dead_letters.Operations(
            settings,
            {name: rt.views for name, rt in suite.runtimes.items()},
            {name: rt.store for name, rt in suite.runtimes.items()},
            DEFINITIONS,
        )
        log.info("suite.started", role=role, services=list(services))
        if on_started is not None:
            await on_started(suite)
        try:
            yield
        finally:
            await app.state.dead_letters.close()
            await suite.stop()
            tracing.force_flush(5_000)  # the spans of the last requests

    # /docs and /redoc with Swagger UI and ReDoc served from the package, not a CDN.
    app = FastAPIOffline(
        static_url=DOCS_STATIC,
        title="gongkai 政务公开",
        version="0.1.0",
        description="政务公开 event-sourced service suite: " + ", ".join(services),
        lifespan=lifespan,
    )
    app.state.suite = suite
    app.state.token_secret = settings.resolved_token_secret()
    app.state.account_book = suite.accounts
    install_problem_handlers(app)
    install_request_context(app, metrics)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.state.metrics = metrics
    app.state.runtimes = suite.runtimes
    for runtime in suite.runtimes.values():
        for router in runtime.definition.routers():
            app.include_router(router)
    app.include_router(dead_letters.router)
    if "workbench" in suite.runtimes and settings.oidc_enabled:
        # OpenID Connect sign-in for staff (docs/identity.md "Web sessions"): the provider
        # vouches, the workbench's web sessions sign in.
        from services.workbench.routes import WorkbenchSignIn
        from shared.oidc_routes import oidc_client_from_settings, oidc_router

        oidc = oidc_client_from_settings(settings, httpx.AsyncClient(timeout=10))
        if oidc is not None:
            app.state.oidc = oidc
            secure = oidc.settings.redirect_uri.startswith("https://")
            app.include_router(oidc_router(oidc, WorkbenchSignIn(app, secure)))
    parked = dead_letters.parked_gauge(metrics.registry)
    deadlines = DeadlineTally()
    metrics.registry.register(dead_letters.DeadLetteredCollector(suite.workers))
    metrics.registry.register(JobCollector())
    tables = [t for rt in suite.runtimes.values() for t in rt.definition.commands]
    if tables:
        app.include_router(catalogue_router(tables))
    plain_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete_contract(plain_openapi(), app.routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get(
        "/v1/auth/whoami",
        tags=["auth 身份认证"],
        summary="当前身份 Who the token speaks for, as this process's account book knows",
        responses={401: COMMAND_RESPONSES[401], 403: COMMAND_RESPONSES[403]},
    )
    async def whoami(caller: Caller) -> dict[str, Any]:
        account = suite.accounts.get(caller.sub)
        assert account is not None  # Caller checked it
        return {
            "sub": caller.sub,
            "kind": caller.kind,
            "name": account.name,
            "org": str(caller.org),
            "roles": sorted(r.value for r in caller.roles),
            "generation": caller.generation,
            "account": {
                "org": account.org,
                "status": account.status.value,
                "generation": account.generation,
                "grants": sorted(
                    ({"role": g.role.value, "org": g.org} for g in account.grants),
                    key=lambda g: (g["org"], g["role"]),
                ),
            },
        }

    @app.get("/health", tags=["ops"], summary="Liveness")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", tags=["ops"], summary="Readiness: stores reachable, projection lag")
    async def ready() -> JSONResponse:
        checks = await suite.ready()
        ok = not any("error" in c for c in checks.values())
        return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics")
    async def prometheus() -> Response:
        for name, check in (await suite.ready()).items():
            if "head_position" in check:
                metrics.head_position.labels(name).set(check["head_position"])
            if "lag" in check:
                metrics.projection_lag.labels(name).set(check["lag"])
            if "relay_lag" in check:
                service = name.removeprefix("relay-")
                metrics.relay_lag.labels(service).set(check["relay_lag"])
                metrics.relayed.labels(service).set(check["relayed"])
        await dead_letters.update_parked(parked, app.state.dead_letters)
        await deadlines.update(suite.runtimes, metrics.deadlines_missed)
        return metrics_response(metrics)

    return app


def create_openapi_documents() -> dict[str, dict[str, Any]]:
    """The OpenAPI document of each service, as its own process serves it (contracts/)."""
    settings = Settings(token_secret="x" * 48)
    return {
        name: create_app(settings, role="serve", services=[name]).openapi() for name in SERVICES
    }
