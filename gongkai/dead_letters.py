"""Parked events for operators: `gongkai dead-letters …` and `/v1/ops/dead-letters`.

The composition root's part of shared/dead_letters.py: which consumers park under which
name in each mode, where their source stores are, and the record of what an operator did.
Retrying and discarding are written to the platform store as `ParkedEventsRetried` /
`ParkedEventsDiscarded` (services/platform/events.py), which the audit chain records like
every event: who re-drove or discarded what, and why.

No `from __future__ import annotations`: FastAPI must see the real dependency objects.
"""

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Request
from prometheus_client import Gauge
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from pydantic import BaseModel, Field

from services.platform.events import (
    PARKED_EVENTS_STREAM,
    ParkedEventsDiscarded,
    ParkedEventsRetried,
)
from shared import dead_letters as dl
from shared.commands import actor_of
from shared.db import Database
from shared.deps import Caller
from shared.envelope import StreamWrite, new_id
from shared.errors import NotFound
from shared.eventstore import EventStore, open_postgres_store, open_sqlite_store
from shared.http import correlation_id
from shared.identity import Principal, Role, authorize
from shared.kafka import DEFAULT_PREFIX
from shared.registry import DomainEvent, to_new_event
from shared.routes import COMMAND_RESPONSES
from shared.service import ALL_SERVICES, ServiceDefinition, discover, sources_of
from shared.settings import Settings

#: Who may re-drive or discard: a district administrator. Auditors may look.
OPERATORS = (Role.ADMINISTRATOR,)
READERS = (Role.ADMINISTRATOR, Role.AUDITOR)


def consumers_of(
    service: str, definitions: Mapping[str, ServiceDefinition], prefix: str = DEFAULT_PREFIX
) -> list[dl.Consumer]:
    """Every name under which `service`'s read model parks events, in either mode.

    Embedded: one runner per projection and source (`<projection>` or
    `<projection>@<source>`); distributed: the consumer group `<prefix>.<service>.projections`
    over the projections it feeds, and the faust app `<prefix>.<service>-streamed`.
    """
    definition = definitions[service]
    every = list(definition.projections())
    names = list(definitions)

    def sources(p: Any) -> list[str]:
        found = sources_of(p, service)
        return names if ALL_SERVICES in found else list(found)

    out = [
        dl.Consumer(
            name=p.name if src == service else f"{p.name}@{src}",
            service=service,
            projections=(p,),
            sources={p.name: (src,)},
        )
        for p in every
        for src in sources(p)
    ]
    grouped = [p for p in every if p.name not in definition.streamed]
    streamed = [p for p in every if p.name in definition.streamed]
    if grouped:
        out.append(
            dl.Consumer(
                name=f"{prefix}.{service}.projections",
                service=service,
                projections=grouped,
                sources={p.name: sources(p) for p in grouped},
                inbox=True,
            )
        )
    if streamed:
        out.append(
            dl.Consumer(
                name=f"{prefix}.{service}-streamed",
                service=service,
                projections=streamed,
                sources={p.name: sources(p) for p in streamed},
                inbox=True,
            )
        )
    return out


@dataclass
class Operations:
    """Parked events of the services whose read models this process holds.

    `views[service]`: the read model; `stores`: the event stores already open (the others
    are opened on demand from `settings`, and closed by `close`).
    """

    settings: Settings
    views: dict[str, Database]
    stores: dict[str, EventStore]
    definitions: Mapping[str, ServiceDefinition]
    _opened: list[EventStore] = field(default_factory=list)

    def consumer(self, name: str) -> dl.Consumer:
        for service in self.views:
            for consumer in consumers_of(service, self.definitions, self.settings.topic_prefix):
                if consumer.name == name:
                    return consumer
        raise NotFound(
            rule="dead_letters.unknown_consumer",
            field="consumer",
            message_zh=f"本进程中没有名为 {name} 的投影或消费者",
            message_en=f"no projection or consumer named {name} in this process",
        )

    async def store_of(self, service: str) -> EventStore:
        if service not in self.stores:
            s = self.settings
            if s.database_url:
                store = await open_postgres_store(s.database_url, schema=service, listen=False)
            else:
                path = s.var_dir / service / "events.db"
                store = await open_sqlite_store(str(path), name=service)
            self._opened.append(store)
            self.stores[service] = store
        return self.stores[service]

    async def close(self) -> None:
        for store in self._opened:
            with contextlib.suppress(Exception):
                await store.close()

    async def parked(self, consumer: str | None = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for service, db in self.views.items():
            out += [{"service": service, **row} for row in await dl.list_parked(db, consumer)]
        return out

    async def counts(self) -> dict[tuple[str, str], int]:
        out: dict[tuple[str, str], int] = {}
        for service, db in self.views.items():
            for consumer, n in (await dl.counts(db)).items():
                out[(service, consumer)] = n
        return out

    async def show(self, consumer: str, stream_id: str) -> dict[str, Any]:
        c = self.consumer(consumer)
        parked = await dl.show(self.views[c.service], consumer, stream_id)
        return {
            "service": c.service,
            "consumer": consumer,
            "stream_id": stream_id,
            "events": [p.as_dict() for p in parked],
        }

    async def retry(
        self, consumer: str, stream_id: str, operator: Principal, correlation: UUID
    ) -> dict[str, Any]:
        authorize(operator, str(operator.org), *OPERATORS)
        c = self.consumer(consumer)
        outcome = await dl.retry(self.views[c.service], c, stream_id, self.store_of)
        event = ParkedEventsRetried(
            projection_service=c.service,
            consumer=consumer,
            stream_id=stream_id,
            applied=outcome.applied,
            still_parked=outcome.still_parked,
            reason=None if outcome.reason is None else outcome.reason[:2000],
        )
        recorded = await self._record(event, operator, correlation)
        return {"service": c.service, **outcome.as_dict(), "recorded_event_id": recorded}

    async def discard(
        self, consumer: str, stream_id: str, reason: str, operator: Principal, correlation: UUID
    ) -> dict[str, Any]:
        authorize(operator, str(operator.org), *OPERATORS)
        why = dl.check_reason(reason)
        c = self.consumer(consumer)
        removed = await dl.discard(self.views[c.service], consumer, stream_id)
        event = ParkedEventsDiscarded(
            projection_service=c.service,
            consumer=consumer,
            stream_id=stream_id,
            event_ids=[p.event_id for p in removed],
            reason=why,
        )
        recorded = await self._record(event, operator, correlation)
        return {
            "service": c.service,
            "consumer": consumer,
            "stream_id": stream_id,
            "discarded": [p.event_id for p in removed],
            "reason": why,
            "recorded_event_id": recorded,
        }

    async def _record(self, event: DomainEvent, operator: Principal, correlation: UUID) -> str:
        """Append the operator's action to the platform store (a stream of its own)."""
        store = await self.store_of("platform")
        write = StreamWrite(
            stream_id=f"{PARKED_EVENTS_STREAM}-{new_id()}",
            stream_type=event.stream_type,
            expected_version=0,
            events=(
                to_new_event(
                    event, str(operator.org), actor_of(operator, Role.ADMINISTRATOR), correlation
                ),
            ),
        )
        (recorded,) = await store.append([write])
        return str(recorded.event_id)


# --- HTTP --------------------------------------------------------------------------------

router = APIRouter(prefix="/v1/ops/dead-letters", tags=["ops 运维"])
REFUSALS: dict[int | str, dict[str, Any]] = {
    status: COMMAND_RESPONSES[status] for status in (401, 403, 404, 422)
}


class Discard(BaseModel):
    reason: str = Field(title="理由 Reason", min_length=2, max_length=500)


def _ops(request: Request) -> Operations:
    ops: Operations = request.app.state.dead_letters
    return ops


def _may_read(caller: Principal) -> None:
    authorize(caller, str(caller.org), *READERS, write=False)


def _district_only(caller: Principal, request: Request) -> None:
    """Parked events span every township: the caller's org is the district."""
    district = str(request.app.state.suite.orgs.district.path)
    authorize(caller, district, write=False)


@router.get("", summary="暂存事件 Parked events per projection and stream", responses=REFUSALS)
async def list_dead_letters(
    request: Request, caller: Caller, consumer: str | None = None
) -> list[dict[str, Any]]:
    _may_read(caller)
    _district_only(caller, request)
    return await _ops(request).parked(consumer)


@router.get(
    "/{consumer}/{stream_id}",
    summary="查看暂存事件 One stream's parked events, in stream order",
    responses=REFUSALS,
)
async def show_dead_letters(
    request: Request, caller: Caller, consumer: str, stream_id: str
) -> dict[str, Any]:
    _may_read(caller)
    _district_only(caller, request)
    return await _ops(request).show(consumer, stream_id)


@router.post(
    "/{consumer}/{stream_id}/retry",
    summary="重新投递 Re-apply a stream's parked events after a fix",
    responses=REFUSALS,
)
async def retry_dead_letters(
    request: Request, caller: Caller, consumer: str, stream_id: str
) -> dict[str, Any]:
    _district_only(caller, request)
    return await _ops(request).retry(consumer, stream_id, caller, correlation_id(request))


@router.post(
    "/{consumer}/{stream_id}/discard",
    summary="丢弃暂存事件 Discard a stream's parked events, saying why",
    responses=REFUSALS,
)
async def discard_dead_letters(
    request: Request,
    caller: Caller,
    consumer: str,
    stream_id: str,
    body: Annotated[Discard, Body()],
) -> dict[str, Any]:
    _district_only(caller, request)
    return await _ops(request).discard(
        consumer, stream_id, body.reason, caller, correlation_id(request)
    )


# --- metrics -----------------------------------------------------------------------------


class DeadLetteredCollector(Collector):
    """`gongkai_dead_lettered_total`: messages this process sent to the dead-letter topic."""

    def __init__(self, workers: Sequence[Any]) -> None:
        self.workers = workers

    def collect(self) -> Any:
        family = CounterMetricFamily(
            "gongkai_dead_lettered",
            "Messages sent to the dead-letter topic by this process",
            labels=["consumer"],
        )
        for worker in self.workers:
            family.add_metric([worker.group], worker.dead_lettered)
        yield family


def parked_gauge(registry: Any) -> Gauge:
    return Gauge(
        "gongkai_parked_events",
        "Events parked in dead_letters, per service and projection (consumer)",
        ["service", "consumer"],
        registry=registry,
    )


async def update_parked(gauge: Gauge, ops: Operations) -> None:
    counts = await ops.counts()
    gauge.clear()
    for (service, consumer), n in counts.items():
        gauge.labels(service, consumer).set(n)


# --- CLI ---------------------------------------------------------------------------------


async def _cli_ops(settings: Settings) -> tuple[Operations, list[Any]]:
    """Every service's read model and store, as the CLI finds them (SQLite or PostgreSQL)."""
    from shared.db import PostgresDatabase, SqliteDatabase

    definitions = discover()
    views: dict[str, Database] = {}
    closers: list[Any] = []
    for name in definitions:
        if settings.database_url:
            db: Database = await PostgresDatabase.open(settings.database_url, schema=name)
        else:
            path = settings.var_dir / name / "views.db"
            if not path.exists():
                continue
            db = await SqliteDatabase.open(path)
        closers.append(db)
        views[name] = db
    return Operations(settings, views, {}, definitions), closers


def run_command(args: argparse.Namespace) -> int:
    settings = Settings()

    async def go() -> Any:
        ops, closers = await _cli_ops(settings)
        try:
            if args.dl_command == "list":
                return await ops.parked(args.consumer)
            if args.dl_command == "show":
                return await ops.show(args.consumer, args.stream)
            operator = Principal(sub=args.sub, org=args.org, roles=frozenset({Role.ADMINISTRATOR}))
            if args.dl_command == "retry":
                return await ops.retry(args.consumer, args.stream, operator, new_id())
            return await ops.discard(args.consumer, args.stream, args.reason, operator, new_id())
        finally:
            await ops.close()
            for closer in closers:
                await closer.close()

    result = asyncio.run(go())
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if args.dl_command == "retry" and result["still_parked"]:
        print(f"still parked: {result['reason'].splitlines()[0]}", file=sys.stderr)
        return 1
    return 0
