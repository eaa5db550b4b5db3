"""Reply decisions (条例 Arts. 35–39) and the annual-report row of each reply type (pure).

Rows: 国办公开办函〔2021〕30号 section 三, as listed in DOMAIN.md §2.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from services.applications import clock
from services.applications.commands import AskExcessiveReasons, Reply, SetLaterReplyDate
from services.applications.events import (
    ExcessiveReasonsRequested,
    LaterReplyDateSet,
    ReplyType,
    RequestReplied,
)
from services.applications.rules import check_day, invalid, open_request, refuse, running
from services.applications.state import RequestState
from shared.workdays import WorkdayCalendar

#: Annual-report row (国办公开办函〔2021〕30号, section 三) of each reply type that
#: needs no reason; types needing one are resolved in `report_row`.
REPORT_ROW: dict[ReplyType, str] = {
    ReplyType.already_public: "三(一)",
    ReplyType.disclosed: "三(一)",
    ReplyType.partial: "三(二)",
    ReplyType.special_regime: "三(三)8",
    ReplyType.not_exist: "三(四)1",
    ReplyType.not_this_agency: "三(四)1",
    ReplyType.no_compilation: "三(四)2",
    ReplyType.unclear_after_correction: "三(四)3",
    ReplyType.petition: "三(五)1",
    ReplyType.repeated: "三(五)2",
    ReplyType.publication: "三(五)3",
    ReplyType.excessive: "三(五)4",
    ReplyType.confirmation_request: "三(五)5",
    ReplyType.other: "三(六)3",
}
WITHHOLDING_ROW = {
    "state_secret": "三(三)1",
    "law_forbids": "三(三)2",
    "security_stability": "三(三)3",
    "third_party_rights": "三(三)4",
    "internal_affairs": "三(三)5",
    "process_information": "三(三)6",
    "enforcement_files": "三(三)7",
}


def report_row(cmd: Reply) -> str:
    """The annual-report row of a reply; refuses a type without its required reason."""
    if cmd.reply_type in (ReplyType.not_disclosed, ReplyType.partial):
        if cmd.withholding_reason is None or not cmd.legal_basis:
            field = "withholding_reason" if cmd.withholding_reason is None else "legal_basis"
            raise invalid(
                "reply.reason_required",
                field,
                "不予公开或部分公开须说明理由及法律依据（条例第三十六条第三项、第三十七条）",
                "withholding needs its reason and legal basis (Arts. 36(3), 37)",
            )
        if cmd.reply_type is ReplyType.partial:
            return REPORT_ROW[ReplyType.partial]
        return WITHHOLDING_ROW[cmd.withholding_reason.value]
    if cmd.withholding_reason is not None:
        raise invalid(
            "reply.reason_not_applicable",
            "withholding_reason",
            "只有不予公开、部分公开需要不予公开理由",
            "only withholding replies carry a withholding reason",
        )
    if cmd.reply_type in (ReplyType.already_public, ReplyType.publication) and not cmd.location:
        raise invalid(
            "reply.location_required",
            "location",
            "应告知获取该信息的方式和途径（条例第三十六条第一项、第三十九条第二款）",
            "tell where to obtain it (Arts. 36(1), 39 ¶2)",
        )
    if cmd.reply_type in (ReplyType.other, ReplyType.special_regime) and not cmd.note:
        raise invalid("reply.note_required", "note", "须说明处理情况", "explain how it was handled")
    return REPORT_ROW[cmd.reply_type]


@dataclass(frozen=True)
class PublicDocument:
    """A document of the township's proactive catalog, published and in force."""

    document_id: UUID
    title: str
    link: str


def _with_document(cmd: Reply, published: PublicDocument | None) -> Reply:
    """Art. 36(一): a reply 已主动公开 may name the catalog document; its link is the way."""
    if cmd.public_document_id is None:
        return cmd
    if cmd.reply_type is not ReplyType.already_public:
        raise invalid(
            "reply.document_not_applicable",
            "public_document_id",
            "只有“已主动公开”的答复可以指向主动公开的文件（条例第三十六条第一项）",
            "only a reply of type already_public points to a published document (Art. 36(1))",
        )
    if published is None or published.document_id != cmd.public_document_id:
        raise invalid(
            "reply.document_not_public",
            "public_document_id",
            "该文件不在本机关主动公开目录中（未发布、已撤稿或已废止）",
            "no such document is published, in force, in this township's catalog",
        )
    if cmd.location:
        return cmd
    return cmd.model_copy(update={"location": f"{published.title}：{published.link}"})


def reply(
    state: RequestState, cmd: Reply, today: date, published: PublicDocument | None = None
) -> RequestReplied:
    rid = open_request(state)
    running(state, "reply_type")
    if state.open_consultations:
        raise refuse(
            "consultation.open",
            "reply_type",
            "征求意见尚未结束，不能答复",
            "a consultation is still open; record its end first",
        )
    if state.awaiting_payment:
        raise refuse(
            "fee.unpaid", "reply_type", "费用尚未缴纳", "the fee is still awaiting payment"
        )
    if cmd.reply_type is ReplyType.unclear_after_correction and state.corrected_on is None:
        raise refuse(
            "reply.no_correction",
            "reply_type",
            "未经补正，不能以“补正后申请内容仍不明确”答复",
            "no correction was received",
        )
    assert state.clock_start is not None
    check_day(cmd.replied_on, "replied_on", today, state.received_on)
    cmd = _with_document(cmd, published)
    row = report_row(cmd)
    return RequestReplied(
        request_id=rid,
        reply_type=cmd.reply_type,
        withholding_reason=cmd.withholding_reason,
        legal_basis=cmd.legal_basis,
        location=cmd.location,
        right_agency=cmd.right_agency,
        note=cmd.note,
        public_document_id=cmd.public_document_id,
        replied_on=cmd.replied_on,
        report_row=row,
    )


def ask_excessive_reasons(
    state: RequestState, cmd: AskExcessiveReasons, today: date
) -> ExcessiveReasonsRequested:
    """Art. 35: a clearly excessive request — ask the applicant for the reasons first."""
    rid = open_request(state)
    if state.excessive_reasons_asked_on is not None:
        raise refuse(
            "excessive.already_asked",
            "asked_on",
            "已要求申请人说明理由",
            "the applicant was already asked for the reasons",
        )
    check_day(cmd.asked_on, "asked_on", today, state.received_on)
    return ExcessiveReasonsRequested(request_id=rid, asked_on=cmd.asked_on, note=cmd.note)


def set_later_reply_date(
    state: RequestState, cmd: SetLaterReplyDate, today: date, calendar: WorkdayCalendar
) -> LaterReplyDateSet:
    """Art. 35: reasons accepted but too many at once — a stated, later reply date."""
    rid = open_request(state)
    running(state, "reply_due")
    if state.excessive_reasons_asked_on is None:
        raise refuse(
            "excessive.reasons_not_asked",
            "reply_due",
            "须先要求申请人说明理由（条例第三十五条）",
            "ask the applicant for the reasons first (Art. 35)",
        )
    if state.later_reply_date is not None:
        raise refuse(
            "later_reply_date.already_set",
            "reply_due",
            "已确定延后答复期限",
            "a later reply date was already set",
        )
    current = clock.reply_due(state, calendar, today)
    if cmd.reply_due <= current:
        raise invalid(
            "later_reply_date.not_later",
            "reply_due",
            f"延后答复期限应晚于法定期限 {current}",
            f"the later reply date must lie after the statutory due date {current}",
        )
    check_day(cmd.applicant_notified_on, "applicant_notified_on", today, state.received_on)
    return LaterReplyDateSet(
        request_id=rid,
        reply_due=cmd.reply_due,
        reason=cmd.reason,
        applicant_notified_on=cmd.applicant_notified_on,
    )
