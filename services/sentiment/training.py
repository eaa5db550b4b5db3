"""Training and evaluation of the topic model on a district's labelled history.

`gongkai sentiment train` / `eval` call these. Rows are personal data: only counts, labels
and scores are printed, never a text.
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from services.sentiment.classifier import AnyTopicModel

Sample = tuple[str, str]


@dataclass(frozen=True)
class LabelledData:
    samples: list[Sample]
    skipped: int


def read_labelled(path: str | Path, text_cols: Sequence[str], label_col: str) -> LabelledData:
    """Rows of a UTF-8 CSV (BOM tolerated); several text columns are joined by a newline."""
    samples: list[Sample] = []
    skipped = 0
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in (*text_cols, label_col) if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"columns not in the file: {', '.join(missing)}")
        for row in reader:
            text = "\n".join((row.get(c) or "").strip() for c in text_cols).strip()
            label = (row.get(label_col) or "").strip()
            if not text or not label:
                skipped += 1
                continue
            samples.append((text, label))
    return LabelledData(samples=samples, skipped=skipped)


def stratified_split(
    samples: Sequence[Sample], test_share: float = 0.3, seed: int = 20260101
) -> tuple[list[Sample], list[Sample]]:
    """A reproducible held-out split keeping each label's share."""
    by_label: dict[str, list[Sample]] = {}
    for sample in samples:
        by_label.setdefault(sample[1], []).append(sample)
    rng = random.Random(seed)
    train: list[Sample] = []
    test: list[Sample] = []
    for label in sorted(by_label):
        rows = by_label[label][:]
        rng.shuffle(rows)
        cut = max(1, round(len(rows) * test_share)) if len(rows) > 1 else 0
        test.extend(rows[:cut])
        train.extend(rows[cut:])
    return train, test


@dataclass(frozen=True)
class ClassScore:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    macro_f1: float
    per_class: tuple[ClassScore, ...]
    total: int
    #: (gold, predicted) → count; predicted may be a label outside the gold set (e.g. neutral).
    confusion: tuple[tuple[str, str, int], ...] = ()

    def confusion_table(self) -> str:
        """Rows gold, columns predicted (labels cut to 4 characters to keep the table narrow)."""
        gold = [s.label for s in self.per_class]
        predicted = gold + sorted({p for _, p, _ in self.confusion} - set(gold))
        cell = {(g, p): n for g, p, n in self.confusion}
        width = 7
        lines = ["gold \\ predicted".ljust(14) + "".join(p[:4].rjust(width) for p in predicted)]
        for g in gold:
            lines.append(
                g[:6].ljust(14) + "".join(str(cell.get((g, p), 0)).rjust(width) for p in predicted)
            )
        return "\n".join(lines)

    def table(self) -> str:
        lines = [f"{'class':<12}{'precision':>10}{'recall':>9}{'f1':>8}{'support':>9}"]
        for s in self.per_class:
            lines.append(
                f"{s.label:<12}{s.precision:>10.3f}{s.recall:>9.3f}{s.f1:>8.3f}{s.support:>9}"
            )
        lines.append(f"accuracy {self.accuracy:.3f}  macro-F1 {self.macro_f1:.3f}  n={self.total}")
        return "\n".join(lines)


def evaluate(gold: Sequence[str], predicted: Sequence[str]) -> Evaluation:
    """Accuracy, macro-F1 over the gold labels (a class never predicted scores 0)."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    labels = sorted(set(gold))
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    pairs = Counter(zip(gold, predicted, strict=True))
    for g, p in zip(gold, predicted, strict=True):
        if g == p:
            tp[g] += 1
        else:
            fp[p] += 1
            fn[g] += 1
    scores: list[ClassScore] = []
    for label in labels:
        precision = tp[label] / (tp[label] + fp[label]) if tp[label] + fp[label] else 0.0
        recall = tp[label] / (tp[label] + fn[label]) if tp[label] + fn[label] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(ClassScore(label, precision, recall, f1, tp[label] + fn[label]))
    accuracy = sum(tp.values()) / len(gold) if gold else 0.0
    macro = sum(s.f1 for s in scores) / len(scores) if scores else 0.0
    return Evaluation(
        accuracy=accuracy,
        macro_f1=macro,
        per_class=tuple(scores),
        total=len(gold),
        confusion=tuple((g, p, n) for (g, p), n in sorted(pairs.items())),
    )


def read_categories(
    path: str | Path, label_col: str, name_cols: Sequence[str]
) -> dict[str, list[str]]:
    """A category tree (e.g. 一级/二级/三级分类): each top-level label with the names under it.
    `其他` ("other") names nothing and is left out."""
    found: dict[str, dict[str, None]] = {}
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in (label_col, *name_cols) if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"columns not in the file: {', '.join(missing)}")
        for row in reader:
            label = (row.get(label_col) or "").strip()
            for col in name_cols:
                name = (row.get(col) or "").strip()
                if label and name and name != "其他":
                    found.setdefault(label, {})[name] = None
    return {label: list(names) for label, names in found.items()}


def evaluate_model(model: AnyTopicModel, samples: Sequence[Sample]) -> Evaluation:
    return evaluate(
        [label for _, label in samples], [model.predict(t).category for t, _ in samples]
    )
