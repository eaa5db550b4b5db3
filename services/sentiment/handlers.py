"""Application layer of 舆情回应: intake (classify, group, open a case) and the case steps.

Load stream -> decide (domain.py, pure) -> append with the expected version. Message texts
and citizens' details are never logged.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

import orjson

from services.sentiment import domain
from services.sentiment.classifier import Classifier
from services.sentiment.commands import LinkPolicy, ReceiveMessage
from services.sentiment.deadlines import SHANGHAI, DeadlineRules, case_deadlines
from services.sentiment.events import (
    CaseOpened,
    CitizenDataRead,
    MessageClassified,
    MessageLinkedToCase,
    MessageReceived,
    Tag,
    registry,
)
from services.sentiment.grouping import Candidate, best_match, signature
from services.sentiment.policies import case_texts, policy_facts, related
from services.sentiment.policy_match import PolicyRef, match_one
from shared.db import Database
from shared.envelope import Actor, RecordedEvent, StreamWrite, new_id
from shared.errors import ConcurrencyConflict, NotFound, ValidationFailed
from shared.eventstore import EventStore
from shared.eventstore import version_conflict as _version_conflict
from shared.identity import Principal, Role, authorize
from shared.registry import DomainEvent, access_write, to_new_event
from shared.tenancy import OrgTree
from shared.workdays import WorkdayCalendar

INTAKE_ROLES = (Role.OPINION_OFFICER, Role.SERVICE)
CASE_ROLES = (
    Role.OPINION_OFFICER,
    Role.SECTION_HEAD,
    Role.LEADER_IN_CHARGE,
    Role.PRINCIPAL_LEADER,
)
#: Steps a unit performs may be done by its staff; the rest by the opinion officer or leaders.
STEP_ROLES: dict[str, tuple[Role, ...]] = {
    "assign": (Role.OPINION_OFFICER, Role.LEADER_IN_CHARGE, Role.PRINCIPAL_LEADER),
    "accept": CASE_ROLES,
    "return": CASE_ROLES,
    "request-extension": CASE_ROLES,
    "decide-extension": (Role.LEADER_IN_CHARGE, Role.PRINCIPAL_LEADER, Role.OPINION_OFFICER),
    "remind": (Role.OPINION_OFFICER, Role.LEADER_IN_CHARGE, Role.PRINCIPAL_LEADER),
    "respond": CASE_ROLES,
    "publish": (Role.OPINION_OFFICER,),
    "follow-up": (Role.OPINION_OFFICER,),
    "reopen": (Role.OPINION_OFFICER, Role.LEADER_IN_CHARGE, Role.PRINCIPAL_LEADER),
    "policy-link": (Role.OPINION_OFFICER, Role.LEADER_IN_CHARGE, Role.PRINCIPAL_LEADER),
}
UNIT_STEPS = frozenset({"accept", "return", "request-extension", "respond"})
MESSAGE_NAMESPACE = UUID("6f1d3c1e-8a7b-4f0e-9c55-5e6e7a1d2b01")
GROUPING_LOOKBACK = timedelta(days=30)
INTAKE_ATTEMPTS = 3
SCHEDULER = Actor(id="sentiment-scheduler", kind="system", role=None)


def message_stream(message_id: UUID | str) -> str:
    return f"message-{message_id}"


def case_stream(case_id: UUID | str) -> str:
    return f"opinion-case-{case_id}"


def utc_text(instant: datetime) -> str:
    """Instants in read models are UTC ISO text, so that string order is time order."""
    return instant.astimezone(UTC).isoformat()


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def actor_of(principal: Principal) -> Actor:
    role = next(iter(sorted(principal.roles)))
    for candidate in (*INTAKE_ROLES, *CASE_ROLES):
        if candidate in principal.roles:
            role = candidate
            break
    return Actor(id=principal.sub, kind=principal.kind, role=role.value)


@dataclass
class SentimentHandlers:
    store: EventStore
    views: Database
    orgs: OrgTree
    calendar: Callable[[], WorkdayCalendar]
    clock: Callable[[], datetime]
    classifier: Classifier
    rules: DeadlineRules = field(default_factory=DeadlineRules)

    async def record_citizen_read(
        self, principal: Principal, message_ids: list[str], endpoint: str, correlation_id: UUID
    ) -> None:
        """Record that `principal` was shown these messages' citizen identity and contact."""
        event = CitizenDataRead(
            message_ids=[UUID(i) for i in message_ids], endpoint=endpoint, fields=["citizen"]
        )
        write = access_write(event, str(principal.org), actor_of(principal), correlation_id)
        await self.store.append([write])

    async def receive(
        self, cmd: ReceiveMessage, principal: Principal, correlation_id: UUID
    ) -> dict[str, Any]:
        """Record, classify and route one message; a re-sent item is reported, not doubled."""
        tenant = cmd.tenant or str(principal.org)
        self.orgs.get(tenant)
        authorize(principal, tenant, *INTAKE_ROLES)
        source, kind, text = domain.check_message(cmd)
        now = self.clock()
        received_at = cmd.received_at or now
        if received_at.tzinfo is None:
            received_at = received_at.replace(tzinfo=SHANGHAI)
        key = domain.dedup_key(tenant, source, cmd.external_id, text)
        message_id = uuid5(MESSAGE_NAMESPACE, key)
        if await self.store.stream_version(message_stream(message_id)):
            return {"message_id": str(message_id), "duplicate": True}
        full_text = f"{cmd.title}\n{text}" if cmd.title else text
        result = self.classifier.classify(full_text)
        code = secrets.token_urlsafe(12)
        received = MessageReceived(
            message_id=message_id,
            source=source,
            kind=kind,
            external_id=cmd.external_id,
            title=cmd.title,
            text=text,
            received_at=received_at,
            citizen=cmd.citizen,
            location=cmd.location,
            dedup_key=key,
            tracking_code_hash=hash_code(code),
        )
        payload = result.as_payload()
        classified = MessageClassified(
            message_id=message_id,
            **{k: v for k, v in payload.items() if k != "tags"},
            tags=[Tag(tag=t["tag"], reasons=t["reasons"]) for t in payload["tags"]],
        )
        actor = actor_of(principal)
        for attempt in range(INTAKE_ATTEMPTS):
            match = await self._same_issue(tenant, full_text, now)
            state = await self.load_case(UUID(match[0])) if match is not None else None
            if state is not None and state.status not in domain.OPEN_STATUSES:
                match, state = None, None  # the read model lags: that case closed meanwhile
            case_id, linked, case_event, response_due = self._route(
                message_id, match, state, received, result, now
            )
            message_write = StreamWrite(
                stream_id=message_stream(message_id),
                stream_type=received.stream_type,
                expected_version=0,
                events=tuple(
                    to_new_event(e, tenant, actor, correlation_id)
                    for e in (received, classified, linked)
                ),
            )
            case_write = StreamWrite(
                stream_id=case_stream(case_id),
                stream_type=case_event.stream_type,
                expected_version=state.version if state is not None else 0,
                events=(to_new_event(case_event, tenant, actor, correlation_id),),
            )
            try:
                await self.store.append([message_write, case_write])
                break
            except ConcurrencyConflict:
                if await self.store.stream_version(message_stream(message_id)):
                    return {"message_id": str(message_id), "duplicate": True}
                if attempt == INTAKE_ATTEMPTS - 1:
                    raise  # the grouped case kept changing under us; the caller may retry
        return {
            "message_id": str(message_id),
            "duplicate": False,
            "case_id": str(case_id),
            "opened_case": match is None,
            "similarity": None if match is None else round(match[1], 3),
            "response_due": response_due.isoformat() if response_due else None,
            "tracking_code": code,
            "classification": payload,
        }

    def _route(
        self,
        message_id: UUID,
        match: tuple[str, float] | None,
        state: domain.CaseState | None,
        received: MessageReceived,
        result: Any,
        now: datetime,
    ) -> tuple[UUID, MessageLinkedToCase, DomainEvent, datetime | None]:
        """Join the matched open case, or open a new one with its clocks."""
        if match is not None and state is not None and state.case_id is not None:
            score = round(match[1], 3)
            added = domain.add_message(state, message_id, score)
            linked = MessageLinkedToCase(
                message_id=message_id, case_id=state.case_id, similarity=score, opened_case=False
            )
            return state.case_id, linked, added, state.response_due
        case_id = new_id()
        deadlines, response_due = case_deadlines(
            source=received.source,
            kind=received.kind,
            category=result.topic.category,
            urgency=result.urgency.level,
            opened_at=now,
            calendar=self.calendar(),
            rules=self.rules,
        )
        opened = CaseOpened(
            case_id=case_id,
            first_message_id=message_id,
            source=received.source,
            kind=received.kind,
            category=result.topic.category,
            tags=[t.tag for t in result.tags],
            urgency=result.urgency.level,
            opened_at=now,
            deadlines=deadlines,
            response_due=response_due,
        )
        linked = MessageLinkedToCase(
            message_id=message_id, case_id=case_id, similarity=None, opened_case=True
        )
        return case_id, linked, opened, response_due

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

    async def load_case(self, case_id: UUID) -> domain.CaseState:
        state, _ = await self._load(case_id)
        return state

    async def _load(self, case_id: UUID) -> tuple[domain.CaseState, str]:
        events = await self.store.read_stream(case_stream(case_id))
        if not events:
            raise NotFound(
                rule="case.not_found",
                field="case_id",
                message_zh=f"未找到舆情案件 {case_id}",
                message_en=f"opinion case {case_id} not found",
            )
        state = domain.CaseState()
        for event in events:
            state = domain.evolve(state, registry.decode(event))
        return state, events[0].tenant

    async def step(
        self,
        case_id: UUID,
        step: str,
        cmd: Any,
        principal: Principal,
        correlation_id: UUID,
        expected_version: int | None,
    ) -> RecordedEvent:
        """One work-order step (派单, 签收, 退单, 延期, 催办/督办, 办结, 公开, 回访, 重办)."""
        state, tenant = await self._load(case_id)
        # A unit's own steps may be done by its staff: the scope is the assigned unit, which
        # lies inside the township, so township staff keep their access.
        scope = state.unit if step in UNIT_STEPS and state.unit else tenant
        authorize(principal, scope, *STEP_ROLES[step])
        if expected_version is not None and expected_version != state.version:
            raise _version_conflict(case_stream(case_id), expected_version, state.version)
        now = self.clock()
        event: DomainEvent
        if step == "assign":
            self._check_assignee(tenant, cmd.unit, cmd.officer)
            event = domain.assign(state, cmd)
        elif step == "accept":
            event = domain.accept(state)
        elif step == "return":
            event = domain.return_case(state, cmd)
        elif step == "request-extension":
            event = domain.request_extension(state, cmd)
        elif step == "decide-extension":
            event = domain.decide_extension(state, cmd)
        elif step == "remind":
            event = domain.remind(state, cmd)
        elif step == "respond":
            event = domain.respond(state, cmd, now)
        elif step == "publish":
            event = domain.publish_result(state, cmd, now)
        elif step == "follow-up":
            event = domain.follow_up(state, cmd)
        elif step == "reopen":
            event = domain.reopen(state, cmd.reason, now)
        else:  # pragma: no cover - the router only mounts known steps
            raise KeyError(step)
        (recorded,) = await self.store.append(
            [
                StreamWrite(
                    stream_id=case_stream(case_id),
                    stream_type=event.stream_type,
                    expected_version=state.version,
                    events=(to_new_event(event, tenant, actor_of(principal), correlation_id),),
                )
            ]
        )
        return recorded

    async def link_policy(
        self,
        case_id: UUID,
        cmd: LinkPolicy,
        principal: Principal,
        correlation_id: UUID,
        expected_version: int | None,
    ) -> RecordedEvent:
        """误读政策 (方案§17, §五(一)): link the case to the misread policy. The interpretation
        service consumes the event and opens the follow-up interpretation."""
        state, tenant = await self._load(case_id)
        authorize(principal, tenant, *STEP_ROLES["policy-link"])
        if expected_version is not None and expected_version != state.version:
            raise _version_conflict(case_stream(case_id), expected_version, state.version)
        row = await policy_facts(self.views, str(cmd.document_id))
        facts = None
        if row is not None:
            facts = domain.PolicyFacts(
                document_id=cmd.document_id,
                title=row["title"],
                document_number=row["document_number"],
                township=row["township"],
                withdrawn=bool(row["withdrawn"]),
                in_scope=related(row["township"], tenant),
            )
        text, classified, _ = await case_texts(self.views, str(case_id))
        match = None
        if row is not None:
            ref = PolicyRef(
                row["document_id"], row["title"], row["document_number"], row["policy_text"]
            )
            found = match_one(text, ref)
            match = (found.score, found.reasons)
        event = domain.report_misreading(
            state,
            facts,
            cmd.document_id,
            cmd.misreading,
            principal.sub,
            classified,
            match,
        )
        (recorded,) = await self.store.append(
            [
                StreamWrite(
                    stream_id=case_stream(case_id),
                    stream_type=event.stream_type,
                    expected_version=state.version,
                    events=(to_new_event(event, tenant, actor_of(principal), correlation_id),),
                )
            ]
        )
        return recorded

    def _check_assignee(self, tenant: str, unit: str, officer: str) -> None:
        if unit not in self.orgs or not (unit == tenant or unit.startswith(tenant + "/")):
            raise ValidationFailed(
                rule="assign.unit_outside_township",
                field="unit",
                message_zh=f"承办单位 {unit} 不在本镇（{tenant}）",
                message_en=f"unit {unit} is not inside {tenant}",
            )
        try:
            self.orgs.find_person(officer)
        except NotFound:
            raise ValidationFailed(
                rule="assign.officer_unknown",
                field="officer",
                message_zh=f"未知的工作人员 {officer}",
                message_en=f"unknown officer {officer}",
            ) from None

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
            state, tenant = await self._load(UUID(row["case_id"]))
            event = domain.escalation(state, now)
            if event is None:
                continue
            try:
                await self.store.append(
                    [
                        StreamWrite(
                            stream_id=case_stream(row["case_id"]),
                            stream_type=event.stream_type,
                            expected_version=state.version,
                            events=(to_new_event(event, tenant, SCHEDULER, new_id()),),
                        )
                    ]
                )
                done += 1
            except ConcurrencyConflict:
                continue
        return done
