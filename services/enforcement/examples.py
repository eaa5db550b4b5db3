"""One realistic example of every enforcement event, for the contract tests
(tests/contract/test_contracts.py collects each service's EXAMPLES)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from uuid import UUID

from services.enforcement import events as ev
from shared.registry import DomainEvent

DECISION = UUID("01936f0e-7c1b-7000-8000-0000000e0f01")
TOWNSHIP = "shangdang/sudian"
UNIT = "shangdang/sudian/agri-service"
REFERENCE = "苏农罚〔2026〕12号"
HASH = "9f2c4d7a1b3e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8"

EXAMPLES: dict[str, Callable[[], DomainEvent]] = {
    "enforcement/LegalReviewRecorded.v1": lambda: ev.LegalReviewRecorded(
        decision_id=DECISION,
        township=TOWNSHIP,
        unit=UNIT,
        kind=ev.DecisionKind.penalty,
        reference=REFERENCE,
        reviewer="司法所 王律",
        opinion="事实清楚，证据确实充分，适用依据正确，程序合法，同意作出处罚决定。",
        approved=True,
        reviewed_on=date(2026, 9, 21),
        recorded_by="zhao-lei",
    ),
    "enforcement/EnforcementDecisionRecorded.v1": lambda: ev.EnforcementDecisionRecorded(
        decision_id=DECISION,
        township=TOWNSHIP,
        unit=UNIT,
        kind=ev.DecisionKind.penalty,
        action=ev.DecisionAction.penalised,
        reference=REFERENCE,
        title="经营无标签农药案",
        facts="当事人在其经营场所销售无标签农药，违法所得120元。",
        legal_basis=["《农药管理条例》第五十六条"],
        party=ev.Party(
            kind=ev.PartyKind.organisation,
            name="苏店镇丰收农资经营部",
            id_number="92140404MA0K1234XY",
        ),
        amount_fen=500_000,
        decided_on=date(2026, 9, 22),
        major=True,
        review_event_id=UUID("01936f0e-7c1b-7000-8000-0000000e0f02"),
        records=[
            ev.RecordRef(kind=ev.RecordKind.document, identifier="行政处罚决定书.pdf", sha256=HASH),
            ev.RecordRef(
                kind=ev.RecordKind.audio_video, identifier="执法记录仪 0922-01", sha256=HASH
            ),
        ],
        must_publish=True,
        publication_due=date(2026, 10, 9),
        source="农业综合执法系统",
        fingerprint="3b7d" * 16,
        recorded_by="agri-enforcement-system",
    ),
    "enforcement/EnforcementDecisionPublished.v1": lambda: ev.EnforcementDecisionPublished(
        decision_id=DECISION,
        township=TOWNSHIP,
        unit=UNIT,
        kind=ev.DecisionKind.penalty,
        reference=REFERENCE,
        title="经营无标签农药案",
        text="行政处罚决定公示（作出处罚决定）\n文号：苏农罚〔2026〕12号\n…",
        party_shown="苏店镇丰收农资经营部（统一社会信用代码 92140404MA0K1234XY）",
        decided_on=date(2026, 9, 22),
        published_on=date(2026, 9, 24),
        publication_due=date(2026, 10, 9),
        late=False,
        working_days_taken=2,
        visible_until=date(2027, 9, 24),
        published_by="guo-xinxin",
    ),
    "enforcement/EnforcementPublicationOverdue.v1": lambda: ev.EnforcementPublicationOverdue(
        decision_id=DECISION,
        township=TOWNSHIP,
        unit=UNIT,
        kind=ev.DecisionKind.penalty,
        publication_due=date(2026, 10, 9),
        noticed_on=date(2026, 10, 10),
    ),
    "enforcement/EnforcementDecisionAnnulled.v1": lambda: ev.EnforcementDecisionAnnulled(
        decision_id=DECISION,
        township=TOWNSHIP,
        unit=UNIT,
        kind=ev.DecisionKind.penalty,
        outcome=ev.AnnulmentOutcome.revoked,
        annulled_on=date(2026, 11, 2),
        basis="上党区人民政府行政复议决定书 上政复决字〔2026〕8号",
        withdrawal_due=date(2026, 11, 5),
        recorded_by="zhao-lei",
    ),
    "enforcement/EnforcementPublicationWithdrawn.v1": lambda: ev.EnforcementPublicationWithdrawn(
        decision_id=DECISION,
        township=TOWNSHIP,
        unit=UNIT,
        kind=ev.DecisionKind.penalty,
        reason=ev.WithdrawalReason.decision_annulled,
        withdrawn_on=date(2026, 11, 2),
        late=False,
        note="上党区人民政府行政复议决定书 上政复决字〔2026〕8号",
        withdrawn_by="zhao-lei",
    ),
}
