"""Bulk import of enforcement decisions from CSV or JSON Lines, with a per-row error report.

The same shape as the messages import (services/sentiment/importer.py): pure parsing, a
malformed row is reported with its line number and does not stop the rest; the stream id
of each decision is derived from (township, kind, reference), so re-importing a file
records nothing twice (the rows come back as duplicates).

Columns / keys (flat, as a CSV has them): unit, kind, action, reference, title, facts,
legal_basis (several separated by ";" or "；"), party_kind, party_name, party_id_number,
amount_yuan, decided_on, major, records (`kind:identifier:sha256`, several separated by
";"), publish, not_published_reason, source; and for a major decision reviewed in the
unit's own system, its 法制审核: review_reviewer, review_opinion, review_approved,
reviewed_on. JSON Lines may also give legal_basis and records as lists and party as an
object. Error messages never quote a row's text (the party is personal data).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from services.enforcement.commands import RecordDecision, RecordReview

__all__ = ["FIELDS", "ParsedRow", "RowError", "parse_csv", "parse_jsonl"]

DECISION_FIELDS = (
    "unit",
    "kind",
    "action",
    "reference",
    "title",
    "facts",
    "legal_basis",
    "party_kind",
    "party_name",
    "party_id_number",
    "party",
    "amount_yuan",
    "decided_on",
    "major",
    "records",
    "publish",
    "not_published_reason",
    "source",
)
REVIEW_FIELDS = ("review_reviewer", "review_opinion", "review_approved", "reviewed_on")
FIELDS = DECISION_FIELDS + REVIEW_FIELDS
_TRUE = {"true", "1", "yes", "是", "y"}


@dataclass(frozen=True)
class RowError:
    line: int
    field: str | None
    rule: str
    message_en: str
    message_zh: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "field": self.field,
            "rule": self.rule,
            "message_en": self.message_en,
            "message_zh": self.message_zh,
        }


@dataclass(frozen=True)
class ParsedRow:
    line: int
    command: RecordDecision
    review: RecordReview | None = None


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return [p.strip() for p in value.replace("；", ";").split(";") if p.strip()]
    return value


def _records(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    found = []
    for item in _split(value):
        kind, _, rest = item.partition(":")
        identifier, _, digest = rest.rpartition(":")
        found.append({"kind": kind.strip(), "identifier": identifier.strip(), "sha256": digest})
    return found


def _bool(value: Any) -> Any:
    return value.strip().lower() in _TRUE if isinstance(value, str) else value


def _error(line: int, exc: ValidationError) -> RowError:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or None
    return RowError(
        line,
        field,
        "import.row_invalid",
        f"{field}: {first['msg']}",
        f"第 {line} 行字段 {field} 无效",
    )


def to_row(line: int, raw: dict[str, Any]) -> ParsedRow | RowError:
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        return RowError(
            line,
            unknown[0],
            "import.unknown_field",
            f"unknown field {unknown[0]!r}",
            f"未知字段 {unknown[0]!r}",
        )
    data = {k: v for k, v in raw.items() if v not in (None, "")}
    review = {k: data.pop(k) for k in REVIEW_FIELDS if k in data}
    party = {
        k[6:]: data.pop(k) for k in ("party_kind", "party_name", "party_id_number") if k in data
    }
    if party:
        data["party"] = party
    if "legal_basis" in data:
        data["legal_basis"] = _split(data["legal_basis"])
    if "records" in data:
        data["records"] = _records(data["records"])
    for flag in ("major", "publish"):
        if flag in data:
            data[flag] = _bool(data[flag])
    data.setdefault("source", "import")
    try:
        command = RecordDecision.model_validate(data)
    except ValidationError as exc:
        return _error(line, exc)
    if not review:
        return ParsedRow(line, command)
    try:
        checked = RecordReview.model_validate(
            {
                "unit": command.unit,
                "kind": command.kind,
                "reference": command.reference,
                "reviewer": review.get("review_reviewer", ""),
                "opinion": review.get("review_opinion", ""),
                "approved": _bool(review.get("review_approved", "")),
                "reviewed_on": review.get("reviewed_on"),
            }
        )
    except ValidationError as exc:
        return _error(line, exc)
    return ParsedRow(line, command, checked)


Row = ParsedRow | RowError


def parse_csv(body: bytes, convert: Callable[[int, dict[str, Any]], Row] = to_row) -> list[Row]:
    """A header line, then one decision per line; a broken line is reported, not fatal."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [
            RowError(1, None, "import.encoding", "the file is not UTF-8", "文件不是 UTF-8 编码")
        ]
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[Row] = []
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return rows
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                rows.append(
                    RowError(
                        line,
                        None,
                        "import.column_count",
                        f"{len(record)} columns, the header has {len(header)}",
                        f"第 {line} 行有 {len(record)} 列，表头有 {len(header)} 列",
                    )
                )
                continue
            rows.append(convert(line, dict(zip(header, record, strict=True))))
    except csv.Error as exc:
        rows.append(
            RowError(
                reader.line_num,
                None,
                "import.csv_malformed",
                str(exc),
                f"第 {reader.line_num} 行 CSV 格式错误，其后的行未读取",
            )
        )
    return rows


def parse_jsonl(body: bytes, convert: Callable[[int, dict[str, Any]], Row] = to_row) -> list[Row]:
    rows: list[Row] = []
    for number, raw_line in enumerate(body.splitlines(), start=1):
        if not raw_line.strip():
            continue
        try:
            value = orjson.loads(raw_line)
        except orjson.JSONDecodeError:
            rows.append(
                RowError(
                    number,
                    None,
                    "import.json_malformed",
                    "the line is not valid JSON",
                    f"第 {number} 行不是有效的 JSON",
                )
            )
            continue
        if not isinstance(value, dict):
            rows.append(
                RowError(
                    number,
                    None,
                    "import.json_not_object",
                    "the line is not a JSON object",
                    f"第 {number} 行不是 JSON 对象",
                )
            )
            continue
        rows.append(convert(number, value))
    return rows
