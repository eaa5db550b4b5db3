"""Pure rules of the 依申请公开 lifecycle (DOMAIN.md §2; 条例 Arts. 30, 32–39, 42, 45)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.applications import clock, domain
from services.applications import commands as c
from services.applications.state import RequestState
from shared.envelope import new_id
from shared.errors import DomainRuleViolated, GongkaiError, NotFound, ValidationFailed
from shared.registry import DomainEvent
from shared.workdays import WorkdayCalendar

CAL = WorkdayCalendar.default()


def registered(received: str = "2026-02-10", today: date = date(2026, 2, 10)) -> RequestState:
    cmd = c.RegisterRequest.model_validate(
        {
            "channel": "in_person",
            "submitted_on": received,
            "applicant": {
                "kind": "natural_person",
                "name": "王秀英",
                "id_document": "居民身份证",
                "phone": "13812345678",
            },
            "description": "申请公开苏店镇2025年度惠民惠农资金发放名单",
            "requested_form": "paper",
            "delivery_channel": "post",
        }
    )
    event = domain.register(
        cmd,
        request_id=new_id(),
        short_name="苏店",
        year=2026,
        sequence=1,
        today=today,
        calendar=CAL,
    )
    return domain.evolve(RequestState(), event)


def then(state: RequestState, *events: DomainEvent) -> RequestState:
    for event in events:
        state = domain.evolve(state, event)
    return state


def refused(kind: type[GongkaiError], rule: str, call: Any) -> GongkaiError:
    with pytest.raises(kind) as caught:
        call()
    assert caught.value.rule == rule, caught.value
    assert caught.value.message_zh and caught.value.message_en and caught.value.field
    return caught.value


def reply_cmd(**kw: Any) -> c.Reply:
    return c.Reply.model_validate({"reply_type": "disclosed", "replied_on": "2026-03-02", **kw})


# --- 补正 (Art. 30) ---------------------------------------------------------------------


def test_reply_clock_restarts_after_correction__art30() -> None:
    s = registered()
    notice = domain.request_correction(
        s,
        c.RequestCorrection(
            defects=["未写明所需信息的文号", "未提供身份证明"], notified_on=date(2026, 2, 12)
        ),
        date(2026, 2, 12),
        CAL,
    )
    s = then(s, notice)
    assert s.status == "awaiting_correction"
    assert clock.compute(s, CAL, date(2026, 2, 13)).state == "awaiting_correction"
    corrected = domain.receive_correction(
        s, c.ReceiveCorrection(corrected_on=date(2026, 3, 2)), date(2026, 3, 2), CAL
    )
    # 20 working days from Mon 2026-03-02 (not counted): 3/3 … 3/30.
    assert corrected.reply_due == date(2026, 3, 30)
    s = then(s, corrected)
    view = clock.compute(s, CAL, date(2026, 3, 2))
    assert view.clock_start == date(2026, 3, 2) and view.due == date(2026, 3, 30)
    assert any("重新计算" in line for line in view.explanation)


def test_one_correction_notice_only_and_within_seven_working_days__art30() -> None:
    s = registered()
    refused(
        DomainRuleViolated,
        "correction.notice_late",
        lambda: domain.request_correction(
            s,
            c.RequestCorrection(defects=["内容不明确"], notified_on=date(2026, 2, 27)),
            date(2026, 2, 27),
            CAL,
        ),
    )
    s = then(
        s,
        domain.request_correction(
            s,
            c.RequestCorrection(defects=["内容不明确"], notified_on=date(2026, 2, 26)),
            date(2026, 2, 26),
            CAL,
        ),
    )
    refused(
        DomainRuleViolated,
        "correction.already_requested",
        lambda: domain.request_correction(
            s,
            c.RequestCorrection(defects=["另一事项"], notified_on=date(2026, 2, 26)),
            date(2026, 2, 26),
            CAL,
        ),
    )


def test_late_correction_needs_a_good_reason__art30() -> None:
    s = registered()
    s = then(
        s,
        domain.request_correction(
            s,
            c.RequestCorrection(
                defects=["内容不明确"], notified_on=date(2026, 2, 11), correction_period_days=3
            ),
            date(2026, 2, 11),
            CAL,
        ),
    )
    assert s.correction_due == date(2026, 2, 14)  # 12, 13, 14: the 调休 Saturday is a workday
    late = c.ReceiveCorrection(corrected_on=date(2026, 2, 26))
    refused(
        DomainRuleViolated,
        "correction.late",
        lambda: domain.receive_correction(s, late, date(2026, 2, 26), CAL),
    )
    ok = domain.receive_correction(
        s,
        c.ReceiveCorrection(corrected_on=date(2026, 2, 26), late_reason="春节返乡，邮件延误"),
        date(2026, 2, 26),
        CAL,
    )
    assert ok.late_reason


# --- 征求意见 (Arts. 32, 34) --------------------------------------------------------------


def test_consultation_stops_the_clock_and_agency_silence_is_consent__art32_art34() -> None:
    s = registered()
    cid = new_id()
    started = domain.start_consultation(
        s,
        c.StartConsultation(
            party_kind="agency", party="上党区自然资源局", started_on=date(2026, 2, 24)
        ),
        date(2026, 2, 24),
        CAL,
        cid,
    )
    assert started.answer_due == CAL.add_workdays(date(2026, 2, 24), 15).due
    s = then(s, started)
    assert s.status == "consulting"
    assert clock.compute(s, CAL, date(2026, 2, 26)).state == "paused"
    early = c.EndConsultation(ended_on=date(2026, 3, 2), outcome="no_answer")
    refused(
        DomainRuleViolated,
        "consultation.answer_period_running",
        lambda: domain.end_consultation(s, cid, early, date(2026, 3, 2), CAL),
    )
    ended = domain.end_consultation(
        s,
        cid,
        c.EndConsultation(ended_on=started.answer_due, outcome="no_answer"),
        started.answer_due,
        CAL,
    )
    assert ended.deemed_consent and ended.outcome.value == "consent"
    # The 15 paused working days are added to the original due date 2026-03-16.
    assert ended.reply_due == CAL.add_workdays(date(2026, 3, 16), 15).due
    refused(
        NotFound,
        "consultation.not_open",
        lambda: domain.end_consultation(then(s, ended), cid, early, date(2026, 3, 20), CAL),
    )


def test_pause_is_capped_at_the_fifteen_working_days_of_the_consulted_party__art32() -> None:
    s = registered()
    cid = new_id()
    s = then(
        s,
        domain.start_consultation(
            s,
            c.StartConsultation(
                party_kind="third_party", party="某建材有限公司", started_on=date(2026, 2, 24)
            ),
            date(2026, 2, 24),
            CAL,
            cid,
        ),
    )
    late_end = domain.end_consultation(
        s,
        cid,
        c.EndConsultation(ended_on=date(2026, 4, 30), outcome="objection"),
        date(2026, 4, 30),
        CAL,
    )
    assert late_end.reply_due == CAL.add_workdays(date(2026, 3, 16), 15).due


# --- 延期 (Art. 33 ¶2) -------------------------------------------------------------------


def test_extension_once_at_most_twenty_working_days__art33() -> None:
    s = registered()
    cmd = c.GrantExtension(
        working_days=20, reason="涉及多个站所，需汇总核实", applicant_notified_on=date(2026, 3, 10)
    )
    granted = domain.grant_extension(s, cmd, date(2026, 3, 10), CAL, "guo-xinxin")
    assert granted.reply_due == CAL.add_workdays(date(2026, 2, 10), 40).due
    assert granted.approved_by == "guo-xinxin"
    s = then(s, granted)
    refused(
        DomainRuleViolated,
        "extension.already_granted",
        lambda: domain.grant_extension(s, cmd, date(2026, 3, 11), CAL, "guo-xinxin"),
    )
    with pytest.raises(ValueError):
        c.GrantExtension(working_days=21, reason="过长", applicant_notified_on=date(2026, 3, 10))


def test_extension_after_the_due_date_is_refused__art33() -> None:
    cmd = c.GrantExtension(
        working_days=5, reason="需要核实", applicant_notified_on=date(2026, 3, 17)
    )
    refused(
        DomainRuleViolated,
        "extension.after_due",
        lambda: domain.grant_extension(registered(), cmd, date(2026, 3, 17), CAL, "x"),
    )


# --- 答复 (Arts. 36–39) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "row"),
    [
        (
            {"reply_type": "already_public", "location": "http://www.shangdang.gov.cn/xxgk/1"},
            "三(一)",
        ),
        ({"reply_type": "disclosed"}, "三(一)"),
        (
            {
                "reply_type": "partial",
                "withholding_reason": "third_party_rights",
                "legal_basis": "条例第十五条、第三十七条",
            },
            "三(二)",
        ),
        (
            {
                "reply_type": "not_disclosed",
                "withholding_reason": "process_information",
                "legal_basis": "条例第十六条第二款",
            },
            "三(三)6",
        ),
        ({"reply_type": "special_regime", "note": "不动产登记资料查询"}, "三(三)8"),
        ({"reply_type": "not_exist"}, "三(四)1"),
        ({"reply_type": "not_this_agency", "right_agency": "上党区住建局"}, "三(四)1"),
        ({"reply_type": "no_compilation"}, "三(四)2"),
        ({"reply_type": "petition"}, "三(五)1"),
        ({"reply_type": "repeated"}, "三(五)2"),
        ({"reply_type": "publication", "location": "新华书店"}, "三(五)3"),
        ({"reply_type": "excessive"}, "三(五)4"),
        ({"reply_type": "confirmation_request"}, "三(五)5"),
        ({"reply_type": "other", "note": "申请人要求咨询政策"}, "三(六)3"),
    ],
)
def test_each_reply_type_lands_in_its_annual_report_row__art36_to_39(
    fields: dict[str, Any], row: str
) -> None:
    event = domain.reply(registered(), reply_cmd(**fields), date(2026, 3, 2))
    assert event.report_row == row


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"reply_type": "not_disclosed"}, "withholding_reason"),
        ({"reply_type": "not_disclosed", "withholding_reason": "state_secret"}, "legal_basis"),
        ({"reply_type": "partial", "legal_basis": "第三十七条"}, "withholding_reason"),
        ({"reply_type": "already_public"}, "location"),
    ],
)
def test_reply_types_without_their_required_reasons_are_refused__art36(
    fields: dict[str, Any], field: str
) -> None:
    err = refused(
        ValidationFailed,
        "reply.location_required" if field == "location" else "reply.reason_required",
        lambda: domain.reply(registered(), reply_cmd(**fields), date(2026, 3, 2)),
    )
    assert err.field == field


def test_reply_after_archive_is_refused__art45() -> None:
    s = registered()
    s = then(s, domain.reply(s, reply_cmd(), date(2026, 3, 2)))
    refused(
        DomainRuleViolated,
        "archive.reply_not_delivered",
        lambda: domain.archive(s, c.Archive(archived_on=date(2026, 3, 3)), date(2026, 3, 3)),
    )
    delivered = domain.record_delivery(
        s,
        c.RecordDelivery(
            document="reply",
            channel="post",
            evidence_kind="postal_tracking",
            evidence_ref="EMS 1234567890",
            delivered_on=date(2026, 3, 3),
        ),
        date(2026, 3, 3),
    )
    s = then(s, delivered)
    s = then(s, domain.archive(s, c.Archive(archived_on=date(2026, 3, 4)), date(2026, 3, 4)))
    assert s.status == "archived"
    refused(
        DomainRuleViolated,
        "request.archived",
        lambda: domain.reply(s, reply_cmd(), date(2026, 3, 5)),
    )


def test_delivery_needs_the_document_and_withdrawal_concludes() -> None:
    s = registered()
    refused(
        DomainRuleViolated,
        "delivery.no_document",
        lambda: domain.record_delivery(
            s,
            c.RecordDelivery(
                document="extension_notice",
                channel="email",
                evidence_kind="email_record",
                evidence_ref="邮件记录 2026-03-01",
                delivered_on=date(2026, 3, 1),
            ),
            date(2026, 3, 1),
        ),
    )
    s = then(s, domain.withdraw(s, c.Withdraw(withdrawn_on=date(2026, 2, 20)), date(2026, 2, 20)))
    assert (s.status, s.report_row) == ("withdrawn", "三(六)3")
    refused(
        DomainRuleViolated,
        "request.concluded",
        lambda: domain.reply(s, reply_cmd(), date(2026, 3, 2)),
    )


def test_dates_in_the_future_are_refused() -> None:
    refused(
        ValidationFailed,
        "date.in_future",
        lambda: domain.reply(registered(), reply_cmd(replied_on="2026-03-03"), date(2026, 3, 2)),
    )


# --- 收费 (Art. 42) ----------------------------------------------------------------------


def test_fee_notice_pauses_the_clock_and_payment_restarts_it__art42() -> None:
    s = registered()
    notice = domain.issue_fee_notice(
        s,
        c.IssueFeeNotice(mode="per_page", pages=120, notified_on=date(2026, 2, 24)),
        date(2026, 2, 24),
        CAL,
        1,
    )
    assert notice.amount_yuan == 70 * 10 + 20 * 20
    s = then(s, notice)
    assert s.status == "awaiting_payment"
    refused(
        DomainRuleViolated, "fee.unpaid", lambda: domain.reply(s, reply_cmd(), date(2026, 3, 2))
    )
    refused(
        ValidationFailed,
        "fee.amount_mismatch",
        lambda: domain.pay_fee(
            s, c.PayFee(amount_yuan=1, paid_on=date(2026, 2, 27)), date(2026, 2, 27), CAL
        ),
    )
    paid = domain.pay_fee(
        s, c.PayFee(amount_yuan=1100, paid_on=date(2026, 2, 27)), date(2026, 2, 27), CAL
    )
    # 2/25, 2/26, 2/27 were paused: three working days added to 2026-03-16.
    assert paid.reply_due == CAL.add_workdays(date(2026, 3, 16), 3).due


def test_fee_scales_are_never_combined_and_free_requests_get_no_notice__art42() -> None:
    s = registered()
    refused(
        ValidationFailed,
        "fee.one_scale_only",
        lambda: domain.issue_fee_notice(
            s,
            c.IssueFeeNotice(mode="per_request", pages=40, notified_on=date(2026, 2, 24)),
            date(2026, 2, 24),
            CAL,
            12,
        ),
    )
    refused(
        DomainRuleViolated,
        "fee.nothing_due",
        lambda: domain.issue_fee_notice(
            s,
            c.IssueFeeNotice(mode="per_request", notified_on=date(2026, 2, 24)),
            date(2026, 2, 24),
            CAL,
            10,
        ),
    )
    s = then(
        s,
        domain.issue_fee_notice(
            s,
            c.IssueFeeNotice(mode="per_request", notified_on=date(2026, 2, 24)),
            date(2026, 2, 24),
            CAL,
            11,
        ),
    )
    assert s.fee is not None and s.fee.amount_yuan == 100
    refused(
        DomainRuleViolated,
        "fee.already_noticed",
        lambda: domain.issue_fee_notice(
            s,
            c.IssueFeeNotice(mode="per_page", pages=40, notified_on=date(2026, 2, 24)),
            date(2026, 2, 24),
            CAL,
            11,
        ),
    )


# --- 申请数量明显超过合理范围 (Art. 35) ------------------------------------------------------


def test_excessive_request_asks_reasons_then_a_later_reply_date__art35() -> None:
    s = registered()
    later = c.SetLaterReplyDate(
        reply_due=date(2026, 5, 29),
        reason="申请数量大，需分批答复",
        applicant_notified_on=date(2026, 2, 20),
    )
    refused(
        DomainRuleViolated,
        "excessive.reasons_not_asked",
        lambda: domain.set_later_reply_date(s, later, date(2026, 2, 20), CAL),
    )
    s = then(
        s,
        domain.ask_excessive_reasons(
            s,
            c.AskExcessiveReasons(asked_on=date(2026, 2, 12), note="请说明申请理由"),
            date(2026, 2, 12),
        ),
    )
    too_early = later.model_copy(update={"reply_due": date(2026, 3, 16)})
    refused(
        ValidationFailed,
        "later_reply_date.not_later",
        lambda: domain.set_later_reply_date(s, too_early, date(2026, 2, 20), CAL),
    )
    s = then(s, domain.set_later_reply_date(s, later, date(2026, 2, 20), CAL))
    view = clock.compute(s, CAL, date(2026, 2, 20))
    assert view.due == date(2026, 5, 29)
    assert any("第三十五条" in line for line in view.explanation)
    excessive = domain.reply(s, reply_cmd(reply_type="excessive"), date(2026, 3, 2))
    assert excessive.report_row == "三(五)4"
