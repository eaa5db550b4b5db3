"""One realistic example of every interpretation event, for the contract tests.

tests/contract/test_contracts.py wants an example per event schema; these are ready to merge
there (`EXAMPLES |= interpretation.examples.EXAMPLES`), and
tests/unit/test_interpretation_contracts.py checks them against the generated schemas.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from uuid import UUID

from services.catalog.events import FindingKind, PrivacyFinding
from services.interpretation import events as ev
from services.interpretation import qa_events as qa_ev
from services.interpretation import samples
from shared.registry import DomainEvent

DOC = UUID("01936f0e-7c1b-7000-8000-00000000d0c1")
ITP = UUID("01936f0e-7c1b-7000-8000-00000000a001")
FOLLOW = UUID("01936f0e-7c1b-7000-8000-00000000f001")
UNIT = "shangdang/sudian/agri-service"
PUBLISHED = date(2026, 9, 30)
QUALITY = ev.QualitySummary(
    passed=True, containment=0.0379, threshold=0.5, explanatory_chars=606, missing_parts=[]
)


def content() -> ev.InterpretationContent:
    return ev.InterpretationContent.model_validate(
        samples.interpretation_body(samples.GOOD_SECTIONS)
    )


def _required() -> DomainEvent:
    return ev.InterpretationRequired(
        document_id=DOC,
        township="shangdang/sudian",
        owner_unit=UNIT,
        joint_units=[],
        title=samples.POLICY_TITLE,
        document_number=samples.POLICY_NUMBER,
        kind="implementation_plan",
        trigger=ev.Trigger.kind,
        source=ev.PolicySource.catalog,
        published_on=PUBLISHED,
        due=PUBLISHED,
        latest_due=date(2026, 10, 10),
        target_working_days=0,
        limit_working_days=3,
        due_provisional=False,
    )


EXAMPLES: dict[str, Callable[[], DomainEvent]] = {
    "interpretation/PolicyRegistered.v1": lambda: ev.PolicyRegistered(
        document_id=DOC,
        township="shangdang/sudian",
        lead_unit=UNIT,
        joint_units=["shangdang/sudian/finance"],
        title=samples.POLICY_TITLE,
        document_number=samples.POLICY_NUMBER,
        kind="implementation_plan",
        flagged=False,
        text=samples.POLICY_TEXT,
        published_on=PUBLISHED,
        registered_by="zhao-lei",
    ),
    "interpretation/InterpretationRequired.v1": _required,
    "interpretation/ObligationDelegated.v1": lambda: ev.ObligationDelegated(
        document_id=DOC,
        from_unit=UNIT,
        to_unit="shangdang/sudian/finance",
        reason="补助资金部分由财政所统一解读",
        delegated_by="zhao-lei",
    ),
    "interpretation/ObligationFulfilled.v1": lambda: ev.ObligationFulfilled(
        document_id=DOC,
        interpretation_id=ITP,
        published_on=PUBLISHED,
        synchronous=True,
        on_time=True,
    ),
    "interpretation/InterpretationDeadlineMissed.v1": lambda: ev.InterpretationDeadlineMissed(
        document_id=DOC,
        owner_unit=UNIT,
        latest_due=date(2026, 10, 10),
        noticed_on=date(2026, 10, 11),
    ),
    "interpretation/ObligationCancelled.v1": lambda: ev.ObligationCancelled(
        document_id=DOC, reason="政策文件已撤销"
    ),
    "interpretation/FollowUpRequested.v1": lambda: ev.FollowUpRequested(
        document_id=DOC,
        follow_up_id=FOLLOW,
        stage=2,
        case_ids=["case-101"],
        reason="群众误以为改厕补助须先垫付",
        requested_by="sentiment-service",
        due=date(2026, 10, 15),
    ),
    "interpretation/FollowUpCasesAdded.v1": lambda: ev.FollowUpCasesAdded(
        document_id=DOC,
        follow_up_id=FOLLOW,
        stage=2,
        case_ids=["01936f0e-7c1b-7000-8000-0000000000c2"],
        reason="误读政策（舆情案件）：群众误以为改厕补助须先垫付",
        requested_by="liu-yang",
        due=date(2026, 10, 15),
    ),
    "interpretation/FollowUpFulfilled.v1": lambda: ev.FollowUpFulfilled(
        document_id=DOC,
        follow_up_id=FOLLOW,
        interpretation_id=ITP,
        published_on=date(2026, 10, 14),
    ),
    "interpretation/InterpretationDrafted.v1": lambda: ev.InterpretationDrafted(
        interpretation_id=ITP,
        document_id=DOC,
        unit=UNIT,
        drafter="yang-fan",
        content=content(),
        follow_up=None,
        quality=QUALITY,
    ),
    "interpretation/InterpretationRevised.v1": lambda: ev.InterpretationRevised(
        interpretation_id=ITP,
        revision=2,
        reviser="yang-fan",
        content=content(),
        quality=QUALITY,
    ),
    "interpretation/InterpretationApproved.v1": lambda: ev.InterpretationApproved(
        interpretation_id=ITP, revision=2, reviewer="zhao-lei", comment="同意发布"
    ),
    "interpretation/InterpretationRejected.v1": lambda: ev.InterpretationRejected(
        interpretation_id=ITP,
        revision=1,
        reviewer="zhao-lei",
        comments="请补充新旧政策差异部分",
    ),
    "interpretation/InterpretationPublished.v1": lambda: ev.InterpretationPublished(
        interpretation_id=ITP,
        document_id=DOC,
        township="shangdang/sudian",
        unit=UNIT,
        revision=2,
        title="图文解读：《苏店镇农村人居环境整治提升三年行动实施方案》",
        forms=[ev.Form.text, ev.Form.graphic],
        channels=[ev.Channel.website, ev.Channel.new_media],
        target_groups=[],
        stage=1,
        case_ids=[],
        published_at=datetime(2026, 9, 30, 2, 0, tzinfo=UTC),
        publisher="zhao-lei",
        quality=QUALITY,
    ),
}

# ------------------------------------------------------------- 政策问答库 (qa_events.py)

QA = UUID("01936f0e-7c1b-7000-8000-00000000ab01")
QA_QUESTION = "村里改厕的补助是先自己垫钱再报销，还是验收合格后直接发到户？"
QA_PUBLIC = "农村户厕改造的补助是先由农户垫付再报销吗？"
QA_ANSWER = (
    "不需要农户先行垫付。按照实施方案，户厕改造经村、镇两级验收合格后，"
    "补助资金由镇财政所通过惠农“一卡通”直接发放到户。"
)
QA_RECEIVED = datetime(2026, 10, 12, 1, 30, tzinfo=UTC)
QA_DUE = datetime(2026, 10, 14, 15, 59, 59, tzinfo=UTC)  # 23:59:59 in Beijing


def _qa_finding() -> PrivacyFinding:
    return PrivacyFinding(
        fingerprint="5c0e6f1a9b2d4c3e",
        kind=FindingKind.mobile,
        field="answer",
        start=40,
        end=51,
        masked="139****5678",
    )


EXAMPLES |= {
    "interpretation/QuestionRegistered.v1": lambda: qa_ev.QuestionRegistered(
        qa_id=QA,
        document_id=DOC,
        policy_title=samples.POLICY_TITLE,
        document_number=samples.POLICY_NUMBER,
        township="shangdang/sudian",
        channel=qa_ev.QuestionChannel.hotline,
        source_ref="12345-20261012-0417",
        question=QA_QUESTION,
        asker=qa_ev.Asker(name="赵秀英", phone="13912345678"),
        received_at=QA_RECEIVED,
        due_at=QA_DUE,
        limit_working_days=2,
        interpretation_ids=[ITP],
        similar=[qa_ev.SimilarEntry(qa_id=UUID(int=QA.int + 1), similarity=0.42)],
        registered_by="liu-yang",
    ),
    "interpretation/QuestionAnswered.v1": lambda: qa_ev.QuestionAnswered(
        qa_id=QA,
        revision=1,
        public_question=QA_PUBLIC,
        answer=QA_ANSWER,
        answered_by="yang-fan",
        answered_at=datetime(2026, 10, 13, 7, 0, tzinfo=UTC),
        on_time=True,
        privacy_findings=[_qa_finding()],
    ),
    "interpretation/AnswerRedacted.v1": lambda: qa_ev.AnswerRedacted(
        qa_id=QA,
        revision=1,
        public_question=QA_PUBLIC,
        answer=QA_ANSWER,
        redacted=[_qa_finding()],
        redacted_by="yang-fan",
    ),
    "interpretation/AnswerReturned.v1": lambda: qa_ev.AnswerReturned(
        qa_id=QA, revision=1, reason="请写明补助标准和发放时间", returned_by="zhao-lei"
    ),
    "interpretation/AnswerPublished.v1": lambda: qa_ev.AnswerPublished(
        qa_id=QA,
        revision=2,
        document_id=DOC,
        township="shangdang/sudian",
        policy_title=samples.POLICY_TITLE,
        document_number=samples.POLICY_NUMBER,
        public_question=QA_PUBLIC,
        answer=QA_ANSWER,
        channel=qa_ev.QuestionChannel.hotline,
        answered_by="yang-fan",
        approved_by="zhao-lei",
        received_at=QA_RECEIVED,
        due_at=QA_DUE,
        answered_at=datetime(2026, 10, 13, 7, 0, tzinfo=UTC),
        on_time=True,
        published_at=datetime(2026, 10, 13, 9, 0, tzinfo=UTC),
        interpretation_ids=[ITP],
    ),
}
