"""The message classifier: topic category, hot-topic tags, sentiment and urgency, with reasons.

Topic, two kinds of model behind one `predict(text) -> TopicResult`:
- the shipped default: a multinomial naive Bayes over character bigrams and lexicon words,
  trained on the authored lexicon alone (pseudo-documents per category), so it works with no
  data set at all;
- what `gongkai sentiment train` fits on a district's labelled history: the linear model of
  `linear.py` (TF-IDF bigrams + dictionary words, a class-balanced linear SVM), seeded with
  the lexicon and, with `--taxonomy`, the district's category tree as one-term documents.
  Cross-validated on the public sample it scores macro-F1 0.86 where naive Bayes scores 0.72
  (docs/sentiment.md); `--kind nb` still fits naive Bayes.
Both classify with no numeric library and thousands of messages a second on one CPU core;
both explain with the features that pushed most toward the winner. Models are JSON (no
pickle: a model file is data, never code).

Pure: no I/O except `save_model`/`load_model`, which the CLI and the composition root call.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson

from services.sentiment import rules
from services.sentiment.lexicon import TOPIC_TERMS, words
from services.sentiment.linear import LINEAR_FORMAT, LinearModel, fit_linear

MODEL_FORMAT: Final = "gongkai-sentiment-nb/1"
DEFAULT_MODEL_ID: Final = "lexicon-default-v1"
TERM_WEIGHT: Final = 2.0
SEED_WEIGHT: Final = 3.0
MAX_REASONS: Final = 6

_KEEP = re.compile(r"[\u4e00-\u9fff0-9a-z]+")


def normalize(text: str) -> str:
    """NFKC-ish cleanup enough for matching: lower-case ASCII, full-width digits to ASCII."""
    return text.lower().translate(_FULLWIDTH)


_FULLWIDTH = {
    ord(c): ord(c) - 0xFEE0
    for c in "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ"
}


def bigrams(text: str) -> set[str]:
    """Distinct character bigrams inside runs of CJK/letters/digits (binary NB features)."""
    found: set[str] = set()
    for run in _KEEP.findall(text):
        if len(run) == 1:
            continue
        found.update(run[i : i + 2] for i in range(len(run) - 1))
    return found


@dataclass
class TopicModel:
    """Counts per class and feature; log-probabilities derived once at load."""

    classes: tuple[str, ...]
    terms: tuple[str, ...]
    counts: dict[str, dict[str, float]]
    doc_counts: dict[str, int]
    alpha: float = 0.5
    prior: str = "uniform"
    model_id: str = DEFAULT_MODEL_ID
    meta: dict[str, Any] = field(default_factory=dict)
    _logp: dict[str, tuple[float, ...]] = field(default_factory=dict, repr=False)
    _logprior: tuple[float, ...] = field(default=(), repr=False)
    _logsum: dict[str, float] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._prepare()

    def _prepare(self) -> None:
        vocab: set[str] = set()
        for per_class in self.counts.values():
            vocab.update(per_class)
        size = max(1, len(vocab))
        totals = {c: sum(self.counts.get(c, {}).values()) for c in self.classes}
        self._logp = {
            f: tuple(
                math.log(
                    (self.counts.get(c, {}).get(f, 0.0) + self.alpha)
                    / (totals[c] + self.alpha * size)
                )
                for c in self.classes
            )
            for f in vocab
        }
        self._logsum = {f: sum(values) for f, values in self._logp.items()}
        docs = sum(self.doc_counts.get(c, 0) for c in self.classes)
        if self.prior == "empirical" and docs:
            self._logprior = tuple(
                math.log((self.doc_counts.get(c, 0) + 1) / (docs + len(self.classes)))
                for c in self.classes
            )
        else:
            self._logprior = tuple(0.0 for _ in self.classes)

    def features(self, text: str) -> dict[str, float]:
        clean = normalize(text)
        feats: dict[str, float] = dict.fromkeys(bigrams(clean), 1.0)
        for term in self.terms:
            if term in clean:
                feats["w:" + term] = TERM_WEIGHT
        return feats

    def scores(self, text: str) -> tuple[list[float], dict[str, float]]:
        feats = self.features(text)
        # Column sums through zip(*rows) run in C: ~4x faster than a per-class Python loop.
        logp = self._logp
        grams = [logp[f] for f, w in feats.items() if w == 1.0 and f in logp]
        terms = [logp[f] for f, w in feats.items() if w != 1.0 and f in logp]
        totals = list(self._logprior)
        if grams:
            totals = [
                t + g for t, g in zip(totals, map(sum, zip(*grams, strict=True)), strict=True)
            ]
        if terms:
            totals = [
                t + TERM_WEIGHT * g
                for t, g in zip(totals, map(sum, zip(*terms, strict=True)), strict=True)
            ]
        return totals, feats

    def predict(self, text: str) -> TopicResult:
        totals, feats = self.scores(text)
        best = max(range(len(totals)), key=totals.__getitem__)
        top = max(totals)
        exp = [math.exp(t - top) for t in totals]
        norm = sum(exp)
        probs = {c: round(e / norm, 4) for c, e in zip(self.classes, exp, strict=True)}
        return TopicResult(
            category=self.classes[best],
            confidence=probs[self.classes[best]],
            reasons=self._reasons(best, feats),
            probabilities=probs,
        )

    def _reasons(self, best: int, feats: Mapping[str, float]) -> tuple[str, ...]:
        """The features that pushed most toward the winner versus the average other class."""
        others = len(self.classes) - 1 or 1
        ranked: list[tuple[float, str]] = []
        table, sums = self._logp, self._logsum
        for f, weight in feats.items():
            logp = table.get(f)
            if logp is None:
                continue
            gain = weight * (logp[best] - (sums[f] - logp[best]) / others)
            if gain > 0:
                ranked.append((gain, f))
        ranked.sort(reverse=True)
        words_first = [f[2:] for _, f in ranked if f.startswith("w:")]
        grams = [f for _, f in ranked if not f.startswith("w:")]
        chosen: list[str] = []
        for f in words_first + grams:
            if not any(f in c for c in chosen):
                chosen.append(f)
            if len(chosen) == MAX_REASONS:
                break
        return tuple(chosen)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": MODEL_FORMAT,
            "model_id": self.model_id,
            "classes": list(self.classes),
            "terms": list(self.terms),
            "alpha": self.alpha,
            "prior": self.prior,
            "doc_counts": self.doc_counts,
            "counts": self.counts,
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TopicModel:
        if data.get("format") != MODEL_FORMAT:
            raise ValueError(f"not a {MODEL_FORMAT} model: {data.get('format')!r}")
        return cls(
            classes=tuple(data["classes"]),
            terms=tuple(data["terms"]),
            counts={c: dict(v) for c, v in data["counts"].items()},
            doc_counts=dict(data["doc_counts"]),
            alpha=float(data["alpha"]),
            prior=str(data["prior"]),
            model_id=str(data["model_id"]),
            meta=dict(data.get("meta", {})),
        )


@dataclass(frozen=True)
class TopicResult:
    category: str
    confidence: float
    reasons: tuple[str, ...]
    probabilities: Mapping[str, float]


def lexicon_terms() -> tuple[str, ...]:
    return tuple(dict.fromkeys(t for terms in TOPIC_TERMS.values() for t in words(terms)))


def train_topic_model(
    samples: Iterable[tuple[str, str]],
    *,
    seed: bool = True,
    alpha: float = 0.1,
    prior: str = "uniform",
    model_id: str = "trained",
    meta: Mapping[str, Any] | None = None,
) -> TopicModel:
    """Count features per class. `seed` adds the authored lexicon as pseudo-documents."""
    terms = lexicon_terms()
    counts: dict[str, defaultdict[str, float]] = {}
    doc_counts: Counter[str] = Counter()
    probe = TopicModel(classes=(), terms=terms, counts={}, doc_counts={})
    rows = list(samples)
    # A district's labels are its taxonomy: the lexicon seeds only the categories it uses.
    used = {label for _, label in rows} or set(TOPIC_TERMS)
    if seed:
        for category, text in TOPIC_TERMS.items():
            if category not in used:
                continue
            bucket = counts.setdefault(category, defaultdict(float))
            for term in words(text):
                bucket["w:" + term] += SEED_WEIGHT * TERM_WEIGHT
                for gram in bigrams(term):
                    bucket[gram] += SEED_WEIGHT
    for text, label in rows:
        bucket = counts.setdefault(label, defaultdict(float))
        for feature, weight in probe.features(text).items():
            bucket[feature] += weight
        doc_counts[label] += 1
    classes = tuple(sorted(counts))
    return TopicModel(
        classes=classes,
        terms=terms,
        counts={c: dict(v) for c, v in counts.items()},
        doc_counts=dict(doc_counts),
        alpha=alpha,
        prior=prior,
        model_id=model_id,
        meta=dict(meta or {}),
    )


@dataclass
class LinearTopicModel:
    """The trained topic model (`linear.py`) behind the same `predict` → `TopicResult` API."""

    linear: LinearModel

    @property
    def model_id(self) -> str:
        return self.linear.model_id

    @property
    def classes(self) -> tuple[str, ...]:
        return self.linear.classes

    @property
    def meta(self) -> dict[str, Any]:
        return self.linear.meta

    def predict(self, text: str) -> TopicResult:
        result = self.linear.predict(text)
        return TopicResult(
            category=result.label,
            confidence=result.confidence,
            reasons=result.reasons,
            probabilities=result.probabilities,
        )

    def to_json(self) -> dict[str, Any]:
        return self.linear.to_json()


#: Either kind of topic model: both answer `predict(text) -> TopicResult`.
AnyTopicModel = TopicModel | LinearTopicModel


def train_linear_topic_model(
    samples: Iterable[tuple[str, str]],
    *,
    seed: bool = True,
    categories: Mapping[str, Sequence[str]] | None = None,
    c: float = 1.0,
    model_id: str = "trained",
    meta: Mapping[str, Any] | None = None,
) -> LinearTopicModel:
    """The default trained model. `seed` adds each lexicon word of the categories the labels
    use as a one-word pseudo-document; `categories` (class → names, e.g. the district's
    二级/三级分类 tree) adds each name the same way. Both are dictionary words too."""
    rows = list(samples)
    used = {label for _, label in rows}
    pseudo: dict[str, list[str]] = {}
    if seed:
        for category, text in TOPIC_TERMS.items():
            if category in used:
                pseudo.setdefault(category, []).extend(words(text))
    for category, names in (categories or {}).items():
        if category in used:
            pseudo.setdefault(category, []).extend(n for n in names if n.strip())
    terms = [t for texts in pseudo.values() for t in texts]
    linear = fit_linear(rows, terms=terms, pseudo=pseudo, c=c, model_id=model_id, meta=meta)
    return LinearTopicModel(linear)


@dataclass(frozen=True)
class Classification:
    topic: TopicResult
    tags: tuple[rules.TagResult, ...]
    sentiment: rules.SentimentResult
    urgency: rules.UrgencyResult
    model_id: str
    #: The polarity model that weighed in on the sentiment, or `lexicon` (rules.sentiment).
    polarity_model_id: str = "lexicon"

    def as_payload(self) -> dict[str, Any]:
        """The JSON shape stored in MessageClassified and shown by the API."""
        return {
            "model_id": self.model_id,
            "polarity_model_id": self.polarity_model_id,
            "category": self.topic.category,
            "category_confidence": self.topic.confidence,
            "category_reasons": list(self.topic.reasons),
            "tags": [{"tag": t.tag, "reasons": list(t.reasons)} for t in self.tags],
            "polarity": self.sentiment.polarity,
            "sentiment_score": self.sentiment.score,
            "intensity": self.sentiment.intensity,
            "sentiment_reasons": list(self.sentiment.reasons),
            "urgency": self.urgency.level,
            "urgency_classes": list(self.urgency.classes),
            "urgency_reasons": list(self.urgency.reasons),
        }


@dataclass
class Classifier:
    topic_model: AnyTopicModel

    def classify(self, text: str) -> Classification:
        clean = normalize(text)
        return Classification(
            topic=self.topic_model.predict(clean),
            tags=rules.hot_topics(clean),
            sentiment=rules.sentiment(clean),
            urgency=rules.urgency(clean),
            model_id=self.topic_model.model_id,
            polarity_model_id=rules.polarity_model_id(),
        )

    def classify_many(self, texts: Sequence[str]) -> list[Classification]:
        return [self.classify(t) for t in texts]


_DEFAULT: list[Classifier] = []


def default_classifier() -> Classifier:
    """The shipped model: the authored lexicon only (built once per process, ~ms)."""
    if not _DEFAULT:
        _DEFAULT.append(Classifier(train_topic_model((), seed=True, model_id=DEFAULT_MODEL_ID)))
    return _DEFAULT[0]


def save_model(model: AnyTopicModel, path: str | Path) -> None:
    Path(path).write_bytes(orjson.dumps(model.to_json(), option=orjson.OPT_SORT_KEYS))


def load_model(path: str | Path) -> AnyTopicModel:
    """Either format; a file of any other format is refused (a model file is data, not code)."""
    return model_from_json(orjson.loads(Path(path).read_bytes()))


def model_from_json(data: Any) -> AnyTopicModel:
    """A model from its parsed JSON (a file, or an artefact stored in the database)."""
    if isinstance(data, dict) and data.get("format") == LINEAR_FORMAT:
        return LinearTopicModel(LinearModel.from_json(data))
    return TopicModel.from_json(data)
