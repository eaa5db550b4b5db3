"""Real-time scoring: every service's events → findings → score cards → ScoreChanged rows.

`sources = ("*",)`: in embedded mode one runner per source store feeds it; in distributed
mode the Kafka projection worker of `assessment` feeds it from every service topic. The
scoring is the pure code of signals.py and domain.py in both modes.

Tables:
- score_findings: one row per (signal, case, event id). Re-delivery of an event inserts
  nothing and changes nothing (at-least-once delivery never double counts).
- score_schemes: the current version of each published scheme.
- score_cards: the current card of each (scheme, subject), recomputed from the findings.
- score_changes: ScoreChanged entries: which line moved by how much, and the ids of the
  events that caused it, so every point traces to the audit log. They are derived rows,
  not events (docs/assessment.md "ScoreChanged is a read model").

Order: the card is a function of the set of findings, so events of different streams may
arrive in any order (Kafka keeps per-stream order only) and the cards end the same; only
the sequence of intermediate ScoreChanged rows depends on arrival order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from services.assessment.domain import (
    ScoreCard,
    Tally,
    card_of,
    changes,
    counted,
    listed_signals,
    partners,
    plus,
    score,
    subject_of,
    tally,
    with_cases,
)
from services.assessment.scheme import Scheme
from services.assessment.score_store import (
    SCHEMA,
    findings_in,
    frozen_among,
    has_case,
    insert_new,
    scheme_from_payload,
    scheme_from_row,
    stored_card,
)
from services.assessment.signals import SHANGHAI, Finding, Source, classify
from shared.db import Tx
from shared.envelope import RecordedEvent


@dataclass
class _Touched:
    """One (scheme, subject) a batch touched: the events, the live findings they brought
    (event id, signal, case) and what the cases not counted before add to the tally."""

    scheme: Scheme
    causes: list[RecordedEvent] = field(default_factory=list)
    behind: list[tuple[str, str, str]] = field(default_factory=list)
    added: Tally = field(default_factory=dict)


class Scoreboard:
    """v2 (docs/decisions.md 31): incremental cards. Each card keeps its tally (distinct
    cases per signal, matched cases per rate) and `score_cases` the cases it counts; a new
    finding adds its case and updates only the counts it touches, so a batch costs the
    same whatever the year already holds. A scheme (re)publication or a period close
    recounts the scheme from the findings. The cases behind each line are read from
    `score_findings` when a card is queried (queries.card)."""

    name = "assessment.scoreboard.v2"
    sources = ("*",)
    tables: Sequence[str] = (
        "score_findings",
        "score_schemes",
        "score_cards",
        "score_cases",
        "score_changes",
        "score_sequence",
        "score_frozen",
        "score_periods",
    )
    schema: Sequence[str] = SCHEMA

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        await self.apply_batch(tx, [event])

    async def apply_batch(self, tx: Tx, events: Sequence[RecordedEvent]) -> None:
        """The same cards as applying one by one; each touched card is written once.

        A scheme or a period close in the batch first writes what came before it. The
        ScoreChanged rows of a batch name the batch's events behind each line.
        """
        segment: list[RecordedEvent] = []
        for event in events:
            if event.type not in ("SchemePublished", "PeriodClosed"):
                segment.append(event)
                continue
            await self._segment(tx, segment)
            segment = []
            if event.type == "SchemePublished":
                await self._scheme(tx, event)
            else:
                await self._period(tx, event)
        await self._segment(tx, segment)

    async def _segment(self, tx: Tx, events: Sequence[RecordedEvent]) -> None:
        """Events with no scheme or close among them, in a few statements: their findings
        inserted at once, the frozen ones looked up at once, their cases inserted at once;
        then, in arrival order, what each case not counted before adds to its card."""
        if not events:
            return
        fresh = await self._record(tx, events)
        touched: dict[tuple[str, str], _Touched] = {}
        schemes: dict[int, list[Scheme]] = {}
        frozen: dict[str, set[str]] = {}  # scheme id → the segment's events it froze
        pending: list[tuple[_Touched, str, Finding]] = []
        for event, found in zip(events, fresh, strict=True):
            for year in sorted({f.on.year for f in found}):
                if year not in schemes:
                    schemes[year] = await self._schemes_of(tx, year)
                for scheme in schemes[year]:
                    mine = [
                        (subject, f)
                        for f in found
                        if f.on.year == year and (subject := subject_of(scheme, f.org)) is not None
                    ]
                    if not mine:
                        continue
                    sid = scheme.scheme_id
                    for subject in sorted({s for s, _ in mine}):
                        touched.setdefault((sid, subject), _Touched(scheme)).causes.append(event)
                    if sid not in frozen:
                        frozen[sid] = await frozen_among(tx, sid, events)
                    if str(event.event_id) in frozen[sid]:
                        continue  # a closed period holds it: it no longer counts live
                    for subject, f in mine:
                        entry = touched[(sid, subject)]
                        entry.behind.append((f.event_id, f.signal, f.case))
                        pending.append((entry, subject, f))
        await self._count(tx, pending)
        await self._flush(tx, touched)

    async def _count(self, tx: Tx, pending: list[tuple[_Touched, str, Finding]]) -> None:
        """Count each finding's case on its card if it is not counted yet (in order: a
        rate's partner case counts as present only if it was counted before this one)."""
        rows = [(e.scheme.scheme_id, subject, f.signal, f.case) for e, subject, f in pending]
        inserted = await insert_new(
            tx, "score_cases", ("scheme_id", "subject", "signal", "case_key"), rows, 4
        )
        new_here = set(inserted)
        counted_here: set[tuple[Any, ...]] = set()
        for (entry, subject, f), key in zip(pending, rows, strict=True):
            if key not in inserted:
                continue  # counted before, or earlier in this segment
            inserted.discard(key)
            counted_here.add(key)
            scheme = entry.scheme
            present = []
            for other in partners(scheme, f.signal):
                partner = (scheme.scheme_id, subject, other, f.case)
                if partner in counted_here or (
                    partner not in new_here
                    and await has_case(tx, scheme.scheme_id, subject, other, f.case)
                ):
                    present.append(other)
            entry.added = plus(entry.added, counted(scheme, f.signal, present))

    async def _flush(self, tx: Tx, touched: dict[tuple[str, str], _Touched]) -> None:
        for (_, subject), entry in sorted(touched.items(), key=lambda kv: kv[0]):
            scheme = entry.scheme
            found = await stored_card(tx, scheme.scheme_id, subject)
            before, counts = (None, {}) if found is None else found
            counts = plus(counts, entry.added)
            card = card_of(scheme, subject, counts)

            async def caused(
                key: str, entry: _Touched = entry, card: ScoreCard = card
            ) -> list[str]:
                return await self._behind(tx, entry, card, key)

            await self._write(tx, card, counts, before, entry.causes, caused)

    async def _behind(self, tx: Tx, entry: _Touched, card: ScoreCard, key: str) -> list[str]:
        """The batch's events behind a moved line, in arrival order; if none is (a rate
        that rose), the last cause and every event behind the line (read from the
        findings), as a full rescoring names them."""
        scheme, subject = entry.scheme, card.subject
        signals, rate = listed_signals(scheme, key)
        ids: set[str] = set()
        for event_id, signal, case in entry.behind:
            if signal in signals:
                ids.add(event_id)
            elif rate is not None and signal == rate.of:
                if not await has_case(tx, scheme.scheme_id, subject, rate.hits, case):
                    ids.add(event_id)
        cause_ids = [str(e.event_id) for e in entry.causes]
        hits = [i for i in dict.fromkeys(cause_ids) if i in ids]
        if hits:
            return hits
        findings = await findings_in(tx, scheme.year, subject, scheme.scheme_id)
        full = with_cases(scheme, card, findings)
        line = next(line for line in full.lines if line.key == key)
        return [cause_ids[-1], *sorted({i for c in line.cases for i in c.event_ids})]

    async def _write(
        self,
        tx: Tx,
        card: ScoreCard,
        counts: Tally,
        before: ScoreCard | None,
        causes: Sequence[RecordedEvent],
        caused: Callable[[str], Awaitable[list[str]]],
    ) -> None:
        """Store a card; a ScoreChanged row per moved line, naming `caused(line)`;
        `causes` are the events that touched it (the last one dates it)."""
        cause = causes[-1]
        moved = changes(before, card)
        recorded = cause.recorded_at.isoformat()
        await tx.execute(
            """INSERT INTO score_cards (scheme_id, subject, total, passed, card, tally,
                   updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (scheme_id, subject) DO UPDATE SET total = excluded.total,
                   passed = excluded.passed, card = excluded.card, tally = excluded.tally,
                   updated_at = excluded.updated_at""",
            card.scheme_id,
            card.subject,
            card.total,
            card.passed,
            orjson.dumps(card.as_dict()).decode(),
            orjson.dumps(counts, option=orjson.OPT_SORT_KEYS).decode(),
            recorded,
        )
        if not moved:
            return
        day = cause.recorded_at.astimezone(SHANGHAI).date().isoformat()
        types = {str(e.event_id): e.type for e in causes}
        for change in moved:
            caused_by = await caused(change.key)
            seq = await tx.fetchval(
                "UPDATE score_sequence SET value = value + 1 WHERE name = 'changes' RETURNING value"
            )
            await tx.execute(
                """INSERT INTO score_changes (change_id, seq, scheme_id, subject, line,
                       delta, total_after, caused_by, cause_type, day, recorded_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                   ON CONFLICT (change_id) DO NOTHING""",
                f"{cause.event_id}:{card.scheme_id}:{card.subject}:{change.key}",
                int(seq),
                card.scheme_id,
                card.subject,
                change.key,
                change.delta,
                card.total,
                orjson.dumps(caused_by).decode(),
                types.get(caused_by[0], cause.type),
                day,
                recorded,
            )

    async def _record(self, tx: Tx, events: Sequence[RecordedEvent]) -> list[list[Finding]]:
        """Store the events' findings not stored yet; per event, those (a finding repeated
        in the segment is fresh at its first event only)."""
        found = [
            classify(Source(str(e.event_id), e.type, e.tenant, e.occurred_at, e.payload))
            for e in events
        ]
        rows = [
            (f.signal, f.case, f.event_id, f.event_type, f.org, f.on.isoformat(), f.on.year)
            for fs in found
            for f in fs
        ]
        columns = ("signal", "case_key", "event_id", "event_type", "org", "on_date", "year")
        inserted = await insert_new(tx, "score_findings", columns, rows, 3)
        fresh: list[list[Finding]] = []
        for fs in found:
            mine = []
            for f in fs:
                key = (f.signal, f.case, f.event_id)
                if key in inserted:
                    inserted.discard(key)
                    mine.append(f)
            fresh.append(mine)
        return fresh

    async def _schemes_of(self, tx: Tx, year: int) -> list[Scheme]:
        rows = await tx.fetch(
            "SELECT body FROM score_schemes WHERE year = $1 ORDER BY scheme_id", year
        )
        return [scheme_from_row(r["body"]) for r in rows]

    async def _scheme(self, tx: Tx, event: RecordedEvent) -> None:
        scheme = scheme_from_payload(event.payload)
        current = await tx.fetchval(
            "SELECT version FROM score_schemes WHERE scheme_id = $1", scheme.scheme_id
        )
        if current is not None and int(current) >= event.version:
            return  # re-delivery of an older version
        body = orjson.dumps(scheme.model_dump(mode="json")).decode()
        await tx.execute(
            """INSERT INTO score_schemes (scheme_id, year, level, owner, version, event_id, body)
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
        by_subject = await self._recount(tx, scheme)
        rows = await tx.fetch(
            "SELECT subject FROM score_cards WHERE scheme_id = $1", scheme.scheme_id
        )
        subjects = set(by_subject) | {r["subject"] for r in rows}
        for subject in sorted(subjects):
            await self._rescore(tx, scheme, subject, event, by_subject.get(subject, []))

    async def _period(self, tx: Tx, event: RecordedEvent) -> None:
        """Freeze the period's events and rescore the live cards without them."""
        p = event.payload
        sid = str(p["scheme_id"])
        for event_id in p["frozen_event_ids"]:
            await tx.execute(
                "INSERT INTO score_frozen (scheme_id, event_id, period) VALUES ($1, $2, $3) "
                "ON CONFLICT DO NOTHING",
                sid,
                event_id,
                p["period"],
            )
        await tx.execute(
            """INSERT INTO score_periods
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
        row = await tx.fetchrow("SELECT body FROM score_schemes WHERE scheme_id = $1", sid)
        if row is None:
            return  # the scheme arrives later and is scored without the frozen events
        scheme = scheme_from_row(row["body"])
        by_subject = await self._recount(tx, scheme)
        rows = await tx.fetch("SELECT subject FROM score_cards WHERE scheme_id = $1", sid)
        subjects = {r["subject"] for r in rows} | {s["subject"] for s in p["snapshot"]}
        for subject in sorted(subjects):
            await self._rescore(tx, scheme, subject, event, by_subject.get(subject, []))

    async def _recount(self, tx: Tx, scheme: Scheme) -> dict[str, list[Finding]]:
        """The full recomputation: the scheme's counted cases again from the live findings;
        returns those findings by subject."""
        findings = await findings_in(tx, scheme.year, scheme.owner, scheme.scheme_id)
        by_subject: dict[str, list[Finding]] = {}
        for f in findings:
            subject = subject_of(scheme, f.org)
            if subject is not None:
                by_subject.setdefault(subject, []).append(f)
        sid = scheme.scheme_id
        await tx.execute("DELETE FROM score_cases WHERE scheme_id = $1", sid)
        rows = sorted({(sid, s, f.signal, f.case) for s, fs in by_subject.items() for f in fs})
        if rows:
            await tx.executemany(
                "INSERT INTO score_cases (scheme_id, subject, signal, case_key) "
                "VALUES ($1, $2, $3, $4)",
                rows,
            )
        return by_subject

    async def _rescore(
        self, tx: Tx, scheme: Scheme, subject: str, cause: RecordedEvent, found: list[Finding]
    ) -> None:
        """Rescore one card from its findings (a scheme, a close): the rows name the cause
        and every event behind the line."""
        full = score(scheme, subject, found)
        counts = tally(scheme, subject, found)
        previous = await stored_card(tx, scheme.scheme_id, subject)
        behind = _causes(full, [cause])

        async def caused(key: str) -> list[str]:
            return behind.get(key, [str(cause.event_id)])

        card = card_of(scheme, subject, counts)
        await self._write(
            tx, card, counts, None if previous is None else previous[0], [cause], caused
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
