"""Application layer of 依申请公开: the command table the kernel runs (shared/commands.py),
and the steps that are not one command on one request: registration (gapless numbers
across two streams), review cases, and reads that leave an access record.

A lifecycle command is one row of `REQUEST_COMMANDS`: its input model, the roles that may
give it, the pure decision of domain.py it runs, and, where the decision
needs more than the request's own events, a `prepare` that reads it. The kernel loads,
hides other townships' requests (404), checks role and If-Match, decides and appends.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from services.applications import clock, domain, online, reviews
from services.applications import commands as c
from services.applications.events import (
    AnnualReportTextRecorded,
    ApplicantDataRead,
    FeeMode,
    OnlineRequestConfirmed,
    RegistrationNumberIssued,
    RequestRegistered,
    registry,
)
from services.applications.state import RequestState
from services.applications.suggestions import public_document
from shared.commands import (
    Aggregate,
    Command,
    CommandTable,
    Context,
    acting_role,
    actor_of,
    load,
)
from shared.envelope import Actor, RecordedEvent, StreamWrite, new_id
from shared.errors import ConcurrencyConflict, NotFound, ValidationFailed
from shared.eventstore import EventStore
from shared.floodgate import SlidingWindow
from shared.identity import Principal, Role, authorize, within_scope
from shared.registry import access_write, to_new_event
from shared.service import Runtime
from shared.tenancy import OrgTree
from shared.workdays import WorkdayCalendar, local_date

HANDLING_ROLES = (Role.REQUEST_HANDLER, Role.OPENNESS_OFFICE_HEAD)
HEAD = (Role.OPENNESS_OFFICE_HEAD,)
NUMBERING_ATTEMPTS = 50

REQUESTS: Aggregate[RequestState] = Aggregate(
    kind="request",
    id_field="request_id",
    label_zh="申请",
    label_en="request",
    registry=registry,
    initial=RequestState,
    evolve=domain.evolve,
    tenant=lambda state, events: events[0].tenant,
)


async def _assignable(
    runtime: Runtime, state: RequestState, cmd: c.AssignRequest, principal: Principal, tenant: str
) -> Mapping[str, Any]:
    """The person assigned must be a request handler of the request's agency."""
    unit, person = runtime.orgs.find_person(cmd.handler)
    handler = Principal(sub=person.id, org=unit.path, roles=person.roles)
    authorize(handler, tenant, Role.REQUEST_HANDLER)
    return {}


async def _fee_ordinal(
    runtime: Runtime, state: RequestState, cmd: c.IssueFeeNotice, principal: Principal, tenant: str
) -> Mapping[str, Any]:
    """Which request of its applicant this one is in its month (国办函〔2020〕109号)."""
    if cmd.mode is not FeeMode.per_request:
        return {"ordinal": 1}
    assert state.request_id is not None  # a loaded request was registered
    return {"ordinal": await monthly_ordinal(runtime.views, state.request_id)}


async def _published(
    runtime: Runtime, state: RequestState, cmd: c.Reply, principal: Principal, tenant: str
) -> Mapping[str, Any]:
    """The published document a reply (一) points to, if it is public in the township."""
    if cmd.public_document_id is None:
        return {"published": None}
    return {"published": await public_document(runtime, cmd.public_document_id, tenant)}


def _consultation(x: Context) -> UUID:
    consultation: UUID = x.path["consultation_id"]
    return consultation


REQUEST_COMMANDS: CommandTable[RequestState] = CommandTable(
    aggregate=REQUESTS,
    prefix="/v1/requests",
    tag="applications 依申请公开",
    commands=(
        Command(
            "assign",
            c.AssignRequest,
            "指定承办人",
            "Assign a handler",
            HANDLING_ROLES,
            lambda s, cmd, x: domain.assign(s, cmd),
            prepare=_assignable,
        ),
        Command(
            "correction-notice",
            c.RequestCorrection,
            "补正告知",
            "Send the correction notice",
            HANDLING_ROLES,
            lambda s, cmd, x: domain.request_correction(s, cmd, x.today, x.calendar),
            basis="条例第三十条",
        ),
        Command(
            "correction",
            c.ReceiveCorrection,
            "收到补正",
            "The corrected request arrived; the clock restarts",
            HANDLING_ROLES,
            lambda s, cmd, x: domain.receive_correction(s, cmd, x.today, x.calendar),
            basis="条例第三十条",
        ),
        Command(
            "consultations",
            c.StartConsultation,
            "征求意见",
            "Consult a third party or agency; the clock stops",
            HANDLING_ROLES,
            lambda s, cmd, x: domain.start_consultation(s, cmd, x.today, x.calendar, x.new_id),
            basis="条例第三十二条、第三十四条",
        ),
        Command(
            "consultation-end",
            c.EndConsultation,
            "征求意见结束",
            "Record the answer; the clock runs again",
            HANDLING_ROLES,
            lambda s, cmd, x: domain.end_consultation(
                s, _consultation(x), cmd, x.today, x.calendar
            ),
            path="/{request_id}/consultations/{consultation_id}/end",
            basis="条例第三十二条",
        ),
        Command(
            "extension",
            c.GrantExtension,
            "延期答复",
            "Extend once, by the openness-office head",
            HEAD,
            lambda s, cmd, x: domain.grant_extension(s, cmd, x.today, x.calendar, x.principal.sub),
            basis="条例第三十三条第二款",
        ),
        Command(
            "fee-notice",
            c.IssueFeeNotice,
            "收费通知",
            "Issue a fee notice",
            HANDLING_ROLES,
            lambda s, cmd, x: domain.issue_fee_notice(
                s, cmd, x.today, x.calendar, x.given["ordinal"]
            ),
            prepare=_fee_ordinal,
            basis="条例第四十二条",
        ),
        Command(
            "fee-payment",
            c.PayFee,
            "缴费",
            "Record the payment",
            HANDLING_ROLES,
            lambda s, cmd, x: domain.pay_fee(s, cmd, x.today, x.calendar),
        ),
        Command(
            "reply",
            c.Reply,
            "答复",
            "Reply",
            HANDLING_ROLES,
            lambda s, cmd, x: domain.reply(s, cmd, x.today, x.given["published"]),
            prepare=_published,
            basis="条例第三十六条至第三十九条",
        ),
        Command(
            "deliveries",
            c.RecordDelivery,
            "送达回证",
            "Record delivery evidence",
            HANDLING_ROLES,
            lambda s, cmd, x: domain.record_delivery(s, cmd, x.today),
        ),
        Command(
            "archive",
            c.Archive,
            "归档",
            "Archive",
            HANDLING_ROLES,
            lambda s, cmd, x: domain.archive(s, cmd, x.today),
            basis="条例第四十五条",
        ),
        Command(
            "excessive-reasons",
            c.AskExcessiveReasons,
            "要求说明理由",
            "Ask for the reasons of an excessive request",
            HANDLING_ROLES,
            lambda s, cmd, x: domain.ask_excessive_reasons(s, cmd, x.today),
            basis="条例第三十五条",
        ),
        Command(
            "later-reply-date",
            c.SetLaterReplyDate,
            "延后答复",
            "Set a later reply date for an excessive request",
            HEAD,
            lambda s, cmd, x: domain.set_later_reply_date(s, cmd, x.today, x.calendar),
            basis="条例第三十五条",
        ),
        Command(
            "withdraw",
            c.Withdraw,
            "撤回申请",
            "The applicant withdrew the request",
            HANDLING_ROLES,
            lambda s, cmd, x: domain.withdraw(s, cmd, x.today),
        ),
    ),
)


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


def annual_report_stream(tenant: str, year: int) -> str:
    return f"annual-report-{tenant}-{year}"


def request_stream(request_id: UUID) -> str:
    return f"request-{request_id}"


def register_stream(tenant: str, year: int) -> str:
    return f"request-register-{tenant}-{year}"


@dataclass
class ApplicationsHandlers:
    store: EventStore
    orgs: OrgTree
    calendar: Callable[[], WorkdayCalendar]
    clock: Callable[[], datetime]
    views: Any = None
    #: Per register stream: a lock, so this process's registrations of one township take
    #: turns instead of conflicting, and the register's version as of this process's last
    #: append, so a registration is one round trip (the append) instead of two.
    _turns: dict[str, asyncio.Lock] = field(default_factory=dict, init=False, repr=False)
    _registers: dict[str, int] = field(default_factory=dict, init=False, repr=False)
    #: The public routes' sliding windows per address (public_api.py), in this process.
    public_limits: dict[str, SlidingWindow] = field(default_factory=dict, init=False, repr=False)

    async def record_applicant_read(
        self,
        principal: Principal,
        request_ids: list[str],
        endpoint: str,
        correlation_id: UUID,
    ) -> None:
        """Record that `principal` was shown these requests' applicant identity."""
        event = ApplicantDataRead(
            request_ids=[UUID(i) for i in request_ids], endpoint=endpoint, fields=["applicant"]
        )
        actor = actor_of(principal, _acting_role(principal))
        await self.store.append([access_write(event, str(principal.org), actor, correlation_id)])

    async def clock_of(self, request_id: UUID, principal: Principal) -> dict[str, Any]:
        """The reply clock as of today, with its explanation (clock.py), for one request."""
        state, _tenant, _version = await load(self, REQUESTS, request_id, principal)
        view = clock.compute(state, self.calendar(), local_date(self.clock())).as_dict()
        return {"request_id": str(request_id), "status": state.status, **view}

    async def history(self, request_id: UUID, principal: Principal) -> list[dict[str, Any]]:
        """The request's events without personal data: what happened, when, by whom."""
        events = await self.store.read_stream(request_stream(request_id))
        if not events or not within_scope(principal, events[0].tenant):
            raise _not_found(request_id)
        return [
            {
                "version": e.version,
                "type": e.type,
                "recorded_at": e.recorded_at.isoformat(),
                "actor": e.actor.id,
                "payload": {k: v for k, v in e.payload.items() if k != "applicant"},
            }
            for e in events
        ]

    async def register(
        self,
        cmd: c.RegisterRequest,
        principal: Principal,
        correlation_id: UUID,
        also: Callable[[RequestRegistered, Actor], StreamWrite] | None = None,
    ) -> RecordedEvent:
        """Register a request with the next number of its tenant's yearly register.

        The number is the version of the register stream; the register and the
        request are appended in one atomic write, so numbers have no gaps and no
        duplicates. Registrations in this process take turns per register (a lock), and
        the register's version is remembered from the last append, so the usual
        registration is one append. Another process registering in the same township
        (a second replica) makes the append conflict: the version is read again and the
        registration retried with the next number. `also` adds a write of another stream to
        the same atomic append (an online request's confirmation, `confirm_online`).
        """
        tenant = cmd.tenant or str(principal.org)
        org = self.orgs.get(tenant)
        authorize(principal, tenant, *HANDLING_ROLES)
        actor = actor_of(principal, _acting_role(principal))
        today = local_date(self.clock())
        year = today.year
        request_id = new_id()
        register = register_stream(tenant, year)
        turn = self._turns.get(register)
        if turn is None:
            turn = self._turns[register] = asyncio.Lock()
        async with turn:
            for attempt in range(NUMBERING_ATTEMPTS):
                current = self._registers.get(register)
                if current is None:
                    current = await self.store.stream_version(register)
                sequence = current + 1
                registered = domain.register(
                    cmd,
                    request_id=request_id,
                    short_name=org.short_name,
                    year=year,
                    sequence=sequence,
                    today=today,
                    calendar=self.calendar(),
                )
                issued = RegistrationNumberIssued(
                    year=year, sequence=sequence, number=registered.number, request_id=request_id
                )
                extra = [also(registered, actor)] if also is not None else []
                try:
                    recorded = await self.store.append(
                        [
                            StreamWrite(
                                stream_id=register,
                                stream_type=issued.stream_type,
                                expected_version=current,
                                events=(to_new_event(issued, tenant, actor, correlation_id),),
                            ),
                            StreamWrite(
                                stream_id=request_stream(request_id),
                                stream_type=registered.stream_type,
                                expected_version=0,
                                events=(to_new_event(registered, tenant, actor, correlation_id),),
                            ),
                            *extra,
                        ]
                    )
                except ConcurrencyConflict:
                    self._registers.pop(register, None)  # another process numbered: read again
                    await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))
                    continue
                except BaseException:
                    self._registers.pop(register, None)  # committed or not: read again
                    raise
                self._registers[register] = sequence
                return recorded[1]
        raise ConcurrencyConflict(
            rule="register.busy",
            field="tenant",
            message_zh="登记编号分配繁忙，请重试",
            message_en="too many concurrent registrations; please retry",
        )

    async def submit_online(
        self, cmd: c.SubmitOnlineRequest, correlation_id: UUID
    ) -> tuple[RecordedEvent, str, str]:
        """网上申请 from the public (no account): recorded, not yet received (Art. 31(3)).
        Answers the event, the tracking code and the query password: the only time either
        exists in clear."""
        organs = {str(self.orgs.district.path), *(str(t.path) for t in self.orgs.townships())}
        if cmd.tenant not in organs:
            raise ValidationFailed(
                rule="online_request.organ_unknown",
                field="tenant",
                message_zh="受理机关：请选择区政府或一个镇（乡）政府",
                message_en="tenant must be the district or one of its townships",
            )
        code, password = online.new_tracking_code(), online.new_query_password()
        submission_id = new_id()
        event = await asyncio.to_thread(  # scrypt: off the event loop
            online.submit,
            cmd,
            submission_id=submission_id,
            tracking_code=code,
            query_password=password,
            today=local_date(self.clock()),
        )
        recorded = await self.store.append(
            [
                StreamWrite(
                    stream_id=online_stream(submission_id),
                    stream_type=event.stream_type,
                    expected_version=0,
                    events=(to_new_event(event, cmd.tenant, PUBLIC_APPLICANT, correlation_id),),
                )
            ]
        )
        return recorded[0], code, password

    async def confirm_online(
        self,
        submission_id: UUID,
        cmd: c.ConfirmOnlineRequest,
        principal: Principal,
        correlation_id: UUID,
    ) -> RecordedEvent:
        """确认收到: the submission becomes a registered request received on the day
        confirmed (Art. 31(3)), with the confirmation in the same atomic write."""
        events = await self.store.read_stream(online_stream(submission_id))
        if not events or not within_scope(principal, events[0].tenant):
            raise NotFound(
                rule="online_request.unknown",
                field="submission_id",
                message_zh="没有这份网上申请",
                message_en="no such online request",
            )
        tenant = events[0].tenant
        confirmed = any(e.type == "OnlineRequestConfirmed" for e in events)
        cmd_register = online.registration(events[0].payload, confirmed, tenant, cmd.confirmed_on)

        def confirmation(registered: RequestRegistered, actor: Actor) -> StreamWrite:
            event = OnlineRequestConfirmed(
                submission_id=submission_id,
                request_id=registered.request_id,
                number=registered.number,
                confirmed_on=registered.received_on,
                reply_due=registered.reply_due,
            )
            return StreamWrite(
                stream_id=online_stream(submission_id),
                stream_type=event.stream_type,
                expected_version=len(events),
                events=(to_new_event(event, tenant, actor, correlation_id),),
            )

        return await self.register(cmd_register, principal, correlation_id, also=confirmation)


def online_stream(submission_id: UUID) -> str:
    return f"online-request-{submission_id}"


#: The actor of a submission from the public form: no account, no name in the envelope.
PUBLIC_APPLICANT = Actor(id="public-applicant", kind="user", role=None)


def _not_found(request_id: UUID) -> NotFound:
    return REQUESTS.not_found(request_id)


def _acting_role(principal: Principal) -> Role:
    return acting_role(principal, HANDLING_ROLES)


async def annual_report_of(
    h: ApplicationsHandlers, tenant: str, year: int, principal: Principal
) -> dict[str, Any]:
    """Section 三 of the annual report for `tenant` and `year`, from the event log."""
    from services.applications import report

    authorize(principal, tenant, write=False)
    h.orgs.get(tenant)
    events = await report.read_log(h.store)
    townships = [str(t.path) for t in h.orgs.townships()]
    return report.build(events, tenant, year, townships)


async def open_review(
    h: ApplicationsHandlers,
    request_id: UUID,
    cmd: reviews.OpenCase,
    principal: Principal,
    correlation_id: UUID,
) -> RecordedEvent:
    """Record a 行政复议 or 行政诉讼 about a request's decision (report section 四)."""
    state, tenant, _version = await load(h, REQUESTS, request_id, principal)
    authorize(principal, tenant, *HANDLING_ROLES)
    assert state.received_on is not None
    case_id = new_id()
    event = reviews.open_case(cmd, case_id, request_id, state.received_on, local_date(h.clock()))
    (recorded,) = await h.store.append(
        [
            StreamWrite(
                stream_id=f"review-case-{case_id}",
                stream_type=event.stream_type,
                expected_version=0,
                events=(
                    to_new_event(
                        event, tenant, actor_of(principal, _acting_role(principal)), correlation_id
                    ),
                ),
            )
        ]
    )
    return recorded


async def decide_review(
    h: ApplicationsHandlers,
    request_id: UUID,
    case_id: UUID,
    cmd: reviews.DecideCase,
    principal: Principal,
    correlation_id: UUID,
) -> RecordedEvent:
    stream = f"review-case-{case_id}"
    events = await h.store.read_stream(stream)
    cases = reviews.fold_cases(events)
    opened = events[0].payload.get("request_id") if events else None
    if case_id not in cases or opened != str(request_id):
        raise NotFound(
            rule="review_case.not_found",
            field="case_id",
            message_zh="未找到该复议或诉讼案件",
            message_en=f"no case {case_id} for request {request_id}",
        )
    case = cases[case_id]
    if not within_scope(principal, case.tenant):
        raise _not_found(request_id)
    authorize(principal, case.tenant, *HANDLING_ROLES)
    event = reviews.decide_case(case, cmd, local_date(h.clock()))
    (recorded,) = await h.store.append(
        [
            StreamWrite(
                stream_id=stream,
                stream_type=event.stream_type,
                expected_version=len(events),
                events=(
                    to_new_event(
                        event,
                        case.tenant,
                        actor_of(principal, _acting_role(principal)),
                        correlation_id,
                    ),
                ),
            )
        ]
    )
    return recorded


async def record_text(
    h: ApplicationsHandlers,
    year: int,
    cmd: c.RecordAnnualReportText,
    principal: Principal,
    correlation_id: UUID,
    today: date,
) -> RecordedEvent:
    """The openness-office head writes one text part of the report (条例 Art. 50)."""
    tenant = cmd.tenant or str(principal.org)
    authorize(principal, tenant, Role.OPENNESS_OFFICE_HEAD)
    h.orgs.get(tenant)
    if year > today.year:
        raise ValidationFailed(
            rule="date.in_future",
            field="year",
            message_zh=f"不能撰写 {year} 年的年度报告：该年度尚未开始",
            message_en=f"the year {year} has not begun",
        )
    event = AnnualReportTextRecorded(
        tenant=tenant, year=year, section=cmd.section, text=cmd.text, recorded_by=principal.sub
    )
    recorded: RecordedEvent
    (recorded,) = await h.store.append(
        [
            StreamWrite(
                stream_id=annual_report_stream(tenant, year),
                stream_type=event.stream_type,
                expected_version=None,
                events=(
                    to_new_event(
                        event,
                        tenant,
                        actor_of(principal, Role.OPENNESS_OFFICE_HEAD),
                        correlation_id,
                    ),
                ),
            )
        ]
    )
    return recorded
