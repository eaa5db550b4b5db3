"""Evaluating the quality gate on real policy/interpretation pairs (docs/interpretation.md).

Each genuine interpretation must pass; three texts derived from each pair must be refused:
the policy itself (verbatim copy), the interpretation's headings alone (title-only: per line,
the words before the first clause punctuation, at most `TITLE_CHARS`, as a 标题式 解读 lists
its points without explaining them), and the interpretation with 60 % of its sentences
replaced by policy sentences (lifted). Pure: texts in, decisions and a confusion table out
(`gongkai interpretation-check --pairs`, `bench/text_eval.py gate`). Texts are never
printed, only ids and measured values.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.interpretation import quality as q

KINDS = ("genuine", "verbatim_copy", "title_only", "lifted_60")
_SENTENCE_END = re.compile(r"(?<=[。！？；;!?])")
#: A heading of the title-only text: at most this many characters of a line …
TITLE_CHARS = 20
#: … before its first clause punctuation (a heading names a point; the clause after it explains).
_CLAUSE_PUNCTUATION = re.compile(r"[，,：:。；;！!？?]")


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text.replace("\n", "。\n")) if s.strip("。\n ")]


def heading(line: str) -> str:
    """What a 标题式 解读 keeps of a line: the words before its first clause punctuation, at
    most `TITLE_CHARS` ("一、出台背景" stays; "（一）明确了认证的适用范围。……" becomes
    "（一）明确了认证的适用范围"), so it carries no explanation. Cutting lines to a length
    instead kept real content wherever a text is made of many short lines."""
    return _CLAUSE_PUNCTUATION.split(line.strip(), maxsplit=1)[0].strip()[:TITLE_CHARS]


def derived(policy: str, interpretation: str, seed: int) -> dict[str, str]:
    """The three refusals the gate must keep, built from one pair (reproducible by seed)."""
    headings = [heading(line) for line in interpretation.splitlines()]
    own = sentences(interpretation)
    # Policy sentences the gate can recognise as quotation: at least one verbatim run of
    # letters and digits (punctuation does not count; a 9-letter clause is no quotation).
    quotable = q.QualityRules.quote_run_chars
    source = [s for s in sentences(policy) if len(q.stream(s)) >= quotable] or sentences(policy)
    rng = random.Random(seed)
    replace = set(rng.sample(range(len(own)), k=max(1, round(0.6 * len(own)))))
    lifted = "".join(
        source[rng.randrange(len(source))] if i in replace else s for i, s in enumerate(own)
    )
    return {
        "verbatim_copy": policy,
        "title_only": "\n".join(h for h in headings if h),
        "lifted_60": lifted,
    }


def decide(text: str, policy: str, rules: q.QualityRules) -> tuple[bool, q.Check]:
    """The gate on a text without parts: the copy and title-only checks."""
    copy = q.check_copy(text, policy, rules)
    title = q.check_title_only([q.Section(heading="", text=text)], rules)
    return copy.passed and title.passed, copy


@dataclass(frozen=True)
class GateEvaluation:
    #: kind → (decided as wanted, total)
    per_kind: dict[str, tuple[int, int]]
    #: (gold, predicted) → count, gold/predicted in {"pass", "refuse"}
    confusion: dict[tuple[str, str], int]
    #: Per genuine text: its id, decision and measured values.
    genuine: list[dict[str, Any]]
    #: Per derived text decided wrongly (passed): its id, kind and measured values.
    wrong: list[dict[str, Any]] = field(default_factory=list)

    def table(self) -> str:
        lines = [f"{'text':<14}{'as wanted':>10}{'of':>5}"]
        for kind, (right, total) in self.per_kind.items():
            lines.append(f"{kind:<14}{right:>10}{total:>5}")
        lines.append("gold \\ predicted      pass  refuse")
        for gold in ("pass", "refuse"):
            row = [self.confusion.get((gold, p), 0) for p in ("pass", "refuse")]
            lines.append(f"{gold:<18}{row[0]:>8}{row[1]:>8}")
        return "\n".join(lines)


MEASURED = (
    "containment",
    "quoted_share",
    "own_chars",
    "unlifted_own_share",
    "lifted_share",
    "lifted_sentence_share",
)


def evaluate_pairs(pairs: Iterable[Mapping[str, str]], rules: q.QualityRules) -> GateEvaluation:
    per_kind = {k: [0, 0] for k in KINDS}
    confusion: dict[tuple[str, str], int] = {}
    genuine: list[dict[str, Any]] = []
    wrong: list[dict[str, Any]] = []
    for n, pair in enumerate(pairs):
        policy, text = pair["policy"], pair["interpretation"]
        for kind, body in {"genuine": text, **derived(policy, text, n)}.items():
            passed, copy = decide(body, policy, rules)
            want = "pass" if kind == "genuine" else "refuse"
            got = "pass" if passed else "refuse"
            per_kind[kind][0] += got == want
            per_kind[kind][1] += 1
            confusion[(want, got)] = confusion.get((want, got), 0) + 1
            if kind == "genuine" or got != want:
                row = {
                    "id": pair.get("id", str(n)),
                    **({} if kind == "genuine" else {"kind": kind}),
                    "passed": passed,
                    **{k: copy.measured[k] for k in MEASURED},
                    "explanatory_chars": q.explanatory_chars(body),
                    "reasons": copy.measured["reasons"],
                }
                (genuine if kind == "genuine" else wrong).append(row)
    return GateEvaluation(
        per_kind={k: (v[0], v[1]) for k, v in per_kind.items()},
        confusion=confusion,
        genuine=genuine,
        wrong=wrong,
    )
