"""How a service declares itself to the composition root.

Every package `services/<name>/` with a `service.py` that defines
`SERVICE = ServiceDefinition(...)` is a service: the composition root
(gongkai/app.py) discovers it, opens its store and read models, runs its
projections (fed from its own events and from the services it `consumes`),
mounts its router, and relays its events to `gongkai.<name>.events`. Adding a
service is adding a package; nothing central is edited.
"""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from shared.account_book import AccountBook
from shared.commands import CommandTable
from shared.db import Database
from shared.eventstore import EventStore
from shared.projections import Projection
from shared.registry import EventRegistry
from shared.tenancy import OrgTree
from shared.workdays import WorkdayCalendar

if TYPE_CHECKING:
    from fastapi import APIRouter

    from shared.http import Idempotency
    from shared.settings import Settings

#: `consumes` value meaning "every service" (the audit log, assessment).
ALL_SERVICES = "*"


class Runtime(Protocol):
    """One service's adapters in a running process, as its routes and jobs see them: the
    seam between a service and the composition root (gongkai/app.py builds it)."""

    @property
    def name(self) -> str: ...

    @property
    def store(self) -> EventStore: ...

    @property
    def views(self) -> Database: ...

    @property
    def idempotency(self) -> Idempotency: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...

    @property
    def calendar(self) -> Callable[[], WorkdayCalendar]: ...

    @property
    def orgs(self) -> OrgTree: ...

    @property
    def handlers(self) -> Any:
        """The service's own application object (built by `build_handlers`), if it has one."""

    @property
    def partitions(self) -> int:
        """Partitions of the service's topic (a distributed worker reads them from the broker)."""


class Suite(Protocol):
    """The process a service runs in, as its jobs and its application object see it (the
    composition root's Suite): settings, the clock, the working-day calendar, the org tree."""

    @property
    def settings(self) -> Settings: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...

    @property
    def calendar(self) -> Callable[[], WorkdayCalendar]: ...

    @property
    def orgs(self) -> OrgTree: ...

    @property
    def accounts(self) -> AccountBook:
        """The accounts this process knows (shared/account_book.py)."""


#: A long-running job of a service (a scheduler): runs until the event is set.
Job = Callable[[Runtime, Suite, asyncio.Event], Awaitable[None]]


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    registry: EventRegistry
    #: Read models of this service. A projection may carry `sources`, a tuple of service
    #: names whose events it applies (default: this service's own).
    projections: Callable[[], Sequence[Projection]] = field(default=lambda: ())
    #: The service's command tables (shared/commands.py): the routes generated from them
    #: and the command catalogue `GET /v1/commands` that clients render forms from.
    commands: Sequence[CommandTable[Any]] = ()
    #: The service's HTTP routes: module-level routers whose routes take what they need
    #: from shared/deps.py (the caller, the runtime).
    routers: Callable[[], Sequence[APIRouter]] = field(default=lambda: ())
    #: (runtime, suite) -> the service's application object, set as `runtime.handlers`
    build_handlers: Callable[[Runtime, Suite], object] | None = None
    #: Long-running jobs of the service (schedulers)
    background: Sequence[Job] = ()
    #: Stateful stream processors run by `gongkai worker <name>` (distributed mode):
    #: (runtime, suite) -> a freshly built shared.streams.StreamHandle (a faust app). The
    #: worker runs each under a watchdog and rebuilds it after a crash or a hang.
    stream_processors: Sequence[Callable[[Runtime, Suite], Any]] = ()
    #: Names of projections that a distributed worker feeds from a faust app
    #: (shared.streams.build_projection_app: offsets in a changelog-backed table, the inbox
    #: in the read model) instead of the consumer worker. Embedded mode runs them like the
    #: others.
    streamed: frozenset[str] = frozenset()
    #: Services whose HTTP APIs this one calls (the workbench, the portal): a distributed
    #: launcher starts those first and gives this one their URLs (`start_order`).
    calls: tuple[str, ...] = ()
    #: Adds the service's own `gongkai` subcommands: (argparse subparsers) -> None. Each
    #: subparser sets `func=callable(args) -> int`.
    add_commands: Callable[[Any], None] | None = None
    #: (asgi app, suite, metrics) -> the ASGI app a process serving this service runs: what
    #: it puts in front of the whole app (the portal's fast path of cached public pages;
    #: gongkai.app.served).
    front: Callable[[Any, Any, Any], Any] | None = None
    #: The event loop of its own `serve` process (uvicorn's `loop`): asyncio's, which
    #: aiokafka, asyncpg and faust are tested on; the portal, whose process takes public
    #: traffic and runs no stream processor, names libuv's (decision 159). `gongkai run`
    #: (every service in one process) keeps asyncio's.
    loop: Literal["asyncio", "uvloop"] = "asyncio"


def sources_of(projection: Projection, own: str) -> tuple[str, ...]:
    return tuple(getattr(projection, "sources", (own,)))


class Definitions(Mapping[str, "ServiceDefinition"]):
    """Every service under `package` by name, each imported when first asked for.

    The names come from the packages that hold a `service.py`, without importing them: a
    process that runs one service (`gongkai serve catalog`) imports that service only,
    which halves its start-up (the services' modules are two thirds of importing them
    all). Iterating gives names; looking one up imports it. Projections read other
    services' events as payloads, never through those services' modules, so nothing a
    process runs depends on a service it does not import."""

    def __init__(self, package: str = "services") -> None:
        root = importlib.import_module(package)
        self._package = package
        self._names = tuple(
            sorted(
                info.name
                for info in pkgutil.iter_modules(root.__path__)
                if info.ispkg
                and any(
                    (Path(where) / info.name / "service.py").is_file() for where in root.__path__
                )
            )
        )
        self._loaded: dict[str, ServiceDefinition] = {}

    def __getitem__(self, name: str) -> ServiceDefinition:
        if name not in self._names:
            raise KeyError(name)
        if name not in self._loaded:
            module = importlib.import_module(f"{self._package}.{name}.service")
            definition = module.SERVICE
            if not isinstance(definition, ServiceDefinition) or definition.name != name:
                raise TypeError(f"{self._package}.{name}.service.SERVICE must be its definition")
            self._loaded[name] = definition
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def discover(package: str = "services") -> dict[str, ServiceDefinition]:
    """Every service under `package`, by name, sorted, all imported."""
    return dict(Definitions(package).items())


def start_order(definitions: Mapping[str, ServiceDefinition]) -> list[str]:
    """Service names in an order that starts every service after those it calls, by name
    otherwise (a launcher hands each the URLs of those already running)."""
    ordered: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in ordered:
            return
        if name in path:
            raise ValueError(f"services call each other in a cycle: {' -> '.join(path)}")
        for callee in sorted(definitions[name].calls):
            if callee in definitions:
                visit(callee, (*path, name))
        ordered.append(name)

    for name in sorted(definitions):
        visit(name, ())
    return ordered
