"""The state of one request, folded from its events (pure; DOMAIN.md §2).

`evolve` is the only way state changes; every decision in domain.py and
domain.py reads this state and returns events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from uuid import UUID

from services.applications.events import (
    ConsultationEnded,
    ConsultationStarted,
    CorrectionLapsed,
    CorrectionReceived,
    CorrectionRequested,
    DeadlineApproaching,
    DeadlineMissed,
    DeliveryRecorded,
    ExcessiveReasonsRequested,
    ExtensionGranted,
    FeeLapsed,
    FeeMode,
    FeeNoticeIssued,
    FeePaid,
    LaterReplyDateSet,
    PartyKind,
    ReplyDueRecomputed,
    RequestArchived,
    RequestAssigned,
    RequestRegistered,
    RequestReplied,
    RequestWithdrawnByApplicant,
)
from shared.registry import DomainEvent

#: Conclusions that end processing; the annual report counts each in one row of 三.
CONCLUDED = ("replied", "withdrawn", "abandoned", "fee_lapsed")


@dataclass(frozen=True)
class Consultation:
    consultation_id: UUID
    party_kind: PartyKind
    party: str
    started_on: date
    answer_due: date
    ended_on: date | None = None


@dataclass(frozen=True)
class Fee:
    mode: FeeMode
    amount_yuan: int
    notified_on: date
    pay_by: date
    paid_on: date | None = None


@dataclass(frozen=True)
class RequestState:
    request_id: UUID | None = None
    status: str = "new"
    handler: str | None = None
    version: int = 0
    received_on: date | None = None
    #: The day the reply period counts from: receipt, or the corrected request (Art. 30).
    clock_start: date | None = None
    applicant_kind: str | None = None
    organization_kind: str | None = None
    correction_notice_due: date | None = None
    correction_notified_on: date | None = None
    correction_due: date | None = None
    corrected_on: date | None = None
    consultations: tuple[Consultation, ...] = ()
    extension_days: int = 0
    fee: Fee | None = None
    reply_type: str | None = None
    report_row: str | None = None
    conclusion: str | None = None
    concluded_on: date | None = None
    notices: frozenset[str] = frozenset()
    delivered: frozenset[str] = frozenset()
    archived: bool = False
    approaching_sent: bool = False
    missed_sent: bool = False
    reply_due: date | None = None
    excessive_reasons_asked_on: date | None = None
    later_reply_date: date | None = None

    @property
    def open_consultations(self) -> tuple[Consultation, ...]:
        return tuple(c for c in self.consultations if c.ended_on is None)

    @property
    def awaiting_correction(self) -> bool:
        return self.correction_due is not None and self.corrected_on is None

    @property
    def awaiting_payment(self) -> bool:
        return self.fee is not None and self.fee.paid_on is None

    @property
    def concluded(self) -> bool:
        return self.conclusion is not None


def status_of(state: RequestState) -> str:
    """The single status word the ledger shows."""
    return _status(lambda name: getattr(state, name))


def status_word(
    *,
    archived: bool,
    conclusion: str | None,
    awaiting_correction: bool,
    awaiting_payment: bool,
    consulting: bool,
    assigned: bool,
) -> str:
    """The single status word of a request, by one precedence: archived, concluded (its
    conclusion), awaiting correction, awaiting payment, consulting, assigned, registered.
    The folded state and the ledger's row both answer through this."""
    if archived:
        return "archived"
    if conclusion:
        return str(conclusion)
    if awaiting_correction:
        return "awaiting_correction"
    if awaiting_payment:
        return "awaiting_payment"
    if consulting:
        return "consulting"
    return "assigned" if assigned else "registered"


def _status(get: Callable[[str], Any]) -> str:
    fee = get("fee")
    return status_word(
        archived=bool(get("archived")),
        conclusion=get("conclusion"),
        awaiting_correction=get("correction_due") is not None and get("corrected_on") is None,
        awaiting_payment=fee is not None and fee.paid_on is None,
        consulting=any(c.ended_on is None for c in get("consultations")),
        assigned=bool(get("handler")),
    )


def _conclude(conclusion: str, on: date, row: str) -> dict[str, Any]:
    return {"conclusion": conclusion, "concluded_on": on, "report_row": row}


def _changes(state: RequestState, event: DomainEvent) -> dict[str, Any]:
    return _intake_changes(state, event) or _outcome_changes(state, event)


def _intake_changes(state: RequestState, event: DomainEvent) -> dict[str, Any]:
    """Registration, assignment, correction and consultation: what sets the clock."""
    if isinstance(event, RequestRegistered):
        return dict(
            request_id=event.request_id,
            received_on=event.received_on,
            clock_start=event.received_on,
            applicant_kind=event.applicant.kind.value,
            organization_kind=(
                event.applicant.organization_kind.value
                if event.applicant.organization_kind
                else None
            ),
            correction_notice_due=event.correction_notice_due,
            reply_due=event.reply_due,
        )
    if isinstance(event, RequestAssigned):
        return dict(handler=event.handler)
    if isinstance(event, CorrectionRequested):
        return dict(
            correction_notified_on=event.notified_on,
            correction_due=event.correction_due,
            notices=state.notices | {"correction_notice"},
        )
    if isinstance(event, CorrectionReceived):
        return dict(
            corrected_on=event.corrected_on,
            clock_start=event.corrected_on,
            reply_due=event.reply_due,
        )
    if isinstance(event, CorrectionLapsed):
        return _conclude("abandoned", event.lapsed_on, "三(六)1")
    if isinstance(event, ConsultationStarted):
        consultation = Consultation(
            event.consultation_id,
            event.party_kind,
            event.party,
            event.started_on,
            event.answer_due,
        )
        return dict(consultations=(*state.consultations, consultation))
    if isinstance(event, ConsultationEnded):
        consultations = tuple(
            replace(c, ended_on=event.ended_on) if c.consultation_id == event.consultation_id else c
            for c in state.consultations
        )
        return dict(consultations=consultations, reply_due=event.reply_due)
    return {}


def _outcome_changes(state: RequestState, event: DomainEvent) -> dict[str, Any]:
    """Extension, fees, the reply or another conclusion, delivery, archive, alerts."""
    if isinstance(event, ExtensionGranted):
        return dict(
            extension_days=event.working_days,
            reply_due=event.reply_due,
            notices=state.notices | {"extension_notice"},
        )
    if isinstance(event, FeeNoticeIssued):
        fee = Fee(event.mode, event.amount_yuan, event.notified_on, event.pay_by)
        return dict(fee=fee, notices=state.notices | {"fee_notice"})
    if isinstance(event, FeePaid) and state.fee is not None:
        return dict(fee=replace(state.fee, paid_on=event.paid_on), reply_due=event.reply_due)
    if isinstance(event, FeeLapsed):
        return _conclude("fee_lapsed", event.lapsed_on, "三(六)2")
    if isinstance(event, RequestReplied):
        replied = _conclude("replied", event.replied_on, event.report_row)
        return {
            **replied,
            "reply_type": event.reply_type.value,
            "notices": state.notices | {"reply"},
        }
    if isinstance(event, RequestWithdrawnByApplicant):
        return _conclude("withdrawn", event.withdrawn_on, "三(六)3")
    if isinstance(event, DeliveryRecorded):
        return dict(delivered=state.delivered | {event.document.value})
    if isinstance(event, RequestArchived):
        return dict(archived=True)
    if isinstance(event, ExcessiveReasonsRequested):
        return dict(excessive_reasons_asked_on=event.asked_on)
    if isinstance(event, LaterReplyDateSet):
        return dict(later_reply_date=event.reply_due, reply_due=event.reply_due)
    if isinstance(event, ReplyDueRecomputed):
        return dict(reply_due=event.reply_due)
    if isinstance(event, DeadlineApproaching):
        return dict(approaching_sent=True)
    if isinstance(event, DeadlineMissed):
        return dict(missed_sent=True)
    return {}


def evolve(state: RequestState, event: DomainEvent) -> RequestState:
    changes = _changes(state, event)
    status = _status(lambda name: changes[name] if name in changes else getattr(state, name))
    return replace(state, **changes, status=status, version=state.version + 1)
