"""Learning curve of `train --from-events`: macro-F1 after 0, 100, 300, 1,000 corrections.

An evaluation, not a timed test. It simulates the loop the suite runs (docs/sentiment.md,
"Learning from corrections") on a labelled public set that is neither the training sample
nor any held-out set of issue #19:

- the base: `--base-per-class` rows per class (a district's labelled history, the role the
  495-row public sample plays in production);
- a fixed test set: `--test-per-class` rows per class, never corrected, never trained on;
- a stream of incoming messages (the rest, shuffled): the live model classifies each; an
  officer corrects the ones it gets wrong (the gold label becomes a correction), as staff do;
- at each checkpoint (100, 300, 1,000 corrections) the model is retrained exactly as
  `gongkai sentiment train --from-events` does (`services.sentiment.retrain.fit`: the base plus
  every correction) and promoted, so later corrections are the errors of the new live model.

Prints counts and figures only (texts are personal data in production; here, reviews).

    python -m bench.learning_curve \
        /work/data-gathered/sentiment/online_shopping_9_cats_no_hotel.csv \
        --text-col review --label-col cat [--policy errors|random]
"""

from __future__ import annotations

import argparse
import random
import time
from collections import defaultdict

from services.sentiment.learning import Correction
from services.sentiment.retrain import fit
from services.sentiment.training import Sample, evaluate_model, read_labelled

CHECKPOINTS = (0, 100, 300, 1000)


def split(
    samples: list[Sample], base: int, test: int, seed: int
) -> tuple[list[Sample], list[Sample], list[Sample]]:
    by_label: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_label[s[1]].append(s)
    rng = random.Random(seed)
    base_rows: list[Sample] = []
    test_rows: list[Sample] = []
    stream: list[Sample] = []
    for label in sorted(by_label):
        rows = by_label[label][:]
        rng.shuffle(rows)
        base_rows += rows[:base]
        test_rows += rows[base : base + test]
        stream += rows[base + test :]
    rng.shuffle(stream)
    return base_rows, test_rows, stream


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("data")
    p.add_argument("--text-col", default="review")
    p.add_argument("--label-col", default="cat")
    p.add_argument("--base-per-class", type=int, default=60)
    p.add_argument("--test-per-class", type=int, default=300)
    p.add_argument("--seed", type=int, default=20260101)
    p.add_argument(
        "--policy",
        choices=["errors", "random"],
        default="errors",
        help="errors: officers correct what the live model got wrong; random: they label "
        "messages as they come, right or wrong (a confirmation is a labelled row too)",
    )
    args = p.parse_args(argv)

    data = read_labelled(args.data, [args.text_col], args.label_col)
    base, test, stream = split(data.samples, args.base_per_class, args.test_per_class, args.seed)
    print(
        f"{len(data.samples)} rows, {len({s[1] for s in data.samples})} classes: base "
        f"{len(base)}, test {len(test)}, stream {len(stream)} (seed {args.seed}, "
        f"policy {args.policy})"
    )
    corrections: list[Correction] = []
    seen = 0
    model = fit(base, corrections, None)
    print(f"{'corrections':>11} {'messages seen':>14} {'macro-F1':>9} {'accuracy':>9} {'fit s':>6}")
    for checkpoint in CHECKPOINTS:
        while len(corrections) < checkpoint and seen < len(stream):
            text, gold = stream[seen]
            seen += 1
            predicted = model.predict(text).category
            if predicted != gold or args.policy == "random":
                corrections.append(Correction(f"s{seen}", text, gold, predicted))
        started = time.perf_counter()
        model = fit(base, corrections, None)
        took = time.perf_counter() - started
        result = evaluate_model(model, test)
        print(
            f"{len(corrections):>11} {seen:>14} {result.macro_f1:>9.3f} "
            f"{result.accuracy:>9.3f} {took:>6.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
