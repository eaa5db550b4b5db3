"""`gongkai interpretation-check`: run the quality gate on files, before anything is drafted.

A drafter (or a reviewer) measures a text against the policy offline, with the same rules
and thresholds as the service (方案§五(一)): copy containment with the longest copied
passages, title-only, required parts. Exit status 0 when the text passes, 1 when not.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def add_commands(sub: Any) -> None:
    check = sub.add_parser(
        "interpretation-check",
        help="解读质量自查：照搬照抄、标题式、必备要素 (quality gate of an interpretation)",
    )
    check.add_argument("--policy", type=Path, help="policy text file (UTF-8)")
    check.add_argument(
        "--interpretation",
        type=Path,
        help="JSON file: {sections: [{part, heading, text}], not_applicable: {part: reason}}",
    )
    check.add_argument(
        "--pairs",
        type=Path,
        help="evaluate the gate: JSON Lines {id, policy, interpretation} of real pairs; each "
        "genuine text must pass, its verbatim copy, title-only and 60%%-lifted versions fail",
    )
    check.set_defaults(func=_check)


def _check(args: argparse.Namespace) -> int:
    from services.interpretation.quality import Part, Section, assess
    from services.interpretation.service import rules_from_env

    _, rules = rules_from_env()
    if getattr(args, "pairs", None):
        return _evaluate_pairs(args.pairs, rules)
    if args.policy is None or args.interpretation is None:
        raise SystemExit("interpretation-check needs --policy and --interpretation, or --pairs")
    data = json.loads(args.interpretation.read_text(encoding="utf-8"))
    sections = [
        Section(
            heading=s["heading"], text=s["text"], part=Part(s["part"]) if s.get("part") else None
        )
        for s in data["sections"]
    ]
    waived = {Part(k): v for k, v in data.get("not_applicable", {}).items()}
    report = assess(sections, waived, args.policy.read_text(encoding="utf-8"), rules)
    print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    return 0 if report.passed else 1


def _evaluate_pairs(path: Path, rules: Any) -> int:
    """Per kind of text: decided as wanted; the pass/refuse confusion table; per genuine pair
    and per derived text decided wrongly, its measured values (never its text). Exit 0 when
    every text was decided as wanted."""
    from services.interpretation.gate_eval import KINDS, evaluate_pairs

    lines = path.read_text(encoding="utf-8").splitlines()
    pairs = [json.loads(line) for line in lines if line.strip()]
    result = evaluate_pairs(pairs, rules)
    print(f"{len(pairs)} pairs × {len(KINDS)} texts")
    print(result.table())
    for row in result.genuine:
        print("genuine " + json.dumps(row, ensure_ascii=False))
    for row in result.wrong:
        print(f"wrongly passed {row['kind']} " + json.dumps(row, ensure_ascii=False))
    return 0 if all(right == total for right, total in result.per_kind.values()) else 1
