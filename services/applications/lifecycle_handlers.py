"""Application layer of the lifecycle commands: load -> authorize -> decide -> append.

One table names, for every command of the API, its input model, the roles that
may give it and the pure decision it runs (lifecycle.py). Nothing is written
when a check or the decision refuses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID

from pydantic import BaseModel

from services.applications import commands as c
from services.applications import lifecycle
from services.applications.lifecycle_events import FeeMode
from services.applications.replies import PublicDocument
from services.applications.state import RequestState
from shared.envelope import RecordedEvent, StreamWrite, new_id
from shared.eventstore import version_conflict
from shared.identity import Principal, Role, authorize, within_scope
from shared.registry import DomainEvent
from shared.workdays import WorkdayCalendar, local_date

if TYPE_CHECKING:
    from services.applications.handlers import ApplicationsHandlers

HANDLING = (Role.REQUEST_HANDLER, Role.OPENNESS_OFFICE_HEAD)


@dataclass(frozen=True)
class Context:
    principal: Principal
    today: date
    calendar: WorkdayCalendar
    new_id: UUID
    sub_id: UUID | None = None
    monthly_ordinal: int = 1
    published: PublicDocument | None = None


Decide = Callable[[RequestState, Any, Context], DomainEvent]


@dataclass(frozen=True)
class Spec:
    model: type[BaseModel]
    roles: tuple[Role, ...]
    decide: Decide
    summary: str


COMMANDS: dict[str, Spec] = {
    "correction-notice": Spec(
        c.RequestCorrection,
        HANDLING,
        lambda s, cmd, x: lifecycle.request_correction(s, cmd, x.today, x.calendar),
        "补正告知 Send the correction notice (Art. 30)",
    ),
    "correction": Spec(
        c.ReceiveCorrection,
        HANDLING,
        lambda s, cmd, x: lifecycle.receive_correction(s, cmd, x.today, x.calendar),
        "收到补正 The corrected request arrived; the clock restarts (Art. 30)",
    ),
    "consultations": Spec(
        c.StartConsultation,
        HANDLING,
        lambda s, cmd, x: lifecycle.start_consultation(s, cmd, x.today, x.calendar, x.new_id),
        "征求意见 Consult a third party or agency; the clock stops (Arts. 32, 34)",
    ),
    "consultation-end": Spec(
        c.EndConsultation,
        HANDLING,
        lambda s, cmd, x: lifecycle.end_consultation(
            s, x.sub_id or x.new_id, cmd, x.today, x.calendar
        ),
        "征求意见结束 Record the answer; the clock runs again",
    ),
    "extension": Spec(
        c.GrantExtension,
        (Role.OPENNESS_OFFICE_HEAD,),
        lambda s, cmd, x: lifecycle.grant_extension(s, cmd, x.today, x.calendar, x.principal.sub),
        "延期答复 Extend once, by the openness-office head (Art. 33 ¶2)",
    ),
    "fee-notice": Spec(
        c.IssueFeeNotice,
        HANDLING,
        lambda s, cmd, x: lifecycle.issue_fee_notice(
            s, cmd, x.today, x.calendar, x.monthly_ordinal
        ),
        "收费通知 Issue a fee notice (Art. 42)",
    ),
    "fee-payment": Spec(
        c.PayFee,
        HANDLING,
        lambda s, cmd, x: lifecycle.pay_fee(s, cmd, x.today, x.calendar),
        "缴费 Record the payment",
    ),
    "reply": Spec(
        c.Reply,
        HANDLING,
        lambda s, cmd, x: lifecycle.reply(s, cmd, x.today, x.published),
        "答复 Reply (Arts. 36–39)",
    ),
    "deliveries": Spec(
        c.RecordDelivery,
        HANDLING,
        lambda s, cmd, x: lifecycle.record_delivery(s, cmd, x.today),
        "送达回证 Record delivery evidence",
    ),
    "archive": Spec(
        c.Archive,
        HANDLING,
        lambda s, cmd, x: lifecycle.archive(s, cmd, x.today),
        "归档 Archive (Art. 45)",
    ),
    "excessive-reasons": Spec(
        c.AskExcessiveReasons,
        HANDLING,
        lambda s, cmd, x: lifecycle.ask_excessive_reasons(s, cmd, x.today),
        "要求说明理由 Ask for the reasons of an excessive request (Art. 35)",
    ),
    "later-reply-date": Spec(
        c.SetLaterReplyDate,
        (Role.OPENNESS_OFFICE_HEAD,),
        lambda s, cmd, x: lifecycle.set_later_reply_date(s, cmd, x.today, x.calendar),
        "延后答复 Set a later reply date for an excessive request (Art. 35)",
    ),
    "withdraw": Spec(
        c.Withdraw,
        HANDLING,
        lambda s, cmd, x: lifecycle.withdraw(s, cmd, x.today),
        "撤回 The applicant withdrew the request",
    ),
}


def applicant_key(kind: str, id_document: str) -> str:
    """A pseudonymous key of the applicant (fee counter, by-applicant queries), not the data."""
    normal = "".join(id_document.split()).upper()
    return hashlib.sha256(f"{kind}|{normal}".encode()).hexdigest()[:32]


async def monthly_ordinal(views: Any, request_id: UUID) -> int:
    """Which request of its applicant this one is in its calendar month, at this agency."""
    row = await views.fetchrow(
        "SELECT tenant, applicant_key, received_on, sequence, year FROM app_ledger "
        "WHERE request_id = $1",
        str(request_id),
    )
    if row is None:
        return 1
    month = str(row["received_on"])[:7]
    count = await views.fetchval(
        "SELECT COUNT(*) FROM app_ledger WHERE tenant = $1 AND applicant_key = $2 "
        "AND received_on LIKE $3 AND (received_on < $4 OR (received_on = $4 AND "
        "(year < $5 OR (year = $5 AND sequence <= $6))))",
        row["tenant"],
        row["applicant_key"],
        month + "%",
        row["received_on"],
        row["year"],
        row["sequence"],
    )
    return max(1, int(count or 1))


async def execute(
    h: ApplicationsHandlers,
    name: str,
    request_id: UUID,
    cmd: Any,
    principal: Principal,
    correlation_id: UUID,
    expected_version: int | None,
    sub_id: UUID | None = None,
) -> RecordedEvent:
    spec = COMMANDS[name]
    state, tenant = await h.load(request_id)
    if not within_scope(principal, tenant):
        # Another township's request looks absent, as on GET (docs/decisions.md 5).
        from services.applications.handlers import _not_found

        raise _not_found(request_id)
    authorize(principal, tenant, *spec.roles)
    stream = f"request-{request_id}"
    if expected_version is not None and expected_version != state.version:
        raise version_conflict(stream, expected_version, state.version)
    ordinal = 1
    if name == "fee-notice" and cmd.mode is FeeMode.per_request and h.views is not None:
        ordinal = await monthly_ordinal(h.views, request_id)
    published = None
    if name == "reply" and cmd.public_document_id is not None and h.views is not None:
        from services.applications.suggestions import public_document

        published = await public_document(h, cmd.public_document_id, tenant)
    ctx = Context(
        principal=principal,
        today=local_date(h.clock()),
        calendar=h.calendar(),
        new_id=new_id(),
        sub_id=sub_id,
        monthly_ordinal=ordinal,
        published=published,
    )
    event = spec.decide(state, cmd, ctx)
    role = next((r for r in spec.roles if r in principal.roles), spec.roles[0])
    from services.applications.handlers import actor_of, to_new_event

    (recorded,) = await h.store.append(
        [
            StreamWrite(
                stream_id=stream,
                stream_type="request",
                expected_version=state.version,
                events=(to_new_event(event, tenant, actor_of(principal, role), correlation_id),),
            )
        ]
    )
    return recorded
