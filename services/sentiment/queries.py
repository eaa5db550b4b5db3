"""Reads over the sentiment read models (sent_messages, sent_cases, sent_case_steps,
sent_hotspots): cursor pages, one message or case, and the views the API answers with.

Portable SQL only (SQLite and PostgreSQL). A citizen's identity and contact are shown only
to the opinion officer (`PERSONAL_ROLES`); the API records each response that shows them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import orjson

from services.sentiment.policies import links
from shared.db import Database, Row
from shared.errors import NotFound
from shared.identity import Principal, Role
from shared.pagination import decode_cursor, encode_cursor, scope_args, scope_clause

PERSONAL_ROLES = (Role.OPINION_OFFICER,)


async def page(
    views: Database,
    sql: list[str],
    args: list[Any],
    order: str,
    id_col: str,
    limit: int,
    cursor: str | None,
    view: Callable[[Row], dict[str, Any]],
) -> dict[str, Any]:
    """One page, newest first by (`order`, `id_col`), and the cursor of the next one."""
    if cursor:
        at, ident = decode_cursor(cursor, 2)
        args += [at, ident]
        n = len(args)
        sql.append(f"AND ({order} < ${n - 1} OR ({order} = ${n - 1} AND {id_col} < ${n}))")
    args.append(limit + 1)
    sql.append(f"ORDER BY {order} DESC, {id_col} DESC LIMIT ${len(args)}")
    rows = await views.fetch(" ".join(sql), *args)
    items = rows[:limit]
    next_cursor = encode_cursor(items[-1][order], items[-1][id_col]) if len(rows) > limit else None
    return {"items": [view(r) for r in items], "next_cursor": next_cursor}


async def messages(
    views: Database,
    caller: Principal,
    scope: str,
    case_id: str | None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    sql = ["SELECT * FROM sent_messages WHERE " + scope_clause("tenant", 1)]
    args: list[Any] = [*scope_args(scope)]
    if case_id:
        args.append(case_id)
        sql.append(f"AND case_id = ${len(args)}")
    found = await page(
        views,
        sql,
        args,
        "recorded_at",
        "message_id",
        limit,
        cursor,
        lambda r: message_view(r, caller),
    )
    await with_labels(views, found["items"])
    return found


async def with_labels(views: Database, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each message's labels as they stand: the officer's correction if there is one, else
    the model's answer (`classification`, kept as it was)."""
    ids = [str(v["message_id"]) for v in items]
    corrections: dict[str, Row] = {}
    if ids:
        marks = ", ".join(f"${i}" for i in range(1, len(ids) + 1))
        rows = await views.fetch(
            f"SELECT * FROM sent_message_corrections WHERE message_id IN ({marks})", *ids
        )
        corrections = {r["message_id"]: r for r in rows}
    for view in items:
        model = view["classification"] or {}
        row = corrections.get(str(view["message_id"]))
        view["labels"] = {
            "category": row["category"] if row else model.get("category"),
            "polarity": row["polarity"] if row else model.get("polarity"),
            "corrected": row is not None,
            "model_id": model.get("model_id"),
            "model_category": model.get("category"),
            "model_polarity": model.get("polarity"),
            "correction": None
            if row is None
            else {
                "corrected_by": row["corrected_by"],
                "corrected_at": row["corrected_at"],
                "reason": row["reason"],
                "corrections": row["corrections"],
                # The message stream's version after the correction: a client that just
                # corrected waits for the read model to reach it.
                "version": row["version"],
            },
        }
    return items


async def models(views: Database, live_model_id: str) -> dict[str, Any]:
    """Registered models with their evaluation and status, and each shadow run's figures."""
    rows = await views.fetch("SELECT * FROM sent_models ORDER BY registered_at DESC")
    items = []
    for r in rows:
        shadow = await views.fetchrow(
            """SELECT COUNT(*) AS n, SUM(CASE WHEN agrees THEN 1 ELSE 0 END) AS agree
               FROM sent_model_shadow WHERE model_id = $1""",
            r["model_id"],
        )
        n = int(shadow["n"] or 0) if shadow else 0
        agree = int(shadow["agree"] or 0) if shadow else 0
        pairs = await views.fetch(
            """SELECT live_category, shadow_category, COUNT(*) AS n FROM sent_model_shadow
               WHERE model_id = $1 GROUP BY live_category, shadow_category""",
            r["model_id"],
        )
        items.append(
            {
                "model_id": r["model_id"],
                "kind": r["kind"],
                "status": r["status"],
                "registered_at": r["registered_at"],
                "training": orjson.loads(r["training"]),
                "evaluation": orjson.loads(r["evaluation"]) if r["evaluation"] else None,
                "baseline": orjson.loads(r["baseline"]) if r["baseline"] else None,
                "artefact": r["artefact"],
                "artefact_sha256": r["artefact_sha256"],
                "shadow": None
                if r["shadow_messages"] is None
                else {
                    "messages": r["shadow_messages"],
                    "answers": n,
                    "complete": n >= r["shadow_messages"],
                    "agreement": round(agree / n, 4) if n else None,
                    "started_at": r["shadow_started_at"],
                    "live_model_id": r["live_model_at_shadow"],
                    "pairs": [
                        {"live": p["live_category"], "shadow": p["shadow_category"], "n": p["n"]}
                        for p in pairs
                    ],
                },
                "decided_at": r["decided_at"],
                "decided_by": r["decided_by"],
                "reason": r["reason"],
            }
        )
    return {"live_model_id": live_model_id, "models": items}


async def cases(
    views: Database, scope: str, status: str | None, limit: int, cursor: str | None
) -> dict[str, Any]:
    sql = ["SELECT * FROM sent_cases WHERE " + scope_clause("tenant", 1)]
    args: list[Any] = [*scope_args(scope)]
    if status:
        args.append(status)
        sql.append(f"AND status = ${len(args)}")
    return await page(views, sql, args, "opened_at", "case_id", limit, cursor, case_view)


async def case_detail(views: Database, row: Row) -> dict[str, Any]:
    """A case with its steps, its messages' ids and the policies linked to it."""
    case_id = row["case_id"]
    steps = await views.fetch(
        "SELECT * FROM sent_case_steps WHERE case_id = $1 ORDER BY version", case_id
    )
    messages = await views.fetch(
        "SELECT message_id FROM sent_messages WHERE case_id = $1 ORDER BY recorded_at",
        case_id,
    )
    return case_view(row) | {
        "steps": [
            {
                "version": s["version"],
                "step": s["step"],
                "event_type": s["event_type"],
                "actor": s["actor"],
                "at": s["at"],
                "detail": orjson.loads(s["detail"]),
            }
            for s in steps
        ],
        "message_ids": [m["message_id"] for m in messages],
        "policy_links": await links(views, case_id),
    }


async def hotspots(views: Database, scope: str) -> dict[str, Any]:
    rows = await views.fetch(
        "SELECT * FROM sent_hotspots WHERE "
        + scope_clause("township", 1)
        + " ORDER BY detected_at DESC LIMIT 200",
        *scope_args(scope),
    )
    return {
        "items": [
            {
                "hotspot_id": r["hotspot_id"],
                "township": r["township"],
                "category": r["category"],
                "window_start": r["window_start"],
                "window_end": r["window_end"],
                "message_count": r["message_count"],
                "negative_intensity": r["negative_intensity"],
                "crossed": orjson.loads(r["crossed"]),
                "detected_at": r["detected_at"],
            }
            for r in rows
        ]
    }


def message_not_found(message_id: UUID) -> NotFound:
    return NotFound(
        rule="message.not_found",
        field="message_id",
        message_zh=f"未找到留言 {message_id}",
        message_en=f"message {message_id} not found",
    )


def message_view(row: Row, caller: Principal) -> dict[str, Any]:
    sees_citizen = caller.has_role(*PERSONAL_ROLES)
    return {
        "message_id": row["message_id"],
        "tenant": row["tenant"],
        "source": row["source"],
        "kind": row["kind"],
        "external_id": row["external_id"],
        "title": row["title"],
        "text": row["text"],
        "citizen": orjson.loads(row["citizen"]) if sees_citizen and row["citizen"] else None,
        "location": row["location"],
        "received_at": row["received_at"],
        "case_id": row["case_id"],
        "classification": orjson.loads(row["classification"]) if row["classification"] else None,
        "recorded_at": row["recorded_at"],
    }


def case_view(row: Row) -> dict[str, Any]:
    return {
        "case_id": row["case_id"],
        "tenant": row["tenant"],
        "source": row["source"],
        "kind": row["kind"],
        "category": row["category"],
        "tags": orjson.loads(row["tags"]),
        "urgency": row["urgency"],
        "status": row["status"],
        "unit": row["unit"],
        "officer": row["officer"],
        "opened_at": row["opened_at"],
        "response_due": row["response_due"],
        "deadlines": orjson.loads(row["deadlines"]),
        "message_count": row["message_count"],
        "extension_pending": bool(row["extension_pending"]),
        "response": row["response"],
        "responded_at": row["responded_at"],
        "on_time": None if row["on_time"] is None else bool(row["on_time"]),
        "published_at": row["published_at"],
        "published_url": row["published_url"],
        "satisfaction": row["satisfaction"],
        "escalation_level": row["escalation_level"],
        "version": row["version"],
    }
