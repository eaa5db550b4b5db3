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
CLASSIFIER = UUID("5e7a1c2b-3d4f-4a6b-8c9d-0e1f2a3b4c5d")
MODEL = "m-3f2a9c0d41b7e865"

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
    "sentiment/MessageClassified.v1": lambda: e.MessageClassifiedV1(
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
    "sentiment/MessageClassified.v2": lambda: e.MessageClassified(
        **EXAMPLES["sentiment/MessageClassified.v1"]().model_dump(),
        polarity_model_id="polarity-multi-v1",
    ),
    "sentiment/MessageClassificationCorrected.v1": lambda: e.MessageClassificationCorrected(
        message_id=MESSAGE,
        model_id="lexicon-default-v1",
        old_category="城乡建设",
        new_category="环境保护",
        old_polarity=e.Polarity.neutral,
        new_polarity=e.Polarity.negative,
        reason="噪音扰民属环境保护（噪声污染）",
        corrected_by="liu-yang",
    ),
    "sentiment/ModelRegistered.v1": lambda: e.ModelRegistered(
        classifier_id=CLASSIFIER,
        model_id=MODEL,
        kind="linear",
        training=e.TrainingSet(
            description="messages_labeled_sample.csv (495 rows) + category tree "
            "label_taxonomy.csv + corrections in the log",
            sample_rows=495,
            corrections=120,
            corrections_train=84,
            corrections_held_out=36,
            polarity_corrections=7,
            classes=["交通运输", "城乡建设", "环境保护"],
        ),
        evaluation=e.Evaluation(
            rows=36,
            accuracy=0.861,
            macro_f1=0.842,
            per_class=[
                e.ClassFigures(label="城乡建设", precision=0.9, recall=0.818, f1=0.857, support=22),
                e.ClassFigures(label="环境保护", precision=0.8, recall=0.857, f1=0.828, support=14),
            ],
            confusion=[("城乡建设", "城乡建设", 18), ("城乡建设", "环境保护", 4)],
        ),
        baseline=None,
        artefact=f"db:sentiment/sentiment_model_artefacts/{MODEL}",
        artefact_sha256="a" * 64,
        artefact_bytes=5_123_456,
    ),
    "sentiment/ModelShadowStarted.v1": lambda: e.ModelShadowStarted(
        classifier_id=CLASSIFIER, model_id=MODEL, live_model_id="lexicon-default-v1", messages=200
    ),
    "sentiment/ModelPromoted.v1": lambda: e.ModelPromoted(
        classifier_id=CLASSIFIER,
        model_id=MODEL,
        previous_model_id="lexicon-default-v1",
        shadow_messages=200,
        agreement=0.87,
        reason="影子运行 200 条，与纠正一致率更高",
    ),
    "sentiment/ModelRolledBack.v1": lambda: e.ModelRolledBack(
        classifier_id=CLASSIFIER,
        model_id=MODEL,
        was="live",
        live_model_id="lexicon-default-v1",
        reason="商贸旅游类留言误分增多",
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
