"""The rules of 依申请公开 registration and assignment, as pure functions (DOMAIN.md §2).

No I/O: the handler passes in today's date, the working-day calendar, the
registration number and the current state.
"""

from __future__ import annotations

import hashlib
from datetime import date
from uuid import UUID

from services.applications.commands import AssignRequest, RegisterRequest
from services.applications.events import (
    ApplicantKind,
    Channel,
    DeadlineBasis,
    RequestAssigned,
    RequestRegistered,
)
from services.applications.state import RequestState, evolve
from shared.errors import DomainRuleViolated, ValidationFailed
from shared.workdays import DueDate, WorkdayCalendar

__all__ = [
    "CORRECTION_NOTICE_WORKING_DAYS",
    "REPLY_WORKING_DAYS",
    "RequestState",
    "applicant_key",
    "assign",
    "basis",
    "evolve",
    "receipt_date",
    "register",
    "registration_number",
]

REPLY_WORKING_DAYS = 20  # 条例 Art. 33 ¶2
CORRECTION_NOTICE_WORKING_DAYS = 7  # 条例 Art. 30


def applicant_key(kind: str, id_document: str) -> str:
    """A pseudonymous key of the applicant (fee counter, by-applicant queries), not the data."""
    normal = "".join(id_document.split()).upper()
    return hashlib.sha256(f"{kind}|{normal}".encode()).hexdigest()[:32]


def registration_number(short_name: str, year: int, sequence: int) -> str:
    """登记编号 such as 苏店〔2026〕1号: per tenant, per year, gapless."""
    return f"{short_name}〔{year}〕{sequence}号"


def _invalid(rule: str, field: str, zh: str, en: str) -> ValidationFailed:
    return ValidationFailed(rule=rule, field=field, message_zh=zh, message_en=en)


def receipt_date(cmd: RegisterRequest) -> date:
    """The day the request counts as received, by channel (条例 Art. 31).

    In person (and oral, filled in by the office): the day submitted.
    Registered mail: the day signed for. Ordinary mail: the day the office
    confirms with the applicant. Online and fax: the day both sides confirm.
    """
    if cmd.channel in (Channel.in_person, Channel.oral):
        return cmd.submitted_on
    if cmd.channel is Channel.registered_mail:
        if cmd.signed_on is None:
            raise _invalid(
                "receipt.signed_on_required",
                "signed_on",
                "挂号信申请须填写签收日期（条例第三十一条）",
                "registered mail needs the date it was signed for (Art. 31)",
            )
        return cmd.signed_on
    if cmd.confirmed_on is None:
        raise _invalid(
            "receipt.confirmed_on_required",
            "confirmed_on",
            "平常信函、网上或传真申请须填写双方确认日期（条例第三十一条）",
            "ordinary mail, online and fax requests need the confirmation date (Art. 31)",
        )
    return cmd.confirmed_on


def _check_dates(cmd: RegisterRequest, received: date, today: date) -> None:
    for name, value in (
        ("submitted_on", cmd.submitted_on),
        ("signed_on", cmd.signed_on),
        ("confirmed_on", cmd.confirmed_on),
    ):
        if value is not None and value > today:
            raise _invalid(
                "date.in_future",
                name,
                f"日期 {value} 晚于今天 {today}",
                f"{name} {value} lies after today {today}",
            )
    if received < cmd.submitted_on:
        field = "signed_on" if cmd.channel is Channel.registered_mail else "confirmed_on"
        raise _invalid(
            "receipt.before_submission",
            field,
            "收到日期不能早于提交日期",
            "the receipt date cannot precede the submission date",
        )


def _check_applicant(cmd: RegisterRequest) -> None:
    applicant = cmd.applicant
    if applicant.kind is ApplicantKind.organization and applicant.organization_kind is None:
        raise _invalid(
            "applicant.organization_kind_required",
            "applicant.organization_kind",
            "法人或其他组织须注明类别（商业企业、科研机构、社会公益组织、法律服务机构、其他）",
            "an organization applicant needs its kind (for the annual report)",
        )
    if applicant.kind is ApplicantKind.natural_person and applicant.organization_kind is not None:
        raise _invalid(
            "applicant.organization_kind_forbidden",
            "applicant.organization_kind",
            "自然人申请不填写组织类别",
            "a natural person has no organization kind",
        )


def basis(due: DueDate) -> DeadlineBasis:
    return DeadlineBasis(
        start=due.start,
        working_days=due.days,
        due=due.due,
        provisional=due.provisional,
        calendars=[f"{y.year}: {y.source} v{y.version}" for y in due.years],
    )


def register(
    cmd: RegisterRequest,
    *,
    request_id: UUID,
    short_name: str,
    year: int,
    sequence: int,
    today: date,
    calendar: WorkdayCalendar,
) -> RequestRegistered:
    """Decide a registration: validate the dates and the applicant, compute the clocks."""
    received = receipt_date(cmd)
    _check_dates(cmd, received, today)
    _check_applicant(cmd)
    reply = calendar.add_workdays(received, REPLY_WORKING_DAYS)
    correction = calendar.add_workdays(received, CORRECTION_NOTICE_WORKING_DAYS)
    return RequestRegistered(
        request_id=request_id,
        number=registration_number(short_name, year, sequence),
        year=year,
        sequence=sequence,
        channel=cmd.channel,
        submitted_on=cmd.submitted_on,
        received_on=received,
        applicant=cmd.applicant,
        description=cmd.description,
        requested_form=cmd.requested_form,
        delivery_channel=cmd.delivery_channel,
        correction_notice_due=correction.due,
        reply_due=reply.due,
        reply_deadline=basis(reply),
    )


def assign(state: RequestState, cmd: AssignRequest) -> RequestAssigned:
    if state.request_id is None:
        raise DomainRuleViolated(
            rule="request.not_registered",
            field="request_id",
            message_zh="申请尚未登记",
            message_en="the request is not registered",
        )
    if state.handler == cmd.handler:
        raise DomainRuleViolated(
            rule="request.already_assigned",
            field="handler",
            message_zh=f"申请已由 {cmd.handler} 承办",
            message_en=f"the request is already assigned to {cmd.handler}",
        )
    return RequestAssigned(
        request_id=state.request_id, handler=cmd.handler, previous_handler=state.handler
    )
