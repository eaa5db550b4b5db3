"""The quality gate of an interpretation (方案§五(一); DOMAIN.md §3). Pure: no I/O.

Three checks, each with a measured value a drafter can act on:

- 照搬照抄原文 (copy): what the interpretation adds beyond quotation. Real interpretations
  quote their policy heavily (measured on 35 real pairs: 6-gram containment 0.05–0.86 for
  those that explain, up to half their sentences quoted whole), so quoting alone is no fault.
  Measured: containment (share of the text's character 6-grams found in the policy), the
  quoted share (characters inside verbatim runs of at least `quote_run_chars` shared with the
  policy), the drafter's own characters (outside those runs) in total and per part, and the
  lifted share (characters and sentences that are at least 90 % quotation: lifted sentence
  by sentence). Whatever the containment, a text with `max_lifted_share` of its characters
  or `max_lifted_sentence_share` of its sentences lifted whole is refused: that is 整句照搬
  (a text with 60 % of its sentences replaced by policy sentences keeps only 40-66 % of its
  characters lifted, and as little as 0.44 containment, because policy sentences are often
  shorter than explanatory ones; counted by sentences it stays near the 60 % it was built
  with). A text above `near_copy_containment` is a near-copy and refused outright; a text
  above `max_containment` quotes heavily and passes only if it also explains in its own
  words: at least `min_own_chars` own characters and `min_part_own_chars` in each part, and
  its sentences not lifted whole at least `min_own_share` its own (whole quoted sentences are
  judged by the lifted rule; a share of the whole text would count them twice, and refused
  real 解读 that quote whole items and explain each at length). The refusal shows the values
  and the longest copied passages.
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
from types import MappingProxyType
from typing import Any

from shared.fields import LabelledEnum


class Part(LabelledEnum):
    """The parts an interpretation must explain (方案§五(一))."""

    background_basis = "background_basis", "背景依据"
    goals_tasks = "goals_tasks", "目标任务"
    main_content = "main_content", "主要内容"
    key_measures = "key_measures", "重要举措"
    old_new_differences = "old_new_differences", "新旧政策差异"


PART_LABELS_ZH: Mapping[Part, str] = MappingProxyType({m: m.label_zh for m in Part})
HEADING_MAX_CHARS = 30
_SENTENCE_PUNCTUATION = re.compile(r"[。！？；;!?]")
_SENTENCE_END = re.compile(r"(?<=[。！？；;!?\n])")
#: A sentence at least this share quotation counts as lifted whole from the policy.
LIFTED_SENTENCE_SHARE = 0.9


@dataclass(frozen=True)
class QualityRules:
    """Thresholds [ours; configurable per deployment]."""

    ngram: int = 6
    #: Above this containment a text quotes heavily and must show its own explanation.
    max_containment: float = 0.5
    #: Above this containment a text is a near-copy, refused whatever else it holds.
    near_copy_containment: float = 0.9
    #: A verbatim run shared with the policy at least this long (letters and digits) is quotation.
    quote_run_chars: int = 12
    #: For a quotation-heavy text: the share of its own characters, at least, in the
    #: sentences not lifted whole (a sentence stitched from quotations with a few
    #: connecting words explains nothing; whole quoted sentences are the lifted rule's).
    min_own_share: float = 0.3
    #: … its own characters, at least, in total and in each covered part.
    min_own_chars: int = 300
    min_part_own_chars: int = 40
    #: Any text, whatever its containment: the share of characters in sentences lifted
    #: whole, below …
    max_lifted_share: float = 0.6
    #: … and the share of sentences lifted whole, below: at least half the sentences being
    #: the policy's own is sentence-by-sentence copying (整句照搬), however short they are
    #: and however long the drafter's other sentences.
    max_lifted_sentence_share: float = 0.5
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


@dataclass(frozen=True)
class Substance:
    """What a text quotes and what it adds, in letters and digits outside heading lines."""

    total_chars: int
    quoted_chars: int
    own_chars: int
    lifted_chars: int
    sentences: int = 0
    lifted_sentences: int = 0
    #: Own characters in the sentences not lifted whole.
    unlifted_own_chars: int = 0

    @property
    def own_share(self) -> float:
        return self.own_chars / self.total_chars if self.total_chars else 1.0

    @property
    def unlifted_own_share(self) -> float:
        """Own share of the sentences not lifted whole (1.0 when every sentence is lifted:
        the lifted rule judges those)."""
        rest = self.total_chars - self.lifted_chars
        return self.unlifted_own_chars / rest if rest else 1.0

    @property
    def quoted_share(self) -> float:
        return self.quoted_chars / self.total_chars if self.total_chars else 0.0

    @property
    def lifted_share(self) -> float:
        return self.lifted_chars / self.total_chars if self.total_chars else 0.0

    @property
    def lifted_sentence_share(self) -> float:
        return self.lifted_sentences / self.sentences if self.sentences else 0.0


def stream(text: str) -> str:
    """The letters and digits of a text run together: a quotation spans the commas it crosses,
    so re-punctuating a lifted sentence neither hides it nor splits it into short pieces."""
    return "".join(segments(text))


def run_grams(policy: str, run: int) -> set[str]:
    """Every `run`-character window of the policy's letters and digits."""
    joined = stream(policy)
    return {joined[i : i + run] for i in range(len(joined) - run + 1)}


def quoted_mask(chars: str, policy_grams: set[str], run: int) -> list[bool]:
    """Per character: inside a verbatim run of ≥ `run` shared with the policy."""
    mask = [False] * len(chars)
    for i in range(len(chars) - run + 1):
        if chars[i : i + run] in policy_grams:
            for j in range(i, i + run):
                mask[j] = True
    return mask


def substance(text: str, policy_grams: set[str], run: int) -> Substance:
    """Quoted, own and lifted characters of the explanatory lines (headings left out).
    `policy_grams` from `run_grams(policy, run)`."""
    total = quoted = lifted = sentences = lifted_sentences = unlifted_own = 0
    for line in text.splitlines():
        if is_heading_line(line):
            continue
        for sentence in _SENTENCE_END.split(line):
            chars = stream(sentence)
            if not chars:
                continue
            sentence_quoted = sum(quoted_mask(chars, policy_grams, run))
            total += len(chars)
            quoted += sentence_quoted
            sentences += 1
            if sentence_quoted >= LIFTED_SENTENCE_SHARE * len(chars):
                lifted += len(chars)
                lifted_sentences += 1
            else:
                unlifted_own += len(chars) - sentence_quoted
    return Substance(
        total, quoted, total - quoted, lifted, sentences, lifted_sentences, unlifted_own
    )


def _copy_reasons(
    containment: float, whole: Substance, thin_parts: Sequence[str], rules: QualityRules
) -> list[str]:
    """Why a text is a copy: near-copy containment, lifted sentence by sentence (at any
    containment), or heavy quotation without enough of its own explanation (in all, per part,
    in share of the sentences not lifted whole)."""
    reasons: list[str] = []
    heavy = containment > rules.max_containment
    if containment > rules.near_copy_containment:
        reasons.append("near_copy")
    if heavy and whole.unlifted_own_share < rules.min_own_share:
        reasons.append("own_share")
    if heavy and whole.own_chars < rules.min_own_chars:
        reasons.append("own_chars")
    if (
        whole.lifted_share >= rules.max_lifted_share
        or whole.lifted_sentence_share >= rules.max_lifted_sentence_share
    ):
        reasons.append("lifted")
    if heavy and thin_parts:
        reasons.append("thin_parts")
    return reasons


def check_copy(
    text: str,
    policy: str,
    rules: QualityRules,
    parts: Mapping[str, str] | None = None,
) -> Check:
    """`parts`: part → its text, for the per-part own characters (sections with a part)."""
    grams = ngrams(policy, rules.ngram)  # once: the policy may be 200,000 characters
    quote_grams = run_grams(policy, rules.quote_run_chars)
    value = _containment(text, grams, rules.ngram)
    whole = substance(text, quote_grams, rules.quote_run_chars)
    part_own = {
        part: substance(body, quote_grams, rules.quote_run_chars).own_chars
        for part, body in (parts or {}).items()
    }
    shown = [
        {"text": p.text if p.length <= 80 else p.text[:80] + "…", "length": p.length}
        for p in _copied_passages(text, grams, rules.ngram)[: rules.passages_shown]
    ]
    thin_parts = sorted(p for p, n in part_own.items() if n < rules.min_part_own_chars)
    reasons = _copy_reasons(value, whole, thin_parts, rules)
    measured = {
        "containment": round(value, 4),
        "threshold": rules.max_containment,
        "near_copy_threshold": rules.near_copy_containment,
        "ngram": rules.ngram,
        "quoted_share": round(whole.quoted_share, 4),
        "own_share": round(whole.own_share, 4),
        "unlifted_own_share": round(whole.unlifted_own_share, 4),
        "min_own_share": rules.min_own_share,
        "own_chars": whole.own_chars,
        "min_own_chars": rules.min_own_chars,
        "part_own_chars": part_own,
        "min_part_own_chars": rules.min_part_own_chars,
        "lifted_share": round(whole.lifted_share, 4),
        "max_lifted_share": rules.max_lifted_share,
        "lifted_sentences": whole.lifted_sentences,
        "sentences": whole.sentences,
        "lifted_sentence_share": round(whole.lifted_sentence_share, 4),
        "max_lifted_sentence_share": rules.max_lifted_sentence_share,
        "quote_run_chars": rules.quote_run_chars,
        "reasons": reasons,
        "longest_copied_passages": shown,
    }
    pct, limit = f"{value:.0%}", f"{rules.max_containment:.0%}"
    own_pct = f"{whole.own_share:.0%}"
    if reasons:
        thin_zh = "、".join(PART_LABELS_ZH[Part(p)] for p in thin_parts)
        detail_zh = (
            f"解读中 {pct} 的内容取自政策原文，其中 {whole.quoted_share:.0%} 的文字是与原文相同的"
            f"连续 {rules.quote_run_chars} 字以上的片段，自己的说明只有 {whole.own_chars} 字"
            f"（占 {own_pct}）"
            + (
                f"，{whole.lifted_sentences}/{whole.sentences} 句"
                f"（{whole.lifted_share:.0%} 的文字）是整句照搬"
                if "lifted" in reasons
                else ""
            )
            + (
                f"，未整句引用的句子中自己的文字只占 {whole.unlifted_own_share:.0%}"
                if "own_share" in reasons
                else ""
            )
            + (f"，“{thin_zh}”部分几乎没有自己的说明" if "thin_parts" in reasons else "")
        )
        return Check(
            "copy",
            False,
            measured,
            f"照搬照抄原文：{detail_zh}。引用原文可以，但须用通俗语言说明政策为什么出台、"
            "要做什么、与群众和企业有什么关系，不要摘抄或压缩原文；"
            "最长的照抄片段见 longest_copied_passages。",
            f"copied from the policy ({', '.join(reasons)}): {pct} of the interpretation's "
            f"{rules.ngram}-character sequences occur in the policy text; {whole.own_chars} "
            f"characters ({own_pct}) are its own, outside verbatim runs of "
            f"≥ {rules.quote_run_chars}; {whole.lifted_sentences} of {whole.sentences} sentences "
            f"({whole.lifted_share:.0%} of the characters) lifted whole; the other sentences "
            f"{whole.unlifted_own_share:.0%} its own. "
            "Quote if needed, but explain in plain words; see longest_copied_passages",
        )
    return Check(
        "copy",
        True,
        measured,
        f"原文占比 {pct}（超过 {limit} 时须有足够的自己的说明）；"
        f"自己的说明 {whole.own_chars} 字，占 {own_pct}",
        f"{pct} of the text from the policy; {whole.own_chars} own characters ({own_pct})",
    )


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


def part_texts(sections: Iterable[Section]) -> dict[str, str]:
    """Each covered part's text (several sections of one part are joined)."""
    found: dict[str, list[str]] = {}
    for s in sections:
        if s.part is not None and s.text.strip():
            found.setdefault(s.part.value, []).append(s.text)
    return {part: "\n".join(texts) for part, texts in found.items()}


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
            check_copy(full_text(sections), policy_text, rules, part_texts(sections)),
            check_title_only(sections, rules),
            check_parts(sections, not_applicable, rules),
        )
    )
