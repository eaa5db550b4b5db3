"""Realistic example payloads of the sentiment events, for the contract tests.

tests/contract/test_contracts.py validates every published schema against a real payload of
its model; these are the sentiment service's (a 苏店镇 message board complaint, DOMAIN.md §4).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

from services.sentiment import events as e
from shared.registry import DomainEvent

MESSAGE = UUID("01936f0e-7c1b-7000-8000-0000000000a1")
CASE = UUID("01936f0e-7c1b-7000-8000-0000000000c1")
AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
DUE = AT + timedelta(hours=48)

EXAMPLES: dict[str, Callable[[], DomainEvent]] = {
    "sentiment/MessageReceived.v1": lambda: e.MessageReceived(
        message_id=MESSAGE,
        source=e.Source.message_board,
        kind=e.MessageKind.opinion,
        title="工地夜间施工噪音扰民",
        text="幸福小区东侧工地每天晚上十一点以后还在施工，噪音非常大。",
        received_at=AT,
        citizen=e.Citizen(name="王秀英", phone="13812345678"),
        dedup_key="0" * 64,
        tracking_code_hash="1" * 64,
    ),
    "sentiment/MessageClassified.v1": lambda: e.MessageClassified(
        message_id=MESSAGE,
        model_id="lexicon-default-v1",
        category="城乡建设",
        category_confidence=0.93,
        category_reasons=["施工", "工地", "小区"],
        tags=[e.Tag(tag="环境污染", reasons=["噪音"])],
        polarity="negative",
        sentiment_score=-0.8,
        intensity=0.7,
        sentiment_reasons=["噪音", "扰民"],
        urgency="normal",
        urgency_classes=[],
        urgency_reasons=[],
    ),
    "sentiment/MessageLinkedToCase.v1": lambda: e.MessageLinkedToCase(
        message_id=MESSAGE, case_id=CASE, similarity=None, opened_case=True
    ),
    "sentiment/CaseOpened.v1": lambda: e.CaseOpened(
        case_id=CASE,
        first_message_id=MESSAGE,
        source=e.Source.message_board,
        kind=e.MessageKind.opinion,
        category="城乡建设",
        tags=["环境污染"],
        urgency="normal",
        opened_at=AT,
        deadlines=[e.Deadline(name="response", due_at=DUE, rule="政务舆情：48 小时内回应")],
        response_due=DUE,
    ),
    "sentiment/CaseMessageAdded.v1": lambda: e.CaseMessageAdded(
        case_id=CASE, message_id=MESSAGE, similarity=0.72
    ),
    "sentiment/CaseAssigned.v1": lambda: e.CaseAssigned(
        case_id=CASE, unit="shangdang/sudian/law-enforcement", officer="liu-yang"
    ),
    "sentiment/CaseAccepted.v1": lambda: e.CaseAccepted(
        case_id=CASE, unit="shangdang/sudian/law-enforcement"
    ),
    "sentiment/CaseReturned.v1": lambda: e.CaseReturned(
        case_id=CASE, unit="shangdang/sudian/law-enforcement", reason="不属本单位职责"
    ),
    "sentiment/CaseExtensionRequested.v1": lambda: e.CaseExtensionRequested(
        case_id=CASE, reason="需现场核查", requested_due=DUE + timedelta(days=2)
    ),
    "sentiment/CaseExtensionDecided.v1": lambda: e.CaseExtensionDecided(
        case_id=CASE, approved=True, response_due=DUE + timedelta(days=2)
    ),
    "sentiment/CaseReminded.v1": lambda: e.CaseReminded(case_id=CASE, level="supervision"),
    "sentiment/CaseResponded.v1": lambda: e.CaseResponded(
        case_id=CASE, response="已责令工地晚十点后停工。", responded_at=AT, on_time=True
    ),
    "sentiment/CaseResultPublished.v1": lambda: e.CaseResultPublished(
        case_id=CASE, channel="政府网站", url="https://www.shangdang.gov.cn/x/1", published_at=AT
    ),
    "sentiment/CaseFollowedUp.v1": lambda: e.CaseFollowedUp(case_id=CASE, satisfaction="satisfied"),
    "sentiment/CaseReopened.v1": lambda: e.CaseReopened(
        case_id=CASE, reason="群众反映仍在夜间施工", response_due=DUE
    ),
    "sentiment/CaseEscalated.v1": lambda: e.CaseEscalated(
        case_id=CASE, level=1, escalated_to=["township_principal_leader"], overdue_since=DUE
    ),
    "sentiment/HotspotDetected.v1": lambda: e.HotspotDetected(
        township="shangdang/sudian",
        category="环境保护",
        window_start=AT,
        window_end=AT + timedelta(hours=24),
        message_count=6,
        negative_intensity=3.4,
        crossed=["count", "negative_intensity"],
    ),
    "sentiment/CitizenDataRead.v1": lambda: e.CitizenDataRead(
        message_ids=[MESSAGE], endpoint="GET /v1/messages/{message_id}", fields=["citizen"]
    ),
    "sentiment/PolicyMisreadingReported.v1": lambda: e.PolicyMisreadingReported(
        case_id=CASE,
        document_id=UUID("01936f0e-7c1b-7000-8000-0000000000d1"),
        policy_title="苏店镇人民政府关于印发《苏店镇农村人居环境整治长效管护办法》的通知",
        document_number="苏政发〔2026〕12号",
        policy_township="shangdang/sudian",
        misreading="群众误以为保洁员经费由村民按每户每月八百元分摊，文件规定由镇财政补助",
        reported_by="liu-yang",
        classified_misreading=True,
        match_score=1.0,
        match_reasons=["文号：苏政发〔2026〕12号"],
    ),
}
