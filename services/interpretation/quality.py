"""The quality gate of an interpretation (方案§五(一); DOMAIN.md §3). Pure: no I/O.

Three checks, each with a measured value a drafter can act on:

- 照搬照抄原文 (copy): the share of the interpretation's character n-grams that also
  occur in the policy text (containment, not similarity: a short excerpt of a long
  policy is still a copy). Refused above a configurable threshold; the refusal shows
  the value and the longest copied passages.
- 标题式 (title-only): a text made of headings, or too short to explain anything.
  Lines without sentence punctuation and at most `HEADING_MAX_CHARS` long are headings;
  what is left is the explanatory text, counted per part and in total.
- required parts: 背景依据, 目标任务, 主要内容, 重要举措, 新旧政策差异 — each covered by a
  section, or marked not applicable with a reason (e.g. a first policy has no old one) of
  at least `min_part_reason_chars` letters or digits: a blank waiver is no waiver.

Normalisation: NFKC and case folding; every character that is not a letter or a digit
separates segments, and n-grams never span a separator. So changing punctuation or
spacing does not hide a copy, and appending a copied passage as its own sentence can
only raise the containment (the property the tests check).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Part(StrEnum):
    """The parts an interpretation must explain (方案§五(一))."""

    background_basis = "background_basis"  # 背景依据
    goals_tasks = "goals_tasks"  # 目标任务
    main_content = "main_content"  # 主要内容
    key_measures = "key_measures"  # 重要举措
    old_new_differences = "old_new_differences"  # 新旧政策差异

    @property
    def label_zh(self) -> str:
        return PART_LABELS_ZH[self]


PART_LABELS_ZH: Mapping[Part, str] = {
    Part.background_basis: "背景依据",
    Part.goals_tasks: "目标任务",
    Part.main_content: "主要内容",
    Part.key_measures: "重要举措",
    Part.old_new_differences: "新旧政策差异",
}

HEADING_MAX_CHARS = 30
_SENTENCE_PUNCTUATION = re.compile(r"[。！？；;!?]")


@dataclass(frozen=True)
class QualityRules:
    """Thresholds [ours; configurable per deployment]."""

    ngram: int = 6
    max_containment: float = 0.5
    min_explanatory_chars: int = 300
    min_part_chars: int = 40
    #: A part marked not applicable needs a reason of at least this many letters or digits
    #: ("首次出台，无旧政策可比"); a blank or token reason leaves the part missing.
    min_part_reason_chars: int = 4
    passages_shown: int = 3


@dataclass(frozen=True)
class Section:
    heading: str
    text: str
    part: Part | None = None


@dataclass(frozen=True)
class Passage:
    text: str
    length: int


@dataclass(frozen=True)
class Check:
    check: str
    passed: bool
    measured: dict[str, Any]
    message_zh: str
    message_en: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "passed": self.passed,
            "measured": self.measured,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }


@dataclass(frozen=True)
class QualityReport:
    checks: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def containment(self) -> float:
        for c in self.checks:
            if c.check == "copy":
                return float(c.measured["containment"])
        return 0.0

    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def as_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "checks": [c.as_dict() for c in self.checks]}


# ------------------------------------------------------------------ copy (照搬照抄原文)


def segments(text: str) -> list[str]:
    """Runs of letters and digits after NFKC and case folding; everything else separates."""
    normal = unicodedata.normalize("NFKC", text).casefold()
    out: list[str] = []
    current: list[str] = []
    for ch in normal:
        if ch.isalnum():
            current.append(ch)
        elif current:
            out.append("".join(current))
            current = []
    if current:
        out.append("".join(current))
    return out


def ngrams(text: str, n: int) -> set[str]:
    return {seg[i : i + n] for seg in segments(text) for i in range(len(seg) - n + 1)}


def containment(interpretation: str, policy: str, n: int = 6) -> float:
    """Share of the interpretation's n-gram occurrences that occur in the policy (0..1).

    0.0 for a text with no n-gram at all (too short to measure: the title-only check
    refuses it on its own ground).
    """
    return _containment(interpretation, ngrams(policy, n), n)


def _containment(interpretation: str, policy_grams: set[str], n: int) -> float:
    total = hits = 0
    for seg in segments(interpretation):
        for i in range(len(seg) - n + 1):
            total += 1
            hits += seg[i : i + n] in policy_grams
    return hits / total if total else 0.0


def copied_passages(interpretation: str, policy: str, n: int = 6) -> list[Passage]:
    """Maximal runs of the interpretation made of policy n-grams, longest first."""
    return _copied_passages(interpretation, ngrams(policy, n), n)


def _copied_passages(interpretation: str, policy_grams: set[str], n: int) -> list[Passage]:
    found: list[Passage] = []
    for seg in segments(interpretation):
        start: int | None = None
        last = len(seg) - n
        for i in range(last + 2):
            inside = i <= last and seg[i : i + n] in policy_grams
            if inside and start is None:
                start = i
            elif not inside and start is not None:
                text = seg[start : i - 1 + n]
                found.append(Passage(text=text, length=len(text)))
                start = None
    found.sort(key=lambda p: (-p.length, p.text))
    return found


def check_copy(text: str, policy: str, rules: QualityRules) -> Check:
    grams = ngrams(policy, rules.ngram)  # once: the policy may be 200,000 characters
    value = _containment(text, grams, rules.ngram)
    shown = [
        {"text": p.text if p.length <= 80 else p.text[:80] + "…", "length": p.length}
        for p in _copied_passages(text, grams, rules.ngram)[: rules.passages_shown]
    ]
    measured = {
        "containment": round(value, 4),
        "threshold": rules.max_containment,
        "ngram": rules.ngram,
        "longest_copied_passages": shown,
    }
    pct, limit = f"{value:.0%}", f"{rules.max_containment:.0%}"
    if value > rules.max_containment:
        return Check(
            "copy",
            False,
            measured,
            f"照搬照抄原文：解读中 {pct} 的内容取自政策原文（上限 {limit}）。"
            "请用通俗语言说明政策为什么出台、要做什么、与群众和企业有什么关系，"
            "不要摘抄或压缩原文；最长的照抄片段见 longest_copied_passages。",
            f"copied from the policy: {pct} of the interpretation's {rules.ngram}-character "
            f"sequences occur in the policy text (limit {limit}); explain in plain words "
            "instead of excerpting; see longest_copied_passages",
        )
    return Check("copy", True, measured, f"原文占比 {pct}，未超过 {limit}", f"{pct} ≤ {limit}")


# ------------------------------------------------------------------ title-only (标题式)


def is_heading_line(line: str) -> bool:
    stripped = line.strip()
    return len(stripped) <= HEADING_MAX_CHARS and not _SENTENCE_PUNCTUATION.search(stripped)


def explanatory_chars(text: str) -> int:
    """Letters and digits outside heading-like lines: what actually explains."""
    return sum(
        sum(ch.isalnum() for ch in line) for line in text.splitlines() if not is_heading_line(line)
    )


def check_title_only(sections: Sequence[Section], rules: QualityRules) -> Check:
    per_part = {s.part.value: explanatory_chars(s.text) for s in sections if s.part is not None}
    total = sum(explanatory_chars(s.text) for s in sections)
    thin = sorted(part for part, chars in per_part.items() if chars < rules.min_part_chars)
    measured = {
        "explanatory_chars": total,
        "min_explanatory_chars": rules.min_explanatory_chars,
        "part_chars": per_part,
        "min_part_chars": rules.min_part_chars,
        "title_only_parts": thin,
    }
    if total >= rules.min_explanatory_chars and not thin:
        return Check("title_only", True, measured, "内容充实", "explains beyond headings")
    thin_zh = "、".join(PART_LABELS_ZH[Part(p)] for p in thin)
    zh = (
        f"标题式解读：除标题外的说明文字共 {total} 字（至少 {rules.min_explanatory_chars} 字）"
        + (f"；“{thin_zh}”部分只有标题或少于 {rules.min_part_chars} 字" if thin else "")
        + "。请在各部分标题下用完整的句子说明具体内容。"
    )
    en = (
        f"title-only: {total} explanatory characters outside headings "
        f"(at least {rules.min_explanatory_chars})"
        + (f"; parts with only a heading or under {rules.min_part_chars}: {thin}" if thin else "")
    )
    return Check("title_only", False, measured, zh, en)


# ------------------------------------------------------------------ required parts


def reason_chars(reason: str) -> int:
    """Letters and digits of a not-applicable reason (punctuation and spaces explain nothing)."""
    return sum(ch.isalnum() for ch in unicodedata.normalize("NFKC", reason))


def check_parts(
    sections: Sequence[Section], not_applicable: Mapping[Part, str], rules: QualityRules
) -> Check:
    covered = {s.part for s in sections if s.part is not None and s.text.strip()}
    claimed = {p: r for p, r in not_applicable.items() if p not in covered}
    waived = {p: r for p, r in claimed.items() if reason_chars(r) >= rules.min_part_reason_chars}
    unexplained = [p for p in Part if p in claimed and p not in waived]
    missing = [p for p in Part if p not in covered and p not in waived]
    measured = {
        "covered": [p.value for p in Part if p in covered],
        "not_applicable": {p.value: r for p, r in waived.items()},
        "missing": [p.value for p in missing],
        "waived_without_reason": [p.value for p in unexplained],
        "min_part_reason_chars": rules.min_part_reason_chars,
    }
    if not missing:
        return Check("parts", True, measured, "要素齐全", "every part covered or waived")
    labels = "、".join(p.label_zh for p in missing)
    unexplained_zh = "、".join(p.label_zh for p in unexplained)
    zh = (
        f"缺少必备要素：{labels}。请补写这些部分，或在 not_applicable 中说明不适用的理由"
        "（如首次出台的政策没有新旧差异）"
        + (
            f"；“{unexplained_zh}”标为不适用，但理由不足 {rules.min_part_reason_chars} 字"
            if unexplained
            else ""
        )
        + "。"
    )
    en = (
        f"missing parts: {', '.join(p.value for p in missing)}; write them or give the "
        "reason each does not apply (not_applicable)"
        + (
            f"; marked not applicable with a reason under {rules.min_part_reason_chars} "
            f"letters or digits: {', '.join(p.value for p in unexplained)}"
            if unexplained
            else ""
        )
    )
    return Check("parts", False, measured, zh, en)


def full_text(sections: Iterable[Section]) -> str:
    return "\n".join(s.text for s in sections)


def assess(
    sections: Sequence[Section],
    not_applicable: Mapping[Part, str],
    policy_text: str,
    rules: QualityRules | None = None,
) -> QualityReport:
    """Run the three checks; the report passes only when all three pass."""
    rules = rules or QualityRules()
    return QualityReport(
        checks=(
            check_copy(full_text(sections), policy_text, rules),
            check_title_only(sections, rules),
            check_parts(sections, not_applicable, rules),
        )
    )
