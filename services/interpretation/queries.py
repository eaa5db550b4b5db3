"""Queries over the interpretation ledger: obligations, interpretations, public views, rates.

Rates (DOMAIN.md §3; 方案§15, targets ≥ 90% [seed]; definitions [ours]):
- 多样化解读率: interpreted policies with at least one non-text form / interpreted policies;
- 多渠道发布率: interpreted policies published on at least two channels / interpreted policies;
- on-time rate: obligations fulfilled by the latest due date / obligations decided (fulfilled,
  or open past the latest due date).
"Interpreted" = at least one published interpretation (any stage). The year is the policy's
publication year; the scope is the owning unit's org subtree. Every rate lists its policies.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson

from shared.pagination import decode_cursor, encode_cursor, scope_args, scope_clause

TARGET = 0.9


def obligation_view(row: Any) -> dict[str, Any]:
    return {
        "document_id": row["document_id"],
        "township": row["township"],
        "owner_unit": row["owner_unit"],
        "drafting_unit": row["drafting_unit"],
        "joint_units": orjson.loads(row["joint_units"]),
        "title": row["title"],
        "document_number": row["document_number"],
        "kind": row["kind"],
        "trigger": row["trigger"],
        "source": row["source"],
        "published_on": row["published_on"],
        "due": row["due"],
        "latest_due": row["latest_due"],
        "due_provisional": bool(row["due_provisional"]),
        "status": row["status"],
        "missed": bool(row["missed"]),
        "fulfilled_on": row["fulfilled_on"],
        "synchronous": None if row["synchronous"] is None else bool(row["synchronous"]),
        "on_time": None if row["on_time"] is None else bool(row["on_time"]),
        "interpretation_id": row["interpretation_id"],
        "delegations": orjson.loads(row["delegations"]),
        "follow_ups": orjson.loads(row["follow_ups"]),
        "cancel_reason": row["cancel_reason"],
        "version": row["version"],
    }


def interpretation_view(row: Any, *, public: bool = False) -> dict[str, Any]:
    content = orjson.loads(row["content"])
    body = {
        "interpretation_id": row["interpretation_id"],
        "document_id": row["document_id"],
        "unit": row["unit"],
        "title": row["title"],
        "stage": row["stage"],
        "case_ids": orjson.loads(row["case_ids"]),
        "sections": content["sections"],
        "not_applicable": content["not_applicable"],
        "forms": content["forms"],
        "channels": content["channels"],
        "target_groups": content["target_groups"],
        "published_at": row["published_at"],
    }
    if public:
        body.pop("case_ids")
        return body
    return body | {
        "status": row["status"],
        "revision": row["revision"],
        "drafter": row["drafter"],
        "follow_up_id": row["follow_up_id"],
        "quality": orjson.loads(row["quality"]),
        "publisher": row["publisher"],
        "version": row["version"],
    }


async def obligations_page(
    views: Any,
    scope: str,
    status: str | None,
    overdue_on: date | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Any], str | None]:
    clauses = [scope_clause("owner_unit", 1)]
    args: list[Any] = [*scope_args(scope)]
    if status:
        args.append(status)
        clauses.append(f"status = ${len(args)}")
    if overdue_on is not None:
        args.append(overdue_on.isoformat())
        clauses.append(f"status = 'open' AND latest_due < ${len(args)}")
    if cursor:
        published_on, document_id = decode_cursor(cursor, 2)
        args += [published_on, document_id]
        n = len(args)
        clauses.append(
            f"(published_on < ${n - 1} OR (published_on = ${n - 1} AND document_id < ${n}))"
        )
    args.append(limit + 1)
    rows = await views.fetch(
        "SELECT * FROM itp_obligations WHERE "
        + " AND ".join(clauses)
        + f" ORDER BY published_on DESC, document_id DESC LIMIT ${len(args)}",
        *args,
    )
    items = list(rows[:limit])
    nxt = (
        encode_cursor(items[-1]["published_on"], items[-1]["document_id"])
        if len(rows) > limit
        else None
    )
    return items, nxt


async def interpretations_of(views: Any, document_id: str, *, published_only: bool) -> list[Any]:
    sql = "SELECT * FROM itp_interpretations WHERE document_id = $1"
    if published_only:
        sql += " AND status = 'published'"
    return list(await views.fetch(sql + " ORDER BY stage, updated_at", document_id))


def _rate(numerator: int, denominator: int) -> dict[str, Any]:
    value = round(numerator / denominator, 4) if denominator else None
    return {
        "rate": value,
        "numerator": numerator,
        "denominator": denominator,
        "target": TARGET,
        "meets_target": None if value is None else value >= TARGET,
    }


async def rates(
    views: Any,
    scope: str,
    year: int,
    today: date,
    since: date | None = None,
    until: date | None = None,
) -> dict[str, Any]:
    """The measured rates of one tenant (org subtree) and year, with their policies.

    `since` / `until` narrow the period to policies published in [since, until] (a month,
    a quarter) inside the year.
    """
    where = scope_clause("o.owner_unit", 1) + " AND o.year = $3 AND o.status <> 'cancelled'"
    args: list[Any] = [*scope_args(scope), year]
    if since is not None:
        args.append(since.isoformat())
        where += f" AND o.published_on >= ${len(args)}"
    if until is not None:
        args.append(until.isoformat())
        where += f" AND o.published_on <= ${len(args)}"
    obligations = await views.fetch(
        f"SELECT o.* FROM itp_obligations o WHERE {where} ORDER BY o.published_on, o.document_id",
        *args,
    )
    published = await views.fetch(
        "SELECT i.document_id, i.forms, i.channels FROM itp_interpretations i "
        f"JOIN itp_obligations o ON o.document_id = i.document_id "
        f"WHERE {where} AND i.status = 'published'",
        *args,
    )
    forms: dict[str, set[str]] = {}
    channels: dict[str, set[str]] = {}
    for row in published:
        forms.setdefault(row["document_id"], set()).update(orjson.loads(row["forms"]))
        channels.setdefault(row["document_id"], set()).update(orjson.loads(row["channels"]))
    policies = [_policy(o, forms, channels, today) for o in obligations]
    interpreted = [p for p in policies if p["interpreted"]]
    decided = [p for p in policies if p["decided"]]

    return {
        "tenant": scope,
        "year": year,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "as_of": today.isoformat(),
        "policies_needing_interpretation": len(policies),
        "interpreted": len(interpreted),
        "diversified_rate": _rate(sum(p["diversified"] for p in interpreted), len(interpreted))
        | {"label_zh": "多样化解读率", "policies": _listing(interpreted, "diversified")},
        "multichannel_rate": _rate(sum(p["multichannel"] for p in interpreted), len(interpreted))
        | {"label_zh": "多渠道发布率", "policies": _listing(interpreted, "multichannel")},
        "on_time_rate": _rate(sum(p["on_time"] for p in decided), len(decided))
        | {"label_zh": "按时解读率", "policies": _listing(decided, "on_time")},
        "overdue": [
            {
                "document_id": p["document_id"],
                "title": p["title"],
                "owner_unit": p["owner_unit"],
                "latest_due": p["latest_due"],
            }
            for p in policies
            if p["overdue"]
        ],
        "policies": policies,
    }


def _policy(
    o: Any, forms: dict[str, set[str]], channels: dict[str, set[str]], today: date
) -> dict[str, Any]:
    """One policy of the rates: interpreted how, published where, on time or overdue."""
    doc = o["document_id"]
    fulfilled = o["status"] == "fulfilled"
    past_due = o["status"] == "open" and o["latest_due"] < today.isoformat()
    return {
        "document_id": doc,
        "title": o["title"],
        "owner_unit": o["owner_unit"],
        "published_on": o["published_on"],
        "latest_due": o["latest_due"],
        "interpreted": doc in forms,
        "forms": sorted(forms.get(doc, ())),
        "channels": sorted(channels.get(doc, ())),
        "diversified": bool(forms.get(doc, set()) - {"text"}),
        "multichannel": len(channels.get(doc, ())) >= 2,
        "decided": fulfilled or past_due,
        "on_time": bool(o["on_time"]) if fulfilled else False,
        "overdue": past_due,
    }


def _listing(items: list[dict[str, Any]], flag: str) -> list[dict[str, Any]]:
    return [
        {"document_id": p["document_id"], "title": p["title"], "counted": p[flag]} for p in items
    ]
