"""The composition root: builds the services from settings and wires the adapters.

Three process roles, one code path:
- `embedded` (gongkai run): every service in one process on SQLite files under
  var/; projections follow each store's own log. No external services.
- `serve` (gongkai serve SERVICE): one service's HTTP API on PostgreSQL, plus the
  relay that publishes its stored events to Kafka.
- `worker` (gongkai worker SERVICE): one service's projections, fed from Kafka.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from services.applications.api import build_router as applications_router
from services.applications.handlers import ApplicationsHandlers
from services.applications.projections import RequestLedger
from services.platform.api import build_router as platform_router
from services.platform.calendar import CalendarBook
from shared.db import Database, SqliteDatabase
from shared.envelope import utcnow
from shared.eventstore import SqlEventStore, open_postgres_store, open_sqlite_store, tail
from shared.http import (
    BodyLimitMiddleware,
    Idempotency,
    Metrics,
    bearer_principal,
    install_problem_handlers,
    install_request_context,
    metrics_response,
)
from shared.kafka import KafkaProjectionWorker, Relay, dlq_for, follow_topic, topic_for
from shared.logging import configure_logging
from shared.projections import Projection, ProjectionRunner
from shared.settings import Settings
from shared.tenancy import OrgTree, load_org_tree

log = structlog.get_logger("gongkai.app")

Role = Literal["embedded", "serve", "worker"]
SERVICES = ("applications", "platform")


def projections_of(service: str) -> list[Projection]:
    return {"applications": [RequestLedger()], "platform": []}[service]


@dataclass
class ServiceRuntime:
    """One service's adapters, filled in when the process starts."""

    name: str
    store: SqlEventStore = field(init=False)
    views: Database = field(init=False)
    idempotency: Idempotency = field(init=False)
    handlers: Any = None
    calendar: CalendarBook | None = None


@dataclass
class Suite:
    settings: Settings
    role: Role
    services: Sequence[str]
    clock: Callable[[], datetime] = utcnow
    orgs: OrgTree = field(init=False)
    calendar: CalendarBook = field(default_factory=CalendarBook)
    runtimes: dict[str, ServiceRuntime] = field(default_factory=dict)
    runners: list[ProjectionRunner] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _closers: list[Any] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.orgs = load_org_tree(self.settings.org_file)
        for name in self.services:
            self.runtimes[name] = ServiceRuntime(name=name, calendar=self.calendar)

    async def _open(self, runtime: ServiceRuntime) -> None:
        s = self.settings
        if s.database_url:
            runtime.store = await open_postgres_store(s.database_url, schema=runtime.name)
            runtime.views = runtime.store.db
        else:
            folder = s.var_dir / runtime.name
            runtime.store = await open_sqlite_store(str(folder / "events.db"), name=runtime.name)
            runtime.views = await SqliteDatabase.open(folder / "views.db")
            self._closers.append(runtime.views)
        self._closers.append(runtime.store)
        runtime.idempotency = Idempotency(runtime.views)
        await runtime.idempotency.setup()
        if runtime.name == "applications":
            runtime.handlers = ApplicationsHandlers(
                store=runtime.store, orgs=self.orgs, calendar=self.calendar, clock=self.clock
            )

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(_log_crash)
        self._tasks.append(task)

    async def start(self) -> None:
        for runtime in self.runtimes.values():
            await self._open(runtime)
        s = self.settings
        if self.role == "embedded":
            for runtime in self.runtimes.values():
                for projection in projections_of(runtime.name):
                    runner = ProjectionRunner(projection, runtime.store, runtime.views)
                    await runner.setup()
                    self.runners.append(runner)
                    self._spawn(
                        runner.run_forever(self._stop, s.projection_idle_wait), projection.name
                    )
            platform = self.runtimes.get("platform")
            if platform is not None:
                self.calendar.apply_all(await platform.store.read_all(0, 100_000))
                self._spawn(
                    self.calendar.follow(
                        tail(platform.store, await platform.store.head_position())
                    ),
                    "calendar",
                )
            return
        assert s.kafka_bootstrap, "distributed roles need GONGKAI_KAFKA_BOOTSTRAP"
        self._spawn(
            self.calendar.follow(
                follow_topic(s.kafka_bootstrap, topic_for("platform", s.topic_prefix))
            ),
            "calendar",
        )
        for runtime in self.runtimes.values():
            if self.role == "serve":
                relay = Relay(
                    runtime.store,
                    runtime.views,
                    s.kafka_bootstrap,
                    topic_for(runtime.name, s.topic_prefix),
                    dlq=dlq_for(s.topic_prefix),
                )
                await relay.setup()
                self._spawn(relay.run(self._stop), f"relay-{runtime.name}")
            else:
                projections = projections_of(runtime.name)
                if projections:
                    worker = KafkaProjectionWorker(
                        projections,
                        runtime.views,
                        s.kafka_bootstrap,
                        topic_for(runtime.name, s.topic_prefix),
                        group=f"{s.topic_prefix}.{runtime.name}.projections",
                        dlq=dlq_for(s.topic_prefix),
                    )
                    self._spawn(worker.run(self._stop), f"worker-{runtime.name}")

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
            checks[runner.projection.name] = {"lag": await runner.lag()}
        return checks


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("task.crashed", task=task.get_name(), error=repr(task.exception()))


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
    suite = Suite(settings=settings, role=role, services=services, clock=clock)
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await suite.start()
        log.info(
            "suite.started", role=role, services=list(services), distributed=settings.distributed
        )
        if on_started is not None:
            await on_started(suite)
        try:
            yield
        finally:
            await suite.stop()

    app = FastAPI(
        title="gongkai 政务公开",
        version="0.1.0",
        description="政务公开 event-sourced service suite: " + ", ".join(services),
        lifespan=lifespan,
    )
    app.state.suite = suite
    app.state.token_secret = settings.resolved_token_secret()
    install_problem_handlers(app)
    install_request_context(app, metrics)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    principal = bearer_principal(lambda request: request.app.state.token_secret)

    if "applications" in services:
        rt = suite.runtimes["applications"]
        app.include_router(applications_router(rt, principal))
    if "platform" in services:
        app.include_router(platform_router(suite.runtimes["platform"], principal))

    @app.get("/health", tags=["ops"], summary="Liveness")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", tags=["ops"], summary="Readiness: stores reachable, projection lag")
    async def ready(request: Request) -> JSONResponse:
        checks = await suite.ready()
        ok = not any("error" in c for c in checks.values())
        return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics")
    async def prometheus() -> Response:
        return metrics_response(metrics)

    return app


def create_openapi_documents() -> dict[str, dict[str, Any]]:
    """The OpenAPI document of each service, as its own process serves it (contracts/)."""
    settings = Settings(token_secret="x" * 48)
    return {
        name: create_app(settings, role="serve", services=[name]).openapi() for name in SERVICES
    }
