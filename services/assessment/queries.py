"""Reads of 考核 (no writes here): the scoreboard's rows (cards, ranks, ScoreChanged rows,
periods), and what the API and the live page make of them: whose scheme a read is about,
which rows a caller may see, a ranking, one subject's card.

No `from __future__ import annotations` here: FastAPI reads `Which` and `PageWhich` as
dependencies (their fields are query parameters).
"""

from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import Query

from services.assessment.domain import ScoreCard, baseline, with_cases
from services.assessment.handlers import subjects_of
from services.assessment.scheme import Level, Scheme
from services.assessment.scheme import scheme_id as scheme_id_of
from services.assessment.score_store import card_from_json, findings_in, scheme_from_row
from services.assessment.signals import KNOWN_SIGNALS
from shared.db import Database
from shared.errors import NotFound
from shared.identity import Principal, within_scope
from shared.pagination import decode_cursor, encode_cursor, scope_args, scope_clause
from shared.service import Runtime


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


# --- what the API and the live page read -------------------------------------------------

YEAR = Query(ge=2008, le=2100)


@dataclass(frozen=True)
class Which:
    """Which scheme a read is about: `?year=&level=&owner=` (no owner: the district's, or
    at unit level the subject's township's)."""

    year: Annotated[int, YEAR]
    level: Level = Level.township
    owner: str | None = None


@dataclass(frozen=True)
class PageWhich:
    """The same for a page, where the year defaults to this year."""

    year: Annotated[int | None, YEAR] = None
    level: Level = Level.township
    owner: str | None = None

    def this(self, this_year: int) -> Which:
        year = self.year if self.year is not None else this_year
        return Which(year, self.level, self.owner)


def owner_for(rt: Runtime, level: Level, subject: str | None, owner: str | None) -> str:
    """The scheme's owner: given, else the district, else the subject's township."""
    if owner:
        return owner
    district = str(rt.orgs.district.path)
    if level is Level.township or subject is None:
        return district
    return "/".join(subject.split("/")[:2])


async def scheme_or_404(rt: Runtime, year: int, level: Level, owner: str) -> Scheme:
    sid = scheme_id_of(year, level.value, owner)
    found = await scheme(rt.views, sid)
    if found is None:
        raise NotFound(
            rule="scheme.not_found",
            field="scheme_id",
            message_zh=f"尚未发布考核方案 {sid}",
            message_en=f"no published scheme {sid}",
        )
    return found[0]


def visible(caller: Principal, owner: str, subject: str) -> bool:
    """The scheme's owner's staff see every row; a subject's staff see their own."""
    return within_scope(caller, owner) or within_scope(caller, subject)


async def ranking(rt: Runtime, caller: Principal, which: Which) -> dict[str, Any]:
    level = which.level
    owner_path = owner_for(rt, level, None, which.owner)
    found = await scheme_or_404(rt, which.year, level, owner_path)
    # At unit level the township's own offices (镇本级) carry what is recorded there.
    subjects, names = subjects_of(rt.orgs, level, owner_path)
    cards = [await card(rt.views, found, s) for s in subjects]
    rows = ranked(cards, names)
    rows = [r for r in rows if visible(caller, owner_path, r["subject"])]
    return {
        "scheme_id": found.scheme_id,
        "title": found.title,
        "pass_line": found.pass_line,
        "owner": owner_path,
        "items": rows,
    }


async def card_of(rt: Runtime, caller: Principal, subject: str, which: Which) -> dict[str, Any]:
    owner_path = owner_for(rt, which.level, subject, which.owner)
    if subject not in rt.orgs or not visible(caller, owner_path, subject):
        raise NotFound(
            rule="subject.not_found",
            field="subject",
            message_zh=f"未找到考核对象 {subject}",
            message_en=f"no assessed subject {subject}",
        )
    found = await scheme_or_404(rt, which.year, which.level, owner_path)
    scored = await card(rt.views, found, subject, cases=True)
    name = rt.orgs.get(subject).name
    body = scored.as_dict()
    # What each cause means, in the words of the scheme's rules (a leader reads these).
    named = {c["signal"] for line in body["lines"] for c in line["cases"]}
    named |= {c["signal"] for c in body["veto_cases"]}
    signals = {s: KNOWN_SIGNALS[s] for s in sorted(named) if s in KNOWN_SIGNALS}
    return {"name": name, "pass_line": found.pass_line, **body, "signals": signals}
