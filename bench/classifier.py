"""Message classifier: macro-F1 on a held-out split and throughput, next to a plain baseline.

    python -m bench.classifier DATA.csv [--text-col 留言主题,留言详情] [--label-col 一级分类]
                               [--test-share 0.3] [--seed 20260101]
                               [--sentiment-data waimai_10k.csv] [--json OUT]

In one run, on the same stratified split of DATA (read where it lies, never copied):
- `default`: the shipped model (authored lexicon only; never saw DATA) — zero-shot;
- `trained`: gongkai's trainable model (naive Bayes, lexicon prior) fitted on the train part;
- `baseline`: a plain TF-IDF (character 1–2-grams) + logistic regression (scikit-learn,
  default settings) fitted on the same train part, and the same with C=10 and balanced
  class weights (a fairer peer on a small, unbalanced sample);
- throughput of the full classification (topic, tags, sentiment, urgency) in messages/s on
  one core, over every text of DATA repeated to at least 2,000 messages;
- with --sentiment-data (label 1/0, review): accuracy of the lexicon polarity on the
  messages it does not call neutral, and its coverage.

Texts are personal data: the script prints counts and scores only. scikit-learn is needed
for the baseline only (the product does not import it). A script, never a test.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

from services.sentiment.classifier import default_classifier, train_topic_model
from services.sentiment.rules import sentiment
from services.sentiment.training import (
    Evaluation,
    evaluate,
    evaluate_model,
    read_labelled,
    stratified_split,
)


def _baseline(
    train: list[tuple[str, str]], test: list[tuple[str, str]], **options: Any
) -> Evaluation:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 2))
    features = vectorizer.fit_transform([t for t, _ in train])
    model = LogisticRegression(max_iter=2000, **options)
    model.fit(features, [label for _, label in train])
    predicted = model.predict(vectorizer.transform([t for t, _ in test]))
    return evaluate([label for _, label in test], [str(p) for p in predicted])


def _throughput(texts: list[str]) -> tuple[float, float]:
    """Messages per wall-clock second and per CPU second (the latter ignores other load)."""
    classifier = default_classifier()
    batch = texts * max(1, -(-2000 // max(1, len(texts))))
    start, cpu = time.perf_counter(), time.process_time()
    for text in batch:
        classifier.classify(text)
    return (
        len(batch) / (time.perf_counter() - start),
        len(batch) / (time.process_time() - cpu),
    )


def _sentiment(path: str) -> dict[str, float]:
    right = called = total = 0
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            total += 1
            result = sentiment(row["review"])
            if result.polarity == "neutral":
                continue
            called += 1
            right += int((result.polarity == "positive") == (row["label"].strip() == "1"))
    return {
        "accuracy_when_called": right / called if called else 0.0,
        "coverage": called / total if total else 0.0,
        "rows": total,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.classifier", description=__doc__.split("\n")[0])
    p.add_argument("data")
    p.add_argument("--text-col", default="留言主题,留言详情")
    p.add_argument("--label-col", default="一级分类")
    p.add_argument("--test-share", type=float, default=0.3)
    p.add_argument("--seed", type=int, default=20260101)
    p.add_argument("--sentiment-data")
    p.add_argument("--json")
    args = p.parse_args(argv)

    data = read_labelled(args.data, args.text_col.split(","), args.label_col)
    train, test = stratified_split(data.samples, args.test_share, args.seed)
    report: dict[str, Any] = {
        "rows": len(data.samples),
        "skipped": data.skipped,
        "train": len(train),
        "test": len(test),
        "split_seed": args.seed,
    }
    results = {
        "default (lexicon only, zero-shot)": evaluate_model(default_classifier().topic_model, test),
        "trained (NB + lexicon prior)": evaluate_model(train_topic_model(train), test),
        "baseline (TF-IDF char 1-2 + LogisticRegression)": _baseline(train, test),
        "baseline, tuned (same, C=10, class_weight=balanced)": _baseline(
            train, test, C=10.0, class_weight="balanced"
        ),
    }
    for name, result in results.items():
        print(f"== {name}")
        print(result.table())
        report[name] = {"accuracy": result.accuracy, "macro_f1": result.macro_f1}
    rate, cpu_rate = _throughput([t for t, _ in data.samples])
    report["throughput_messages_per_s"] = rate
    report["throughput_messages_per_cpu_s"] = cpu_rate
    print(
        f"== throughput (full classification, one core): {rate:.0f} messages/s wall-clock, "
        f"{cpu_rate:.0f} per CPU-second"
    )
    if args.sentiment_data:
        report["sentiment"] = _sentiment(args.sentiment_data)
        print(f"== sentiment lexicon on {args.sentiment_data}: {report['sentiment']}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
