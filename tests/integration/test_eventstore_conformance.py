"""One conformance suite for every EventStore adapter (SQLite and PostgreSQL).

Each test runs unchanged against every adapter in `ADAPTERS`, typed by the `EventStore`
protocol (shared/eventstore.py), so a new adapter is one line; the one test below the
protocol (the events table refuses UPDATE and DELETE) runs against the SQL adapters
(ARCHITECTURE.md "The event"; issue: Foundation, "ONE conformance test suite").
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from shared.envelope import Actor, NewEvent, StreamWrite
from shared.errors import ConcurrencyConflict
from shared.eventstore import (
    EventStore,
    SqlEventStore,
    open_postgres_store,
    open_sqlite_store,
    tail,
)
from shared.rows import wire_of_row

ACTOR = Actor(id="wang-tietong", kind="user", role="request_handler")
TENANT = "shangdang/sudian"


def event(kind: str = "RequestRegistered", **payload: object) -> NewEvent:
    return NewEvent(type=kind, tenant=TENANT, actor=ACTOR, payload=payload or {"n": 1})


def write(stream: str, *events: NewEvent, expected: int | None = None) -> StreamWrite:
    return StreamWrite(
        stream_id=stream, stream_type="request", expected_version=expected, events=events
    )


StoreFactory = Callable[[pytest.FixtureRequest, Path], Awaitable[SqlEventStore]]


async def _sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> SqlEventStore:
    return await open_sqlite_store(str(tmp_path / "events.db"), name="conformance")


async def _postgres(request: pytest.FixtureRequest, tmp_path: Path) -> SqlEventStore:
    url = request.getfixturevalue("pg_url")
    return await open_postgres_store(url, schema=request.getfixturevalue("pg_schema"))


#: The SQL adapters: also checked below the protocol (the immutable events table).
SQL_ADAPTERS: dict[str, StoreFactory] = {"sqlite": _sqlite, "postgres": _postgres}

#: Every `EventStore` adapter the suite runs against; a new adapter is one line here.
ADAPTERS: dict[str, Callable[[pytest.FixtureRequest, Path], Awaitable[EventStore]]] = {
    **SQL_ADAPTERS,
}


@pytest.fixture(params=list(ADAPTERS))
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventStore]:
    s = await ADAPTERS[request.param](request, tmp_path)
    yield s
    await s.close()


@pytest.fixture(params=list(SQL_ADAPTERS))
async def sql_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlEventStore]:
    s = await SQL_ADAPTERS[request.param](request, tmp_path)
    yield s
    await s.close()


async def count(store: EventStore) -> int:
    """How many events the store holds, through the protocol."""
    return len(await store.read_all(0, 100_000))


async def test_append_and_read_a_stream_in_version_order(store: EventStore) -> None:
    await store.append([write("req-1", event(n=1), event(n=2), expected=0)])
    await store.append([write("req-1", event(n=3), expected=2)])
    events = await store.read_stream("req-1")
    assert [e.version for e in events] == [1, 2, 3]
    assert [e.payload["n"] for e in events] == [1, 2, 3]
    assert await store.stream_version("req-1") == 3
    assert await store.read_stream("req-1", after_version=2) == events[2:]


async def test_expected_version_mismatch_is_a_conflict_and_writes_nothing(
    store: EventStore,
) -> None:
    await store.append([write("req-1", event(), expected=0)])
    with pytest.raises(ConcurrencyConflict) as caught:
        await store.append([write("req-1", event(), expected=0)])
    assert caught.value.details == {"expected": 0, "current": 1}
    assert await count(store) == 1


async def test_multi_stream_append_is_atomic(store: EventStore) -> None:
    """A registration appends to the counter stream and the request stream, or to neither."""
    await store.append([write("counter", event(), expected=0)])
    with pytest.raises(ConcurrencyConflict):
        await store.append(
            [write("req-9", event(), expected=0), write("counter", event(), expected=0)]
        )
    assert await store.stream_version("req-9") == 0
    assert await count(store) == 1


async def test_append_is_idempotent_by_event_id(store: EventStore) -> None:
    first = event(n=1)
    recorded = await store.append([write("req-1", first, expected=0)])
    again = await store.append([write("req-1", first, expected=0)])
    assert again == recorded
    assert await count(store) == 1


async def test_a_batch_of_which_only_some_ids_are_stored_is_refused(
    store: EventStore,
) -> None:
    first = event(n=1)
    await store.append([write("req-1", first, expected=0)])
    with pytest.raises(ConcurrencyConflict) as caught:
        await store.append([write("req-1", first, event(n=2)), write("req-2", event(n=3))])
    assert caught.value.rule == "append.partial_duplicate"
    assert await count(store) == 1


async def test_read_all_by_global_position_across_streams(store: EventStore) -> None:
    await store.append([write("a", event(n=1))])
    await store.append([write("b", event(n=2))])
    await store.append([write("a", event(n=3))])
    everything = await store.read_all()
    assert [e.payload["n"] for e in everything] == [1, 2, 3]
    positions = [e.position for e in everything]
    assert positions == sorted(positions) and len(set(positions)) == 3
    assert await store.read_all(after_position=positions[0], limit=1) == everything[1:2]
    assert await store.head_position() == positions[-1]


async def test_chinese_text_and_large_payloads_round_trip(store: EventStore) -> None:
    body = "苏店镇2022年政务公开工作实施方案：应公开尽公开。" * 20_000  # ~0.5 MB of UTF-8
    payload = {"标题": "关于印发《苏店镇政务公开工作实施方案》的通知", "正文": body, "emoji": "📄"}
    recorded = await store.append([write("doc-1", event("DocumentDrafted", **payload))])
    (read,) = await store.read_stream("doc-1")
    assert read.payload == payload
    assert read == recorded[0]
    assert read.actor == ACTOR and read.tenant == TENANT


async def test_undecoded_rows_frame_the_same_wire_bytes(store: EventStore) -> None:
    """`read_all_rows` + `wire_of_row` (the relay's path) give each event's `to_wire()`
    byte for byte, on the column types this backend really returns."""
    payloads = [
        {"标题": "苏店镇政务公开", "数": [1, 2.5, -0.0, 1e20], "空": None, "是": True},
        {"applicant": {"name": "张三", "email": None}, "z": {"b": [{"y": 1, "x": "乙"}]}},
        {"quote": '他说"好"\n\t', "emoji": "📄", "long": "应公开尽公开。" * 500},
    ]
    first = await store.append([write("req-1", *(event(**p) for p in payloads))])
    caused = NewEvent(
        type="RequestAssigned",
        tenant=TENANT,
        actor=Actor(id="gongkai", kind="system"),
        causation_id=first[0].event_id,
        payload={"handler": "李娜"},
    )
    appended = first + await store.append([write("req-2", caused)])
    rows = await store.read_all_rows(0, 100)
    assert [r["position"] for r in rows] == [e.position for e in appended]
    assert [wire_of_row(r) for r in rows] == [e.to_wire() for e in appended]
    assert [wire_of_row(r) for r in rows] == [e.to_wire() for e in await store.read_all(0, 100)]
    assert await store.read_all_rows(appended[1].position, 2) == rows[2:4]


async def test_append_returns_what_a_read_returns_and_a_retry_the_stored_records(
    store: EventStore,
) -> None:
    """The records `append` returns (built by the client on PostgreSQL from what it sent)
    equal, field by field and `to_wire` byte for byte, what `read_stream` and `read_all`
    read back; an idempotent re-append returns the stored records, not the retry's."""
    clerk = Actor(id="李娜", kind="user", role="handler")
    opened = event("RequestRegistered", 标题="关于苏店镇政务公开的申请 📄", n=1)
    batch = [
        write(
            "req-1",
            opened,
            event(
                "RequestAmended",
                申请人={"姓名": "张三", "地址": {"镇": "苏店", "邮编": None}, "标签": ["甲", "乙"]},
                数=[0.1, 2.5, -1.25, 1e-7, 1e300, 1e16, -0.0, 3, 2**63 - 1],
                note="1e+16, -0.0] 不是数",
            ),
            expected=0,
        ),
        write(
            "req-2",
            NewEvent(
                type="RequestAssigned",
                tenant=TENANT,
                actor=clerk,
                causation_id=opened.event_id,
                payload={"handler": "李娜", "emoji": "🙂👍", "quote": '他说"好"\n\t'},
            ),
            NewEvent(type="RequestNoted", tenant=TENANT, actor=clerk, payload={"空": {}}),
        ),
    ]
    recorded = await store.append(batch)
    read = await store.read_stream("req-1") + await store.read_stream("req-2")
    assert recorded == read
    assert [r.to_wire() for r in recorded] == [r.to_wire() for r in read]
    assert [r.event_id for r in recorded] == [e.event_id for w in batch for e in w.events]
    assert recorded == await store.read_all(0, 100)
    assert recorded[2].causation_id == opened.event_id and recorded[2].actor == clerk

    again = await store.append(batch)
    assert again == read and [r.to_wire() for r in again] == [r.to_wire() for r in read]
    changed = write("req-1", opened.model_copy(update={"payload": {"n": 2}}), expected=0)
    assert await store.append([changed]) == read[:1]
    assert await count(store) == 4


async def test_stored_events_cannot_be_updated_or_deleted(sql_store: SqlEventStore) -> None:
    store = sql_store
    await store.append([write("req-1", event())])
    for statement in ("UPDATE events SET type = 'Forged'", "DELETE FROM events"):
        with pytest.raises(Exception, match="immutable"):
            async with store.db.transaction() as tx:
                await tx.execute(statement)
    assert (await store.read_stream("req-1"))[0].type == "RequestRegistered"


async def test_tailing_subscriber_sees_every_event_once_in_order_under_concurrent_writers(
    store: EventStore,
) -> None:
    """8 writers append 10,000 events while a subscriber tails the log.

    The trap (ARCHITECTURE.md): transactions that commit out of position order
    make a naive `position > checkpoint` reader skip events. The subscriber
    must see every event exactly once, in position order.
    """
    writers, per_writer = 8, 1250
    total = writers * per_writer
    seen: list[int] = []
    ids: set[str] = set()

    async def subscriber() -> None:
        async for e in tail(store, 0, batch=1000, idle_wait=0.05):
            seen.append(e.position)
            ids.add(str(e.event_id))
            if len(seen) == total:
                return

    async def writer(w: int) -> None:
        for i in range(0, per_writer, 5):  # batches of 1 and 4 events, interleaved
            await store.append([write(f"w{w}-{i}", event(n=i))])
            await store.append([write(f"w{w}-{i}-b", *(event(n=i + k) for k in range(1, 5)))])

    reader = asyncio.create_task(subscriber())
    await asyncio.gather(*(writer(w) for w in range(writers)))
    await asyncio.wait_for(reader, timeout=120)
    assert len(seen) == total
    assert len(ids) == total
    assert seen == sorted(seen)
    assert len(set(seen)) == total


async def test_a_batch_larger_than_one_statement_allows_is_appended_whole(
    store: EventStore,
) -> None:
    """3,000 events in one append (SQLite caps a statement at 32,766 parameters)."""
    events = tuple(event(n=i) for i in range(3000))
    recorded = await store.append([write("gazette-2026", *events, expected=0)])
    assert [r.version for r in recorded] == list(range(1, 3001))
    assert [r.payload["n"] for r in recorded] == list(range(3000))
    assert await store.stream_version("gazette-2026") == 3000


# -- appends that arrive together (group commit on PostgreSQL) ----------------------------
# Callers are independent whatever the adapter does with them: each gets its own records
# and only the one at fault is refused (docs/performance.md, "Group commit").


async def test_concurrent_appends_each_get_their_own_records(store: EventStore) -> None:
    writes = [write(f"req-{i}", event(n=i), event(n=i + 100)) for i in range(40)]
    results = await asyncio.gather(*(store.append([w]) for w in writes))
    for w, records in zip(writes, results, strict=True):
        assert [r.event_id for r in records] == [e.event_id for e in w.events]
        assert {r.stream_id for r in records} == {w.stream_id}
        assert [r.version for r in records] == [1, 2]
    stored = await store.read_all(0, 1000)
    assert [r.position for r in stored] == sorted(r.position for res in results for r in res)
    assert len({r.position for r in stored}) == 80


async def test_a_conflict_among_concurrent_appends_refuses_only_its_own(
    store: EventStore,
) -> None:
    await store.append([write("req-taken", event())])
    good = [write(f"req-ok-{i}", event(), expected=0) for i in range(10)]
    bad = write("req-taken", event(), expected=0)
    outcomes = await asyncio.gather(
        *(store.append([w]) for w in good[:5]),
        store.append([bad]),
        *(store.append([w]) for w in good[5:]),
        return_exceptions=True,
    )
    assert isinstance(outcomes[5], ConcurrencyConflict)
    assert all(isinstance(o, list) and len(o) == 1 for i, o in enumerate(outcomes) if i != 5)
    assert len(await store.read_stream("req-taken")) == 1
    assert await count(store) == 11


async def test_concurrent_appends_to_one_stream_keep_their_arrival_order(
    store: EventStore,
) -> None:
    first = write("req-1", event(n=1), expected=0)
    second = write("req-1", event(n=2), expected=1)
    others = [write(f"req-{i}", event()) for i in range(2, 8)]
    outcomes = await asyncio.gather(
        store.append([first]), *(store.append([w]) for w in others), store.append([second])
    )
    assert [r.version for r in outcomes[0] + outcomes[-1]] == [1, 2]
    assert [r.payload["n"] for r in await store.read_stream("req-1")] == [1, 2]


async def test_a_retry_among_concurrent_new_appends_gets_the_stored_records(
    store: EventStore,
) -> None:
    original = write("req-retried", event())
    stored = await store.append([original])
    fresh = [write(f"req-new-{i}", event()) for i in range(6)]
    outcomes = await asyncio.gather(store.append([original]), *(store.append([w]) for w in fresh))
    assert outcomes[0] == stored
    assert all(len(o) == 1 for o in outcomes[1:])
    assert await count(store) == 7


async def test_on_postgres_appends_that_wait_together_share_one_transaction(
    pg_url: str, pg_schema: str
) -> None:
    """40 callers at once pay for far fewer than 40 commits (one WAL flush each)."""
    store = await open_postgres_store(pg_url, schema=pg_schema)
    try:
        await asyncio.gather(*(store.append([write(f"req-{i}", event())]) for i in range(40)))
        assert store.group_commit.appends == 40
        assert store.group_commit.batches < 20
    finally:
        await store.close()
