"""The rules of 依申请公开 as pure functions (DOMAIN.md §2): registration, assignment and
every step of the lifecycle after it.

Each decision takes the folded state, the command, today's date and the working-day
calendar (and the registration number, for a registration) and returns the events to
record, or raises a typed error naming the rule and the field (nothing is recorded then).
No I/O. Sources: 条例 Arts. 29–31 (申请、收到日期), 30 (补正), 32/34 (征求意见), 33 (期限、
延期), 35–39 (答复类型), 42 (收费), 45 (归档).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date
from uuid import UUID

from services.applications import clock, fees
from services.applications.commands import (
    Archive,
    AssignRequest,
    EndConsultation,
    GrantExtension,
    IssueFeeNotice,
    PayFee,
    ReceiveCorrection,
    RecordDelivery,
    RegisterRequest,
    RequestCorrection,
    StartConsultation,
    Withdraw,
)
from services.applications.events import (
    ApplicantKind,
    Channel,
    ConsultationEnded,
    ConsultationOutcome,
    ConsultationStarted,
    CorrectionReceived,
    CorrectionRequested,
    DeadlineBasis,
    DeliveryRecorded,
    ExtensionGranted,
    FeeMode,
    FeeNoticeIssued,
    FeePaid,
    PartyKind,
    RequestArchived,
    RequestAssigned,
    RequestRegistered,
    RequestWithdrawnByApplicant,
)
from services.applications.replies import (
    REPORT_ROW,
    WITHHOLDING_ROW,
    ask_excessive_reasons,
    reply,
    report_row,
    set_later_reply_date,
)
from services.applications.rules import (
    check_day,
    invalid,
    open_request,
    refuse,
    running,
    writable,
)
from services.applications.state import RequestState, evolve
from shared.errors import DomainRuleViolated, NotFound, ValidationFailed
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


__all__ = [
    "REPORT_ROW",
    "WITHHOLDING_ROW",
    "archive",
    "ask_excessive_reasons",
    "end_consultation",
    "grant_extension",
    "issue_fee_notice",
    "pay_fee",
    "receive_correction",
    "record_delivery",
    "reply",
    "report_row",
    "request_correction",
    "set_later_reply_date",
    "start_consultation",
    "withdraw",
]

MAX_EXTENSION_WORKING_DAYS = 20  # 条例 Art. 33 ¶2


def request_correction(
    state: RequestState, cmd: RequestCorrection, today: date, calendar: WorkdayCalendar
) -> CorrectionRequested:
    """One complete notice, within 7 working days of receipt (Art. 30)."""
    rid = open_request(state)
    assert state.received_on is not None and state.correction_notice_due is not None
    if state.correction_notified_on is not None:
        raise refuse(
            "correction.already_requested",
            "defects",
            "补正告知应一次性告知全部需补正事项，已发出过补正告知（条例第三十条）",
            "a correction notice lists every defect at once; one was already sent (Art. 30)",
        )
    check_day(cmd.notified_on, "notified_on", today, state.received_on)
    if cmd.notified_on > state.correction_notice_due:
        raise refuse(
            "correction.notice_late",
            "notified_on",
            f"补正告知须在收到申请之日起 7 个工作日内（{state.correction_notice_due} 前）发出",
            f"the correction notice is due within 7 working days ({state.correction_notice_due})",
        )
    due = calendar.add_workdays(cmd.notified_on, cmd.correction_period_days).due
    return CorrectionRequested(
        request_id=rid, defects=cmd.defects, notified_on=cmd.notified_on, correction_due=due
    )


def receive_correction(
    state: RequestState, cmd: ReceiveCorrection, today: date, calendar: WorkdayCalendar
) -> CorrectionReceived:
    """The reply period restarts from the day the corrected request arrives (Art. 30)."""
    rid = open_request(state)
    if not state.awaiting_correction:
        raise refuse(
            "correction.not_requested", "corrected_on", "该申请没有待补正事项", "no correction due"
        )
    assert state.correction_notified_on is not None and state.correction_due is not None
    check_day(cmd.corrected_on, "corrected_on", today, state.correction_notified_on)
    if cmd.corrected_on > state.correction_due and not cmd.late_reason:
        raise refuse(
            "correction.late",
            "late_reason",
            f"补正期限 {state.correction_due} 已过；无正当理由逾期补正视为放弃申请",
            "the correction period lapsed; a late correction needs a good reason (Art. 30)",
        )
    restarted = replace(state, corrected_on=cmd.corrected_on, clock_start=cmd.corrected_on)
    return CorrectionReceived(
        request_id=rid,
        corrected_on=cmd.corrected_on,
        late_reason=cmd.late_reason,
        reply_due=clock.reply_due(restarted, calendar, today),
    )


def start_consultation(
    state: RequestState,
    cmd: StartConsultation,
    today: date,
    calendar: WorkdayCalendar,
    consultation_id: UUID,
) -> ConsultationStarted:
    """Consult a third party (Art. 32) or another agency (Art. 34): 15 working days."""
    rid = open_request(state)
    running(state, "started_on")
    assert state.clock_start is not None
    check_day(cmd.started_on, "started_on", today, state.clock_start)
    due = calendar.add_workdays(cmd.started_on, clock.CONSULTATION_WORKING_DAYS).due
    return ConsultationStarted(
        request_id=rid,
        consultation_id=consultation_id,
        party_kind=cmd.party_kind,
        party=cmd.party,
        started_on=cmd.started_on,
        answer_due=due,
    )


def end_consultation(
    state: RequestState,
    consultation_id: UUID,
    cmd: EndConsultation,
    today: date,
    calendar: WorkdayCalendar,
) -> ConsultationEnded:
    """Record the answer; an agency's silence counts as consent (Art. 34)."""
    rid = open_request(state)
    found = [c for c in state.open_consultations if c.consultation_id == consultation_id]
    if not found:
        raise NotFound(
            rule="consultation.not_open",
            field="consultation_id",
            message_zh="没有该项进行中的征求意见",
            message_en=f"no open consultation {consultation_id}",
        )
    consultation = found[0]
    check_day(cmd.ended_on, "ended_on", today, consultation.started_on)
    deemed = (
        consultation.party_kind is PartyKind.agency and cmd.outcome is ConsultationOutcome.no_answer
    )
    if cmd.outcome is ConsultationOutcome.no_answer and cmd.ended_on < consultation.answer_due:
        raise refuse(
            "consultation.answer_period_running",
            "outcome",
            f"答复期限 {consultation.answer_due} 未届满，不能记为逾期未答复",
            f"the party may answer until {consultation.answer_due}",
        )
    ended = replace(consultation, ended_on=cmd.ended_on)
    after = replace(
        state,
        consultations=tuple(ended if c is consultation else c for c in state.consultations),
    )
    return ConsultationEnded(
        request_id=rid,
        consultation_id=consultation_id,
        ended_on=cmd.ended_on,
        outcome=ConsultationOutcome.consent if deemed else cmd.outcome,
        deemed_consent=deemed,
        reply_due=clock.reply_due(after, calendar, today),
    )


def grant_extension(
    state: RequestState,
    cmd: GrantExtension,
    today: date,
    calendar: WorkdayCalendar,
    approver: str,
) -> ExtensionGranted:
    """One extension of at most 20 working days, before the period ends (Art. 33 ¶2).

    The role check (openness-office head) is the handler's, before this runs.
    """
    rid = open_request(state)
    running(state, "working_days")
    if state.extension_days:
        raise refuse(
            "extension.already_granted",
            "working_days",
            "答复期限只能延长一次（条例第三十三条第二款）",
            "the reply period can be extended only once (Art. 33 ¶2)",
        )
    current = clock.reply_due(state, calendar, today)
    if today > current:
        raise refuse(
            "extension.after_due",
            "working_days",
            f"答复期限 {current} 已过，不能再延长",
            f"the reply period ended on {current}; it can no longer be extended",
        )
    assert state.received_on is not None
    check_day(cmd.applicant_notified_on, "applicant_notified_on", today, state.received_on)
    extended = replace(state, extension_days=cmd.working_days)
    return ExtensionGranted(
        request_id=rid,
        working_days=cmd.working_days,
        reason=cmd.reason,
        approved_by=approver,
        applicant_notified_on=cmd.applicant_notified_on,
        reply_due=clock.reply_due(extended, calendar, today),
    )


def issue_fee_notice(
    state: RequestState,
    cmd: IssueFeeNotice,
    today: date,
    calendar: WorkdayCalendar,
    monthly_ordinal: int,
) -> FeeNoticeIssued:
    """Per request or per page, never both; no notice when nothing is due (Art. 42)."""
    rid = open_request(state)
    running(state, "mode")
    if state.fee is not None:
        raise refuse(
            "fee.already_noticed",
            "mode",
            "该申请已发出收费通知；按件、按量只能选择一种",
            "a fee notice was already issued; one scale per request, never both",
        )
    assert state.clock_start is not None
    check_day(cmd.notified_on, "notified_on", today, state.clock_start)
    if cmd.mode is FeeMode.per_page:
        if cmd.pages is None:
            raise invalid(
                "fee.pages_required", "pages", "按量计收须填写页数", "per-page fees need pages"
            )
        amount, ordinal = fees.per_page_fee(cmd.pages), None
    else:
        if cmd.pages is not None:
            raise invalid(
                "fee.one_scale_only",
                "pages",
                "按件计收不填写页数：按件、按量不得同时适用",
                "per-request fees take no pages: never both scales",
            )
        amount, ordinal = fees.per_request_fee(monthly_ordinal), monthly_ordinal
    if amount == 0:
        raise refuse(
            "fee.nothing_due",
            "mode",
            "未超过免费标准，不收费（条例第四十二条）",
            "within the free allowance: no fee is due (Art. 42)",
        )
    pay_by = calendar.add_workdays(cmd.notified_on, fees.PAYMENT_WINDOW_WORKING_DAYS).due
    return FeeNoticeIssued(
        request_id=rid,
        mode=cmd.mode,
        pages=cmd.pages,
        monthly_ordinal=ordinal,
        amount_yuan=amount,
        notified_on=cmd.notified_on,
        pay_by=pay_by,
    )


def pay_fee(state: RequestState, cmd: PayFee, today: date, calendar: WorkdayCalendar) -> FeePaid:
    rid = open_request(state)
    fee = state.fee
    if fee is None or fee.paid_on is not None:
        raise refuse("fee.not_due", "amount_yuan", "没有待缴费用", "no fee is awaiting payment")
    check_day(cmd.paid_on, "paid_on", today, fee.notified_on)
    if cmd.amount_yuan != fee.amount_yuan:
        raise invalid(
            "fee.amount_mismatch",
            "amount_yuan",
            f"缴费金额应为 {fee.amount_yuan} 元",
            f"the fee is {fee.amount_yuan} yuan",
        )
    after = replace(state, fee=replace(fee, paid_on=cmd.paid_on))
    return FeePaid(
        request_id=rid,
        amount_yuan=cmd.amount_yuan,
        paid_on=cmd.paid_on,
        reply_due=clock.reply_due(after, calendar, today),
    )


def record_delivery(state: RequestState, cmd: RecordDelivery, today: date) -> DeliveryRecorded:
    rid = writable(state)
    if cmd.document.value not in state.notices:
        raise refuse(
            "delivery.no_document",
            "document",
            "该文书尚未出具，不能登记送达",
            f"no {cmd.document.value} was issued for this request",
        )
    check_day(cmd.delivered_on, "delivered_on", today, state.received_on)
    return DeliveryRecorded(
        request_id=rid,
        document=cmd.document,
        channel=cmd.channel.value,
        evidence_kind=cmd.evidence_kind,
        evidence_ref=cmd.evidence_ref,
        delivered_on=cmd.delivered_on,
    )


def archive(state: RequestState, cmd: Archive, today: date) -> RequestArchived:
    """归档 once concluded, and once the reply (if any) was delivered (方案§14)."""
    rid = writable(state)
    if not state.concluded:
        raise refuse(
            "archive.not_concluded", "archived_on", "申请尚未办结", "the request is not concluded"
        )
    if state.conclusion == "replied" and "reply" not in state.delivered:
        raise refuse(
            "archive.reply_not_delivered",
            "archived_on",
            "答复书尚未登记送达回证，不能归档",
            "record the reply's delivery evidence before archiving",
        )
    check_day(cmd.archived_on, "archived_on", today, state.concluded_on)
    return RequestArchived(request_id=rid, archived_on=cmd.archived_on)


def withdraw(state: RequestState, cmd: Withdraw, today: date) -> RequestWithdrawnByApplicant:
    rid = open_request(state)
    check_day(cmd.withdrawn_on, "withdrawn_on", today, state.received_on)
    return RequestWithdrawnByApplicant(request_id=rid, withdrawn_on=cmd.withdrawn_on, note=cmd.note)
