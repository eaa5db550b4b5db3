"""Bulk import of messages from CSV or JSON Lines, with a per-row error report.

A malformed row is reported with its line number and does not stop the rest. Pure parsing:
the handler records the rows that parse; the stream id of each message is derived from its
dedup key, so a re-import of the same file creates no duplicates.

Columns / keys: source, kind, external_id, title, text, received_at (ISO 8601), citizen_name,
citizen_phone, location, tenant. Error messages never quote a row's text (personal data).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from services.sentiment.commands import ReceiveMessage

FIELDS = (
    "tenant",
    "source",
    "kind",
    "external_id",
    "title",
    "text",
    "received_at",
    "citizen_name",
    "citizen_phone",
    "location",
)


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
    command: ReceiveMessage


def _to_command(line: int, raw: dict[str, Any]) -> ParsedRow | RowError:
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
    citizen = {
        key: data.pop(f"citizen_{key}") for key in ("name", "phone") if f"citizen_{key}" in data
    }
    if citizen:
        data["citizen"] = citizen
    data.setdefault("text", "")
    try:
        return ParsedRow(line, ReceiveMessage.model_validate(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        return RowError(
            line,
            field,
            "import.row_invalid",
            f"{field}: {first['msg']}",
            f"第 {line} 行字段 {field} 无效",
        )


def parse_csv(body: bytes) -> list[ParsedRow | RowError]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [
            RowError(1, None, "import.encoding", "the file is not UTF-8", "文件不是 UTF-8 编码")
        ]
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[ParsedRow | RowError] = []
    try:
        header = next(reader)
    except StopIteration:
        return rows
    header = [h.strip() for h in header]
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
            rows.append(_to_command(line, dict(zip(header, record, strict=True))))
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


def parse_jsonl(body: bytes) -> list[ParsedRow | RowError]:
    rows: list[ParsedRow | RowError] = []
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
        rows.append(_to_command(number, value))
    return rows
