"""The scoring engine of 考核 (DOMAIN.md §5; 方案§20, §21; 条例 Art. 46).

Properties: a deduction never exceeds its indicator's weight; the total stays within
[0, total + bonus cap]; the card does not depend on the order of events; replaying the
same events does not count twice.
"""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from services.assessment.domain import (
    Tally,
    card_of,
    changes,
    counted,
    partners,
    plus,
    score,
    subject_of,
    tally,
    with_cases,
)
from services.assessment.scheme import Scheme, parse_scheme
from services.assessment.signals import KNOWN_SIGNALS, Finding
from shared.errors import ValidationFailed

DEMO = Path(__file__).parents[2] / "deploy" / "demo" / "assessment-scheme-2026.yaml"
SUDIAN = "shangdang/sudian"
HANDIAN = "shangdang/handian"


@functools.cache
def demo_scheme() -> Scheme:
    return parse_scheme(yaml.safe_load(DEMO.read_text(encoding="utf-8")))


def demo_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    return data


def finding(signal: str, case: str, org: str = SUDIAN, event: str | None = None) -> Finding:
    return Finding(signal, case, org, date(2026, 3, 2), event or f"ev-{case}", "Test")


def line(card: Any, key: str) -> Any:
    return next(x for x in card.lines if x.key == key)


# ---------------------------------------------------------------- examples from §5


def test_late_proactive_publication_deducts_two_per_case__art26() -> None:
    card = score(demo_scheme(), SUDIAN, [finding("disclosure.late", f"d{i}") for i in range(3)])
    assert line(card, "proactive_disclosure").points == 2500 - 600
    assert card.total == 10000 - 600


def test_overdue_replies_stop_at_the_indicator_weight__art33() -> None:
    """Four overdue replies at −6 would be −24; the requests indicator weighs 20."""
    card = score(
        demo_scheme(), SUDIAN, [finding("request.reply_overdue", f"r{i}") for i in range(4)]
    )
    assert line(card, "requests").points == 0
    assert line(card, "requests").raw == 2400
    assert card.total == 8000


def test_policy_without_its_interpretation_deducts_four__fangan15() -> None:
    card = score(demo_scheme(), SUDIAN, [finding("interpretation.not_synchronous", "p1")])
    assert line(card, "interpretation").points == 500


def test_decision_corrected_on_review_three_and_leak_six__art51() -> None:
    card = score(
        demo_scheme(),
        SUDIAN,
        [
            finding("request.decision_corrected", "r1"),
            finding("disclosure.personal_data_leak", "x"),
        ],
    )
    assert card.total == 10000 - 300 - 600


def test_annual_report_late_five__art49() -> None:
    card = score(demo_scheme(), SUDIAN, [finding("annual_report.late", "sudian:2025")])
    assert line(card, "annual_report").points == 0
    assert card.total == 9500


def test_highlight_bonus_is_capped_at_the_scheme_bonus_cap__fangan21() -> None:
    found = [finding("highlight.recognized", f"h{i}") for i in range(4)]
    card = score(demo_scheme(), SUDIAN, found)
    assert card.bonus == 500  # 4 × 2 = 8, capped at 5
    assert card.total == 10500


def test_a_veto_fails_the_township_whatever_its_points() -> None:
    card = score(demo_scheme(), SUDIAN, [finding("disclosure.secret_leak", "s1")])
    assert card.total == 10000
    assert card.vetoed == ("secret_leak",) and not card.passed


def test_below_sixty_fails() -> None:
    signals = (
        ["request.reply_overdue"] * 4 + ["disclosure.late"] * 13 + ["opinion.response_late"] * 5
    )
    found = [finding(s, f"c{i}") for i, s in enumerate(signals)]
    card = score(demo_scheme(), SUDIAN, found)
    assert card.total == 10000 - 2000 - 2500 - 1000
    assert card.total < 6000 and not card.passed


def test_findings_of_another_township_or_year_do_not_count() -> None:
    other = finding("disclosure.late", "a", org=HANDIAN)
    last_year = Finding("disclosure.late", "b", SUDIAN, date(2025, 12, 31), "e", "T")
    card = score(demo_scheme(), SUDIAN, [other, last_year])
    assert card.total == 10000


def test_a_unit_finding_charges_its_township_under_the_district_scheme() -> None:
    assert subject_of(demo_scheme(), "shangdang/sudian/finance") == SUDIAN
    assert subject_of(demo_scheme(), "elsewhere/x") is None


def test_a_township_scheme_charges_the_unit_and_the_township_itself() -> None:
    data = demo_data() | {"level": "unit", "owner": SUDIAN}
    scheme = parse_scheme(data)
    assert subject_of(scheme, "shangdang/sudian/finance") == "shangdang/sudian/finance"
    assert subject_of(scheme, SUDIAN) == SUDIAN
    assert subject_of(scheme, HANDIAN) is None


def test_one_case_reported_by_two_events_counts_once() -> None:
    """An escalated case later answered late is one late case (DOMAIN.md §5 per case)."""
    found = [
        finding("opinion.response_late", "case-1", event="escalated"),
        finding("opinion.response_late", "case-1", event="responded"),
    ]
    card = score(demo_scheme(), SUDIAN, found)
    assert line(card, "opinion_response").points == 800
    assert line(card, "opinion_response").cases[0].event_ids == ("escalated", "responded")


def test_changes_name_the_line_and_the_delta() -> None:
    scheme = demo_scheme()
    before = score(scheme, SUDIAN, [])
    after = score(scheme, SUDIAN, [finding("disclosure.late", "d1")])
    assert [(c.key, c.delta) for c in changes(before, after)] == [("proactive_disclosure", -200)]
    assert [(c.key, c.delta) for c in changes(None, after)] == [("proactive_disclosure", -200)]


# ---------------------------------------------------------------- refusals


def test_weights_that_do_not_sum_to_the_total_are_refused() -> None:
    data = demo_data()
    data["indicators"][0]["weight"] = 30
    with pytest.raises(ValidationFailed) as err:
        parse_scheme(data)
    assert err.value.rule == "scheme.weights_do_not_sum" and err.value.field == "indicators"


def test_a_deduction_per_case_above_its_weight_is_refused() -> None:
    data = demo_data()
    data["indicators"][5]["deductions"][0]["points"] = 8  # annual report weighs 5
    with pytest.raises(ValidationFailed) as err:
        parse_scheme(data)
    assert err.value.rule == "scheme.deduction_exceeds_weight"
    assert err.value.field == "indicators[5].deductions[0].points"


def test_an_unknown_event_source_is_refused() -> None:
    data = demo_data()
    data["indicators"][0]["deductions"][0]["signal"] = "catalog.something_else"
    with pytest.raises(ValidationFailed) as err:
        parse_scheme(data)
    assert err.value.rule == "scheme.unknown_signal"
    assert err.value.field == "indicators[0].deductions[0].signal"


def test_a_malformed_field_names_its_path() -> None:
    data = demo_data()
    data["indicators"][1]["weight"] = -1
    with pytest.raises(ValidationFailed) as err:
        parse_scheme(data)
    assert err.value.rule == "scheme.invalid" and err.value.field == "indicators.1.weight"


def test_duplicate_indicator_keys_are_refused() -> None:
    data = demo_data()
    data["indicators"][1]["key"] = data["indicators"][0]["key"]
    with pytest.raises(ValidationFailed) as err:
        parse_scheme(data)
    assert err.value.rule == "scheme.duplicate_key"


# ---------------------------------------------------------------- properties

SIGNALS = sorted(KNOWN_SIGNALS)
ORGS = [SUDIAN, "shangdang/sudian/finance", "shangdang/sudian/party-office", HANDIAN]
findings_strategy = st.lists(
    st.builds(
        Finding,
        st.sampled_from(SIGNALS),
        st.sampled_from([f"case-{i}" for i in range(12)]),
        st.sampled_from(ORGS),
        st.dates(date(2025, 12, 1), date(2026, 12, 31)),
        st.sampled_from([f"event-{i}" for i in range(30)]),
        st.just("Test"),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(findings_strategy)
def test_no_indicator_loses_more_than_its_weight_and_total_stays_in_range(
    found: list[Finding],
) -> None:
    scheme = demo_scheme()
    card = score(scheme, SUDIAN, found)
    for x in card.lines:
        if x.kind == "indicator":
            assert 0 <= x.points <= x.weight
    assert 0 <= card.total <= 10000 + 500
    assert card.bonus <= 500


@settings(max_examples=150, deadline=None)
@given(findings_strategy, st.randoms(use_true_random=False))
def test_the_card_does_not_depend_on_event_order(found: list[Finding], rnd: Any) -> None:
    shuffled = list(found)
    rnd.shuffle(shuffled)
    assert score(demo_scheme(), SUDIAN, found) == score(demo_scheme(), SUDIAN, shuffled)


@settings(max_examples=150, deadline=None)
@given(findings_strategy)
def test_replaying_the_same_events_twice_does_not_double_count(found: list[Finding]) -> None:
    assert score(demo_scheme(), SUDIAN, found + found) == score(demo_scheme(), SUDIAN, found)


@settings(max_examples=100, deadline=None)
@given(findings_strategy, findings_strategy)
def test_the_score_changes_add_up_to_the_difference_of_the_indicator_points(
    first: list[Finding], second: list[Finding]
) -> None:
    """Every point that moved is listed as a ScoreChanged line: nothing unexplained."""
    scheme = demo_scheme()
    before = score(scheme, SUDIAN, first)
    after = score(scheme, SUDIAN, first + second)
    indicators = {i.key for i in scheme.indicators}

    def held(card: Any) -> int:
        return sum(x.points for x in card.lines if x.key in indicators)

    moved = sum(c.delta for c in changes(before, after) if c.key in indicators)
    assert moved == held(after) - held(before)


def incremental(scheme: Scheme, subject: str, found: list[Finding]) -> Tally:
    """The read model's way (projections.Scoreboard): one finding at a time, a set of the
    cases already counted, and `counted` for each case not counted before."""
    counted_cases: set[tuple[str, str]] = set()
    counts: Tally = {}
    for f in found:
        if f.on.year != scheme.year or subject_of(scheme, f.org) != subject:
            continue
        if (f.signal, f.case) in counted_cases:
            continue
        present = [o for o in partners(scheme, f.signal) if (o, f.case) in counted_cases]
        counted_cases.add((f.signal, f.case))
        counts = plus(counts, counted(scheme, f.signal, present))
    return counts


@settings(max_examples=300, deadline=None)
@given(findings_strategy, st.randoms(use_true_random=False), st.sampled_from([SUDIAN, HANDIAN]))
def test_incremental_counts_give_the_card_a_full_score_gives(
    found: list[Finding], rnd: Any, subject: str
) -> None:
    """Incremental cards (docs/decisions.md 31): counting cases as they arrive, in any
    order and with re-deliveries, ends in the tally of the whole set, and the points of
    that tally with the cases listed from the findings are exactly `score`."""
    scheme = demo_scheme()
    delivered = found + [f for f in found if rnd.random() < 0.3]
    rnd.shuffle(delivered)
    counts = incremental(scheme, subject, delivered)
    assert counts == tally(scheme, subject, found)
    assert with_cases(scheme, card_of(scheme, subject, counts), found) == score(
        scheme, subject, found
    )
