"""Application layer of 政策解读: the command tables the kernel runs (shared/commands.py),
and the steps that are not one command on one stream: registering a policy by hand (two
new streams), drafting (a new interpretation stream, owed to an obligation), publishing
(the interpretation and the obligation it fulfils, in one append) and the scheduler's steps.

Authorization follows 谁起草、谁解读 (DOMAIN.md §3): acting on an obligation needs the
caller's org subtree to hold the owning unit (the drafting unit, the lead unit of a joint
document, or the unit it was delegated to); an obligation outside it is not found (404).
An interpretation is seen from its drafting unit's subtree and acted on only by the
obligation's current owner: a delegation after drafting moves that right (issue #5 audit).
A refusal writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from services.interpretation import commands as c
from services.interpretation import domain
from services.interpretation.domain import (
    DeadlineRules,
    InterpretationState,
    MisreadingReport,
    ObligationState,
    PolicyFacts,
)
from services.interpretation.events import PolicyRegistered, PolicySource, registry
from services.interpretation.quality import QualityRules
from shared.commands import (
    Aggregate,
    Command,
    CommandTable,
    Context,
    Decision,
    Deps,
    acting_role,
    actor_of,
    decide,
    load,
)
from shared.envelope import Actor, RecordedEvent, StreamWrite, new_id
from shared.errors import ConcurrencyConflict, DomainRuleViolated, Forbidden, NotFound
from shared.eventstore import EventStore
from shared.identity import (
    Principal,
    Role,
    authorize,
    require_not_same_person,
    require_write,
)
from shared.registry import DomainEvent, to_new_event
from shared.tenancy import OrgTree, is_within
from shared.workdays import WorkdayCalendar, local_date

__all__ = [
    "INTERPRETATIONS",
    "INTERPRETATION_COMMANDS",
    "OBLIGATIONS",
    "OBLIGATION_COMMANDS",
    "InterpretationHandlers",
    "obligation_stream",
]

DRAFTING_ROLES = (Role.DRAFTER, Role.SECTION_HEAD)
REVIEW_ROLES = (Role.SECTION_HEAD, Role.LEADER_IN_CHARGE, Role.PRINCIPAL_LEADER)
PUBLISH_ROLES = (*REVIEW_ROLES, Role.OPENNESS_OFFICE_HEAD)
DELEGATE_ROLES = PUBLISH_ROLES
REGISTER_ROLES = (Role.DRAFTER, Role.SECTION_HEAD, Role.OPENNESS_OFFICE_HEAD)
FOLLOW_UP_ROLES = (Role.SERVICE, Role.OPINION_OFFICER, Role.OPENNESS_OFFICE_HEAD)
SCHEDULER = Actor(id="interpretation-scheduler", kind="service", role="service")


def obligation_stream(document_id: UUID) -> str:
    return OBLIGATIONS.stream(document_id)


def policy_stream(document_id: UUID) -> str:
    return f"policy-{document_id}"


def not_interpretable(document_id: UUID | str) -> NotFound:
    return NotFound(
        rule="policy.not_published",
        field="document_id",
        message_zh=(
            f"文件 {document_id} 未公开，或不属于需解读的文件"
            "（规范性文件、政策性文件、实施方案及拟稿人标记需解读的文件）"
        ),
        message_en=f"document {document_id} is not a published policy that needs interpretation",
    )


@dataclass(frozen=True)
class Obligations(Aggregate[ObligationState]):
    """The obligation of one policy, under its document id: an absent one is a policy that
    is not published, or needs no interpretation."""

    def not_found(self, instance: UUID | str) -> NotFound:
        return not_interpretable(instance)


OBLIGATIONS = Obligations(
    kind="obligation",
    id_field="document_id",
    label_zh="解读任务",
    label_en="interpretation obligation",
    registry=registry,
    initial=ObligationState,
    evolve=domain.evolve_obligation,
    # Appended under the unit that owns it now (the drafting unit until a delegation).
    tenant=lambda state, events: state.owner_unit,
)

INTERPRETATIONS: Aggregate[InterpretationState] = Aggregate(
    kind="interpretation",
    id_field="interpretation_id",
    label_zh="解读",
    label_en="interpretation",
    registry=registry,
    initial=InterpretationState,
    evolve=domain.evolve_interpretation,
    tenant=lambda state, events: state.unit,
)


def require_owner(principal: Principal, owner_unit: str, *roles: Role) -> None:
    """谁起草、谁解读: only the owning unit (or those above it) acts on the obligation."""
    require_write(principal)
    if not is_within(owner_unit, principal.org):
        raise Forbidden(
            rule="obligation.not_owner",
            field="org",
            message_zh=(
                f"谁起草、谁解读：该政策由 {owner_unit} 负责解读，{principal.org} 无权办理；"
                "如需由其他单位解读，应由负责单位明确委托"
            ),
            message_en=(
                f"whoever drafts interprets: {owner_unit} owns this interpretation, not "
                f"{principal.org}; another unit acts only after an explicit delegation"
            ),
            details={"owner_unit": owner_unit, "principal_org": str(principal.org)},
        )
    authorize(principal, owner_unit, *roles)


def accepted(events: Sequence[RecordedEvent], quality: dict[str, Any] | None) -> dict[str, Any]:
    """What every command answers: the events written, the versions and the facts decided."""
    body: dict[str, Any] = {
        "events": [e.type for e in events],
        "event_ids": [str(e.event_id) for e in events],
    }
    for e in events:
        p = e.payload
        if e.stream_type == "interpretation":
            body |= {"interpretation_id": p["interpretation_id"], "version": e.version}
        if e.stream_type == "obligation":
            body |= {"document_id": p["document_id"], "obligation_version": e.version}
        if e.type == "InterpretationRequired":
            body |= {k: p[k] for k in ("owner_unit", "due", "latest_due", "due_provisional")}
        elif e.type in ("FollowUpRequested", "FollowUpCasesAdded"):
            body |= {k: p[k] for k in ("follow_up_id", "stage", "case_ids", "due")}
        elif e.type == "InterpretationPublished":
            body |= {k: p[k] for k in ("published_at", "forms", "channels", "stage", "quality")}
        elif e.type == "ObligationFulfilled":
            body |= {k: p[k] for k in ("synchronous", "on_time")}
    if quality is not None:
        body["quality"] = quality
    return body


def _answer(events: Sequence[RecordedEvent], instance: UUID) -> dict[str, Any]:
    return accepted(events, None)


def _revised(events: Sequence[RecordedEvent], instance: UUID, x: Context) -> dict[str, Any]:
    """Revising answers the whole quality report (the event keeps only its summary)."""
    return accepted(events, x.given["report"].as_dict())


# ------------------------------------------------------------------ what commands read


class Runtime(Deps, Protocol):
    """The service runtime as the commands use it (shared.service.Runtime satisfies it)."""

    @property
    def handlers(self) -> InterpretationHandlers: ...


async def _unit_exists(
    rt: Runtime, state: ObligationState, cmd: c.Delegate, principal: Principal, tenant: str
) -> Mapping[str, Any]:
    rt.handlers.orgs.get(cmd.to_unit)  # an unknown unit is refused (404)
    return {}


async def _deadline_rules(
    rt: Runtime, state: ObligationState, cmd: BaseModel, principal: Principal, tenant: str
) -> Mapping[str, Any]:
    return {"deadlines": rt.handlers.deadlines}


async def _current_owner(
    rt: Runtime, state: InterpretationState, principal: Principal, roles: tuple[Role, ...]
) -> ObligationState:
    """The obligation the interpretation answers; its current owner is who may act."""
    assert state.document_id is not None
    obligation = await rt.handlers.obligation(state.document_id)
    require_owner(principal, obligation.owner_unit, *roles)
    return obligation


async def _for_revision(
    rt: Runtime, state: InterpretationState, cmd: c.ReviseInterpretation, p: Principal, t: str
) -> Mapping[str, Any]:
    obligation = await _current_owner(rt, state, p, DRAFTING_ROLES)
    assert state.document_id is not None
    h = rt.handlers
    report = domain.check_quality(cmd.content, await h.policy_text(state.document_id), h.quality)
    return {"obligation": obligation, "report": report, "rules": h.quality}


async def _for_review(
    rt: Runtime, state: InterpretationState, cmd: c.Review, p: Principal, t: str
) -> Mapping[str, Any]:
    return {"obligation": await _current_owner(rt, state, p, REVIEW_ROLES)}


async def _for_publication(
    rt: Runtime, state: InterpretationState, cmd: Publish, p: Principal, t: str
) -> Mapping[str, Any]:
    obligation = await _current_owner(rt, state, p, PUBLISH_ROLES)
    assert state.document_id is not None and state.content is not None
    h = rt.handlers
    await h.refuse_withdrawn(state.document_id)
    report = domain.check_quality(state.content, await h.policy_text(state.document_id), h.quality)
    return {"obligation": obligation, "report": report, "rules": h.quality}


# ------------------------------------------------------------------ guards and decisions


def _not_an_author(state: InterpretationState, cmd: c.Review, x: Context) -> None:
    for author in sorted(state.authors):
        require_not_same_person(x.principal, author, "drafting")


def _revise(state: InterpretationState, cmd: c.ReviseInterpretation, x: Context) -> Decision:
    quality = domain.summary(x.given["report"], x.given["rules"])
    return domain.revise(state, x.given["obligation"], x.principal.sub, cmd.content, quality)


def _publish(state: InterpretationState, cmd: Publish, x: Context) -> Decision:
    obligation: ObligationState = x.given["obligation"]
    published, follow_on = domain.publish(
        state,
        obligation,
        x.given["report"],
        x.given["rules"],
        obligation.township,
        x.principal.sub,
        x.now,
        x.today,
    )
    return [published] if follow_on is None else [published, follow_on]


class Publish(BaseModel):
    """Publishing takes no input: the approved revision is what goes public."""

    model_config = ConfigDict(extra="forbid")


OBLIGATION_COMMANDS: CommandTable[ObligationState] = CommandTable(
    aggregate=OBLIGATIONS,
    prefix="/v1/interpretation/obligations",
    tag="interpretation 政策解读",
    answer=_answer,
    commands=(
        Command(
            "delegate",
            c.Delegate,
            "委托解读",
            "Delegate the interpretation to another unit, with a reason (recorded)",
            DELEGATE_ROLES,
            lambda s, cmd, x: domain.delegate(s, cmd.to_unit, cmd.reason, x.principal.sub),
            prepare=_unit_exists,
            basis="谁起草、谁解读（政务公开工作要点；DOMAIN.md §3）",
        ),
        Command(
            "follow-ups",
            c.RequestFollowUp,
            "请求分阶段跟踪解读",
            "Request a follow-up stage for misreadings (sentiment)",
            FOLLOW_UP_ROLES,
            lambda s, cmd, x: domain.request_follow_up(
                s,
                x.new_id,
                cmd.case_ids,
                cmd.reason,
                x.principal.sub,
                x.today,
                x.calendar,
                x.given["deadlines"],
            ),
            prepare=_deadline_rules,
            basis="方案§五(一) 分阶段持续跟踪解读、对误解误读及时解读回应",
            # Asked for at the township (its opinion office), not inside a unit.
            scope=lambda state, tenant: state.township,
            status=201,
        ),
    ),
)

INTERPRETATION_COMMANDS: CommandTable[InterpretationState] = CommandTable(
    aggregate=INTERPRETATIONS,
    prefix="/v1/interpretation/interpretations",
    tag="interpretation 政策解读",
    answer=_answer,
    commands=(
        Command(
            "revise",
            c.ReviseInterpretation,
            "修改解读",
            "Revise (the quality gate is measured and shown)",
            DRAFTING_ROLES,
            _revise,
            prepare=_for_revision,
            basis="方案§五(一)",
            answer=_revised,
        ),
        Command(
            "review",
            c.Review,
            "审核解读",
            "Approve or reject (not by an author of the draft)",
            REVIEW_ROLES,
            lambda s, cmd, x: domain.review(
                s, x.given["obligation"], x.principal.sub, cmd.approve, cmd.comment
            ),
            guard=_not_an_author,
            prepare=_for_review,
            basis="三同步：解读与政策同步审签（DOMAIN.md §3）",
        ),
        Command(
            "publish",
            Publish,
            "发布解读",
            "Publish past the quality gate; fulfils the obligation or its follow-up stage",
            PUBLISH_ROLES,
            _publish,
            prepare=_for_publication,
            basis="先审后发；方案§五(一)(二)",
        ),
    ),
)


# ------------------------------------------------------------------ the row routed by hand


async def publish(
    rt: Runtime,
    interpretation_id: UUID,
    principal: Principal,
    correlation_id: UUID,
    expected: int | None,
) -> list[RecordedEvent]:
    """Publish, and fulfil the obligation (or its follow-up stage) in the same append: the
    kernel decides the row, its first event goes to the interpretation's stream and the
    rest to the obligation's, at the version `prepare` read it."""
    d = await decide(
        rt, INTERPRETATION_COMMANDS, "publish", interpretation_id, Publish(), principal, expected
    )
    published, *follow_on = d.events
    writes = [replace(d, events=[published]).write(correlation_id, INTERPRETATIONS.kind)]
    obligation: ObligationState = d.context.given["obligation"]
    if follow_on:
        assert obligation.document_id is not None
        stream = obligation_stream(obligation.document_id)
        on = _write(stream, obligation.version, obligation.owner_unit, d.actor, correlation_id)
        writes += [on(event) for event in follow_on]
    return await rt.store.append(writes)


# ------------------------------------------------------------------ steps beside the tables


@dataclass
class InterpretationHandlers:
    store: EventStore
    orgs: OrgTree
    calendar: Callable[[], WorkdayCalendar]
    clock: Callable[[], datetime]
    views: Any
    deadlines: DeadlineRules
    quality: QualityRules

    async def obligation(self, document_id: UUID) -> ObligationState:
        """The obligation, whoever asks (the scheduler; an interpretation's owner check)."""
        events = await self.store.read_stream(obligation_stream(document_id))
        if not events:
            raise not_interpretable(document_id)
        return OBLIGATIONS.fold(events)

    async def policy_text(self, document_id: UUID) -> str:
        row = await self.views.fetchrow(
            "SELECT policy_text FROM itp_policies WHERE document_id = $1", str(document_id)
        )
        if row is not None:
            return str(row["policy_text"])
        for e in await self.store.read_stream(policy_stream(document_id)):
            decoded = registry.decode(e)
            if isinstance(decoded, PolicyRegistered):
                return decoded.text
        raise DomainRuleViolated(
            rule="policy.text_pending",
            field="document_id",
            message_zh="政策原文尚未同步，请稍后重试",
            message_en="the policy text has not arrived yet; retry shortly",
        )

    async def refuse_withdrawn(self, document_id: UUID) -> None:
        """A policy withdrawn in the catalog is not interpreted, even before the scheduler
        has cancelled its obligation (the inbox knows first)."""
        row = await self.views.fetchrow(
            "SELECT withdrawn FROM itp_policies WHERE document_id = $1", str(document_id)
        )
        if row is not None and row["withdrawn"]:
            raise DomainRuleViolated(
                rule="policy.withdrawn",
                field="document_id",
                message_zh="该政策文件已撤销，不再起草或发布其解读",
                message_en="the policy was withdrawn; it is no longer interpreted",
            )

    async def check(self, cmd: c.QualityCheck, principal: Principal) -> dict[str, Any]:
        """The quality gate measured for a text, without writing (质量自查)."""
        await load(self, OBLIGATIONS, cmd.document_id, principal)
        text = await self.policy_text(cmd.document_id)
        return domain.check_quality(cmd.content, text, self.quality).as_dict()

    async def draft(
        self, cmd: c.DraftInterpretation, principal: Principal, correlation_id: UUID
    ) -> tuple[list[RecordedEvent], dict[str, Any]]:
        """Revision 1 of a new interpretation, by a drafter of the obligation's owner."""
        obligation, owner, _ = await load(self, OBLIGATIONS, cmd.document_id, principal)
        require_owner(principal, owner, *DRAFTING_ROLES)
        await self.refuse_withdrawn(cmd.document_id)
        text = await self.policy_text(cmd.document_id)
        report = domain.check_quality(cmd.content, text, self.quality)
        quality = domain.summary(report, self.quality)
        interpretation_id = new_id()
        event = domain.draft(
            obligation,
            interpretation_id,
            owner,
            principal.sub,
            cmd.content,
            quality,
            cmd.follow_up_id,
        )
        actor = actor_of(principal, acting_role(principal, DRAFTING_ROLES))
        write = _write(INTERPRETATIONS.stream(interpretation_id), 0, owner, actor, correlation_id)
        return await self.store.append([write(event)]), report.as_dict()

    async def register_policy(
        self, cmd: c.RegisterPolicy, principal: Principal, correlation_id: UUID
    ) -> list[RecordedEvent]:
        """The manual path: a policy published outside the system, and the obligation it
        opens, in one append (both streams new: a second registration is refused)."""
        authorize(principal, cmd.lead_unit, *REGISTER_ROLES)
        facts = self._registered_facts(cmd)
        required = domain.open_obligation(facts, self.calendar(), self.deadlines)
        if required is None:
            raise DomainRuleViolated(
                rule="policy.needs_no_interpretation",
                field="kind",
                message_zh="该类文件无需解读；如确需解读，请标记 needs_interpretation",
                message_en="this kind of document needs no interpretation unless flagged",
            )
        registered = PolicyRegistered(
            document_id=facts.document_id,
            township=facts.township,
            lead_unit=cmd.lead_unit,
            joint_units=cmd.joint_units,
            title=cmd.title,
            document_number=cmd.document_number,
            kind=cmd.kind,
            flagged=cmd.needs_interpretation,
            text=cmd.text,
            published_on=cmd.published_on,
            registered_by=principal.sub,
        )
        actor = actor_of(principal, acting_role(principal, REGISTER_ROLES))
        unit, document_id = cmd.lead_unit, facts.document_id
        policy = _write(policy_stream(document_id), 0, unit, actor, correlation_id)
        obligation = _write(obligation_stream(document_id), 0, unit, actor, correlation_id)
        try:
            return await self.store.append([policy(registered), obligation(required)])
        except ConcurrencyConflict:
            raise DomainRuleViolated(
                rule="policy.already_registered",
                field="document_id",
                message_zh="该政策已登记解读任务",
                message_en="this policy already has an interpretation obligation",
            ) from None

    def _registered_facts(self, cmd: c.RegisterPolicy) -> PolicyFacts:
        for unit in (cmd.lead_unit, *cmd.joint_units):
            self.orgs.get(unit)  # every unit named must exist
        township = self.orgs.township_of(cmd.lead_unit)
        if cmd.published_on > local_date(self.clock()):
            raise DomainRuleViolated(
                rule="policy.published_in_future",
                field="published_on",
                message_zh="公开日期不能晚于今天",
                message_en="the publication date cannot be after today",
            )
        return PolicyFacts(
            document_id=cmd.document_id or new_id(),
            township=str(township.path) if township else cmd.lead_unit,
            lead_unit=cmd.lead_unit,
            joint_units=tuple(cmd.joint_units),
            title=cmd.title,
            document_number=cmd.document_number,
            kind=cmd.kind,
            flagged=cmd.needs_interpretation,
            published_on=cmd.published_on,
            source=PolicySource.manual,
        )

    async def open_from_policy(self, policy: PolicyFacts) -> RecordedEvent | None:
        """The scheduler's step for a catalog publication: open the obligation once."""
        event = domain.open_obligation(policy, self.calendar(), self.deadlines)
        if event is None:
            return None
        write = _write(obligation_stream(policy.document_id), 0, policy.lead_unit, SCHEDULER)
        try:
            (recorded,) = await self.store.append([write(event)])
        except ConcurrencyConflict:
            return None  # already open
        return recorded

    async def follow_up_from_cases(
        self, document_id: UUID, reports: Sequence[MisreadingReport]
    ) -> RecordedEvent | None:
        """The scheduler's step for misreading cases (the sentiment service's events): the
        same follow-up as POST /obligations/{id}/follow-ups, decided on the obligation's own
        stream and appended with its version, so a redelivered report or a second scheduler
        never opens a stage twice."""
        if not reports:
            return None
        state = await self.obligation(document_id)
        event = domain.follow_up_for_cases(
            state,
            new_id(),
            [r.case_id for r in reports],
            domain.misreading_reason(reports),
            reports[0].reported_by,
            local_date(self.clock()),
            self.calendar(),
            self.deadlines,
        )
        if event is None:
            return None
        stream = obligation_stream(document_id)
        write = _write(
            stream, state.version, state.owner_unit, SCHEDULER, reports[0].correlation_id
        )
        try:
            (recorded,) = await self.store.append([write(event)])
        except ConcurrencyConflict:
            return None  # the obligation changed meanwhile: decide again next tick
        return recorded


def _write(
    stream: str, expected: int, tenant: str, actor: Actor, correlation_id: UUID | None = None
) -> Callable[[DomainEvent], StreamWrite]:
    """One event appended to `stream` at `expected`, for the writes the kernel does not
    make (new streams, two streams at once, the scheduler's)."""

    def write(event: DomainEvent) -> StreamWrite:
        return StreamWrite(
            stream_id=stream,
            stream_type=event.stream_type,
            expected_version=expected,
            events=(to_new_event(event, tenant, actor, correlation_id),),
        )

    return write
