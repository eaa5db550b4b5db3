"""Rule parts of the classifier: sentiment, urgency and hot-topic tags (方案§17, §五(四)).

Pure and offline. Each result carries the words that decided it, so an opinion officer can
see why a message was flagged and overrule it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

import orjson

from services.sentiment.lexicon import (
    HOT_TOPIC_TERMS,
    INTENSIFIERS,
    NEGATIONS,
    NEGATIVE_EMOTICONS,
    NEGATIVE_TERMS,
    POSITIVE_EMOTICONS,
    POSITIVE_TERMS,
    REQUEST_CUES,
    URGENCY_LABELS_ZH,
    URGENCY_TERMS,
    WEAK_NEGATIVE_TERMS,
    words,
)
from services.sentiment.linear import LinearModel

MAX_REASONS = 6


@dataclass(frozen=True)
class SentimentResult:
    """polarity: negative / neutral / positive; score in [-1, 1]; intensity in [0, 1]."""

    polarity: str
    score: float
    intensity: float
    reasons: tuple[str, ...]

    @property
    def negative_intensity(self) -> float:
        """How strongly negative (0 unless negative): what the hotspot window sums."""
        return self.intensity if self.polarity == "negative" else 0.0


@dataclass(frozen=True)
class UrgencyResult:
    """level: major_emergency (5 h / 24 h clocks), urgent, or normal."""

    level: str
    classes: tuple[str, ...]
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class TagResult:
    tag: str
    reasons: tuple[str, ...]


#: What one weak word (一直, 不能, 为什么) counts toward polarity, against 1 for the others.
WEAK_WEIGHT: Final = 0.3

# Sentiment words shorter than two characters are too ambiguous (好几次, 好像); emoticons are
# bracketed and exact.
_SENTIMENT: Final = {
    **{w: -WEAK_WEIGHT for w in words(WEAK_NEGATIVE_TERMS)},
    **{w: -1.0 for w in words(NEGATIVE_TERMS) if len(w) >= 2},
    **{w: 1.0 for w in words(POSITIVE_TERMS) if len(w) >= 2},
    **{w: -1.0 for w in words(NEGATIVE_EMOTICONS)},
    **{w: 1.0 for w in words(POSITIVE_EMOTICONS)},
}
# Longest first: at one position the regex takes 不满意 before 满意 (leftmost, then longest).
_SENTIMENT_RE: Final = re.compile(
    "|".join(re.escape(w) for w in sorted(_SENTIMENT, key=len, reverse=True))
)
_INTENSIFIERS: Final = words(INTENSIFIERS)
_REQUEST_CUES: Final = words(REQUEST_CUES)
_NEGATIONS: Final = words(NEGATIONS)

#: Terms that alone make an urgent class (weight 2); any other term counts 1, a class needs 2.
_STRONG_URGENCY: Final = frozenset(
    "爆炸 火灾 起火 坍塌 倒塌 中毒 泄漏 踩踏 死亡 身亡 遇难 伤亡 群体性 跳楼 溺水 命案 "
    "传染病暴发 地震 洪水 洪涝 泥石流 山体滑坡 台风 决堤 溃坝 山洪 森林火灾 暴雪 "
    "停水 停电 停暖 断水 断电 拖欠工资 欠薪 讨薪 无家可归 谣言 网传 传言 误读 误解 曲解".split()
)
_URGENCY_THRESHOLD = 2

#: The shipped polarity model: `linear.py` fitted on public labelled reviews and posts of
#: several domains (`gongkai sentiment train-polarity`, docs/sentiment.md). Weights only.
POLARITY_MODEL_PATH: Final = Path(__file__).parent / "models" / "polarity-multi-v1.json"
#: With no lexicon word in the text (weak words aside), the model alone must be this sure
#: (|2p − 1|) to call it polar; below, the text is neutral: a question or a request is
#: neither praise nor complaint.
MODEL_ONLY_FLOOR: Final = 0.2
#: |lexicon score + model score| below this is neutral (both sides weigh the same).
POLARITY_THRESHOLD: Final = 0.1
#: The lexicon's score counts this much against the model's lean (2p − 1): its words are
#: few but precise (negation: 不及时 is negative where the model sees 及时).
LEXICON_WEIGHT: Final = 2.0
#: ...but never more than this: a model surer than the cap outweighs one or two lexicon
#: words (one word used to override any model, e.g. 一直 in 一直很喜欢).
LEXICON_CAP: Final = 0.8


#: The lexicon words the polarity model also sees as dictionary features (train-polarity).
POLARITY_TERMS: Final = tuple(
    w
    for w in (
        *words(NEGATIVE_TERMS),
        *words(WEAK_NEGATIVE_TERMS),
        *words(POSITIVE_TERMS),
        *words(NEGATIVE_EMOTICONS),
        *words(POSITIVE_EMOTICONS),
    )
    if len(w) >= 2
)


@cache
def polarity_model() -> LinearModel | None:
    """Loaded once per process (~0.1 s); None if the file is absent (lexicon only)."""
    if not POLARITY_MODEL_PATH.exists():
        return None
    return LinearModel.from_json(orjson.loads(POLARITY_MODEL_PATH.read_bytes()))


def polarity_model_id() -> str:
    """The name every classification records for its sentiment (`lexicon`: no model)."""
    model = polarity_model()
    return model.model_id if model is not None else "lexicon"


_URGENCY: Final = {cls: words(terms) for cls, terms in URGENCY_TERMS.items()}
_TAGS: Final = {tag: words(terms) for tag, terms in HOT_TOPIC_TERMS.items()}


def sentiment(text: str, model: LinearModel | bool | None = True) -> SentimentResult:
    """Lexicon polarity with negation (不满意 vs 不 + 满意) and intensifiers (非常, 强烈), plus
    the polarity model's score (`model=True`: the shipped one; False: lexicon only).

    The two scores add up: the lexicon knows government complaint words (推诿, 不作为) that
    reviews never use; the model knows the thousands of ordinary words of praise and
    complaint a lexicon misses, which is why the lexicon alone called 50–67 % of real
    reviews neutral. Intensity stays the lexicon's (what the hotspot window sums)."""
    total = 0.0
    magnitude = 0.0  # the weighted hits: the polarity score's denominator
    hits = 0.0  # every hit counted 1 (1.5 when intensified): intensity, as before
    strong = False
    reasons: list[str] = []
    for found in _SENTIMENT_RE.finditer(text):
        hit = found.group()
        i = found.start()
        weight = _SENTIMENT[hit]
        before = text[max(0, i - 3) : i]
        label = hit
        if weight > 0 and any(before.endswith(neg) for neg in _NEGATIONS):
            weight = -weight  # 不及时, 没有解决了 → negative
            label = "不" + hit if not before.endswith("没有") else "没有" + hit
        boost = 1.5 if any(word in before for word in _INTENSIFIERS) else 1.0
        if boost > 1.0:
            label = "强调·" + label
        total += weight * boost
        magnitude += abs(weight) * boost
        hits += boost
        strong = strong or abs(weight) >= 1.0
        if len(reasons) < MAX_REASONS and label not in reasons:
            reasons.append(label)
    exclamations = text.count("！") + text.count("!")
    if exclamations and total < 0:
        reasons.append(f"感叹号×{exclamations}")
    score = total / (magnitude + 1.0)
    chosen = polarity_model() if model is True else (model or None)
    if chosen is None:
        polarity = "negative" if score <= -0.25 else "positive" if score >= 0.25 else "neutral"
    else:
        result = chosen.predict(text)
        lean = 2.0 * result.probabilities.get("positive", 0.5) - 1.0
        lexicon = max(-LEXICON_CAP, min(LEXICON_CAP, LEXICON_WEIGHT * score))
        combined = lexicon + lean
        model_alone = not strong  # weak words alone do not lift the floor
        asks = model_alone and any(cue in text for cue in _REQUEST_CUES)
        if (model_alone and abs(combined) < MODEL_ONLY_FLOOR) or asks:
            polarity = "neutral"
        elif abs(combined) < POLARITY_THRESHOLD:
            polarity = "neutral"
        else:
            polarity = "positive" if combined > 0 else "negative"
            if result.label == polarity:
                reasons.extend(f"模型:{r}" for r in result.reasons[:2])
        if polarity != "neutral":  # a neutral text keeps the lexicon's own score
            score = max(-1.0, min(1.0, combined / (LEXICON_CAP + 1.0)))
    intensity = min(1.0, (hits + 0.5 * min(exclamations, 4)) / 8.0)
    if polarity == "neutral":
        intensity = min(intensity, 0.3)
    return SentimentResult(
        polarity=polarity,
        score=round(score, 3),
        intensity=round(intensity, 3),
        reasons=tuple(reasons[:MAX_REASONS]),
    )


def urgency(text: str) -> UrgencyResult:
    """Urgent classes (方案§17) by cue words; major emergencies start the 5-hour clock."""
    classes: list[str] = []
    reasons: list[str] = []
    for cls, terms in _URGENCY.items():
        found = [t for t in terms if t in text]
        weight = sum(2 if t in _STRONG_URGENCY else 1 for t in found)
        if weight >= _URGENCY_THRESHOLD:
            classes.append(cls)
            reasons.extend(f"{URGENCY_LABELS_ZH[cls]}:{t}" for t in found[:3])
    if "public_emergency" in classes or "natural_disaster" in classes:
        level = "major_emergency"
    elif classes:
        level = "urgent"
    else:
        level = "normal"
    return UrgencyResult(level=level, classes=tuple(classes), reasons=tuple(reasons))


def hot_topics(text: str) -> tuple[TagResult, ...]:
    """The seed's hot topics (方案§五(四)) a message touches, with the words found."""
    found: list[TagResult] = []
    for tag, terms in _TAGS.items():
        hits = tuple(t for t in terms if t in text)
        if hits:
            found.append(TagResult(tag=tag, reasons=hits[:4]))
    return tuple(found)
