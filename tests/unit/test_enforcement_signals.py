"""行政执法公示 in the assessment (issue #23): a decision published after its 7 working days
(国办发〔2018〕118号 二(二)) is one late case, whether the scheduler noticed it overdue
first or it was published late; charged to the deciding unit; the demo schemes score it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from uuid import uuid4

import yaml

from services.assessment.scheme import parse_scheme
from services.assessment.signals import KNOWN_SIGNALS, Source, classify

AT = datetime(2026, 10, 16, 2, 0, tzinfo=UTC)
UNIT = "shangdang/sudian/law-enforcement"
DEMO = Path(__file__).parents[2] / "deploy" / "demo"


def src(type_: str, **payload: object) -> Source:
    return Source(str(uuid4()), type_, UNIT, AT, payload)


def test_late_publication_and_overdue_notice_are_one_case_of_the_unit() -> None:
    published = classify(
        src(
            "EnforcementDecisionPublished",
            decision_id="d-1",
            unit=UNIT,
            late=True,
            published_on="2026-10-16",
        )
    )
    overdue = classify(
        src("EnforcementPublicationOverdue", decision_id="d-1", unit=UNIT, noticed_on="2026-10-16")
    )
    assert [(f.signal, f.case, f.org, f.on) for f in published + overdue] == [
        ("enforcement.publication_late", "d-1", UNIT, date(2026, 10, 16)),
        ("enforcement.publication_late", "d-1", UNIT, date(2026, 10, 16)),
    ]
    assert "国办发〔2018〕118号" in KNOWN_SIGNALS["enforcement.publication_late"]


def test_an_on_time_publication_counts_nothing() -> None:
    assert classify(src("EnforcementDecisionPublished", decision_id="d-2", late=False)) == []


def test_both_demo_schemes_deduct_late_enforcement_publication() -> None:
    for name in ("assessment-scheme-2026.yaml", "assessment-scheme-2026-sudian.yaml"):
        scheme = parse_scheme(yaml.safe_load((DEMO / name).read_text(encoding="utf-8")))
        signals = {
            d.signal for indicator in scheme.indicators for d in (indicator.deductions or [])
        }
        assert "enforcement.publication_late" in signals, name
