"""Distributed scoring as a faust agent on a real broker (issue #7, services/assessment/stream.py).

After a restart (the tables come back from their changelog topics, or the topics are read
again) and a relay that re-publishes everything (as after a crash before its checkpoint),
nothing is counted twice and the new case is counted.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import yaml

from services.assessment.scheme import parse_scheme
from services.assessment.stream import ScoringApp, build_scoring_app
from shared.db import SqliteDatabase
from shared.envelope import Actor, NewEvent, StreamWrite
from shared.eventstore import SqlEventStore, open_sqlite_store
from shared.kafka import Relay, dlq_for, topic_for

DEMO = Path(__file__).parents[2] / "deploy" / "demo" / "assessment-scheme-2026.yaml"
SCHEME = parse_scheme(yaml.safe_load(DEMO.read_text(encoding="utf-8")))
SUDIAN = "shangdang/sudian"
SCHEDULER = Actor(id="applications-scheduler", kind="service", role="service")


async def missed(store: SqlEventStore, request: str) -> None:
    event = NewEvent(
        type="DeadlineMissed",
        tenant=SUDIAN,
        actor=SCHEDULER,
        payload={"request_id": request, "reply_due": "2026-03-16", "noticed_on": "2026-03-17"},
    )
    await store.append(
        [StreamWrite(stream_id=f"request-{request}", stream_type="request", events=(event,))]
    )


async def relay_all(
    store: SqlEventStore, views_path: Path, service: str, prefix: str, kafka: str
) -> None:
    """Publish every stored event; a fresh views file means a fresh checkpoint (re-publish)."""
    views = await SqliteDatabase.open(views_path)
    relay = Relay(store, views, kafka, topic_for(service, prefix), dlq=dlq_for(prefix))
    await relay.setup()
    await relay.start()
    try:
        await relay.publish_available()
    finally:
        await relay.stop()
        await views.close()


async def until(scoring: ScoringApp, cases: int, timeout: float = 90) -> int:
    async def probe() -> int:
        while True:
            card = scoring.card(SCHEME.scheme_id, SUDIAN)
            if card is not None:
                found = next(x for x in card.lines if x.key == "requests")
                if len(found.cases) >= cases:
                    return found.points
            await asyncio.sleep(0.2)

    return await asyncio.wait_for(probe(), timeout)


async def test_scoring_agent_recovers_its_tables_and_never_double_counts(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    prefix = f"t-{uuid.uuid4().hex[:10]}"
    apps = await open_sqlite_store(str(tmp_path / "applications.db"), name="applications")
    own = await open_sqlite_store(str(tmp_path / "assessment.db"), name="assessment")
    scheme = NewEvent(
        type="SchemePublished",
        tenant="shangdang",
        actor=Actor(id="li-qiang", role="district_assessor"),
        payload={
            "scheme_id": SCHEME.scheme_id,
            "source_sha256": "x",
            **SCHEME.model_dump(mode="json"),
        },
    )
    await own.append(
        [
            StreamWrite(
                stream_id="assessment-scheme-2026",
                stream_type="assessment-scheme",
                events=(scheme,),
            )
        ]
    )
    for request in ("r1", "r2"):
        await missed(apps, request)
    await relay_all(own, tmp_path / "own-views.db", "assessment", prefix, kafka_bootstrap)
    await relay_all(apps, tmp_path / "views-1.db", "applications", prefix, kafka_bootstrap)

    services = ["applications", "assessment"]
    first = build_scoring_app(
        kafka_bootstrap, services, prefix=prefix, datadir=str(tmp_path / "faust")
    )
    await first.app.start()
    try:
        assert await until(first, 2) == 2000 - 1200
    finally:
        await first.app.stop()

    # A crash of the relay before its checkpoint: everything is published again, plus r3.
    await missed(apps, "r3")
    await relay_all(apps, tmp_path / "views-2.db", "applications", prefix, kafka_bootstrap)
    second = build_scoring_app(
        kafka_bootstrap, services, prefix=prefix, datadir=str(tmp_path / "faust")
    )
    await second.app.start()
    try:
        assert await until(second, 3) == 2000 - 1800
        card = second.card(SCHEME.scheme_id, SUDIAN)
        assert card is not None
        requests = next(x for x in card.lines if x.key == "requests")
        assert [c.case for c in requests.cases] == ["r1", "r2", "r3"]
        assert card.total == 10000 - 1800
    finally:
        await second.app.stop()
        await apps.close()
        await own.close()
