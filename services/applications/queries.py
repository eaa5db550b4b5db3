"""Queries over the request ledger (app_ledger): queues, due soon, overdue, search, CSV.

Portable SQL only (SQLite and PostgreSQL). Applicant identity is returned only
to roles that handle requests (条例 Art. 15 privacy; DOMAIN.md §2).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from shared.db import Row
from shared.errors import ValidationFailed
from shared.identity import Principal, Role
from shared.pagination import decode_cursor, encode_cursor, scope_args, scope_clause

HANDLING_ROLES = (Role.REQUEST_HANDLER, Role.OPENNESS_OFFICE_HEAD)
#: Statuses in which the reply clock runs (the others pause or stop it).
RUNNING = ("registered", "assigned")
DUE_FILTERS = ("soon", "overdue")


@dataclass(frozen=True)
class Filters:
    scope: str
    status: str | None = None
    mine: str | None = None  # handler id
    open_only: bool = False  # not concluded (the work list's queue)
    due: str | None = None
    q: str | None = None
    applicant_key: str | None = None
    today: date | None = None
    soon_until: date | None = None


def where(f: Filters) -> tuple[list[str], list[Any]]:
    sql = [scope_clause("tenant", 1)]
    args: list[Any] = [*scope_args(f.scope)]

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if f.status:
        sql.append(f"status = {arg(f.status)}")
    if f.mine:
        sql.append(f"handler = {arg(f.mine)} AND conclusion IS NULL")
    if f.open_only:
        sql.append("conclusion IS NULL")
    if f.q:
        escaped = f.q.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
        sql.append(f"description LIKE {arg('%' + escaped + '%')} ESCAPE '\\'")
    if f.applicant_key:
        sql.append(f"applicant_key = {arg(f.applicant_key)}")
    if f.due is not None:
        if f.due not in DUE_FILTERS or f.today is None:
            raise ValidationFailed(
                rule="due.invalid",
                field="due",
                message_zh="due 只能是 soon 或 overdue",
                message_en="due must be soon or overdue",
            )
        running = ", ".join(arg(s) for s in RUNNING)
        sql.append(f"status IN ({running})")
        if f.due == "overdue":
            sql.append(f"reply_due < {arg(f.today.isoformat())}")
        else:
            assert f.soon_until is not None
            low, high = arg(f.today.isoformat()), arg(f.soon_until.isoformat())
            sql.append(f"reply_due >= {low} AND reply_due <= {high}")
    return sql, args


async def page(
    views: Any, f: Filters, limit: int, cursor: str | None
) -> tuple[Sequence[Row], str | None]:
    clauses, args = where(f)
    if cursor:
        registered_at, request_id = decode_cursor(cursor, 2)
        args += [registered_at, request_id]
        n = len(args)
        clauses.append(
            f"(registered_at < ${n - 1} OR (registered_at = ${n - 1} AND request_id < ${n}))"
        )
    args.append(limit + 1)
    rows = await views.fetch(
        "SELECT * FROM app_ledger WHERE "
        + " AND ".join(clauses)
        + f" ORDER BY registered_at DESC, request_id DESC LIMIT ${len(args)}",
        *args,
    )
    items = rows[:limit]
    nxt = (
        encode_cursor(items[-1]["registered_at"], items[-1]["request_id"])
        if len(rows) > limit
        else None
    )
    return items, nxt


async def every(views: Any, f: Filters) -> list[Row]:
    clauses, args = where(f)
    return list(
        await views.fetch(
            "SELECT * FROM app_ledger WHERE "
            + " AND ".join(clauses)
            + " ORDER BY tenant, year, sequence",
            *args,
        )
    )


def sees_applicant(caller: Principal) -> bool:
    """Applicant identity is shown only to the roles that handle requests."""
    return any(role in caller.roles for role in HANDLING_ROLES)


def view(row: Row, caller: Principal) -> dict[str, Any]:
    return {
        "request_id": row["request_id"],
        "tenant": row["tenant"],
        "number": row["number"],
        "status": row["status"],
        "channel": row["channel"],
        "applicant_kind": row["applicant_kind"],
        "organization_kind": row["organization_kind"],
        "applicant": orjson.loads(row["applicant"]) if sees_applicant(caller) else None,
        "description": row["description"],
        "requested_form": row["requested_form"],
        "delivery_channel": row["delivery_channel"],
        "submitted_on": row["submitted_on"],
        "received_on": row["received_on"],
        "correction_notice_due": row["correction_notice_due"],
        "correction_due": row["correction_due"],
        "reply_due": row["reply_due"],
        "due_provisional": bool(row["due_provisional"]),
        "reply_deadline": orjson.loads(row["reply_deadline"]),
        "handler": row["handler"],
        "open_consultations": int(row["open_consultations"]),
        "extended": bool(row["extended"]),
        "fee_yuan": row["fee_yuan"],
        "conclusion": row["conclusion"],
        "concluded_on": row["concluded_on"],
        "reply_type": row["reply_type"],
        "report_row": row["report_row"],
        "deadline_approaching": bool(row["deadline_approaching"]),
        "deadline_missed": bool(row["deadline_missed"]),
        "registered_at": row["registered_at"],
        "version": row["version"],
    }


CSV_COLUMNS = (
    ("number", "登记编号"),
    ("tenant", "受理机关"),
    ("status", "状态"),
    ("channel", "申请方式"),
    ("applicant_kind", "申请人类型"),
    ("description", "申请内容"),
    ("received_on", "收到日期"),
    ("reply_due", "答复期限"),
    ("handler", "承办人"),
    ("reply_type", "答复类型"),
    ("concluded_on", "办结日期"),
    ("report_row", "年报行"),
)


def to_csv(rows: Sequence[Row]) -> str:
    """The ledger as CSV (UTF-8 with BOM for spreadsheet software); no applicant identity."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([label for _, label in CSV_COLUMNS])
    for row in rows:
        writer.writerow([_cell(row[k]) for k, _ in CSV_COLUMNS])
    return out.getvalue()


def _cell(value: Any) -> Any:
    """No formula injection: a text cell starting with = + - @ is prefixed with '."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value
