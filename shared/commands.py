"""The command spine: a service's commands as one table, run by one kernel function.

A service declares, per aggregate, what a reader needs to know about each command and
nothing else: its input model, the roles that may give it, its pure decision, an optional
guard (separation of duties) and an optional `prepare` that reads what the decision needs
from outside the stream (a published document, a column list). `execute` is the one place
that loads the stream, folds it, hides what lies outside the caller's subtree (404, never
403: decision 5), checks the role and If-Match, runs the guard and the decision, and appends
with the expected version under the actor's name. Nothing is written when any step refuses.

The same table feeds the HTTP routes (shared/routes.py) and the machine-readable command
catalogue a client renders its forms from (`catalogue`).
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

from pydantic import BaseModel

from shared.envelope import Actor, RecordedEvent, StreamWrite, new_id
from shared.errors import NotFound
from shared.eventstore import EventStore, version_conflict
from shared.identity import (
    Principal,
    Role,
    require_org,
    require_role,
    require_write,
    within_scope,
)
from shared.registry import DomainEvent, EventRegistry, to_new_event
from shared.tenancy import OrgTree
from shared.workdays import WorkdayCalendar, local_date

S = TypeVar("S")
C = TypeVar("C", bound=BaseModel)


class Deps(Protocol):
    """What running a command needs from its service's runtime."""

    @property
    def store(self) -> EventStore: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...

    @property
    def calendar(self) -> Callable[[], WorkdayCalendar]: ...

    @property
    def orgs(self) -> OrgTree: ...


@dataclass(frozen=True)
class Context:
    """What a decision may know besides the state and the command: all of it fixed before
    the decision runs, so deciding stays a pure function."""

    principal: Principal
    now: datetime
    today: date
    calendar: WorkdayCalendar
    #: A fresh id for whatever the command creates (a consultation, a case).
    new_id: UUID
    #: What the path names besides the instance, e.g. {"consultation_id": UUID(…)}.
    path: Mapping[str, Any] = field(default_factory=dict)
    #: What `prepare` read for the decision.
    given: Mapping[str, Any] = field(default_factory=dict)


Decision = DomainEvent | Sequence[DomainEvent]


@dataclass(frozen=True)
class Aggregate(Generic[S]):
    """A stream type: how its state is folded and who may see it."""

    #: The stream type, also the stream name's prefix: `f"{kind}-{id}"`.
    kind: str
    #: The path parameter naming an instance, e.g. "request_id".
    id_field: str
    #: Its name in Chinese, for messages: "申请".
    label_zh: str
    label_en: str
    registry: EventRegistry
    initial: Callable[[], S]
    evolve: Callable[[S, DomainEvent], S]
    #: The org path that governs the instance: the township (or unit) whose staff may act.
    tenant: Callable[[S, Sequence[RecordedEvent]], str]
    #: Whether the caller may see the instance, given the org tree; default: the tenant is
    #: in their subtree.
    visible: Callable[[Principal, S, str, OrgTree], bool] | None = None
    #: Reads a stored event as the domain event `evolve` takes (default: registry.decode);
    #: where an old event lacks what the envelope knows, this fills it in.
    decode: Callable[[RecordedEvent], DomainEvent] | None = None
    #: The noun of its rule codes where clients know a shorter one than `kind`:
    #: `case.not_found` for the stream kind `opinion-case`.
    noun: str = ""

    def stream(self, instance: UUID | str) -> str:
        return f"{self.kind}-{instance}"

    def not_found(self, instance: UUID | str) -> NotFound:
        return NotFound(
            rule=f"{self.noun or self.kind}.not_found",
            field=self.id_field,
            message_zh=f"未找到{self.label_zh} {instance}",
            message_en=f"{self.label_en} {instance} not found",
        )

    def fold(self, events: Sequence[RecordedEvent]) -> S:
        decode = self.decode or self.registry.decode
        state = self.initial()
        for event in events:
            state = self.evolve(state, decode(event))
        return state


Roles = tuple[Role, ...] | Callable[[Any, Any], tuple[Role, ...]]


@dataclass(frozen=True)
class Command(Generic[S, C]):
    """One row of a service's command table."""

    #: Machine name and last path segment: `POST /v1/requests/{request_id}/<name>`.
    name: str
    model: type[C]
    #: What a person calls it, and what the law or plan says it is.
    label_zh: str
    summary_en: str
    #: Who may give it: a tuple, or a function of (state, command) for steps whose role
    #: depends on the state (the review stage a document is at).
    roles: Roles
    decide: Callable[[S, C, Context], Decision]
    #: Refusals that are not the decision's: one person, one duty per item.
    guard: Callable[[S, C, Context], None] | None = None
    #: Reads outside the stream that the decision needs: (deps, state, command, principal,
    #: tenant) -> values put into `Context.given`.
    prepare: Callable[[Any, S, C, Principal, str], Awaitable[Mapping[str, Any]]] | None = None
    #: Path under the aggregate, default f"/{{id}}/{name}"; may name more in braces: ids of
    #: sub-entities (UUIDs) or values typed in `path_types` (an enum, e.g. a channel).
    path: str | None = None
    path_types: Mapping[str, type] = field(default_factory=dict)
    #: The legal basis, shown beside the label: "条例第三十条".
    basis: str = ""
    #: The org the caller must be within, where it is narrower or other than the
    #: instance's tenant: (state, tenant) -> org path (a unit's own step on a case).
    scope: Callable[[S, str], str] | None = None
    #: The HTTP status of success (201 where the command creates a sub-entity).
    status: int = 200
    #: This command's answer, where it differs from its table's: (events, instance,
    #: context) -> JSON object.
    answer: Callable[[Sequence[RecordedEvent], UUID, Context], dict[str, Any]] | None = None

    def roles_for(self, state: S, cmd: C) -> tuple[Role, ...]:
        return self.roles(state, cmd) if callable(self.roles) else self.roles

    def route(self, id_field: str) -> str:
        return self.path or f"/{{{id_field}}}/{self.name}"

    def sub_ids(self, id_field: str) -> tuple[str, ...]:
        parts = self.route(id_field).split("/")
        return tuple(p[1:-1] for p in parts if p.startswith("{") and p[1:-1] != id_field)


@dataclass(frozen=True)
class CommandTable(Generic[S]):
    """A service's commands on one aggregate, and where their routes live."""

    aggregate: Aggregate[S]
    prefix: str
    tag: str
    commands: Sequence[Command[S, Any]]
    #: The body a command answers with: (recorded events, instance id) -> JSON object.
    answer: Callable[[Sequence[RecordedEvent], UUID], dict[str, Any]] | None = None
    #: Whether answers name the instance (`Location: <prefix>/<id>`, `ETag`): false where
    #: the table's instances have no page of their own.
    locate: bool = True

    def __getitem__(self, name: str) -> Command[S, Any]:
        for command in self.commands:
            if command.name == name:
                return command
        raise KeyError(name)

    def respond(self, decided: Decided[S], events: Sequence[RecordedEvent]) -> dict[str, Any]:
        command = self[decided.command]
        if command.answer is not None:
            return command.answer(events, decided.instance, decided.context)
        if self.answer is not None:
            return self.answer(events, decided.instance)
        return default_answer(self.aggregate.id_field, events, decided.instance)


def default_answer(
    id_field: str, events: Sequence[RecordedEvent], instance: UUID
) -> dict[str, Any]:
    """The new version of the instance, and the (last) event the command wrote."""
    last = events[-1]
    payload = {k: v for k, v in last.payload.items() if k != id_field}
    return {
        id_field: str(instance),
        "version": last.version,
        "event_id": str(last.event_id),
        "type": last.type,
        **payload,
    }


def acting_role(principal: Principal, allowed: Sequence[Role]) -> Role:
    """The role the principal acts in: the first allowed one they hold."""
    for role in allowed:
        if role in principal.roles:
            return role
    return allowed[0] if allowed else sorted(principal.roles)[0]


def actor_of(principal: Principal, role: Role) -> Actor:
    return Actor(id=principal.sub, kind=principal.kind, role=role.value)


async def load(
    deps: Deps, aggregate: Aggregate[S], instance: UUID, principal: Principal
) -> tuple[S, str, int]:
    """The folded state, its tenant and version; absent and out of scope look the same."""
    events = await deps.store.read_stream(aggregate.stream(instance))
    if not events:
        raise aggregate.not_found(instance)
    state = aggregate.fold(events)
    tenant = aggregate.tenant(state, events)
    visible = aggregate.visible or _in_subtree
    if not visible(principal, state, tenant, deps.orgs):
        raise aggregate.not_found(instance)  # no existence leak (decision 5)
    return state, tenant, events[-1].version


def _in_subtree(principal: Principal, state: Any, tenant: str, orgs: OrgTree) -> bool:
    return within_scope(principal, tenant)


@dataclass(frozen=True)
class Decided(Generic[S]):
    """A command judged and decided, not yet written: what `append` writes."""

    command: str
    instance: UUID
    stream: str
    state: S
    tenant: str
    version: int
    context: Context
    actor: Actor
    events: Sequence[DomainEvent]

    def write(self, correlation_id: UUID, kind: str) -> StreamWrite:
        """The write that appends the decision with the version it was decided on."""
        return StreamWrite(
            stream_id=self.stream,
            stream_type=kind,
            expected_version=self.version,
            events=tuple(
                to_new_event(e, self.tenant, self.actor, correlation_id) for e in self.events
            ),
        )


async def decide(
    deps: Deps,
    table: CommandTable[S],
    name: str,
    instance: UUID,
    cmd: BaseModel,
    principal: Principal,
    expected_version: int | None = None,
    path: Mapping[str, Any] | None = None,
) -> Decided[S]:
    """Load, authorize and decide one command, writing nothing; every refusal is raised
    here, in this order: absent or outside the subtree (404), read-only (403), the
    command's own scope (403), role (403), If-Match (412), prepare, guard, the decision."""
    command = table[name]
    aggregate = table.aggregate
    state, tenant, version = await load(deps, aggregate, instance, principal)
    require_write(principal)
    if command.scope is not None:
        require_org(principal, command.scope(state, tenant))
    roles = command.roles_for(state, cmd)
    require_role(principal, *roles)
    stream = aggregate.stream(instance)
    if expected_version is not None and expected_version != version:
        # A precondition is judged before the command itself (RFC 9110 §13.2.2).
        raise version_conflict(stream, expected_version, version)
    given = (
        await command.prepare(deps, state, cmd, principal, tenant)
        if command.prepare is not None
        else {}
    )
    now = deps.clock()
    context = Context(
        principal=principal,
        now=now,
        today=local_date(now),
        calendar=deps.calendar(),
        new_id=new_id(),
        path=dict(path or {}),
        given=given,
    )
    if command.guard is not None:
        command.guard(state, cmd, context)
    decided = command.decide(state, cmd, context)
    events = [decided] if isinstance(decided, DomainEvent) else list(decided)
    actor = actor_of(principal, acting_role(principal, roles))
    return Decided(name, instance, stream, state, tenant, version, context, actor, events)


async def execute(
    deps: Deps,
    table: CommandTable[S],
    name: str,
    instance: UUID,
    cmd: BaseModel,
    principal: Principal,
    correlation_id: UUID,
    expected_version: int | None = None,
    path: Mapping[str, Any] | None = None,
) -> list[RecordedEvent]:
    """Load, authorize, decide and append one command; nothing is written on a refusal."""
    decided = await decide(deps, table, name, instance, cmd, principal, expected_version, path)
    return await deps.store.append([decided.write(correlation_id, table.aggregate.kind)])


# --- the catalogue clients render forms from ---------------------------------------------


def catalogue(tables: Sequence[CommandTable[Any]]) -> list[dict[str, Any]]:
    """Every command: its path, JSON Schema, roles and Chinese labels (enum values too)."""
    entries = []
    for table in tables:
        id_field = table.aggregate.id_field
        for command in table.commands:
            static_roles = None if callable(command.roles) else command.roles
            entries.append(
                {
                    "name": command.name,
                    "aggregate": table.aggregate.kind,
                    "aggregate_label_zh": table.aggregate.label_zh,
                    "method": "POST",
                    "path": table.prefix + command.route(id_field),
                    "label_zh": command.label_zh,
                    "status": command.status,
                    "summary_en": command.summary_en,
                    "basis": command.basis,
                    "roles": None
                    if static_roles is None
                    else [{"code": r.value, "label_zh": r.label_zh} for r in static_roles],
                    "roles_depend_on_state": static_roles is None,
                    "path_params": {
                        name: command.path_types.get(name, UUID).__name__
                        for name in command.sub_ids(id_field)
                    },
                    "schema": command.model.model_json_schema(),
                    "enum_labels_zh": enum_labels(command.model),
                }
            )
    return entries


def every_enum_label(tables: Sequence[CommandTable[Any]]) -> dict[str, dict[str, str]]:
    """The Chinese labels of every enum the tables' commands and their services' events use,
    by enum name: what a client needs to show any value it reads, not only form options."""
    found: dict[str, dict[str, str]] = {}
    for table in tables:
        models: list[type[BaseModel]] = [c.model for c in table.commands]
        models += list(table.aggregate.registry.models())
        for model in models:
            # Merged by value: the embedded suite serves one catalogue for every service, and
            # two services may name different enums alike (applications' and interpretation's
            # `Channel`); replacing one by the other would leave a client with codes.
            for name, labels in enum_labels(model).items():
                found.setdefault(name, {}).update(labels)
    return dict(sorted(found.items()))


def enum_labels(model: type[BaseModel]) -> dict[str, dict[str, str]]:
    """Chinese labels of every enum a model's fields use (directly or nested), by enum name.

    An enum carries its labels beside its values (shared.fields.LabelledEnum).
    """
    found: dict[str, dict[str, str]] = {}
    seen: set[type] = set()

    def visit(annotation: Any) -> None:
        if isinstance(annotation, type) and annotation in seen:
            return
        if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            seen.add(annotation)
            labels = {str(m.value): label_of(m) for m in annotation}
            found[annotation.__name__] = {k: v for k, v in labels.items() if v}
            return
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            seen.add(annotation)
            for info in annotation.model_fields.values():
                visit(info.annotation)
            return
        origin = typing.get_origin(annotation)
        if origin is not None or isinstance(annotation, types.UnionType):
            for arg in typing.get_args(annotation):
                visit(arg)

    visit(model)
    return {name: labels for name, labels in found.items() if labels}


def label_of(member: enum.Enum) -> str:
    """A member's Chinese label (shared.fields.LabelledEnum), or "" where its enum has none."""
    label = getattr(member, "label_zh", "")
    return label if isinstance(label, str) else ""
