"""Hotspots as a faust agent on a real broker (services/sentiment/stream.py, 方案§五(四)).

Five classified messages on one topic in one township within the window: one hotspot.
After a restart with everything re-published (a relay crash before its checkpoint), the
windows come back from their changelog and nothing is announced twice.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.sentiment.hotspots import Hotspot
from services.sentiment.stream import HotspotApp, build_hotspot_app
from shared.db import SqliteDatabase
from shared.envelope import Actor, NewEvent, StreamWrite
from shared.eventstore import SqlEventStore, open_sqlite_store
from shared.kafka import Relay, dlq_for, topic_for

SUDIAN = "shangdang/sudian"
OFFICER = Actor(id="liu-yang", role="opinion_officer")
START = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
#: A restarted member rejoins its group without waiting out the default 60 s session.
FAST_REJOIN = {"broker_session_timeout": 10.0, "broker_heartbeat_interval": 1.0}


async def classified(store: SqlEventStore, n: int, category: str, minutes: int) -> None:
    message_id = str(uuid.uuid4())
    event = NewEvent(
        type="MessageClassified",
        tenant=SUDIAN,
        actor=OFFICER,
        occurred_at=START + timedelta(minutes=minutes),
        payload={
            "message_id": message_id,
            "model_id": "lexicon-default-v1",
            "category": category,
            "category_confidence": 0.9,
            "category_reasons": [],
            "tags": [],
            "polarity": "negative",
            "sentiment_score": -0.5,
            "intensity": 0.4,
            "sentiment_reasons": [],
            "urgency": "normal",
            "urgency_classes": [],
            "urgency_reasons": [],
        },
    )
    await store.append(
        [StreamWrite(stream_id=f"message-{message_id}", stream_type="message", events=(event,))]
    )


async def relay_all(store: SqlEventStore, views_path: Path, prefix: str, kafka: str) -> None:
    views = await SqliteDatabase.open(views_path)
    relay = Relay(store, views, kafka, topic_for("sentiment", prefix), dlq=dlq_for(prefix))
    await relay.setup()
    await relay.start()
    try:
        await relay.publish_available()
    finally:
        await relay.stop()
        await views.close()


async def until_seen(hot: HotspotApp, count: int, timeout: float = 240) -> None:
    async def probe() -> None:
        while True:
            if hot.seen >= count:
                return
            await asyncio.sleep(0.2)

    await asyncio.wait_for(probe(), timeout)


async def test_hotspot_agent_announces_once_across_a_restart_and_a_republish(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    prefix = f"t-{uuid.uuid4().hex[:10]}"
    store = await open_sqlite_store(str(tmp_path / "sentiment.db"), name="sentiment")
    for i in range(5):
        await classified(store, i, "环境保护", minutes=10 * i)
    await classified(store, 99, "交通运输", minutes=5)
    await relay_all(store, tmp_path / "views-1.db", prefix, kafka_bootstrap)
    announced: list[Hotspot] = []

    async def announce(spot: Hotspot) -> None:
        announced.append(spot)

    first = build_hotspot_app(
        kafka_bootstrap,
        prefix=prefix,
        announce=announce,
        datadir=str(tmp_path / "faust"),
        **FAST_REJOIN,
    )
    await first.app.start()
    try:
        await until_seen(first, 6)
    finally:
        await first.app.stop()
    assert [(s.township, s.category, s.message_count) for s in announced] == [
        (SUDIAN, "环境保护", 5)
    ]
    assert announced[0].crossed == ("count",)

    await relay_all(store, tmp_path / "views-2.db", prefix, kafka_bootstrap)  # re-published
    second = build_hotspot_app(
        kafka_bootstrap,
        prefix=prefix,
        announce=announce,
        datadir=str(tmp_path / "faust"),
        **FAST_REJOIN,
    )
    await second.app.start()
    try:
        await until_seen(second, 6)
    finally:
        await second.app.stop()
        await store.close()
    assert len(announced) == 1
