"""Application layer of 舆情回应: the case ledger's command table, and intake.

A work-order step (台账的办理环节) is one row of `CASE_COMMANDS`: its input model, the roles
that may give it, the pure decision of domain.py it runs and, where the decision needs more
than the case's own events, a `prepare` that reads it. The kernel (shared/commands.py) loads
the case, hides it from callers outside its township and its assigned unit (404), checks
the role and If-Match, decides and appends as the caller.

Who sees a case: the township's staff (and the district's), and the staff of the unit it is
assigned to. The unit's own steps (签收, 退单, 延期申请, 办结) are theirs; the other steps are
the township's, so a unit's staff giving one is refused (403 `org.outside_subtree`).

Intake (classify, group, open a case) writes two streams at once and is not one command on
one case: `SentimentHandlers.receive` reads and appends, intake.py builds the events.
Message texts and citizens' details are never logged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import orjson

from services.sentiment import commands as c
from services.sentiment import domain, intake, learning
from services.sentiment.classifier import Classifier
from services.sentiment.deadlines import DeadlineRules
from services.sentiment.domain import CaseState
from services.sentiment.events import CitizenDataRead, registry
from services.sentiment.grouping import Candidate, best_match, signature
from services.sentiment.intake import Intake, Route, message_stream
from services.sentiment.learning import (
    ClassifierState,
    MessageState,
    ShadowFigures,
    evolve_classifier,
    evolve_message,
)
from services.sentiment.lexicon import TOPIC_TERMS
from services.sentiment.model_store import ModelBook
from services.sentiment.policies import case_texts, policy_facts, related
from services.sentiment.policy_match import PolicyRef, match_one
from shared.commands import Aggregate, Command, CommandTable, Context, acting_role, actor_of
from shared.db import Database
from shared.envelope import Actor, RecordedEvent, StreamWrite, new_id
from shared.errors import ConcurrencyConflict, NotFound, ValidationFailed
from shared.eventstore import EventStore
from shared.identity import Principal, Role, authorize, within_scope
from shared.registry import access_write, to_new_event
from shared.service import Runtime
from shared.tenancy import OrgTree
from shared.workdays import WorkdayCalendar

#: Roles in the order an actor is named by: the first of a step's roles the caller holds.
CASE_ROLES = (
    Role.OPINION_OFFICER,
    Role.SECTION_HEAD,
    Role.LEADER_IN_CHARGE,
    Role.PRINCIPAL_LEADER,
)
LEADING_ROLES = (Role.OPINION_OFFICER, Role.LEADER_IN_CHARGE, Role.PRINCIPAL_LEADER)
OFFICER_ONLY = (Role.OPINION_OFFICER,)
WORK_ORDER = "方案§17（12345工单办理）"
#: Fields of PolicyMisreadingReported that linking a policy answers with, beside the step's.
POLICY_LINK_ANSWER = (
    "document_id",
    "policy_title",
    "classified_misreading",
    "match_score",
    "match_reasons",
)


def _visible(principal: Principal, state: CaseState, tenant: str, orgs: OrgTree) -> bool:
    """The township's staff, and the staff of the unit the case is assigned to."""
    if within_scope(principal, tenant):
        return True
    return state.unit is not None and within_scope(principal, state.unit)


def _township(state: CaseState, tenant: str) -> str:
    """A step that is the township's, not the assigned unit's: its staff only."""
    return tenant


CASES: Aggregate[CaseState] = Aggregate(
    kind="opinion-case",
    id_field="case_id",
    label_zh="舆情案件",
    label_en="opinion case",
    registry=registry,
    initial=CaseState,
    evolve=domain.evolve,
    tenant=lambda state, events: events[0].tenant,
    visible=_visible,
    #: Its refusals keep the rule code `case.not_found` clients know.
    noun="case",
)


async def _assignee(
    deps: Runtime, state: CaseState, cmd: c.AssignCase, principal: Principal, tenant: str
) -> Mapping[str, Any]:
    """派单 goes to a unit inside the case's township, and to an officer the suite knows."""
    unit, officer = cmd.unit, cmd.officer
    if unit not in deps.orgs or not (unit == tenant or unit.startswith(tenant + "/")):
        raise ValidationFailed(
            rule="assign.unit_outside_township",
            field="unit",
            message_zh=f"承办单位 {unit} 不在本镇（{tenant}）",
            message_en=f"unit {unit} is not inside {tenant}",
        )
    try:
        deps.orgs.find_person(officer)
    except NotFound:
        raise ValidationFailed(
            rule="assign.officer_unknown",
            field="officer",
            message_zh=f"未知的工作人员 {officer}",
            message_en=f"unknown officer {officer}",
        ) from None
    return {}


async def _misread_policy(
    deps: Runtime, state: CaseState, cmd: c.LinkPolicy, principal: Principal, tenant: str
) -> Mapping[str, Any]:
    """The published policy as sentiment knows it, and how well the case's text matches it."""
    row = await policy_facts(deps.views, str(cmd.document_id))
    text, classified, _ = await case_texts(deps.views, str(state.case_id))
    if row is None:
        return {"policy": None, "classified": classified, "match": None}
    facts = domain.PolicyFacts(
        document_id=cmd.document_id,
        title=row["title"],
        document_number=row["document_number"],
        township=row["township"],
        withdrawn=bool(row["withdrawn"]),
        in_scope=related(row["township"], tenant),
    )
    ref = PolicyRef(row["document_id"], row["title"], row["document_number"], row["policy_text"])
    found = match_one(text, ref)
    return {"policy": facts, "classified": classified, "match": (found.score, found.reasons)}


def _answer(events: Sequence[RecordedEvent], case_id: UUID) -> dict[str, Any]:
    """What a step answers: the case's new version and the event."""
    last = events[-1]
    return {
        "case_id": str(case_id),
        "event_type": last.type,
        "version": last.version,
        "event_id": str(last.event_id),
    }


def _policy_linked(
    events: Sequence[RecordedEvent], case_id: UUID, context: Context
) -> dict[str, Any]:
    """Linking a policy answers with the step's fields and the policy's facts and match."""
    last = events[-1]
    return _answer(events, case_id) | {name: last.payload[name] for name in POLICY_LINK_ANSWER}


CASE_COMMANDS: CommandTable[CaseState] = CommandTable(
    aggregate=CASES,
    prefix="/v1/opinion-cases",
    tag="sentiment 舆情回应",
    answer=_answer,
    commands=(
        Command(
            "assign",
            c.AssignCase,
            "派单",
            "Dispatch to a unit",
            LEADING_ROLES,
            lambda s, cmd, x: domain.assign(s, cmd),
            prepare=_assignee,
            scope=_township,
            basis=WORK_ORDER,
        ),
        Command(
            "accept",
            c.AcceptCase,
            "签收",
            "The unit accepts",
            CASE_ROLES,
            lambda s, cmd, x: domain.accept(s),
            basis=WORK_ORDER,
        ),
        Command(
            "return",
            c.ReturnCase,
            "退单",
            "Return to the dispatcher",
            CASE_ROLES,
            lambda s, cmd, x: domain.return_case(s, cmd),
            basis=WORK_ORDER,
        ),
        Command(
            "request-extension",
            c.RequestExtension,
            "延期申请",
            "Request an extension",
            CASE_ROLES,
            lambda s, cmd, x: domain.request_extension(s, cmd),
            basis=WORK_ORDER,
        ),
        Command(
            "decide-extension",
            c.DecideExtension,
            "延期审批",
            "Decide an extension",
            LEADING_ROLES,
            lambda s, cmd, x: domain.decide_extension(s, cmd),
            scope=_township,
            basis=WORK_ORDER,
        ),
        Command(
            "remind",
            c.RemindCase,
            "催办/督办",
            "Remind or supervise",
            LEADING_ROLES,
            lambda s, cmd, x: domain.remind(s, cmd),
            scope=_township,
            basis=WORK_ORDER,
        ),
        Command(
            "respond",
            c.RespondCase,
            "办结",
            "Respond",
            CASE_ROLES,
            lambda s, cmd, x: domain.respond(s, cmd, x.now),
            basis="国办发〔2016〕61号",
        ),
        Command(
            "publish",
            c.PublishResult,
            "结果公开",
            "Publish the result",
            OFFICER_ONLY,
            lambda s, cmd, x: domain.publish_result(s, cmd, x.now),
            scope=_township,
            basis="方案§17（办理结果公开）",
        ),
        Command(
            "follow-up",
            c.FollowUpCase,
            "回访",
            "Follow up (satisfaction)",
            OFFICER_ONLY,
            lambda s, cmd, x: domain.follow_up(s, cmd),
            scope=_township,
            basis=WORK_ORDER,
        ),
        Command(
            "reopen",
            c.ReopenCase,
            "重办",
            "Reopen",
            LEADING_ROLES,
            lambda s, cmd, x: domain.reopen(s, cmd.reason, x.now),
            scope=_township,
            basis=WORK_ORDER,
        ),
        Command(
            "policy-link",
            c.LinkPolicy,
            "误读政策·请求跟踪解读",
            "Link a misread policy (asks for a follow-up interpretation)",
            LEADING_ROLES,
            lambda s, cmd, x: domain.report_misreading(
                s,
                x.given["policy"],
                cmd.document_id,
                cmd.misreading,
                x.principal.sub,
                x.given["classified"],
                x.given["match"],
            ),
            prepare=_misread_policy,
            scope=_township,
            answer=_policy_linked,
            basis="方案§17、§五(一)",
        ),
    ),
)


# --- corrections of a message's labels (纠正分类) ---------------------------------------


MESSAGES: Aggregate[MessageState] = Aggregate(
    kind="message",
    id_field="message_id",
    label_zh="留言",
    label_en="message",
    registry=registry,
    initial=MessageState,
    evolve=evolve_message,
    tenant=lambda state, events: events[0].tenant,
)


async def _categories(
    deps: Runtime, state: MessageState, cmd: c.CorrectClassification, p: Principal, tenant: str
) -> Mapping[str, Any]:
    handlers: SentimentHandlers = deps.handlers
    return {"categories": await handlers.known_categories()}


MESSAGE_COMMANDS: CommandTable[MessageState] = CommandTable(
    aggregate=MESSAGES,
    prefix="/v1/messages",
    tag="sentiment 舆情回应",
    commands=(
        Command(
            "correct-classification",
            c.CorrectClassification,
            "纠正分类",
            "Correct the category and/or sentiment (training data for the classifier)",
            LEADING_ROLES,
            lambda s, cmd, x: learning.correct(
                s, cmd.category, cmd.polarity, cmd.reason, x.given["categories"], x.principal.sub
            ),
            prepare=_categories,
            basis="issue #19（从人工纠正中学习）",
        ),
    ),
)


# --- the classifier's model register: shadow, promote, roll back --------------------------

#: Who runs the model register: the system administrator, or a district opinion officer
#: (the row's scope is the district: a township's officer is refused).
MODEL_ROLES = (Role.ADMINISTRATOR, Role.OPINION_OFFICER)

CLASSIFIER: Aggregate[ClassifierState] = Aggregate(
    kind="sentiment-classifier",
    id_field="classifier_id",
    label_zh="分类模型登记簿",
    label_en="classifier model register",
    registry=registry,
    initial=ClassifierState,
    evolve=evolve_classifier,
    tenant=lambda state, events: events[0].tenant,
    #: Every member of staff may see the register (GET /v1/sentiment-models lists it; it
    #: holds no personal data); acting on it is the district's (the rows' scope).
    visible=lambda principal, state, tenant, orgs: True,
    noun="classifier",
)


def _district(state: ClassifierState, tenant: str) -> str:
    return tenant


async def _live(
    deps: Runtime, state: ClassifierState, cmd: Any, p: Principal, tenant: str
) -> Mapping[str, Any]:
    """The live model's id as the API process sees it, and the shadow run's figures."""
    handlers: SentimentHandlers = deps.handlers
    book = handlers.models
    startup = handlers.classifier.topic_model.model_id
    live = state.live or startup
    figures = ShadowFigures(0, None)
    if state.shadow is not None:
        row = await deps.views.fetchrow(
            """SELECT COUNT(*) AS n, SUM(CASE WHEN agrees THEN 1 ELSE 0 END) AS agree
               FROM sent_model_shadow WHERE model_id = $1""",
            state.shadow,
        )
        n = int(row["n"] or 0) if row else 0
        agree = int(row["agree"] or 0) if row else 0
        figures = ShadowFigures(n, round(agree / n, 4) if n else None)
    return {"live": live, "startup": book.startup_model_id if book else startup, "shadow": figures}


MODEL_COMMANDS: CommandTable[ClassifierState] = CommandTable(
    aggregate=CLASSIFIER,
    prefix="/v1/sentiment-classifier",
    tag="sentiment 舆情回应",
    commands=(
        Command(
            "shadow",
            c.StartShadow,
            "影子运行",
            "Run a registered model in shadow for N messages",
            MODEL_ROLES,
            lambda s, cmd, x: learning.start_shadow(s, cmd.model_id, cmd.messages, x.given["live"]),
            prepare=_live,
            scope=_district,
            basis="issue #19",
        ),
        Command(
            "promote",
            c.PromoteModel,
            "推广模型",
            "Promote the model in shadow to live",
            MODEL_ROLES,
            lambda s, cmd, x: learning.promote(
                s, cmd.model_id, x.given["shadow"], x.given["live"], cmd.reason
            ),
            prepare=_live,
            scope=_district,
            basis="issue #19",
        ),
        Command(
            "rollback",
            c.RollBackModel,
            "回滚模型",
            "Stop the model in shadow, or return to the model live before",
            MODEL_ROLES,
            lambda s, cmd, x: learning.roll_back(s, cmd.model_id, x.given["startup"], cmd.reason),
            prepare=_live,
            scope=_district,
            basis="issue #19",
        ),
    ),
)


# --- intake: one message, classified, joined to an open case or opening one -------------

INTAKE_ROLES = (Role.OPINION_OFFICER, Role.SERVICE)
#: The roles an intake or a read is recorded under: the first of these the caller holds.
ACTOR_ROLES = (*INTAKE_ROLES, *CASE_ROLES)
GROUPING_LOOKBACK = timedelta(days=30)
INTAKE_ATTEMPTS = 3
SCHEDULER = Actor(id="sentiment-scheduler", kind="system", role=None)


def utc_text(instant: datetime) -> str:
    """Instants in read models are UTC ISO text, so that string order is time order."""
    return instant.astimezone(UTC).isoformat()


def actor(principal: Principal) -> Actor:
    return actor_of(principal, acting_role(principal, ACTOR_ROLES))


@dataclass
class SentimentHandlers:
    store: EventStore
    views: Database
    orgs: OrgTree
    calendar: Callable[[], WorkdayCalendar]
    clock: Callable[[], datetime]
    classifier: Classifier
    rules: DeadlineRules = field(default_factory=DeadlineRules)
    #: The live model and the model in shadow, from the register's events (None: always
    #: `classifier`, as before the learning loop).
    models: ModelBook | None = None
    #: One intake at a time per township between reading a case and appending to it: alike
    #: messages of a township join one case, so concurrent ones (a street's residents
    #: calling about the same lamp) would otherwise conflict on its version. Processes
    #: still conflict with each other; `receive` retries those.
    _routing: dict[str, asyncio.Lock] = field(default_factory=dict, init=False, repr=False)

    async def known_categories(self) -> set[str]:
        """What a correction may name: the lexicon's categories and the live model's."""
        live = await self.models.live() if self.models is not None else self.classifier
        return set(TOPIC_TERMS) | set(live.topic_model.classes)

    async def record_citizen_read(
        self, principal: Principal, message_ids: list[str], endpoint: str, correlation_id: UUID
    ) -> None:
        """Record that `principal` was shown these messages' citizen identity and contact."""
        event = CitizenDataRead(
            message_ids=[UUID(i) for i in message_ids], endpoint=endpoint, fields=["citizen"]
        )
        write = access_write(event, str(principal.org), actor(principal), correlation_id)
        await self.store.append([write])

    async def receive(
        self, cmd: c.ReceiveMessage, principal: Principal, correlation_id: UUID
    ) -> dict[str, Any]:
        """Record, classify and route one message; a re-sent item is reported, not doubled."""
        tenant = cmd.tenant or str(principal.org)
        self.orgs.get(tenant)
        authorize(principal, tenant, *INTAKE_ROLES)
        checked = intake.check(cmd, tenant)
        message_id = checked.message_id
        if await self.store.stream_version(message_stream(message_id)):
            return {"message_id": str(message_id), "duplicate": True}
        now = self.clock()
        live = await self.models.live() if self.models is not None else self.classifier
        shadow = await self.models.shadow() if self.models is not None else None
        message = intake.record(cmd, checked, live, now, shadow)
        routing = self._routing.setdefault(tenant, asyncio.Lock())
        for attempt in range(INTAKE_ATTEMPTS):
            try:
                async with routing:
                    route = await self._route(message, now)
                    await self.store.append(
                        self._writes(message, route, actor(principal), correlation_id)
                    )
                break
            except ConcurrencyConflict:
                if await self.store.stream_version(message_stream(message_id)):
                    return {"message_id": str(message_id), "duplicate": True}
                if attempt == INTAKE_ATTEMPTS - 1:
                    raise  # the grouped case kept changing under us; the caller may retry
        if message.shadow is not None:
            await self._record_shadow(message)
        return {
            "message_id": str(message_id),
            "duplicate": False,
            "case_id": str(route.case_id),
            "opened_case": route.similarity is None,
            "similarity": route.similarity,
            "response_due": route.response_due.isoformat() if route.response_due else None,
            "tracking_code": message.tracking_code,
            "classification": message.result.as_payload(),
        }

    async def _record_shadow(self, message: Intake) -> None:
        """The shadow model's answer beside the live one, in the read model (not an event:
        a measurement for the operator who decides on promotion)."""
        assert message.shadow is not None
        live = message.classified
        await self.views.execute(
            """INSERT INTO sent_model_shadow (model_id, message_id, live_model_id,
                   live_category, shadow_category, agrees, recorded_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (model_id, message_id) DO NOTHING""",
            message.shadow.model_id,
            str(live.message_id),
            live.model_id,
            live.category,
            message.shadow.category,
            message.shadow.category == live.category,
            utc_text(self.clock()),
        )

    def _writes(
        self, message: Intake, route: Route, by: Actor, correlation_id: UUID
    ) -> list[StreamWrite]:
        """The message's stream and its case's, appended at once."""
        received = message.received
        events = (received, message.classified, route.linked)
        return [
            StreamWrite(
                stream_id=message_stream(received.message_id),
                stream_type=received.stream_type,
                expected_version=0,
                events=tuple(to_new_event(e, message.tenant, by, correlation_id) for e in events),
            ),
            StreamWrite(
                stream_id=CASES.stream(route.case_id),
                stream_type=CASES.kind,
                expected_version=route.expected_version,
                events=(to_new_event(route.case_event, message.tenant, by, correlation_id),),
            ),
        ]

    async def _route(self, message: Intake, now: datetime) -> Route:
        """Join the open case about the same issue, or open a new one with its clocks."""
        match = await self._same_issue(message.tenant, message.full_text, now)
        if match is not None:
            joined = intake.join(message, await self.load_case(UUID(match[0])), match[1])
            if joined is not None:
                return joined
        return intake.open_case(message, now, self.calendar(), self.rules)

    async def _same_issue(self, tenant: str, text: str, now: datetime) -> tuple[str, float] | None:
        rows = await self.views.fetch(
            """SELECT m.case_id, m.signature FROM sent_messages m
               JOIN sent_cases c ON c.case_id = m.case_id
               WHERE m.tenant = $1 AND m.received_at >= $2
                 AND c.status IN ('opened', 'dispatched', 'accepted', 'returned', 'reopened')
               ORDER BY m.received_at DESC LIMIT 1000""",
            tenant,
            utc_text(now - GROUPING_LOOKBACK),
        )
        candidates = (
            Candidate(case_id=r["case_id"], signature=orjson.loads(r["signature"]))
            for r in rows
            if r["case_id"] and r["signature"]
        )
        return best_match(signature(text), candidates)

    async def load_case(self, case_id: UUID) -> CaseState:
        """A case as the system reads it (intake, escalation): no caller, so no scope."""
        state, _tenant = await self._case(case_id)
        return state

    async def _case(self, case_id: UUID) -> tuple[CaseState, str]:
        events = await self.store.read_stream(CASES.stream(case_id))
        if not events:
            raise CASES.not_found(case_id)
        return CASES.fold(events), events[0].tenant

    async def escalate_overdue(self) -> int:
        """Escalate every overdue open case one level (scheduler; idempotent by version)."""
        now = self.clock()
        rows = await self.views.fetch(
            """SELECT case_id FROM sent_cases WHERE response_due < $1 AND escalation_level < 2
                 AND status IN ('opened', 'dispatched', 'accepted', 'returned', 'reopened')
               LIMIT 500""",
            utc_text(now),
        )
        done = 0
        for row in rows:
            state, tenant = await self._case(UUID(row["case_id"]))
            event = domain.escalation(state, now)
            if event is None:
                continue
            write = StreamWrite(
                stream_id=CASES.stream(row["case_id"]),
                stream_type=CASES.kind,
                expected_version=state.version,
                events=(to_new_event(event, tenant, SCHEDULER, new_id()),),
            )
            try:
                await self.store.append([write])
                done += 1
            except ConcurrencyConflict:
                continue
        return done
