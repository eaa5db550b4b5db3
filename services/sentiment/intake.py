"""Intake (受理): one message as its events, and the case it goes to; pure but for the code.

A message is recorded with its re-import key and its classes (`record`), then joins the open
case about the same issue (`join`) or opens one with its clocks (`open_case`). The reads
(same-issue candidates, the matched case) and the append are the handler's.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid5

from services.sentiment import domain
from services.sentiment.classifier import Classification, Classifier, normalize
from services.sentiment.commands import ReceiveMessage
from services.sentiment.deadlines import SHANGHAI, DeadlineRules, case_deadlines
from services.sentiment.domain import CaseState
from services.sentiment.events import (
    CaseOpened,
    MessageClassified,
    MessageKind,
    MessageLinkedToCase,
    MessageReceived,
    Source,
    Tag,
)
from shared.envelope import new_id
from shared.registry import DomainEvent
from shared.workdays import WorkdayCalendar

MESSAGE_NAMESPACE = UUID("6f1d3c1e-8a7b-4f0e-9c55-5e6e7a1d2b01")


def message_stream(message_id: UUID | str) -> str:
    return f"message-{message_id}"


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


@dataclass(frozen=True)
class Checked:
    """A message that can be recorded: its source, kind and text, and its re-import key."""

    tenant: str
    source: Source
    kind: MessageKind
    text: str
    key: str

    @property
    def message_id(self) -> UUID:
        """The same item imported twice has the same id, so the second is a duplicate."""
        return uuid5(MESSAGE_NAMESPACE, self.key)


@dataclass(frozen=True)
class Intake:
    """A message as recorded, before it is routed to a case."""

    tenant: str
    received: MessageReceived
    classified: MessageClassified
    result: Classification
    full_text: str
    tracking_code: str
    #: The answer of the model in shadow, if one runs (recorded in a read model, not used).
    shadow: ShadowAnswer | None = None


@dataclass(frozen=True)
class ShadowAnswer:
    model_id: str
    category: str
    confidence: float


@dataclass(frozen=True)
class Route:
    """Where a message goes: the case, its event and the message's link to it."""

    case_id: UUID
    linked: MessageLinkedToCase
    case_event: DomainEvent
    expected_version: int
    response_due: datetime | None
    similarity: float | None


def check(cmd: ReceiveMessage, tenant: str) -> Checked:
    source, kind, text = domain.check_message(cmd)
    key = domain.dedup_key(tenant, source, cmd.external_id, text)
    return Checked(tenant, source, kind, text, key)


def record(
    cmd: ReceiveMessage,
    checked: Checked,
    classifier: Classifier,
    now: datetime,
    shadow: Classifier | None = None,
) -> Intake:
    """The message's events: what was received (with its re-import key) and its classes;
    with a model in shadow, its topic answer rides along (recorded, not used)."""
    received_at = cmd.received_at or now
    if received_at.tzinfo is None:
        received_at = received_at.replace(tzinfo=SHANGHAI)
    message_id = checked.message_id
    full_text = f"{cmd.title}\n{checked.text}" if cmd.title else checked.text
    result = classifier.classify(full_text)
    code = secrets.token_urlsafe(12)
    received = MessageReceived(
        message_id=message_id,
        source=checked.source,
        kind=checked.kind,
        external_id=cmd.external_id,
        title=cmd.title,
        text=checked.text,
        received_at=received_at,
        citizen=cmd.citizen,
        location=cmd.location,
        dedup_key=checked.key,
        tracking_code_hash=hash_code(code),
    )
    payload = result.as_payload()
    shadow_answer = None
    if shadow is not None:
        topic = shadow.topic_model.predict(normalize(full_text))
        shadow_answer = ShadowAnswer(shadow.topic_model.model_id, topic.category, topic.confidence)
    classified = MessageClassified(
        message_id=message_id,
        **{k: v for k, v in payload.items() if k != "tags"},
        tags=[Tag(tag=t["tag"], reasons=t["reasons"]) for t in payload["tags"]],
    )
    return Intake(checked.tenant, received, classified, result, full_text, code, shadow_answer)


def join(intake: Intake, state: CaseState, similarity: float) -> Route | None:
    """The open case about the same issue takes the message; a closed one does not (the read
    model that matched it lags)."""
    if state.case_id is None or state.status not in domain.OPEN_STATUSES:
        return None
    message_id = intake.received.message_id
    score = round(similarity, 3)
    linked = MessageLinkedToCase(
        message_id=message_id, case_id=state.case_id, similarity=score, opened_case=False
    )
    added = domain.add_message(state, message_id, score)
    return Route(state.case_id, linked, added, state.version, state.response_due, score)


def open_case(
    intake: Intake, now: datetime, calendar: WorkdayCalendar, rules: DeadlineRules
) -> Route:
    """A new case, with the clocks its source, kind, topic and urgency set."""
    received, result = intake.received, intake.result
    case_id = new_id()
    deadlines, response_due = case_deadlines(
        source=received.source,
        kind=received.kind,
        category=result.topic.category,
        urgency=result.urgency.level,
        opened_at=now,
        calendar=calendar,
        rules=rules,
    )
    opened = CaseOpened(
        case_id=case_id,
        first_message_id=received.message_id,
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
        message_id=received.message_id, case_id=case_id, similarity=None, opened_case=True
    )
    return Route(case_id, linked, opened, 0, response_due, None)
