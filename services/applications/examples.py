"""Realistic example payloads of the lifecycle events, for the contract tests.

tests/contract/test_contracts.py validates every published schema against a
real payload of its model; these are the applications service's examples
(a 苏店镇 request received 2026-02-10, DOMAIN.md §2).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from uuid import UUID

from services.applications import annual_publication as ap
from services.applications import events as le
from services.applications import reviews as rv
from services.applications.commands import PublishAnnualReport
from services.applications.events import ApplicantDataRead
from shared.registry import DomainEvent

REQUEST = UUID("01936f0e-7c1b-7000-8000-0000000000a1")
CONSULTATION = UUID("01936f0e-7c1b-7000-8000-0000000000c1")
CASE = UUID("01936f0e-7c1b-7000-8000-0000000000d1")
DOCUMENT = UUID("01936f0e-7c1b-7000-8000-0000000000e1")


def _clock() -> dict[str, Callable[[], DomainEvent]]:
    r = REQUEST
    return {
        "CorrectionRequested": lambda: le.CorrectionRequested(
            request_id=r,
            defects=["请写明所需信息的年份", "请提供身份证明复印件"],
            notified_on=date(2026, 2, 12),
            correction_due=date(2026, 3, 9),
        ),
        "CorrectionReceived": lambda: le.CorrectionReceived(
            request_id=r, corrected_on=date(2026, 3, 2), reply_due=date(2026, 3, 30)
        ),
        "CorrectionLapsed": lambda: le.CorrectionLapsed(
            request_id=r, correction_due=date(2026, 3, 9), lapsed_on=date(2026, 3, 10)
        ),
        "ConsultationStarted": lambda: le.ConsultationStarted(
            request_id=r,
            consultation_id=CONSULTATION,
            party_kind=le.PartyKind.agency,
            party="上党区财政局",
            started_on=date(2026, 3, 3),
            answer_due=date(2026, 3, 24),
        ),
        "ConsultationEnded": lambda: le.ConsultationEnded(
            request_id=r,
            consultation_id=CONSULTATION,
            ended_on=date(2026, 3, 24),
            outcome=le.ConsultationOutcome.consent,
            deemed_consent=True,
            reply_due=date(2026, 4, 21),
        ),
        "ExtensionGranted": lambda: le.ExtensionGranted(
            request_id=r,
            working_days=20,
            reason="涉及多个站所，需汇总核实",
            approved_by="guo-xinxin",
            applicant_notified_on=date(2026, 3, 10),
            reply_due=date(2026, 4, 14),
        ),
        "FeeNoticeIssued": lambda: le.FeeNoticeIssued(
            request_id=r,
            mode=le.FeeMode.per_page,
            pages=120,
            amount_yuan=1100,
            notified_on=date(2026, 2, 24),
            pay_by=date(2026, 3, 24),
        ),
        "FeePaid": lambda: le.FeePaid(
            request_id=r, amount_yuan=1100, paid_on=date(2026, 2, 27), reply_due=date(2026, 3, 19)
        ),
        "FeeLapsed": lambda: le.FeeLapsed(
            request_id=r, pay_by=date(2026, 3, 24), lapsed_on=date(2026, 3, 25)
        ),
    }


def _conclusions() -> dict[str, Callable[[], DomainEvent]]:
    r = REQUEST
    return {
        "RequestReplied": lambda: le.RequestRepliedV1(
            request_id=r,
            reply_type=le.ReplyType.partial,
            withholding_reason=le.WithholdingReason.third_party_rights,
            legal_basis="《政府信息公开条例》第十五条、第三十七条",
            replied_on=date(2026, 3, 12),
            report_row="三(二)",
        ),
        "DeliveryRecorded": lambda: le.DeliveryRecorded(
            request_id=r,
            document=le.NoticeDocument.reply,
            channel="post",
            evidence_kind=le.EvidenceKind.postal_tracking,
            evidence_ref="EMS 1190012345678",
            delivered_on=date(2026, 3, 13),
        ),
        "RequestArchived": lambda: le.RequestArchived(request_id=r, archived_on=date(2026, 3, 20)),
        "ApplicantDataRead": lambda: ApplicantDataRead(
            request_ids=[r], endpoint="GET /v1/requests/{request_id}", fields=["applicant"]
        ),
        "RequestWithdrawnByApplicant": lambda: le.RequestWithdrawnByApplicant(
            request_id=r, withdrawn_on=date(2026, 2, 20), note="申请人来电撤回"
        ),
        "DeadlineApproaching": lambda: le.DeadlineApproaching(
            request_id=r,
            reply_due=date(2026, 3, 16),
            working_days_left=5,
            noticed_on=date(2026, 3, 9),
        ),
        "ExcessiveReasonsRequested": lambda: le.ExcessiveReasonsRequested(
            request_id=r, asked_on=date(2026, 2, 12), note="请说明一次申请 120 项信息的理由"
        ),
        "LaterReplyDateSet": lambda: le.LaterReplyDateSet(
            request_id=r,
            reply_due=date(2026, 5, 29),
            reason="申请数量大，需分批答复",
            applicant_notified_on=date(2026, 2, 20),
        ),
        "ReplyDueRecomputed": lambda: le.ReplyDueRecomputed(
            request_id=r,
            previous_reply_due=date(2027, 1, 18),
            reply_due=date(2027, 1, 19),
            provisional=False,
            calendars=["2026: chinese-calendar 1.11.0 v1", "2027: 国办发明电〔2026〕7号 v1"],
        ),
        "ReviewCaseOpened": lambda: rv.ReviewCaseOpened(
            case_id=CASE,
            request_id=r,
            kind=rv.CaseKind.review,
            filed_on=date(2026, 4, 1),
            body="长治市上党区人民政府",
        ),
        "ReviewCaseDecided": lambda: rv.ReviewCaseDecided(
            case_id=CASE, result=rv.CaseResult.upheld, decided_on=date(2026, 5, 28)
        ),
        "DeadlineMissed": lambda: le.DeadlineMissed(
            request_id=r, reply_due=date(2026, 3, 16), noticed_on=date(2026, 3, 17)
        ),
    }


def _later_versions() -> dict[str, Callable[[], DomainEvent]]:
    return {
        "applications/RequestReplied.v2": lambda: le.RequestReplied(
            request_id=REQUEST,
            reply_type=le.ReplyType.already_public,
            location="苏店镇2026年农村低保资金发放情况公示：/v1/public/catalog/documents/"
            "01936f0e-7c1b-7000-8000-0000000000e1",
            public_document_id=DOCUMENT,
            replied_on=date(2026, 2, 24),
            report_row="三(一)",
        ),
        "applications/AnnualReportTextRecorded.v1": lambda: le.AnnualReportTextRecorded(
            tenant="shangdang/sudian",
            year=2026,
            section=le.TextSection.problems,
            text="部分栏目更新不及时；下一步将建立栏目更新提醒机制。",
            recorded_by="wang.fang",
        ),
    }


def _annual_publication() -> dict[str, Callable[[], DomainEvent]]:
    """苏店镇's 2025 report published late and copied from 2024's (decided by the domain)."""
    texts = {
        "overview": "2025年，苏店镇坚持以公开为常态、不公开为例外，全面推进政务公开工作。",
        "problems": "部分栏目更新不及时；下一步将建立栏目更新提醒机制。",
    }

    def published() -> DomainEvent:
        return ap.decide_publication(
            tenant="shangdang/sudian",
            year=2025,
            government=False,
            report={"title": "苏店镇2025年政府信息公开工作年度报告"},
            texts=texts,
            history=[],
            previous_text=ap.office_text(texts),
            cmd=PublishAnnualReport(published_on=date(2026, 2, 3), url=None),
            today=date(2026, 2, 3),
            publisher="wang.fang",
        )

    def missed() -> DomainEvent:
        event = ap.decide_missed("shangdang/handian", 2025, False, [], date(2026, 2, 1))
        assert event is not None
        return event

    return {
        "applications/AnnualReportPublished.v1": published,
        "applications/AnnualReportMissed.v1": missed,
    }


SUBMISSION = UUID("01936f0e-7c1b-7000-8000-0000000000f1")


def _online() -> dict[str, Callable[[], DomainEvent]]:
    """网上申请 from the portal, confirmed by the office the next working day (Art. 31(3))."""
    return {
        "applications/OnlineRequestSubmitted.v1": lambda: le.OnlineRequestSubmitted(
            submission_id=SUBMISSION,
            tracking_code_hash="5d41402abc4b2a76b9719d911017c592" * 2,
            query_password_hash="scrypt$16384$8$1$00112233445566778899aabbccddeeff$" + "ab" * 32,
            submitted_on=date(2026, 2, 9),
            applicant=le.Applicant(
                kind=le.ApplicantKind.natural_person,
                name="李建国",
                id_document="居民身份证 140402196505123456",
                phone="13803551234",
                address="长治市上党区苏店镇苏店村东街12号",
            ),
            description="2025年苏店村集体土地征收补偿标准及补偿款发放明细",
            requested_form=le.RequestedForm.paper,
            delivery_channel=le.DeliveryChannel.post,
        ),
        "applications/OnlineRequestConfirmed.v1": lambda: le.OnlineRequestConfirmed(
            submission_id=SUBMISSION,
            request_id=REQUEST,
            number="苏店〔2026〕7号",
            confirmed_on=date(2026, 2, 10),
            reply_due=date(2026, 3, 13),
        ),
    }


EXAMPLES: dict[str, Callable[[], DomainEvent]] = {
    **{f"applications/{name}.v1": make for name, make in (_clock() | _conclusions()).items()},
    **_later_versions(),
    **_annual_publication(),
    **_online(),
}
