"""学法 (方案§六(一)): 将《中华人民共和国政府信息公开条例》纳入全镇普法范围、
列入领导干部重点学法内容.

The rule (docs/decisions.md decision 75), per township and calendar year:
- **全镇普法**: at least one training session of the township's subtree, held in the year,
  covered the 条例 (`covers_regulation` on TrainingSessionHeld v2);
- **领导干部学法**: every leader of the township (the people listed at the township itself
  with the role principal_leader or leader_in_charge: 镇长, 副镇长…) attended at least one
  such session (`attendee_ids`).
On 1 January of the next year the scheduler records RegulationStudyMissed once per
township that fell short (no such session, and/or the absent leaders), for years from the
assessment store's first event on (the suite was in use that year). The assessment scores
it as `study.regulation_not_covered` / `study.leaders_absent` (signals.py), charged to the
year that passed.

Pure rules (`Session`, `fold`, `leaders_of`, `record`, `shortfall`), the read model of held
sessions (`TrainingRecord`, for the leaders' 学法 record query) and the job step (`tick`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import orjson

from services.assessment.events import RegulationStudyMissed, registry
from shared.db import Database, Tx
from shared.envelope import Actor, NewEvent, RecordedEvent, StreamWrite
from shared.errors import ConcurrencyConflict
from shared.eventstore import EventStore
from shared.identity import Role
from shared.pagination import scope_args, scope_clause
from shared.registry import payload_of
from shared.tenancy import OrgTree
from shared.workdays import local_date

LEADER_ROLES = frozenset({Role.PRINCIPAL_LEADER, Role.LEADER_IN_CHARGE})
STUDY_ACTOR = Actor(id="assessment-scheduler", kind="service", role="service")


@dataclass(frozen=True)
class Session:
    session_id: str
    org: str = ""
    topic: str = ""
    held_on: date | None = None
    covers_regulation: bool = False
    attendee_ids: tuple[str, ...] = ()


def fold(sessions: dict[str, Session], event: RecordedEvent) -> None:
    """Planned and held sessions, by id (the assessment store's training streams)."""
    if event.type not in ("TrainingSessionPlanned", "TrainingSessionHeld"):
        return
    decoded = payload_of(registry.decode(event))
    sid = str(decoded["session_id"])
    current = sessions.get(sid, Session(sid))
    if event.type == "TrainingSessionPlanned":
        sessions[sid] = replace(current, org=str(decoded["org"]), topic=str(decoded["topic"]))
    else:
        sessions[sid] = replace(
            current,
            held_on=date.fromisoformat(str(decoded["held_on"])),
            covers_regulation=bool(decoded["covers_regulation"]),
            attendee_ids=tuple(decoded["attendee_ids"]),
        )


def leaders_of(orgs: OrgTree, township: str) -> list[str]:
    """镇领导: the people listed at the township itself as principal leader or leader in charge."""
    unit = orgs.get(township)
    return sorted(p.id for p in unit.people if p.roles & LEADER_ROLES)


def _within(org: str, scope: str) -> bool:
    return org == scope or org.startswith(scope + "/")


def covering(sessions: Iterable[Session], township: str, year: int) -> list[Session]:
    """Held sessions of the township's subtree in the year that covered the 条例."""
    return sorted(
        (
            s
            for s in sessions
            if s.held_on is not None
            and s.held_on.year == year
            and s.covers_regulation
            and _within(s.org, township)
        ),
        key=lambda s: (s.held_on or date.min, s.session_id),
    )


def record(orgs: OrgTree, township: str, year: int, sessions: Iterable[Session]) -> dict[str, Any]:
    """The leaders' 学法 record of a township and year: each leader's 条例 sessions."""
    found = covering(sessions, township, year)
    names = {p.id: p.name for _u, p in orgs.people()}
    leaders = [
        {
            "person": leader,
            "name": names.get(leader, leader),
            "sessions": [
                {"session_id": s.session_id, "topic": s.topic, "held_on": s.held_on}
                for s in found
                if leader in s.attendee_ids
            ],
        }
        for leader in leaders_of(orgs, township)
    ]
    return {
        "org": township,
        "year": year,
        "sessions_covering": len(found),
        "leaders": leaders,
        "leaders_absent": [x["person"] for x in leaders if not x["sessions"]],
        "complete": bool(found) and all(x["sessions"] for x in leaders),
        "basis": "方案§六(一)：将《中华人民共和国政府信息公开条例》列入领导干部重点学法内容",
    }


def shortfall(
    orgs: OrgTree, township: str, year: int, sessions: Iterable[Session], today: date
) -> RegulationStudyMissed | None:
    """The year's shortfall, once it is over (None if complete or not over)."""
    if today.year <= year:
        return None
    found = record(orgs, township, year, sessions)
    if found["complete"]:
        return None
    return RegulationStudyMissed(
        org=township,
        year=year,
        year_end=date(year, 12, 31),
        sessions_covering=found["sessions_covering"],
        leaders=[x["person"] for x in found["leaders"]],
        leaders_absent=found["leaders_absent"],
        noticed_on=today,
    )


def study_stream(township: str, year: int) -> str:
    return f"assessment-study-{township}-{year}"


# --- the scheduler's step -----------------------------------------------------------------


@dataclass
class StudyLog:
    """What the job folded of the assessment store: sessions, the first year, notices."""

    position: int = 0
    first_year: int | None = None
    sessions: dict[str, Session] = field(default_factory=dict)
    noticed: set[str] = field(default_factory=set)


async def tick(store: EventStore, log: StudyLog, orgs: OrgTree, today: date) -> list[str]:
    """Catch up with the log; record last year's shortfalls; returns the streams written."""
    while batch := await store.read_all(log.position, 1000):
        for event in batch:
            if log.first_year is None:
                log.first_year = local_date(event.recorded_at).year
            if event.type == "RegulationStudyMissed":
                log.noticed.add(event.stream_id)
            fold(log.sessions, event)
        log.position = batch[-1].position
    year = today.year - 1
    if log.first_year is None or year < log.first_year:
        return []
    written = []
    for township in orgs.townships():
        stream = study_stream(str(township.path), year)
        if stream in log.noticed:
            continue
        missed = shortfall(orgs, str(township.path), year, log.sessions.values(), today)
        if missed is None:
            continue
        new = NewEvent(
            type=missed.event_type,
            schema_version=missed.schema_version,
            tenant=str(township.path),
            actor=STUDY_ACTOR,
            payload=payload_of(missed),
        )
        write = StreamWrite(
            stream_id=stream, stream_type=missed.stream_type, expected_version=0, events=(new,)
        )
        with contextlib.suppress(ConcurrencyConflict):  # another scheduler wrote it
            await store.append([write])
            written.append(stream)
        log.noticed.add(stream)
    return written


# --- read model of held sessions (the leaders' 学法 record) ---------------------------------


class TrainingRecord:
    """One row per training session: its org, topic, day held, 条例 covered, attendees."""

    name = "assessment.training_record.v1"
    tables: Sequence[str] = ("assess_training",)
    schema: Sequence[str] = (
        """CREATE TABLE IF NOT EXISTS assess_training (
            session_id TEXT PRIMARY KEY,
            org TEXT NOT NULL,
            topic TEXT NOT NULL,
            planned_on TEXT NOT NULL,
            held_on TEXT,
            covers_regulation BOOLEAN NOT NULL,
            attendee_ids TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS assess_training_org ON assess_training (org, held_on)",
    )

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        if event.type == "TrainingSessionPlanned":
            p = event.payload
            await tx.execute(
                """INSERT INTO assess_training (session_id, org, topic, planned_on, held_on,
                   covers_regulation, attendee_ids) VALUES ($1, $2, $3, $4, NULL, FALSE, '[]')
                   ON CONFLICT (session_id) DO NOTHING""",
                p["session_id"],
                p["org"],
                p["topic"],
                p["planned_on"],
            )
        elif event.type == "TrainingSessionHeld":
            p = payload_of(registry.decode(event))  # v1 payloads upcast: not a 学法 session
            await tx.execute(
                """UPDATE assess_training SET held_on = $1, covers_regulation = $2,
                   attendee_ids = $3 WHERE session_id = $4""",
                str(p["held_on"]),
                bool(p["covers_regulation"]),
                orjson.dumps(list(p["attendee_ids"])).decode(),
                str(p["session_id"]),
            )


def _session_of(row: Mapping[str, Any]) -> Session:
    return Session(
        session_id=str(row["session_id"]),
        org=str(row["org"]),
        topic=str(row["topic"]),
        held_on=date.fromisoformat(str(row["held_on"])),
        covers_regulation=bool(row["covers_regulation"]),
        attendee_ids=tuple(orjson.loads(row["attendee_ids"])),
    )


async def held_sessions(views: Database, scope: str, year: int) -> list[Session]:
    rows = await views.fetch(
        "SELECT * FROM assess_training WHERE held_on IS NOT NULL AND held_on >= $1 "
        f"AND held_on <= $2 AND {scope_clause('org', 3)}",
        f"{year}-01-01",
        f"{year}-12-31",
        *scope_args(scope),
    )
    return [_session_of(r) for r in rows]


def sessions_of(events: Sequence[RecordedEvent]) -> list[Session]:
    """The sessions a log holds (tests and rebuild checks)."""
    found: dict[str, Session] = {}
    for event in events:
        fold(found, event)
    return list(found.values())
