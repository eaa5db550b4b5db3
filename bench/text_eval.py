"""Text intelligence on real data: topic, polarity and the interpretation gate, with per-class
figures and confusion tables. Data sets are read where they lie (paths as arguments), never
copied; texts are personal data: only counts, labels and scores are printed.

    python -m bench.text_eval topic DATA.csv [--taxonomy TREE.csv] [--folds 5] [--baseline]
    python -m bench.text_eval topic-ood DATA.csv --text-col review --label-col cat [--per-class 60]
    python -m bench.text_eval polarity --cv waimai_10k.csv [--train-with more.csv ...] \\
        [--ood other.csv ...]
    python -m bench.text_eval gate PAIRS.jsonl          # {"id", "policy", "interpretation"} a line
    python -m bench.text_eval speed DATA.csv [--taxonomy TREE.csv]

`topic`: k-fold cross-validation (stratified, seeded) of the shipped zero-shot model, naive
Bayes with the lexicon prior, the linear model with the lexicon, and with the lexicon and the
category tree; `--baseline` adds TF-IDF (char 1–2) + LinearSVC (scikit-learn, bench only).
`topic-ood`: the same pipeline (no lexicon: another domain's classes) on a labelled set of
another domain, subsampled per class to the size of a district's history.
`polarity`: k-fold on one set (the polarity model refitted inside each fold, lexicon added),
then the shipped model on other sets (out of domain); neutral counts as wrong.
`gate`: each genuine interpretation, plus three texts derived from it — the policy itself
(verbatim copy), its headings alone (title-only), and the text with 60 % of its sentences
replaced by policy sentences (lifted) — through the copy and title-only checks.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from services.interpretation import quality as q
from services.interpretation.gate_eval import KINDS, evaluate_pairs
from services.sentiment import rules
from services.sentiment.classifier import (
    Classifier,
    default_classifier,
    load_model,
    save_model,
    train_linear_topic_model,
    train_topic_model,
)
from services.sentiment.linear import fit_linear
from services.sentiment.training import (
    Evaluation,
    Sample,
    evaluate,
    read_categories,
    read_labelled,
)

Trainer = Callable[[list[Sample]], Callable[[str], str]]


def folds(samples: Sequence[Sample], k: int, seed: int) -> list[tuple[list[int], list[int]]]:
    """Stratified k folds of indices, reproducible."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, (_, label) in enumerate(samples):
        by_label[label].append(i)
    rng = random.Random(seed)
    assignment = [0] * len(samples)
    for label in sorted(by_label):
        idx = by_label[label]
        rng.shuffle(idx)
        for j, i in enumerate(idx):
            assignment[i] = j % k
    return [
        (
            [i for i in range(len(samples)) if assignment[i] != f],
            [i for i in range(len(samples)) if assignment[i] == f],
        )
        for f in range(k)
    ]


def cross_validate(samples: Sequence[Sample], trainer: Trainer, k: int, seed: int) -> Evaluation:
    predicted: list[str] = [""] * len(samples)
    for train_idx, test_idx in folds(samples, k, seed):
        predict = trainer([samples[i] for i in train_idx])
        for i in test_idx:
            predicted[i] = predict(samples[i][0])
    return evaluate([label for _, label in samples], predicted)


def report(name: str, result: Evaluation, full: bool) -> dict[str, Any]:
    print(f"== {name}: macro-F1 {result.macro_f1:.3f}, accuracy {result.accuracy:.3f}")
    if full:
        print(result.table())
        print(result.confusion_table())
    recalls = {s.label: round(s.recall, 3) for s in result.per_class}
    return {"macro_f1": result.macro_f1, "accuracy": result.accuracy, "recall": recalls}


def _svc_baseline(train: list[Sample]) -> Callable[[str], str]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 2))
    model = LinearSVC().fit(vectorizer.fit_transform([t for t, _ in train]), [y for _, y in train])
    return lambda text: str(model.predict(vectorizer.transform([text]))[0])


def topic(args: argparse.Namespace) -> dict[str, Any]:
    data = read_labelled(args.data, args.text_col.split(","), args.label_col)
    tree = (
        read_categories(args.taxonomy, "一级分类", ["二级分类", "三级分类"])
        if args.taxonomy
        else None
    )
    print(f"{len(data.samples)} rows, {args.folds}-fold stratified CV, seed {args.seed}")
    shipped = default_classifier().topic_model
    trainers: dict[str, Trainer] = {
        "shipped default (lexicon only, zero-shot)": lambda _t: (
            lambda text: shipped.predict(text).category
        ),
        "naive Bayes + lexicon prior (previous trained model)": lambda t: (
            lambda m: lambda text: m.predict(text).category
        )(train_topic_model(t)),
        "linear + lexicon": lambda t: (lambda m: lambda text: m.predict(text).category)(
            train_linear_topic_model(t)
        ),
    }
    if tree:
        trainers["linear + lexicon + category tree (default `train --taxonomy`)"] = lambda t: (
            lambda m: lambda text: m.predict(text).category
        )(train_linear_topic_model(t, categories=tree))
    if args.baseline:
        trainers["baseline TF-IDF char 1-2 + LinearSVC"] = _svc_baseline
    out: dict[str, Any] = {}
    last = list(trainers)[-2 if args.baseline else -1]
    for name, trainer in trainers.items():
        out[name] = report(
            name, cross_validate(data.samples, trainer, args.folds, args.seed), name == last
        )
    return out


def topic_ood(args: argparse.Namespace) -> dict[str, Any]:
    data = read_labelled(args.data, args.text_col.split(","), args.label_col)
    by_label: dict[str, list[Sample]] = defaultdict(list)
    for sample in data.samples:
        by_label[sample[1]].append(sample)
    rng = random.Random(args.seed)
    samples: list[Sample] = []
    for label in sorted(by_label):
        rows = by_label[label][:]
        rng.shuffle(rows)
        samples.extend(rows[: args.per_class])
    print(f"{len(samples)} rows ({args.per_class} per class), {args.folds}-fold CV")
    trainers: dict[str, Trainer] = {
        "naive Bayes (no lexicon)": lambda t: (lambda m: lambda text: m.predict(text).category)(
            train_topic_model(t, seed=False)
        ),
        "linear (no lexicon)": lambda t: (lambda m: lambda text: m.predict(text).category)(
            train_linear_topic_model(t, seed=False)
        ),
    }
    if args.baseline:
        trainers["baseline TF-IDF char 1-2 + LinearSVC"] = _svc_baseline
    return {
        name: report(name, cross_validate(samples, t, args.folds, args.seed), name.startswith("l"))
        for name, t in trainers.items()
    }


POLARITY = {"1": "positive", "0": "negative"}


def _polar_rows(path: str, text_col: str, label_col: str) -> list[Sample]:
    data = read_labelled(path, [text_col], label_col)
    return [(t, POLARITY[y]) for t, y in data.samples if y in POLARITY]


def polarity(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if args.cv:
        rows = _polar_rows(args.cv, args.text_col, args.label_col)
        extra = [r for path in args.train_with or () for r in _polar_rows(path, "review", "label")]
        print(
            f"{args.cv}: {len(rows)} rows, {args.folds}-fold CV (model refitted per fold"
            f" on the fold's training part + {len(extra)} rows of the other training sets)"
        )

        def trainer(train: list[Sample]) -> Callable[[str], str]:
            model = fit_linear(train + extra, terms=rules.POLARITY_TERMS, min_df=3)
            return lambda text: rules.sentiment(text, model).polarity

        result = cross_validate(rows, trainer, args.folds, args.seed)
        out["cv"] = report("lexicon + polarity model, cross-validated", result, True)
        lexicon = evaluate(
            [y for _, y in rows], [rules.sentiment(t, False).polarity for t, _ in rows]
        )
        out["cv_lexicon_only"] = report("lexicon only (the previous rule)", lexicon, False)
    for path in args.ood or ():
        rows = _polar_rows(path, args.text_col, args.label_col)
        predicted = [rules.sentiment(t).polarity for t, _ in rows]
        result = evaluate([y for _, y in rows], predicted)
        neutral = sum(p == "neutral" for p in predicted) / max(1, len(predicted))
        print(f"{path}: {len(rows)} rows, shipped model, neutral {neutral:.1%}")
        shipped = getattr(rules.polarity_model(), "model_id", "none")
        out[path] = report(f"shipped (lexicon + {shipped}), out of domain", result, True)
        out[path]["neutral"] = neutral
        by_lexicon = [rules.sentiment(t, False).polarity for t, _ in rows]
        out[path + " lexicon only"] = report(
            "lexicon only (the previous rule)", evaluate([y for _, y in rows], by_lexicon), False
        )
    return out


def gate(args: argparse.Namespace) -> dict[str, Any]:
    lines = Path(args.pairs).read_text("utf-8").splitlines()
    pairs = [json.loads(line) for line in lines if line.strip()]
    result = evaluate_pairs(pairs, q.QualityRules())
    print(f"{len(pairs)} pairs × {len(KINDS)} texts")
    print(result.table())
    for row in result.genuine:
        print("  genuine", json.dumps(row, ensure_ascii=False))
    for row in result.wrong:
        print(f"  wrongly passed {row['kind']}", json.dumps(row, ensure_ascii=False))
    return {"per_kind": result.per_kind, "genuine": result.genuine, "wrong": result.wrong}


def speed(args: argparse.Namespace) -> dict[str, Any]:
    data = read_labelled(args.data, args.text_col.split(","), args.label_col)
    tree = (
        read_categories(args.taxonomy, "一级分类", ["二级分类", "三级分类"])
        if args.taxonomy
        else None
    )
    model = train_linear_topic_model(data.samples, categories=tree)
    path = Path(args.tmp) / "bench-topic-model.json"
    save_model(model, path)
    start = time.perf_counter()
    loaded = load_model(path)
    rules.polarity_model.cache_clear()
    rules.polarity_model()
    load_s = time.perf_counter() - start
    texts = [t for t, _ in data.samples]
    out: dict[str, Any] = {"load_s (topic + polarity model)": round(load_s, 3)}
    for name, classifier in (
        ("shipped", default_classifier()),
        ("trained linear", Classifier(loaded)),
    ):
        batch = texts * max(1, -(-2000 // len(texts)))
        wall, cpu = time.perf_counter(), time.process_time()
        for text in batch:
            classifier.classify(text)
        out[name] = {
            "messages_per_s": round(len(batch) / (time.perf_counter() - wall)),
            "messages_per_cpu_s": round(len(batch) / (time.process_time() - cpu)),
        }
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.text_eval", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    for name, func in (("topic", topic), ("topic-ood", topic_ood), ("speed", speed)):
        s = sub.add_parser(name)
        s.add_argument("data")
        s.add_argument("--text-col", default="留言主题,留言详情")
        s.add_argument("--label-col", default="一级分类")
        s.add_argument("--taxonomy")
        s.add_argument("--folds", type=int, default=5)
        s.add_argument("--seed", type=int, default=20260101)
        s.add_argument("--per-class", type=int, default=60)
        s.add_argument("--baseline", action="store_true")
        s.add_argument("--tmp", default="/tmp")
        s.set_defaults(func=func)
    pol = sub.add_parser("polarity")
    pol.add_argument("--cv")
    pol.add_argument("--ood", nargs="*")
    pol.add_argument(
        "--train-with", nargs="*", help="--cv: other training sets added to every fold's fit"
    )
    pol.add_argument("--text-col", default="review")
    pol.add_argument("--label-col", default="label")
    pol.add_argument("--folds", type=int, default=5)
    pol.add_argument("--seed", type=int, default=20260101)
    pol.set_defaults(func=polarity)
    g = sub.add_parser("gate")
    g.add_argument("pairs")
    g.set_defaults(func=gate)
    p.add_argument("--json")
    args = p.parse_args(argv)
    result = args.func(args)
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
