"""Assessment periods (考核周期) and their close: pure rules and the frozen snapshot.

A scheme scores one year; the owner may close it in periods (a half-year, a quarter, the
year). Closing a period freezes what the scoreboard holds for it: every finding of the
scheme's scope whose fact day is on or before the period's last day and that is not frozen
yet. The snapshot (scores, ranks, the breakdown of every card) is stored in the
PeriodClosed event with the ids of the frozen events. From then on those events no longer
count on the live cards; every later finding, even one about a day inside the closed
period that arrived after the close, counts in the next (open) period. Membership is by
event id, so a rebuild from the logs in any order gives the same live cards.

Rules (DOMAIN.md §5: scoring items set in advance, 方案§20): a period lies inside the
scheme's year, starts on or before it ends, is over before it is closed, does not overlap
an already closed period and comes after it; a period key is closed once. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.assessment.domain import ScoreCard, score, subject_of
from services.assessment.scheme import Scheme
from services.assessment.signals import Finding
from shared.errors import DomainRuleViolated, ValidationFailed


@dataclass(frozen=True)
class Period:
    key: str
    starts_on: date
    ends_on: date


def check_close(year: int, new: Period, closed: Sequence[Period], today: date) -> None:
    """Refuse a close that breaks a rule; every refusal names its field and rule (zh + en)."""
    for where, day in (("starts_on", new.starts_on), ("ends_on", new.ends_on)):
        if day.year != year:
            raise ValidationFailed(
                rule="period.outside_year",
                field=where,
                message_zh=f"考核周期的 {where} {day} 不在方案年度 {year} 内",
                message_en=f"the period's {where} {day} is outside the scheme year {year}",
            )
    if new.starts_on > new.ends_on:
        raise ValidationFailed(
            rule="period.ends_before_start",
            field="ends_on",
            message_zh="考核周期的结束日早于开始日",
            message_en="the period ends before it starts",
        )
    if new.ends_on >= today:
        raise ValidationFailed(
            rule="period.not_over",
            field="ends_on",
            message_zh=f"考核周期至 {new.ends_on} 尚未结束，不能关闭",
            message_en=f"the period runs to {new.ends_on} and is not over; it cannot be closed",
        )
    for old in closed:
        if old.key == new.key:
            raise DomainRuleViolated(
                rule="period.already_closed",
                field="period",
                message_zh=f"考核周期 {new.key} 已于此前关闭",
                message_en=f"the period {new.key} is already closed",
            )
    for old in closed:
        if new.starts_on <= old.ends_on and old.starts_on <= new.ends_on:
            raise ValidationFailed(
                rule="period.overlaps",
                field="starts_on",
                message_zh=(
                    f"考核周期 {new.starts_on}至{new.ends_on} 与已关闭的周期 {old.key}"
                    f"（{old.starts_on}至{old.ends_on}）重叠"
                ),
                message_en=(
                    f"the period {new.starts_on}..{new.ends_on} overlaps the closed period "
                    f"{old.key} ({old.starts_on}..{old.ends_on})"
                ),
                details={"closed": old.key},
            )
    last = max((old.ends_on for old in closed), default=None)
    if last is not None and new.starts_on < last:
        raise ValidationFailed(
            rule="period.out_of_order",
            field="starts_on",
            message_zh=f"考核周期须在最近关闭的周期（至 {last}）之后",
            message_en=f"a period must come after the last closed one (ending {last})",
        )


def frozen_by(
    scheme: Scheme, findings: Iterable[Finding], ends_on: date, already: Iterable[str]
) -> list[Finding]:
    """The findings a close freezes: in the scheme's year and scope, on or before the last
    day of the period, of events no earlier close froze."""
    done = set(already)
    return [
        f
        for f in findings
        if f.on.year == scheme.year
        and f.on <= ends_on
        and f.event_id not in done
        and subject_of(scheme, f.org) is not None
    ]


def snapshot(
    scheme: Scheme, subjects: Sequence[str], names: Mapping[str, str], findings: list[Finding]
) -> list[dict[str, Any]]:
    """Ranked rows (competition ranking) with each subject's full card."""
    cards: dict[str, ScoreCard] = {s: score(scheme, s, findings) for s in subjects}
    ordered = sorted(cards.values(), key=lambda c: (-c.total, c.subject))
    rows: list[dict[str, Any]] = []
    for index, card in enumerate(ordered):
        tied = rows and rows[-1]["total"] == card.total / 100
        body = card.as_dict()
        rows.append(
            {
                "rank": rows[-1]["rank"] if tied else index + 1,
                "subject": card.subject,
                "name": names.get(card.subject, card.subject),
                "total": body["total"],
                "bonus": body["bonus"],
                "passed": card.passed,
                "vetoed": list(card.vetoed),
                "lines": body["lines"],
            }
        )
    return rows
