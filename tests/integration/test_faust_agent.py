"""faust-streaming is wired in: an agent with a table consumes a service topic on a real broker."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from shared.db import SqliteDatabase
from shared.eventstore import open_sqlite_store
from shared.kafka import Relay, dlq_for, topic_for
from shared.streams import create_stream_app, decode, events_topic
from tests.integration.test_projections import register


async def test_a_faust_agent_counts_registrations_per_township_from_the_relayed_topic(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    prefix = f"t-{uuid.uuid4().hex[:10]}"
    store = await open_sqlite_store(str(tmp_path / "events.db"), name="applications")
    views = await SqliteDatabase.open(tmp_path / "views.db")
    townships = ["shangdang/sudian"] * 3 + ["shangdang/handian"] * 2
    for n, tenant in enumerate(townships, start=1):
        await register(store, tenant, n)
    relay = Relay(
        store, views, kafka_bootstrap, topic_for("applications", prefix), dlq=dlq_for(prefix)
    )
    await relay.setup()
    await relay.start()
    await relay.publish_available()
    await relay.stop()

    app = create_stream_app("test-counter", kafka_bootstrap, prefix=prefix)
    per_township = app.Table("registrations-per-township", default=int, partitions=3)
    done = asyncio.Event()
    seen: list[str] = []

    @app.agent(events_topic(app, "applications", prefix))
    async def count(stream):  # type: ignore[no-untyped-def]
        async for value in stream:
            event = decode(value)
            per_township[event.tenant] += 1
            seen.append(str(event.event_id))
            if len(seen) == len(townships):
                done.set()

    await app.start()
    try:
        await asyncio.wait_for(done.wait(), timeout=60)
    finally:
        await app.stop()
        await views.close()
        await store.close()
    assert len(set(seen)) == 5
    assert dict(per_township.items()) == {"shangdang/sudian": 3, "shangdang/handian": 2}
