"""`gongkai enforcement import FILE`: send a CSV or JSON Lines file of decisions through the
API in chunks, with a progress bar and a per-line report (like `gongkai sentiment import`).

A party's name is personal data: nothing here prints a row's content, only counts, rules
and line numbers.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson


def _progress(done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r[{'#' * filled}{' ' * (width - filled)}] {done}/{total}")
    sys.stderr.flush()


def _row_json(row: Any) -> dict[str, Any]:
    body: dict[str, Any] = row.command.model_dump(mode="json", exclude_none=True)
    if row.review is not None:
        review = row.review.model_dump(mode="json")
        body |= {
            "review_reviewer": review["reviewer"],
            "review_opinion": review["opinion"],
            "review_approved": review["approved"],
            "reviewed_on": review["reviewed_on"],
        }
    return body


def _import(args: argparse.Namespace) -> int:
    """Validate locally, then send valid rows as JSON Lines in chunks with a progress bar."""
    import httpx

    from services.enforcement.importer import ParsedRow, RowError, parse_csv, parse_jsonl

    with open(args.file, "rb") as f:
        body = f.read()
    csv_file = args.format == "csv" or (args.format is None and args.file.endswith(".csv"))
    rows = parse_csv(body) if csv_file else parse_jsonl(body)
    errors: list[dict[str, Any]] = [r.as_dict() for r in rows if isinstance(r, RowError)]
    valid = [r for r in rows if isinstance(r, ParsedRow)]
    totals = {"imported": 0, "duplicates": 0, "reviews": 0}
    headers = {"Authorization": f"Bearer {args.token}", "Content-Type": "application/x-ndjson"}
    with httpx.Client(base_url=args.url, headers=headers, timeout=120) as client:
        for start in range(0, len(valid), args.chunk):
            chunk = valid[start : start + args.chunk]
            payload = b"\n".join(orjson.dumps(_row_json(r)) for r in chunk)
            response = client.post("/v1/enforcement/decisions/import?format=jsonl", content=payload)
            if response.status_code != 200:
                print(f"\nerror: HTTP {response.status_code}: {response.text}", file=sys.stderr)
                return 2
            report = response.json()
            for key in totals:
                totals[key] += report[key]
            for err in report["errors"]:
                err["line"] = chunk[err["line"] - 1].line
                errors.append(err)
            _progress(start + len(chunk), len(valid))
    sys.stderr.write("\n")
    print(
        f"rows {len(rows)}: imported {totals['imported']}, duplicates {totals['duplicates']}, "
        f"reviews {totals['reviews']}, errors {len(errors)}"
    )
    for err in sorted(errors, key=lambda e: e["line"]):
        print(f"  line {err['line']}: {err['rule']} [{err['field']}] {err['message_en']}")
    return 0 if not errors else 1


def add_commands(subparsers: Any) -> None:
    p = subparsers.add_parser("enforcement", help="行政执法公示: import decisions")
    sub = p.add_subparsers(dest="enforcement_command", required=True)
    imp = sub.add_parser("import", help="import a CSV or JSON Lines file through the API")
    imp.add_argument("file")
    imp.add_argument("--url", default="http://127.0.0.1:8000")
    imp.add_argument("--token", required=True)
    imp.add_argument("--format", choices=["csv", "jsonl"])
    imp.add_argument("--chunk", type=int, default=200)
    imp.set_defaults(func=_import)
