"""Which proactively published documents answer a request (条例 Art. 36(一)), pure.

When the information asked for is already public, the reply tells the applicant how to
obtain it (reply type already_public). A handler is offered the published documents whose
text shares the request description's words.

Chinese has no spaces: the terms are the catalog search's own (services.catalog.search,
pure) — overlapping character pairs of every CJK run, lower-cased latin words and numbers —
without the lone characters (too common to mean anything); the description is first cut
at the words every request is made of (申请, 公开, 信息, 提供, 的 …). The score is the
share of the description's terms that occur in the document (its title, body and
attachments); a document is offered from MIN_COVERAGE on, best first, title hits breaking
ties. The explanation names the
terms found and missed, so a handler sees why a document was offered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from services.catalog.search import index_terms

#: Runs of CJK characters or of latin letters and digits, as services.catalog.search cuts them.
_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[0-9A-Za-z]+")
#: Share of the description's terms a document must contain to be offered.
MIN_COVERAGE = 0.6
#: At most this many terms of a description are looked up.
MAX_TERMS = 120
#: Words of the request boilerplate, not of the information asked for: the description is
#: cut at them before its pairs are formed (so neither 申请 nor the pair across 提供|苏 counts).
BOILERPLATE = (
    "政府信息公开",
    "申请公开",
    "依申请",
    "请提供",
    "请公开",
    "贵单位",
    "贵机关",
    "复印件",
    "政府信息",
    "申请",
    "请求",
    "提供",
    "要求",
    "公开",
    "信息",
    "有关",
    "相关",
    "关于",
    "本人",
    "我们",
    "具体",
    "内容",
    "以及",
    "情况",
    "的",
    "和",
    "及",
    "与",
    "或",
)
_BOILERPLATE = re.compile("|".join(sorted(BOILERPLATE, key=len, reverse=True)))


def terms_of(text: str) -> set[str]:
    """A document's matchable terms: pairs and words, no lone characters."""
    return {t for t in index_terms(text) if len(t) > 1 or t.isascii()}


def request_terms(description: str) -> list[str]:
    """The description's terms in order of appearance, boilerplate left out."""
    ordered = _ordered_terms(_BOILERPLATE.sub(" ", description))
    return list(dict.fromkeys(ordered))[:MAX_TERMS]


def _ordered_terms(text: str) -> list[str]:
    found: list[str] = []
    for m in _RUN.finditer(text):
        run = m.group()
        if run.isascii():
            found.append(run.lower())
        else:
            found.extend(run[i : i + 2] for i in range(len(run) - 1))
    return found


@dataclass(frozen=True)
class Candidate:
    """A published document and the description terms its text contains."""

    document_id: str
    title: str
    matched: frozenset[str]


@dataclass(frozen=True)
class Match:
    document_id: str
    score: float
    matched_terms: list[str]
    title_terms: list[str]
    missing_terms: list[str]
    explanation: str


def score(terms: list[str], candidate: Candidate) -> Match:
    """The share of `terms` found in the document, and why (in Chinese, for the handler)."""
    matched = [t for t in terms if t in candidate.matched]
    in_title = terms_of(candidate.title)
    title_terms = [t for t in matched if t in in_title]
    missing = [t for t in terms if t not in candidate.matched]
    share = len(matched) / len(terms) if terms else 0.0
    explanation = (
        f"申请描述的 {len(terms)} 个检索词中有 {len(matched)} 个出现在该文件中"
        f"（{share:.0%}），其中 {len(title_terms)} 个见于标题"
        + (f"：{'、'.join(title_terms[:12])}" if title_terms else "")
        + (f"；未出现：{'、'.join(missing[:12])}" if missing else "")
        + "。"
    )
    return Match(
        document_id=candidate.document_id,
        score=round(share, 4),
        matched_terms=matched,
        title_terms=title_terms,
        missing_terms=missing,
        explanation=explanation,
    )


def rank(
    terms: list[str],
    candidates: Iterable[Candidate],
    min_coverage: float = MIN_COVERAGE,
    limit: int = 5,
) -> list[Match]:
    """The documents worth offering, best first (score, then title hits, then id)."""
    if not terms:
        return []
    matches = [score(terms, c) for c in candidates]
    kept = [m for m in matches if m.score >= min_coverage]
    kept.sort(key=lambda m: (-m.score, -len(m.title_terms), m.document_id))
    return kept[:limit]


def candidates_from_rows(
    titles: Mapping[str, str], hits: Iterable[tuple[str, str]]
) -> list[Candidate]:
    """Group (document_id, term) hits of the term index into candidates."""
    found: dict[str, set[str]] = {}
    for document_id, term in hits:
        found.setdefault(document_id, set()).add(term)
    return [
        Candidate(document_id=d, title=titles.get(d, ""), matched=frozenset(t))
        for d, t in found.items()
    ]
