"""Rate indicators of 考核: 多样化解读率 and 多渠道发布率 ≥ 90% (方案§15; DOMAIN.md §3, §5).

Our definitions (DOMAIN.md §3 [ours]): the share of interpreted policies with at least one
non-text form, and the share published on at least two channels. At or above 90% the
indicator keeps its weight; below, weight × rate / 90%, rounded down to 0.01.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import yaml

from services.assessment.domain import score
from services.assessment.scheme import Scheme, parse_scheme
from services.assessment.signals import Finding, Source, classify
from shared.errors import ValidationFailed

DEMO = Path(__file__).parents[2] / "deploy" / "demo" / "assessment-scheme-2026.yaml"
SUDIAN = "shangdang/sudian"
UNIT = "shangdang/sudian/party-office"


@functools.cache
def demo() -> Scheme:
    return parse_scheme(yaml.safe_load(DEMO.read_text(encoding="utf-8")))


def published(document: str, forms: list[str], channels: list[str]) -> list[Finding]:
    source = Source(
        str(uuid4()),
        "InterpretationPublished",
        UNIT,
        datetime(2026, 3, 2, 2, 0, tzinfo=UTC),
        {
            "document_id": document,
            "unit": UNIT,
            "township": SUDIAN,
            "forms": forms,
            "channels": channels,
            "published_at": "2026-03-02T10:00:00+08:00",
        },
    )
    return classify(source)


def line(findings: list[Finding], key: str) -> Any:
    return next(x for x in score(demo(), SUDIAN, findings).lines if x.key == key)


def test_a_graphic_on_two_channels_meets_both_rates__fangan15() -> None:
    found = published("p1", ["text", "graphic"], ["website", "new_media"])
    assert {f.signal for f in found} == {
        "interpretation.published",
        "interpretation.diversified",
        "interpretation.multichannel",
    }
    assert all(f.case == "p1" and f.org == UNIT and f.on == date(2026, 3, 2) for f in found)
    assert line(found, "interpretation_diversity").points == 300
    assert line(found, "interpretation_channels").points == 300


def test_text_only_on_one_channel_misses_both_and_names_the_policy__fangan15() -> None:
    found = published("p1", ["text"], ["website"])
    assert {f.signal for f in found} == {"interpretation.published"}
    diversity = line(found, "interpretation_diversity")
    assert diversity.points == 0 and diversity.raw == 300
    assert [(c.case, c.event_ids) for c in diversity.cases] == [("p1", (found[0].event_id,))]


def test_below_ninety_percent_keeps_the_weight_times_rate_over_target() -> None:
    """9 of 10 policies diversified = 90%: full weight; 8 of 10: 3 × 0.8 / 0.9 = 2.66."""
    nine = [f for i in range(9) for f in published(f"d{i}", ["graphic"], ["website"])]
    plain = published("d9", ["text"], ["website"])
    assert line(nine + plain, "interpretation_diversity").points == 300
    eight = [f for i in range(8) for f in published(f"e{i}", ["short_video"], ["website"])]
    two = published("e8", ["text"], ["website"]) + published("e9", ["text"], ["television"])
    assert line(eight + two, "interpretation_diversity").points == 266


def test_a_later_stage_in_another_form_makes_the_policy_diverse() -> None:
    """分阶段解读 (方案§五(一)): the policy is the case; one diverse stage suffices."""
    first = published("p1", ["text"], ["website"])
    later = published("p1", ["cartoon"], ["website"])
    assert line(first + later, "interpretation_diversity").points == 300


def test_no_interpreted_policy_means_nothing_to_rate() -> None:
    assert line([], "interpretation_diversity").points == 300


def test_a_rate_naming_an_unknown_source_or_itself_is_refused() -> None:
    data: dict[str, Any] = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    key = next(i for i, x in enumerate(data["indicators"]) if x.get("rate"))
    data["indicators"][key]["rate"]["hits"] = "interpretation.pretty"
    with pytest.raises(ValidationFailed) as err:
        parse_scheme(data)
    assert err.value.rule == "scheme.unknown_signal"
    assert err.value.field == f"indicators[{key}].rate.hits"
    data["indicators"][key]["rate"]["hits"] = "interpretation.published"
    with pytest.raises(ValidationFailed) as err:
        parse_scheme(data)
    assert err.value.rule == "scheme.rate_of_itself"
    data["indicators"][key]["rate"] |= {"hits": "interpretation.diversified", "target": 0.905}
    with pytest.raises(ValidationFailed) as err:
        parse_scheme(data)
    assert err.value.rule == "scheme.points_precision"
    assert err.value.field == f"indicators[{key}].rate.target"
