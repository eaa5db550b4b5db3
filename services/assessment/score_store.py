"""The scoreboard's tables and the reads and writes on them (projections.py scores).

Kept apart from the scoring so each reads in one sitting; the API's queries (queries.py)
read cards and findings through the same functions the projection writes them with.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import orjson

from services.assessment.domain import Case, Line, ScoreCard, Tally
from services.assessment.scheme import Scheme
from services.assessment.signals import Finding
from shared.db import Database, Tx, fetch_in
from shared.envelope import RecordedEvent
from shared.pagination import scope_args, scope_clause

SCHEMA: Sequence[str] = (
    """CREATE TABLE IF NOT EXISTS score_findings (
        signal TEXT NOT NULL,
        case_key TEXT NOT NULL,
        event_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        org TEXT NOT NULL,
        on_date TEXT NOT NULL,
        year INTEGER NOT NULL,
        PRIMARY KEY (signal, case_key, event_id)
    )""",
    "CREATE INDEX IF NOT EXISTS score_findings_year_org ON score_findings (year, org)",
    """CREATE TABLE IF NOT EXISTS score_schemes (
        scheme_id TEXT PRIMARY KEY,
        year INTEGER NOT NULL,
        level TEXT NOT NULL,
        owner TEXT NOT NULL,
        version INTEGER NOT NULL,
        event_id TEXT NOT NULL,
        body TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS score_cards (
        scheme_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        total INTEGER NOT NULL,
        passed BOOLEAN NOT NULL,
        card TEXT NOT NULL,
        tally TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (scheme_id, subject)
    )""",
    # The distinct cases each card counts (findings of events no closed period froze).
    """CREATE TABLE IF NOT EXISTS score_cases (
        scheme_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        signal TEXT NOT NULL,
        case_key TEXT NOT NULL,
        PRIMARY KEY (scheme_id, subject, signal, case_key)
    )""",
    """CREATE TABLE IF NOT EXISTS score_changes (
        change_id TEXT PRIMARY KEY,
        seq BIGINT NOT NULL,
        scheme_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        line TEXT NOT NULL,
        delta INTEGER NOT NULL,
        total_after INTEGER NOT NULL,
        caused_by TEXT NOT NULL,
        cause_type TEXT NOT NULL,
        day TEXT NOT NULL,
        recorded_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS score_changes_day ON score_changes (day, seq)",
    "CREATE INDEX IF NOT EXISTS score_changes_seq ON score_changes (seq)",
    # One counter row: its row lock orders ScoreChanged rows in commit order (live cursors).
    """CREATE TABLE IF NOT EXISTS score_sequence (
        name TEXT PRIMARY KEY,
        value BIGINT NOT NULL
    )""",
    "INSERT INTO score_sequence (name, value) VALUES ('changes', 0) ON CONFLICT DO NOTHING",
    # Period close (periods.py): the events a closed period holds no longer count live.
    """CREATE TABLE IF NOT EXISTS score_frozen (
        scheme_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        period TEXT NOT NULL,
        PRIMARY KEY (scheme_id, event_id)
    )""",
    """CREATE TABLE IF NOT EXISTS score_periods (
        scheme_id TEXT NOT NULL,
        period TEXT NOT NULL,
        starts_on TEXT NOT NULL,
        ends_on TEXT NOT NULL,
        closed_on TEXT NOT NULL,
        event_id TEXT NOT NULL,
        snapshot TEXT NOT NULL,
        PRIMARY KEY (scheme_id, period)
    )""",
)


def scheme_from_row(body: str) -> Scheme:
    return Scheme.model_validate(orjson.loads(body))


def scheme_from_payload(payload: dict[str, Any]) -> Scheme:
    fields = {k: v for k, v in payload.items() if k not in ("scheme_id", "source_sha256")}
    return Scheme.model_validate(fields)


def finding_of(row: Any) -> Finding:
    return Finding(
        row["signal"],
        row["case_key"],
        row["org"],
        date.fromisoformat(row["on_date"]),
        row["event_id"],
        row["event_type"],
    )


async def findings_in(
    tx: Tx | Database, year: int, scope: str, live_for: str | None = None
) -> list[Finding]:
    """The findings of a year in an org subtree; with `live_for` (a scheme id), without
    those of events a closed period of that scheme froze."""
    sql = f"SELECT * FROM score_findings WHERE year = $1 AND {scope_clause('org', 2)}"
    args: list[Any] = [year, *scope_args(scope)]
    if live_for is not None:
        sql += " AND event_id NOT IN (SELECT event_id FROM score_frozen WHERE scheme_id = $4)"
        args.append(live_for)
    rows = await tx.fetch(sql, *args)
    return [finding_of(r) for r in rows]


async def stored_card(tx: Tx, scheme_id: str, subject: str) -> tuple[ScoreCard, Tally] | None:
    """The stored card (points only, no cases) and its tally."""
    row = await tx.fetchrow(
        "SELECT card, tally FROM score_cards WHERE scheme_id = $1 AND subject = $2",
        scheme_id,
        subject,
    )
    return None if row is None else (card_from_json(row["card"]), orjson.loads(row["tally"]))


def card_from_json(text: str) -> ScoreCard:
    data = orjson.loads(text)
    lines = tuple(
        Line(
            key=line["key"],
            name=line["name"],
            kind=line["kind"],
            weight=round(line["weight"] * 100),
            points=round(line["points"] * 100),
            raw=round(line["raw"] * 100),
            cases=tuple(Case(c["signal"], c["case"], tuple(c["event_ids"])) for c in line["cases"]),
        )
        for line in data["lines"]
    )
    return ScoreCard(
        scheme_id=data["scheme_id"],
        subject=data["subject"],
        total=round(data["total"] * 100),
        bonus=round(data["bonus"] * 100),
        passed=data["passed"],
        vetoed=tuple(data["vetoed"]),
        lines=lines,
    )


_CHUNK = 500  # rows per multi-row INSERT (SQLite allows 32,766 parameters)


async def insert_new(
    tx: Tx, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]], key: int
) -> set[tuple[Any, ...]]:
    """INSERT ... ON CONFLICT DO NOTHING of many rows; the keys (the first `key` columns,
    the primary key) of the rows actually inserted."""
    inserted: set[tuple[Any, ...]] = set()
    width = len(columns)
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        marks = ", ".join(
            "(" + ", ".join(f"${n * width + c + 1}" for c in range(width)) + ")"
            for n in range(len(chunk))
        )
        found = await tx.fetch(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES {marks} "
            f"ON CONFLICT DO NOTHING RETURNING {', '.join(columns[:key])}",
            *[v for row in chunk for v in row],
        )
        inserted |= {tuple(r[c] for c in columns[:key]) for r in found}
    return inserted


async def frozen_among(tx: Tx, sid: str, events: Sequence[RecordedEvent]) -> set[str]:
    """Which of these events a closed period of the scheme froze."""
    if await tx.fetchval("SELECT 1 FROM score_frozen WHERE scheme_id = $1 LIMIT 1", sid) is None:
        return set()
    rows = await fetch_in(
        tx,
        "SELECT event_id FROM score_frozen WHERE scheme_id = $1 AND event_id IN ({values})",
        sorted({str(e.event_id) for e in events}),
        sid,
    )
    return {str(r["event_id"]) for r in rows}


async def has_case(tx: Tx, sid: str, subject: str, signal: str, case: str) -> bool:
    found = await tx.fetchval(
        """SELECT 1 FROM score_cases
           WHERE scheme_id = $1 AND subject = $2 AND signal = $3 AND case_key = $4""",
        sid,
        subject,
        signal,
        case,
    )
    return found is not None
