"""Distributed scoring as a faust-streaming agent with changelog-backed tables.

The same pure code as the projection (signals.classify, domain.score); the state lives in
two faust tables instead of SQL rows:
- `assessment-findings`: key `signal|case|event id` → the finding (set semantics);
- `assessment-schemes`: key scheme id → the latest SchemePublished payload and version.

Both tables are backed by Kafka changelog topics, so a restarted worker recovers them
from Kafka; a re-delivered event (the relay re-publishes after a crash, or the consumer
re-reads after a restart) writes the same keys again and counts nothing twice. Cards are
computed from the table on demand (`ScoringApp.card`), which is what makes them equal to
a recomputation from the log.

Limit (documented in docs/assessment.md): one worker instance. Findings are written to the
changelog partition of their source event; several instances would each hold a part and a
card would need a repartition by subject (`group_by`) first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import faust

from services.assessment.domain import ScoreCard, score
from services.assessment.projections import scheme_from_payload
from services.assessment.scheme import Scheme
from services.assessment.signals import Finding, Source, classify
from shared.kafka import DEFAULT_PREFIX, topic_for
from shared.streams import create_stream_app, decode


def finding_key(f: Finding) -> str:
    return f"{f.signal}|{f.case}|{f.event_id}"


def finding_value(f: Finding) -> dict[str, str]:
    return {
        "signal": f.signal,
        "case": f.case,
        "org": f.org,
        "on": f.on.isoformat(),
        "event_id": f.event_id,
        "event_type": f.event_type,
    }


def finding_of(value: dict[str, str]) -> Finding:
    return Finding(
        value["signal"],
        value["case"],
        value["org"],
        date.fromisoformat(value["on"]),
        value["event_id"],
        value["event_type"],
    )


@dataclass
class ScoringApp:
    app: faust.App
    findings: Any
    schemes: Any
    applied: int = 0

    def scheme(self, scheme_id: str) -> Scheme | None:
        stored = self.schemes.get(scheme_id)
        return None if stored is None else scheme_from_payload(stored["payload"])

    def all_findings(self) -> list[Finding]:
        return [finding_of(v) for v in self.findings.values()]

    def card(self, scheme_id: str, subject: str) -> ScoreCard | None:
        found = self.scheme(scheme_id)
        return None if found is None else score(found, subject, self.all_findings())


def build_scoring_app(
    bootstrap: str,
    services: Iterable[str],
    *,
    prefix: str = DEFAULT_PREFIX,
    app_id: str = "assessment-scoring",
    store: str = "memory://",
    datadir: str | None = None,
) -> ScoringApp:
    conf = {"datadir": datadir} if datadir else {}
    app = create_stream_app(app_id, bootstrap, prefix=prefix, store=store, **conf)
    findings = app.Table("assessment-findings", default=None, partitions=3)
    schemes = app.Table("assessment-schemes", default=None, partitions=3)
    scoring = ScoringApp(app, findings, schemes)
    names = [topic_for(s, prefix) for s in services]
    topic = app.topic(*names, key_type=bytes, value_type=bytes)

    @app.agent(topic)
    async def score_events(stream):  # type: ignore[no-untyped-def]
        async for value in stream:
            event = decode(value)
            if event.type == "SchemePublished":
                sid = str(event.payload.get("scheme_id"))
                current = schemes.get(sid)
                if current is None or current["version"] < event.version:
                    schemes[sid] = {"version": event.version, "payload": dict(event.payload)}
            else:
                source = Source(
                    str(event.event_id), event.type, event.tenant, event.occurred_at, event.payload
                )
                for f in classify(source):
                    key = finding_key(f)
                    if findings.get(key) is None:
                        findings[key] = finding_value(f)
            scoring.applied += 1

    return scoring
