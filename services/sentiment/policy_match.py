"""Which published policy a citizen's message is about (误读政策, 方案§17, §五(一)). Pure.

A message that misreads a policy rarely quotes it exactly. Three signals, strongest first,
each shown as a reason so the opinion officer sees why a policy was suggested:

1. the document number (文号) is mentioned — 苏政发〔2026〕12号, 苏政发[2026]12号 and
   苏政发2026年12号 are the same number — score 1.0;
2. the policy's name is mentioned (the 《…》 inside a 关于印发《…》的通知, or the title
   without its issuer and document type) — score 0.9;
3. character bigrams: the share of the name's distinctive bigrams found in the message
   (weight 0.5) and the share of the message's content bigrams found in the beginning of
   the policy text (weight 0.5). Bigrams that every government title or every chat shares
   (关于, 通知, 印发, 我们, 是不) are left out.

The suggestion never links by itself: the officer confirms it with the link command.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

#: A policy is suggested from this score on [ours; measured on the authored examples in
#: tests/unit/test_sentiment_policy_match.py: a paraphrase scores 0.15–0.47 for its policy,
#: ≤ 0.04 for a policy on another topic, 0.34 for one on a neighbouring topic (ranked
#: second); a longer policy text raises the floor, hence a low bar and a human who confirms].
SUGGESTION_THRESHOLD: Final = 0.12
MAX_SUGGESTIONS: Final = 5
MAX_REASON_WORDS: Final = 6
TITLE_WEIGHT: Final = 0.5
BODY_WEIGHT: Final = 0.5
#: Only the beginning of a long policy is compared (the read model keeps this much).
BODY_CHARS: Final = 5_000

#: Bigrams of the boilerplate of government titles: they say nothing about the topic.
_TITLE_STOP: Final = frozenset(
    "关于 于印 印发 发的 的通 通知 的意 意见 的决 决定 的批 批复 的公 公告 通告 的实 "
    "实施 施方 方案 实施 办法 规定 细则 人民 民政 政府 府关 镇人 区人 县人 市人 "
    "工作 进一 一步 加强 做好 有关 事项 暂行 试行 管理".split()
)
#: Characters of chat and function words: a bigram holding one is not content.
_CHAT_CHARS: Final = frozenset("的了是在我你他她它们吗呢吧啊呀这那有不也就都和与还要说会能么么个")
_DOC_TYPES: Final = re.compile(r"(的(通知|意见|决定|批复|函|报告)|通知|公告|通告)$")
_QUOTED: Final = re.compile(r"《([^《》]{4,80})》")
_YEAR_MARK: Final = re.compile(r"(\d{4})年")


@dataclass(frozen=True)
class PolicyRef:
    """What the sentiment service knows of a published policy (from catalog events)."""

    document_id: str
    title: str
    document_number: str | None
    text: str


@dataclass(frozen=True)
class PolicyMatch:
    document_id: str
    score: float
    reasons: tuple[str, ...]


def compact(text: str) -> str:
    """NFKC, case-folded, letters and digits only; `2026年` inside a number loses its 年."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(ch for ch in folded if ch.isalnum())
    return _YEAR_MARK.sub(r"\1", kept)


def number_key(document_number: str | None) -> str | None:
    """The document number as compared: brackets, spaces and the 年 after the year dropped."""
    if not document_number:
        return None
    key = compact(document_number)
    return key if len(key) >= 4 else None


def policy_name(title: str) -> str:
    """The name of a policy: the 《…》 of an 印发 notice, else the title without its issuer
    (…关于) and its document type (的通知, 的意见)."""
    normal = title.strip()
    quoted = _QUOTED.search(normal)
    if quoted:
        return quoted.group(1)
    name = normal.split("关于", 1)[1] if "关于" in normal else normal
    return _DOC_TYPES.sub("", name) or normal


def bigrams(text: str) -> set[str]:
    """Character bigrams inside runs of letters and digits (never across punctuation)."""
    out: set[str] = set()
    folded = unicodedata.normalize("NFKC", text).casefold()
    for run in re.findall(r"\w+", folded):
        out.update(run[i : i + 2] for i in range(len(run) - 1))
    return out


def _content(grams: Iterable[str]) -> set[str]:
    return {g for g in grams if not (set(g) & _CHAT_CHARS) and not g.isdigit()}


def match_one(message: str, policy: PolicyRef) -> PolicyMatch:
    """Score one policy against one message, with the reasons."""
    reasons: list[str] = []
    text = compact(message)
    key = number_key(policy.document_number)
    if key and key in text:
        return PolicyMatch(policy.document_id, 1.0, (f"文号：{policy.document_number}",))
    name = policy_name(policy.title)
    name_key = compact(name)
    if len(name_key) >= 6 and name_key in text:
        return PolicyMatch(policy.document_id, 0.9, (f"名称：《{name}》",))
    wanted = _content(bigrams(name)) - _TITLE_STOP
    said = _content(bigrams(message))
    title_hits = sorted(wanted & said)
    title_share = len(title_hits) / len(wanted) if wanted else 0.0
    body = _content(bigrams(policy.text[:BODY_CHARS])) if policy.text else set()
    body_hits = sorted((said & body) - set(title_hits))
    body_share = len(said & body) / len(said) if said and body else 0.0
    score = round(TITLE_WEIGHT * title_share + BODY_WEIGHT * body_share, 3)
    if title_hits:
        reasons.append(
            f"名称用词 {len(title_hits)}/{len(wanted)}：" + "、".join(title_hits[:MAX_REASON_WORDS])
        )
    if body_hits:
        reasons.append(
            f"正文用词 {round(body_share * 100)}%：" + "、".join(body_hits[:MAX_REASON_WORDS])
        )
    return PolicyMatch(policy.document_id, score, tuple(reasons))


def suggest(
    message: str,
    policies: Iterable[PolicyRef],
    threshold: float = SUGGESTION_THRESHOLD,
    limit: int = MAX_SUGGESTIONS,
) -> list[PolicyMatch]:
    """The policies the message is most likely about, best first (ties: document id)."""
    scored = [m for m in (match_one(message, p) for p in policies) if m.score >= threshold]
    scored.sort(key=lambda m: (-m.score, m.document_id))
    return scored[:limit]
