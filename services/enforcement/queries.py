"""Reads over enf_decisions: the staff ledger and the public list with search.

Both are ordered newest decision first, (decided_on, decision_id) descending, with an
opaque cursor. The public read shows published rows only, and only their masked columns.
"""

from __future__ import annotations

from typing import Any

import orjson

from services.enforcement.events import DecisionKind
from shared.pagination import decode_cursor, encode_cursor, scope_args, scope_clause

STAFF_COLUMNS = (
    "decision_id, township, unit, kind, reference, status, action, title, decided_on, "
    "amount_fen, major, reviewed, records, must_publish, publication_due, published_on, late, "
    "overdue, annulled, withdrawn_on, withdrawal_reason, version, "
    # what the public sees once it is published (masked): staff check it on their page
    "public_title, public_text, party_shown, visible_until"
)
PUBLIC_COLUMNS = (
    "decision_id, township, unit, kind, reference, public_title, public_text, party_shown, "
    "decided_on, published_on, visible_until"
)


def _page(rows: list[Any], limit: int, view: Any) -> dict[str, Any]:
    items = [view(r) for r in rows[:limit]]
    more = len(rows) > limit
    last = rows[limit - 1] if more else None
    return {
        "items": items,
        "next_cursor": encode_cursor(str(last["decided_on"]), str(last["decision_id"]))
        if last is not None
        else None,
    }


def _cursor_clause(cursor: str | None, n: int) -> tuple[str, list[Any]]:
    if cursor is None:
        return "", []
    day, did = decode_cursor(cursor, 2)
    return (
        f" AND (decided_on < ${n} OR (decided_on = ${n} AND decision_id < ${n + 1}))",
        [str(day), str(did)],
    )


def staff_view(row: Any) -> dict[str, Any]:
    view = dict(row)
    view["records"] = orjson.loads(row["records"])
    view["kind_label"] = DecisionKind(row["kind"]).label_zh
    view["major"] = bool(row["major"])
    view["reviewed"] = bool(row["reviewed"])
    view["must_publish"] = bool(row["must_publish"])
    view["late"] = bool(row["late"])
    view["overdue"] = bool(row["overdue"])
    return view


def public_view(row: Any) -> dict[str, Any]:
    return {
        "decision_id": row["decision_id"],
        "township": row["township"],
        "unit": row["unit"],
        "kind": row["kind"],
        "kind_label": DecisionKind(row["kind"]).label_zh,
        "reference": row["reference"],
        "title": row["public_title"],
        "text": row["public_text"],
        "party": row["party_shown"],
        "decided_on": row["decided_on"],
        "published_on": row["published_on"],
        "visible_until": row["visible_until"],
    }


async def decisions(
    views: Any,
    scope: str,
    status: str | None,
    kind: str | None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    args: list[Any] = [*scope_args(scope)]
    sql = f"SELECT {STAFF_COLUMNS} FROM enf_decisions WHERE {scope_clause('unit', 1)}"
    if status:
        args.append(status)
        sql += f" AND status = ${len(args)}"
    if kind:
        args.append(kind)
        sql += f" AND kind = ${len(args)}"
    clause, extra = _cursor_clause(cursor, len(args) + 1)
    sql += clause + f" ORDER BY decided_on DESC, decision_id DESC LIMIT {limit + 1}"
    rows = await views.fetch(sql, *args, *extra)
    return _page(rows, limit, staff_view)


async def published(
    views: Any,
    township: str | None,
    q: str | None,
    kind: str | None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """The public list: published and not withdrawn; `q` searches the masked texts."""
    args: list[Any] = []
    sql = f"SELECT {PUBLIC_COLUMNS} FROM enf_decisions WHERE status = 'published'"
    if township:
        args += [*scope_args(township)]
        sql += f" AND {scope_clause('township', 1)}"
    if kind:
        args.append(kind)
        sql += f" AND kind = ${len(args)}"
    for word in (q or "").split()[:5]:
        args.append("%" + word.replace("%", "").replace("_", "") + "%")
        n = len(args)
        sql += f" AND (public_title LIKE ${n} OR public_text LIKE ${n} OR reference LIKE ${n})"
    clause, extra = _cursor_clause(cursor, len(args) + 1)
    sql += clause + f" ORDER BY decided_on DESC, decision_id DESC LIMIT {limit + 1}"
    rows = await views.fetch(sql, *args, *extra)
    return _page(rows, limit, public_view)


async def one(views: Any, decision_id: str) -> Any:
    return await views.fetchrow(
        f"SELECT {STAFF_COLUMNS} FROM enf_decisions WHERE decision_id = $1", decision_id
    )


async def public_one(views: Any, decision_id: str) -> Any:
    return await views.fetchrow(
        f"SELECT {PUBLIC_COLUMNS} FROM enf_decisions "
        "WHERE decision_id = $1 AND status = 'published'",
        decision_id,
    )
