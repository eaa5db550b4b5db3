"""Real-time scoring: every service's events → findings → score cards → ScoreChanged rows.

`sources = ("*",)`: in embedded mode one runner per source store feeds it; in distributed
mode the Kafka projection worker of `assessment` feeds it from every service topic. The
scoring is the pure code of signals.py and domain.py in both modes.

Tables:
- assess_findings: one row per (signal, case, event id). Re-delivery of an event inserts
  nothing and changes nothing (at-least-once delivery never double counts).
- assess_schemes: the current version of each published scheme.
- assess_cards: the current card of each (scheme, subject), recomputed from the findings.
- assess_changes: ScoreChanged entries: which line moved by how much, and the ids of the
  events that caused it, so every point traces to the audit log. They are derived rows,
  not events (docs/assessment.md "ScoreChanged is a read model").

Order: the card is a function of the set of findings, so events of different streams may
arrive in any order (Kafka keeps per-stream order only) and the cards end the same; only
the sequence of intermediate ScoreChanged rows depends on arrival order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import orjson

from services.assessment.domain import ScoreCard, changes, score, subject_of
from services.assessment.scheme import Scheme
from services.assessment.signals import SHANGHAI, Finding, Source, classify
from shared.db import Tx
from shared.envelope import RecordedEvent
from shared.pagination import scope_args, scope_clause

SCHEMA: Sequence[str] = (
    """CREATE TABLE IF NOT EXISTS assess_findings (
        signal TEXT NOT NULL,
        case_key TEXT NOT NULL,
        event_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        org TEXT NOT NULL,
        on_date TEXT NOT NULL,
        year INTEGER NOT NULL,
        PRIMARY KEY (signal, case_key, event_id)
    )""",
    "CREATE INDEX IF NOT EXISTS assess_findings_year_org ON assess_findings (year, org)",
    """CREATE TABLE IF NOT EXISTS assess_schemes (
        scheme_id TEXT PRIMARY KEY,
        year INTEGER NOT NULL,
        level TEXT NOT NULL,
        owner TEXT NOT NULL,
        version INTEGER NOT NULL,
        event_id TEXT NOT NULL,
        body TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS assess_cards (
        scheme_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        total INTEGER NOT NULL,
        passed BOOLEAN NOT NULL,
        card TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (scheme_id, subject)
    )""",
    """CREATE TABLE IF NOT EXISTS assess_changes (
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
    "CREATE INDEX IF NOT EXISTS assess_changes_day ON assess_changes (day, seq)",
    "CREATE INDEX IF NOT EXISTS assess_changes_seq ON assess_changes (seq)",
    # One counter row: its row lock orders ScoreChanged rows in commit order (live cursors).
    """CREATE TABLE IF NOT EXISTS assess_sequence (
        name TEXT PRIMARY KEY,
        value BIGINT NOT NULL
    )""",
    "INSERT INTO assess_sequence (name, value) VALUES ('changes', 0) ON CONFLICT DO NOTHING",
    # Period close (periods.py): the events a closed period holds no longer count live.
    """CREATE TABLE IF NOT EXISTS assess_frozen (
        scheme_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        period TEXT NOT NULL,
        PRIMARY KEY (scheme_id, event_id)
    )""",
    """CREATE TABLE IF NOT EXISTS assess_periods (
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


async def findings_in(tx: Tx, year: int, scope: str, live_for: str | None = None) -> list[Finding]:
    """The findings of a year in an org subtree; with `live_for` (a scheme id), without
    those of events a closed period of that scheme froze."""
    sql = f"SELECT * FROM assess_findings WHERE year = $1 AND {scope_clause('org', 2)}"
    args: list[Any] = [year, *scope_args(scope)]
    if live_for is not None:
        sql += " AND event_id NOT IN (SELECT event_id FROM assess_frozen WHERE scheme_id = $4)"
        args.append(live_for)
    rows = await tx.fetch(sql, *args)
    return [finding_of(r) for r in rows]


async def stored_card(tx: Tx, scheme_id: str, subject: str) -> ScoreCard | None:
    from services.assessment.queries import card_from_json

    row = await tx.fetchrow(
        "SELECT card FROM assess_cards WHERE scheme_id = $1 AND subject = $2", scheme_id, subject
    )
    return None if row is None else card_from_json(row["card"])


class Scoreboard:
    name = "assessment.scoreboard.v1"
    sources = ("*",)
    tables: Sequence[str] = (
        "assess_findings",
        "assess_schemes",
        "assess_cards",
        "assess_changes",
        "assess_sequence",
        "assess_frozen",
        "assess_periods",
    )
    schema: Sequence[str] = SCHEMA

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        await self.apply_batch(tx, [event])

    async def apply_batch(self, tx: Tx, events: Sequence[RecordedEvent]) -> None:
        """The same cards as applying one by one; each touched card is rescored once.

        Rescoring reads every finding of the subject's year, so doing it once per
        (scheme, subject) and batch instead of once per event is what keeps the scorer
        ahead of a busy district (bench/scoreboard.py). A scheme or a period close in the
        batch first rescores what came before it. The ScoreChanged rows of a batch name
        the batch's events behind each line.
        """
        touched: dict[tuple[str, str], tuple[Scheme, list[RecordedEvent]]] = {}
        schemes: dict[int, list[Scheme]] = {}
        for event in events:
            if event.type in ("SchemePublished", "PeriodClosed"):
                await self._rescore_touched(tx, touched)
                touched.clear()
                schemes.clear()
                if event.type == "SchemePublished":
                    await self._scheme(tx, event)
                else:
                    await self._period(tx, event)
                continue
            fresh = await self._record(tx, event)
            for year in sorted({f.on.year for f in fresh}):
                if year not in schemes:
                    schemes[year] = await self._schemes_of(tx, year)
                for scheme in schemes[year]:
                    subjects = {subject_of(scheme, f.org) for f in fresh if f.on.year == year}
                    for subject in sorted(s for s in subjects if s is not None):
                        _, causes = touched.setdefault((scheme.scheme_id, subject), (scheme, []))
                        causes.append(event)
        await self._rescore_touched(tx, touched)

    async def _rescore_touched(
        self, tx: Tx, touched: dict[tuple[str, str], tuple[Scheme, list[RecordedEvent]]]
    ) -> None:
        for (_, subject), (scheme, causes) in sorted(touched.items()):
            await self._rescore(tx, scheme, subject, causes)

    async def _record(self, tx: Tx, event: RecordedEvent) -> list[Finding]:
        """Store the event's findings not stored yet; return those."""
        source = Source(
            str(event.event_id), event.type, event.tenant, event.occurred_at, event.payload
        )
        fresh: list[Finding] = []
        for finding in classify(source):
            exists = await tx.fetchval(
                """SELECT 1 FROM assess_findings
                   WHERE signal = $1 AND case_key = $2 AND event_id = $3""",
                finding.signal,
                finding.case,
                finding.event_id,
            )
            if exists:
                continue
            await tx.execute(
                """INSERT INTO assess_findings
                   (signal, case_key, event_id, event_type, org, on_date, year)
                   VALUES ($1, $2, $3, $4, $5, $6, $7)""",
                finding.signal,
                finding.case,
                finding.event_id,
                finding.event_type,
                finding.org,
                finding.on.isoformat(),
                finding.on.year,
            )
            fresh.append(finding)
        return fresh

    async def _schemes_of(self, tx: Tx, year: int) -> list[Scheme]:
        rows = await tx.fetch(
            "SELECT body FROM assess_schemes WHERE year = $1 ORDER BY scheme_id", year
        )
        return [scheme_from_row(r["body"]) for r in rows]

    async def _scheme(self, tx: Tx, event: RecordedEvent) -> None:
        scheme = scheme_from_payload(event.payload)
        current = await tx.fetchval(
            "SELECT version FROM assess_schemes WHERE scheme_id = $1", scheme.scheme_id
        )
        if current is not None and int(current) >= event.version:
            return  # re-delivery of an older version
        body = orjson.dumps(scheme.model_dump(mode="json")).decode()
        await tx.execute(
            """INSERT INTO assess_schemes (scheme_id, year, level, owner, version, event_id, body)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (scheme_id) DO UPDATE SET version = excluded.version,
                   event_id = excluded.event_id, body = excluded.body""",
            scheme.scheme_id,
            scheme.year,
            scheme.level.value,
            scheme.owner,
            event.version,
            str(event.event_id),
            body,
        )
        findings = await findings_in(tx, scheme.year, scheme.owner, scheme.scheme_id)
        subjects = {subject_of(scheme, f.org) for f in findings}
        rows = await tx.fetch(
            "SELECT subject FROM assess_cards WHERE scheme_id = $1", scheme.scheme_id
        )
        subjects |= {r["subject"] for r in rows}
        for subject in sorted(s for s in subjects if s is not None):
            await self._rescore(tx, scheme, subject, [event], findings)

    async def _period(self, tx: Tx, event: RecordedEvent) -> None:
        """Freeze the period's events and rescore the live cards without them."""
        p = event.payload
        sid = str(p["scheme_id"])
        for event_id in p["frozen_event_ids"]:
            await tx.execute(
                "INSERT INTO assess_frozen (scheme_id, event_id, period) VALUES ($1, $2, $3) "
                "ON CONFLICT DO NOTHING",
                sid,
                event_id,
                p["period"],
            )
        await tx.execute(
            """INSERT INTO assess_periods
               (scheme_id, period, starts_on, ends_on, closed_on, event_id, snapshot)
               VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING""",
            sid,
            p["period"],
            str(p["starts_on"]),
            str(p["ends_on"]),
            str(p["closed_on"]),
            str(event.event_id),
            orjson.dumps(p["snapshot"]).decode(),
        )
        row = await tx.fetchrow("SELECT body FROM assess_schemes WHERE scheme_id = $1", sid)
        if row is None:
            return  # the scheme arrives later and is scored without the frozen events
        scheme = scheme_from_row(row["body"])
        findings = await findings_in(tx, scheme.year, scheme.owner, sid)
        rows = await tx.fetch("SELECT subject FROM assess_cards WHERE scheme_id = $1", sid)
        subjects = {r["subject"] for r in rows} | {s["subject"] for s in p["snapshot"]}
        for subject in sorted(subjects):
            await self._rescore(tx, scheme, subject, [event], findings)

    async def _rescore(
        self,
        tx: Tx,
        scheme: Scheme,
        subject: str,
        causes: Sequence[RecordedEvent],
        findings: list[Finding] | None = None,
    ) -> None:
        """Rescore one card; `causes` are the events that touched it (the last one dates it)."""
        cause = causes[-1]
        if findings is None:
            findings = await findings_in(tx, scheme.year, subject, scheme.scheme_id)
        card = score(scheme, subject, findings)
        before = await stored_card(tx, scheme.scheme_id, subject)
        moved = changes(before, card)
        recorded = cause.recorded_at.isoformat()
        await tx.execute(
            """INSERT INTO assess_cards (scheme_id, subject, total, passed, card, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (scheme_id, subject) DO UPDATE SET total = excluded.total,
                   passed = excluded.passed, card = excluded.card,
                   updated_at = excluded.updated_at""",
            scheme.scheme_id,
            subject,
            card.total,
            card.passed,
            orjson.dumps(card.as_dict()).decode(),
            recorded,
        )
        if not moved:
            return
        day = cause.recorded_at.astimezone(SHANGHAI).date().isoformat()
        behind = _causes(card, causes)
        types = {str(e.event_id): e.type for e in causes}
        for change in moved:
            caused_by = behind.get(change.key, [str(cause.event_id)])
            seq = await tx.fetchval(
                "UPDATE assess_sequence SET value = value + 1 "
                "WHERE name = 'changes' RETURNING value"
            )
            await tx.execute(
                """INSERT INTO assess_changes (change_id, seq, scheme_id, subject, line,
                       delta, total_after, caused_by, cause_type, day, recorded_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                   ON CONFLICT (change_id) DO NOTHING""",
                f"{cause.event_id}:{scheme.scheme_id}:{subject}:{change.key}",
                int(seq),
                scheme.scheme_id,
                subject,
                change.key,
                change.delta,
                card.total,
                orjson.dumps(caused_by).decode(),
                types.get(caused_by[0], cause.type),
                day,
                recorded,
            )


def _causes(card: ScoreCard, causes: Sequence[RecordedEvent]) -> dict[str, list[str]]:
    """Per line: the causing events behind the line, else (a scheme, a close) the last cause
    and every event behind the line."""
    cause_ids = [str(e.event_id) for e in causes]
    found: dict[str, list[str]] = {}
    for line in card.lines:
        ids = sorted({i for c in line.cases for i in c.event_ids})
        hits = [i for i in dict.fromkeys(cause_ids) if i in ids]
        found[line.key] = hits or [cause_ids[-1], *ids]
    return found
