"""Reads of the scoreboard: cards, ranks, ScoreChanged rows (no writes here)."""

from __future__ import annotations

from typing import Any

import orjson

from services.assessment.domain import ScoreCard, baseline, with_cases
from services.assessment.scheme import Scheme
from services.assessment.score_store import card_from_json, findings_in, scheme_from_row
from shared.db import Database
from shared.pagination import decode_cursor, encode_cursor, scope_args, scope_clause


async def scheme(views: Database, scheme_id: str) -> tuple[Scheme, int] | None:
    row = await views.fetchrow(
        "SELECT body, version FROM score_schemes WHERE scheme_id = $1", scheme_id
    )
    return None if row is None else (scheme_from_row(row["body"]), int(row["version"]))


async def schemes(views: Database, year: int | None) -> list[dict[str, Any]]:
    if year is None:
        rows = await views.fetch("SELECT * FROM score_schemes ORDER BY scheme_id")
    else:
        rows = await views.fetch(
            "SELECT * FROM score_schemes WHERE year = $1 ORDER BY scheme_id", year
        )
    return [
        {
            "scheme_id": r["scheme_id"],
            "version": r["version"],
            "event_id": r["event_id"],
            **orjson.loads(r["body"]),
        }
        for r in rows
    ]


async def card(views: Database, found: Scheme, subject: str, *, cases: bool = False) -> ScoreCard:
    """A subject's stored card (its points); with `cases`, the cases behind each line and
    their events, read from the live findings (the card row holds counts only)."""
    row = await views.fetchrow(
        "SELECT card FROM score_cards WHERE scheme_id = $1 AND subject = $2",
        found.scheme_id,
        subject,
    )
    stored = baseline(found, subject) if row is None else card_from_json(row["card"])
    if not cases or row is None:
        return stored
    findings = await findings_in(views, found.year, subject, found.scheme_id)
    return with_cases(found, stored, findings)


def ranked(cards: list[ScoreCard], names: dict[str, str]) -> list[dict[str, Any]]:
    """Competition ranking (1, 2, 2, 4) by total, ties in subject order."""
    ordered = sorted(cards, key=lambda c: (-c.total, c.subject))
    rows: list[dict[str, Any]] = []
    for index, c in enumerate(ordered):
        rank = rows[-1]["rank"] if rows and rows[-1]["total"] == c.total / 100 else index + 1
        rows.append(
            {
                "rank": rank,
                "subject": c.subject,
                "name": names.get(c.subject, c.subject),
                "total": c.total / 100,
                "bonus": c.bonus / 100,
                "passed": c.passed,
                "vetoed": list(c.vetoed),
                "lines": {line.key: line.points / 100 for line in c.lines},
            }
        )
    return rows


def change_row(r: Any) -> dict[str, Any]:
    return {
        "seq": int(r["seq"]),
        "scheme_id": r["scheme_id"],
        "subject": r["subject"],
        "indicator": r["line"],
        "delta": r["delta"] / 100,
        "total_after": r["total_after"] / 100,
        "caused_by": orjson.loads(r["caused_by"]),
        "cause_type": r["cause_type"],
        "day": r["day"],
        "recorded_at": r["recorded_at"],
    }


async def changes(
    views: Database,
    *,
    day: str | None,
    after: int,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """ScoreChanged rows in commit order, after `after` (live) or a cursor (pages)."""
    if cursor:
        (after_value,) = decode_cursor(cursor, 1)
        after = int(after_value)
    if day is None:
        rows = await views.fetch(
            "SELECT * FROM score_changes WHERE seq > $1 ORDER BY seq, change_id LIMIT $2",
            after,
            limit + 1,
        )
    else:
        rows = await views.fetch(
            """SELECT * FROM score_changes WHERE day = $1 AND seq > $2
               ORDER BY seq, change_id LIMIT $3""",
            day,
            after,
            limit + 1,
        )
    items = [change_row(r) for r in rows[:limit]]
    nxt = encode_cursor(items[-1]["seq"]) if len(rows) > limit and items else None
    return items, nxt


async def latest_seq(views: Database) -> int:
    """The seq of the last ScoreChanged row (0 if none): a page rendered after reading it
    misses no change (the stream resumes after it)."""
    value = await views.fetchval("SELECT COALESCE(MAX(seq), 0) FROM score_changes")
    return int(value or 0)


async def finding_events(views: Database, year: int, subject: str) -> dict[str, dict[str, str]]:
    """Event id → its type and the day of the fact, for the findings charged to `subject`."""
    rows = await views.fetch(
        "SELECT event_id, event_type, on_date, org FROM score_findings "
        f"WHERE year = $1 AND {scope_clause('org', 2)}",
        year,
        *scope_args(subject),
    )
    return {
        r["event_id"]: {"event_type": r["event_type"], "on": r["on_date"], "org": r["org"]}
        for r in rows
    }


async def periods(views: Database, scheme_id: str) -> list[dict[str, Any]]:
    """The closed periods of a scheme, in order."""
    rows = await views.fetch(
        "SELECT period, starts_on, ends_on, closed_on, event_id FROM score_periods "
        "WHERE scheme_id = $1 ORDER BY ends_on",
        scheme_id,
    )
    return [
        {
            "period": r["period"],
            "starts_on": r["starts_on"],
            "ends_on": r["ends_on"],
            "closed_on": r["closed_on"],
            "event_id": r["event_id"],
        }
        for r in rows
    ]


async def period(views: Database, scheme_id: str, key: str) -> dict[str, Any] | None:
    """One closed period with its frozen snapshot (ranked rows with their cards)."""
    row = await views.fetchrow(
        "SELECT * FROM score_periods WHERE scheme_id = $1 AND period = $2", scheme_id, key
    )
    if row is None:
        return None
    return {
        "scheme_id": scheme_id,
        "period": row["period"],
        "starts_on": row["starts_on"],
        "ends_on": row["ends_on"],
        "closed_on": row["closed_on"],
        "event_id": row["event_id"],
        "items": orjson.loads(row["snapshot"]),
    }
