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

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
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
    #: the cases behind the vetoes, with their events (filled by `with_cases`, D-dut)
    veto_cases: tuple[Case, ...] = field(default_factory=tuple)

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
            "veto_cases": [
                {"signal": c.signal, "case": c.case, "event_ids": list(c.event_ids)}
                for c in self.veto_cases
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


def _kept(weight: int, target: float, base: int, met: int) -> int:
    """What a rate indicator keeps: weight × rate / target rounded down, at most the weight."""
    whole = round(target * 100)  # whole percent
    return min(weight, (weight * met * 100) // (base * whole))


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
    missed = tuple(
        Case(rate.of, case, tuple(sorted(ids)))
        for case, ids in sorted(base.items())
        if case not in hit
    )
    return weight - _kept(weight, rate.target, len(base), met), missed


# --- tallies: what the points depend on (incremental scoring, docs/decisions.md 31) -------
#
# A card's points depend only on counts: the distinct cases of each signal and, per rate
# indicator, how many of its base cases are also hit. The read model keeps these counts
# per (scheme, subject) and adds to them as new cases arrive (`counted`); `tally` computes
# them from the findings, `card_of` turns them into points and `with_cases` lists the
# cases behind each line. `score` = `with_cases(card_of(tally))`.

Tally = dict[str, int]


def met_key(indicator_key: str) -> str:
    """The tally entry of a rate indicator: its base cases that are also hit."""
    return f"rate:{indicator_key}"


def tally(scheme: Scheme, subject: str, findings: Iterable[Finding]) -> Tally:
    """The counts of a card from its findings (others are ignored)."""
    return _tally(scheme, _cases(_relevant(scheme, subject, findings)))


def _tally(scheme: Scheme, cases: dict[str, dict[str, set[str]]]) -> Tally:
    counts: Tally = {signal: len(found) for signal, found in cases.items() if found}
    for indicator in scheme.indicators:
        if indicator.rate is not None:
            base = cases.get(indicator.rate.of, {})
            hit = cases.get(indicator.rate.hits, {})
            met = sum(1 for case in base if case in hit)
            if met:
                counts[met_key(indicator.key)] = met
    return counts


def partners(scheme: Scheme, signal: str) -> tuple[str, ...]:
    """The signals whose cases a new case of `signal` must be matched against (rates)."""
    found: list[str] = []
    for indicator in scheme.indicators:
        rate = indicator.rate
        if rate is not None:
            if rate.of == signal:
                found.append(rate.hits)
            elif rate.hits == signal:
                found.append(rate.of)
    return tuple(dict.fromkeys(found))


def counted(scheme: Scheme, signal: str, present: Collection[str]) -> Tally:
    """What a case of `signal` not counted before adds to the tally; `present` are the
    partner signals (`partners`) that already count the same case."""
    added: Tally = {signal: 1}
    for indicator in scheme.indicators:
        rate = indicator.rate
        if rate is None:
            continue
        if (rate.of == signal and rate.hits in present) or (
            rate.hits == signal and rate.of in present
        ):
            key = met_key(indicator.key)
            added[key] = added.get(key, 0) + 1
    return added


def plus(counts: Mapping[str, int], added: Mapping[str, int]) -> Tally:
    out = dict(counts)
    for key, n in added.items():
        out[key] = out.get(key, 0) + n
    return {k: v for k, v in out.items() if v}


def card_of(scheme: Scheme, subject: str, counts: Mapping[str, int]) -> ScoreCard:
    """The card's points from its tally; the lines list no cases (see `with_cases`)."""
    lines: list[Line] = []
    total = 0
    for indicator in scheme.indicators:
        weight = cents(indicator.weight)
        raw = sum(cents(rule.points) * counts.get(rule.signal, 0) for rule in indicator.deductions)
        rate = indicator.rate
        if rate is not None and counts.get(rate.of, 0):
            met = counts.get(met_key(indicator.key), 0)
            raw += weight - _kept(weight, rate.target, counts[rate.of], met)
        points = weight - min(raw, weight)  # the cap: never below zero on one indicator
        total += points
        lines.append(Line(indicator.key, indicator.name, "indicator", weight, points, raw, ()))
    earned = 0
    for bonus in scheme.bonuses:
        raw = cents(bonus.points) * counts.get(bonus.signal, 0)
        earned += raw
        lines.append(Line(bonus.key, bonus.name, "bonus", raw, raw, raw, ()))
    capped = min(earned, cents(scheme.bonus_cap))
    total += capped
    vetoed = tuple(v.key for v in scheme.vetoes if counts.get(v.signal, 0))
    passed = not vetoed and total >= cents(scheme.pass_line)
    return ScoreCard(scheme.scheme_id, subject, total, capped, passed, vetoed, tuple(lines))


def with_cases(scheme: Scheme, card: ScoreCard, findings: Iterable[Finding]) -> ScoreCard:
    """The card with the cases behind each line (and their events) from the findings."""
    cases = _cases(_relevant(scheme, card.subject, findings))
    listed: dict[str, tuple[Case, ...]] = {}
    for indicator in scheme.indicators:
        found: list[Case] = []
        for rule in indicator.deductions:
            found.extend(_listed(rule.signal, cases))
        if indicator.rate is not None:
            found.extend(rate_shortfall(cents(indicator.weight), indicator.rate, cases)[1])
        listed[indicator.key] = tuple(found)
    for bonus in scheme.bonuses:
        listed[bonus.key] = _listed(bonus.signal, cases)
    lines = tuple(replace(line, cases=listed.get(line.key, ())) for line in card.lines)
    vetoes = tuple(
        c for v in scheme.vetoes if v.key in card.vetoed for c in _listed(v.signal, cases)
    )
    return replace(card, lines=lines, veto_cases=vetoes)


def listed_signals(scheme: Scheme, key: str) -> tuple[frozenset[str], RateRule | None]:
    """What a line lists (`with_cases`): every case of these signals, and for a rate the
    cases of its base signal that are not hit."""
    for indicator in scheme.indicators:
        if indicator.key == key:
            return frozenset(r.signal for r in indicator.deductions), indicator.rate
    return frozenset(b.signal for b in scheme.bonuses if b.key == key), None


def _relevant(scheme: Scheme, subject: str, findings: Iterable[Finding]) -> list[Finding]:
    return [
        f for f in findings if f.on.year == scheme.year and subject_of(scheme, f.org) == subject
    ]


def score(scheme: Scheme, subject: str, findings: Iterable[Finding]) -> ScoreCard:
    """The card of `subject` under `scheme` from the findings (others are ignored)."""
    relevant = _relevant(scheme, subject, findings)
    cases = _cases(relevant)
    return with_cases(scheme, card_of(scheme, subject, _tally(scheme, cases)), relevant)


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
