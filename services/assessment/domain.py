"""The scoring engine of 考核: a pure function from (scheme, findings) to a score card.

DOMAIN.md §5 (方案§20, §21; 条例 Art. 46): 100 points over indicators; each failure
deducts its points per case, the deductions of one indicator never exceed its weight;
bonus items add up to the scheme's bonus cap; a veto (一票否决) fails the subject
whatever its points; below the pass line (60) fails.

Why a function of the *set* of findings: events of different streams reach the scorer in
any order (Kafka keeps per-stream order only) and may be delivered twice. A finding is
identified by (signal, case, event id); the card counts distinct cases. So the card is the
same for any order and any number of repetitions, and a full recomputation from the log
equals the live state. Points are integer hundredths (scheme.cents): sums are exact.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from services.assessment.scheme import Level, RateRule, Scheme, cents
from services.assessment.signals import Finding


@dataclass(frozen=True)
class Case:
    """One counted case of a signal, with every event that reported it (the audit trail)."""

    signal: str
    case: str
    event_ids: tuple[str, ...]


@dataclass(frozen=True)
class Line:
    """One indicator or bonus item of a card."""

    key: str
    name: str
    kind: str  # "indicator" | "bonus"
    weight: int  # hundredths; for a bonus, the points it earned before the cap
    points: int  # hundredths: what the subject holds on this line (weight - deducted, or bonus)
    raw: int  # hundredths deducted or earned before the cap
    cases: tuple[Case, ...]


@dataclass(frozen=True)
class ScoreCard:
    scheme_id: str
    subject: str
    total: int  # hundredths
    bonus: int  # hundredths, after the cap
    passed: bool
    vetoed: tuple[str, ...]
    lines: tuple[Line, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scheme_id": self.scheme_id,
            "subject": self.subject,
            "total": self.total / 100,
            "bonus": self.bonus / 100,
            "passed": self.passed,
            "vetoed": list(self.vetoed),
            "lines": [
                {
                    "key": line.key,
                    "name": line.name,
                    "kind": line.kind,
                    "weight": line.weight / 100,
                    "points": line.points / 100,
                    "raw": line.raw / 100,
                    "cases": [
                        {"signal": c.signal, "case": c.case, "event_ids": list(c.event_ids)}
                        for c in line.cases
                    ],
                }
                for line in self.lines
            ],
        }


@dataclass(frozen=True)
class Change:
    """ScoreChanged: a line of a card moved by `delta` hundredths."""

    key: str
    delta: int


def subject_of(scheme: Scheme, org: str) -> str | None:
    """Who is charged for a finding of `org` under `scheme`, or None if outside its scope.

    District scheme: the township (first two path segments) below the owner. Township
    scheme: the unit (three segments); the township's own offices (depth 2) are the
    township itself (镇本级). The org tree decides which subjects are listed (api).
    """
    owner = scheme.owner.strip("/")
    if org != owner and not org.startswith(owner + "/"):
        return None
    parts = org.split("/")
    if scheme.level is Level.township:
        return "/".join(parts[:2]) if len(parts) >= 2 else None
    depth = len(owner.split("/"))
    return "/".join(parts[: depth + 1]) if len(parts) > depth else owner


def _cases(findings: Iterable[Finding]) -> dict[str, dict[str, set[str]]]:
    by_signal: dict[str, dict[str, set[str]]] = {}
    for f in findings:
        by_signal.setdefault(f.signal, {}).setdefault(f.case, set()).add(f.event_id)
    return by_signal


def _listed(signal: str, cases: dict[str, dict[str, set[str]]]) -> tuple[Case, ...]:
    found = cases.get(signal, {})
    return tuple(Case(signal, case, tuple(sorted(ids))) for case, ids in sorted(found.items()))


def rate_shortfall(
    weight: int, rate: RateRule, cases: dict[str, dict[str, set[str]]]
) -> tuple[int, tuple[Case, ...]]:
    """达标率 (方案§15: 多样化解读率、多渠道发布率 ≥ 90%): the hundredths lost below the
    target and the cases that missed (each with the events of its base signal).

    rate = |hits ∩ base| / |base|; kept = weight × rate / target, rounded down, at most the
    weight; no base case: nothing to rate, nothing lost. Integer arithmetic only."""
    base = cases.get(rate.of, {})
    if not base:
        return 0, ()
    hit = cases.get(rate.hits, {})
    met = sum(1 for case in base if case in hit)
    target = round(rate.target * 100)  # whole percent
    kept = min(weight, (weight * met * 100) // (len(base) * target))
    missed = tuple(
        Case(rate.of, case, tuple(sorted(ids)))
        for case, ids in sorted(base.items())
        if case not in hit
    )
    return weight - kept, missed


def score(scheme: Scheme, subject: str, findings: Iterable[Finding]) -> ScoreCard:
    """The card of `subject` under `scheme` from the findings (others are ignored)."""
    relevant = [
        f for f in findings if f.on.year == scheme.year and subject_of(scheme, f.org) == subject
    ]
    cases = _cases(relevant)
    lines: list[Line] = []
    total = 0
    for indicator in scheme.indicators:
        weight = cents(indicator.weight)
        raw = 0
        listed: list[Case] = []
        for rule in indicator.deductions:
            rule_cases = _listed(rule.signal, cases)
            raw += cents(rule.points) * len(rule_cases)
            listed.extend(rule_cases)
        if indicator.rate is not None:
            shortfall, missed = rate_shortfall(weight, indicator.rate, cases)
            raw += shortfall
            listed.extend(missed)
        points = weight - min(raw, weight)  # the cap: never below zero on one indicator
        total += points
        lines.append(
            Line(indicator.key, indicator.name, "indicator", weight, points, raw, tuple(listed))
        )
    earned = 0
    for bonus in scheme.bonuses:
        bonus_cases = _listed(bonus.signal, cases)
        raw = cents(bonus.points) * len(bonus_cases)
        earned += raw
        lines.append(Line(bonus.key, bonus.name, "bonus", raw, raw, raw, bonus_cases))
    capped = min(earned, cents(scheme.bonus_cap))
    total += capped
    vetoed = tuple(v.key for v in scheme.vetoes if cases.get(v.signal))
    passed = not vetoed and total >= cents(scheme.pass_line)
    return ScoreCard(scheme.scheme_id, subject, total, capped, passed, vetoed, tuple(lines))


def changes(before: ScoreCard | None, after: ScoreCard) -> list[Change]:
    """The lines that moved (ScoreChanged entries), plus the bonus cap and the total."""
    old = {line.key: line.points for line in before.lines} if before else {}
    moved = [
        Change(
            line.key,
            line.points - old.get(line.key, line.weight if line.kind == "indicator" else 0),
        )
        for line in after.lines
    ]
    return [c for c in moved if c.delta != 0]


def baseline(scheme: Scheme, subject: str) -> ScoreCard:
    """A card with no findings: full marks on every indicator."""
    return score(scheme, subject, ())
