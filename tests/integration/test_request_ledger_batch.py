"""The request ledger's bulk path equals its event-by-event path (issue #10 item 4).

A rebuild of the 登记台账 (DOMAIN.md §2; 条例 Art. 29–33 clocks) applies chunks with
`RequestLedger.apply_batch`; the live runner of an older deployment applied one event
at a time. For any history — requests registered or not, lifecycle events in any
order, replayed (stale) versions, a payload the model refuses, a second request with
an already-used register number — both give the same ledger rows and park the same
events, however the log is cut into chunks.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from services.applications.examples import EXAMPLES
from services.applications.projections import RequestLedger
from services.audit.replay import Target, reset
from shared.db import Database, SqliteDatabase, Tx
from shared.envelope import Actor, RecordedEvent
from shared.eventstore import open_postgres_store
from shared.projections import KERNEL_TABLES, apply_chunk, setup_projection

ACTOR = Actor(id="wang-tietong", role="request_handler")
T0 = datetime(2026, 2, 10, 1, 0, tzinfo=UTC)
#: Every example event of a request stream (schema versions included), by contract name.
LIFECYCLE = sorted(
    key
    for key, make in EXAMPLES.items()
    if make().stream_type == "request" and make().event_type != "RequestRegistered"
)
#: A lifecycle event; a replay of the first or the latest version; a refused payload;
#: a second request under an already-used register number.
KINDS = [*LIFECYCLE, "RequestAssigned", "stale", "again", "poison", "clash"]


class OneByOne:
    """The ledger without its bulk path: the kernel applies it event by event."""

    def __init__(self) -> None:
        self.inner = RequestLedger()
        self.name, self.schema, self.tables = self.inner.name, self.inner.schema, self.inner.tables

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        await self.inner.apply(tx, event)


def registered(rid: UUID, sequence: int) -> dict[str, Any]:
    return {
        "request_id": str(rid),
        "number": f"苏店〔2026〕{sequence}号",
        "year": 2026,
        "sequence": sequence,
        "channel": "in_person",
        "submitted_on": "2026-02-10",
        "received_on": "2026-02-10",
        "applicant": {
            "kind": "natural_person",
            "name": "王秀英",
            "id_document": f"证件{sequence}",
            "phone": "13812345678",
        },
        "description": "申请公开苏店镇2025年度惠民惠农财政补贴资金发放名单",
        "requested_form": "paper",
        "delivery_channel": "post",
        "correction_notice_due": "2026-02-20",
        "reply_due": "2026-03-10",
        "reply_deadline": {
            "start": "2026-02-11",
            "working_days": 20,
            "due": "2026-03-10",
            "provisional": False,
            "calendars": ["2026: chinese-calendar 1.11.0 v1"],
        },
    }


def history(
    steps: Sequence[tuple[int, str]], registered_first: Sequence[bool]
) -> list[RecordedEvent]:
    """RecordedEvents of four requests following `steps` (request index, kind)."""
    ids = [UUID(int=0x0193_6F0E_7C1B_7000_8000_0000_0000_0A00 + i) for i in range(4)]
    versions = [0] * 4
    sent: list[list[tuple[str, dict[str, Any], int]]] = [[] for _ in range(4)]
    events: list[RecordedEvent] = []

    def record(
        i: int, kind: str, payload: dict[str, Any], version: int | None = None, schema: int = 1
    ) -> None:
        if version is None:
            versions[i] += 1
            version = versions[i]
            sent[i].append((kind, payload, schema))
        at = T0 + timedelta(minutes=len(events))
        events.append(
            RecordedEvent(
                event_id=UUID(int=len(events) + 1),
                stream_id=f"request-{ids[i]}",
                stream_type="request",
                version=version,
                position=len(events) + 1,
                type=kind,
                schema_version=schema,
                tenant="shangdang/sudian",
                actor=ACTOR,
                correlation_id=UUID(int=len(events) + 1),
                causation_id=None,
                occurred_at=at,
                recorded_at=at,
                payload=payload,
            )
        )

    for i, first in enumerate(registered_first):
        if first:
            record(i, "RequestRegistered", registered(ids[i], i + 1))
    for i, kind in steps:
        if kind in ("stale", "again") and versions[i]:
            n = 1 if kind == "stale" else versions[i]  # the first event, or the latest again
            old, payload, schema = sent[i][n - 1]
            record(i, old, payload, version=n, schema=schema)
        elif kind == "poison":
            record(i, "RequestAssigned", {"request_id": str(ids[i])})  # handler missing
        elif kind == "clash":
            record(i, "RequestRegistered", registered(ids[i], 1))  # number 1 taken (or own)
        elif kind == "RequestAssigned":
            record(i, kind, {"request_id": str(ids[i]), "handler": f"handler-{len(events)}"})
        elif kind not in ("stale", "again"):
            example = EXAMPLES[kind]()
            payload = example.model_dump(mode="json")
            record(
                i,
                example.event_type,
                {**payload, "request_id": str(ids[i])},
                schema=example.schema_version,
            )
    return events


async def outcome(db: Database) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    rows = await db.fetch("SELECT * FROM app_ledger ORDER BY request_id")
    parked = await db.fetch("SELECT event_id, stream_id FROM dead_letters ORDER BY event_id")
    return [dict(r) for r in rows], [(r["event_id"], r["stream_id"]) for r in parked]


async def run(db: Database, projection: Any, events: list[RecordedEvent], cuts: list[int]) -> None:
    await db.execute_script(KERNEL_TABLES)
    await setup_projection(db, projection)
    start = 0
    for cut in [*sorted(c % (len(events) + 1) for c in cuts), len(events)]:
        if cut > start:
            await apply_chunk(db, projection, events[start:cut], projection.name)
            start = cut


steps_strategy = st.lists(
    st.tuples(st.integers(0, 3), st.sampled_from(KINDS)), min_size=1, max_size=40
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@example(  # a duplicate delivery of the latest event must not count a consultation twice
    steps=[(0, "applications/ConsultationStarted.v1"), (0, "again"), (1, "again")],
    registered_first=[True, True, False, False],
    cuts=[2],
)
@given(
    steps=steps_strategy,
    registered_first=st.lists(st.booleans(), min_size=4, max_size=4),
    cuts=st.lists(st.integers(0, 60), max_size=5),
)
async def test_bulk_ledger_equals_event_by_event_for_any_history_and_chunking(
    tmp_path_factory: pytest.TempPathFactory,
    steps: list[tuple[int, str]],
    registered_first: list[bool],
    cuts: list[int],
) -> None:
    """Property: same rows, same parked events, whatever the chunks (SQLite)."""
    events = history(steps, registered_first)
    folder = tmp_path_factory.mktemp("ledger")
    one, bulk = (
        await SqliteDatabase.open(folder / "one.db"),
        await SqliteDatabase.open(folder / "bulk.db"),
    )
    try:
        await run(one, OneByOne(), events, [])
        await run(bulk, RequestLedger(), events, cuts)
        assert await outcome(bulk) == await outcome(one)
    finally:
        await one.close()
        await bulk.close()


async def test_bulk_ledger_equals_event_by_event_on_postgres(pg_url: str, pg_schema: str) -> None:
    """A long random history on PostgreSQL, in chunks of 7 (types round-trip as live)."""
    rng = random.Random(20260210)
    steps = [(rng.randrange(4), rng.choice(KINDS)) for _ in range(300)]
    events = history(steps, [True, True, False, True])
    one = await open_postgres_store(pg_url, schema=pg_schema, listen=False)
    bulk = await open_postgres_store(pg_url, schema=f"{pg_schema}_b", listen=False)
    try:
        await run(one.db, OneByOne(), events, [])
        await run(bulk.db, RequestLedger(), events, list(range(7, len(events), 7)))
        ledger, parked = await outcome(bulk.db)
        assert (ledger, parked) == await outcome(one.db)
        assert ledger and parked  # the history exercised both applying and parking
    finally:
        await one.close()
        conn = bulk.db
        await conn.pool.execute(f"DROP SCHEMA {pg_schema}_b CASCADE")  # type: ignore[attr-defined]
        await bulk.close()


def test_the_history_covers_every_lifecycle_event_the_ledger_reads() -> None:
    """Guard for the property above: its kinds include every lifecycle example."""
    types = {EXAMPLES[k]().event_type for k in LIFECYCLE}
    assert {
        "RequestReplied",
        "CorrectionRequested",
        "FeeNoticeIssued",
        "ConsultationEnded",
    } <= types


async def test_the_ledger_leaves_room_on_its_pages_live_and_rebuilt_on_postgres(
    pg_url: str, pg_schema: str
) -> None:
    """Issue #22 item 7: a request's row is updated once per event of its life; with 20 % of
    each page free (fillfactor 80) an update that changes no indexed column stays on its page
    and writes no index entry. The live read model and a rebuilt one both have it."""
    store = await open_postgres_store(pg_url, schema=pg_schema, listen=False)
    try:
        await setup_projection(store.db, RequestLedger())

        async def options() -> list[str]:
            return list(
                await store.db.pool.fetchval(  # type: ignore[attr-defined]
                    "SELECT reloptions FROM pg_class WHERE oid = $1::regclass",
                    f"{pg_schema}.app_ledger",
                )
                or []
            )

        assert await options() == ["fillfactor=80"]
        await reset(store.db, Target("applications", RequestLedger(), ("applications",)))
        assert await options() == ["fillfactor=80"]  # dropped and made again by a rebuild
    finally:
        await store.close()
