"""How long the portal keeps a public page (services/portal/freshness.py, decision 157):
until an event that changes pages arrives; built just after one, only as long as the data
had been quiet before the build (at least `settle`), so a read model a little behind its
log cannot leave an old page kept for long; at most `max_age`. And which events change
pages, followed here on real embedded stores."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from types import SimpleNamespace

import pytest

from services.portal.freshness import Freshness, catching_up, changes_pages, follow
from services.portal.pagecache import Page, PageCache
from shared.envelope import Actor, NewEvent, StreamWrite
from shared.eventstore import open_sqlite_store


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_page_built_in_quiet_times_is_kept_its_longest() -> None:
    clock = Clock()
    fresh = Freshness(max_age=300, settle=2, clock=clock, changed=0.0)  # quiet 1,000 s
    assert fresh.until(clock.now) == clock.now + 300


def test_a_page_built_before_a_change_is_over_when_the_change_arrives() -> None:
    clock = Clock()
    fresh = Freshness(max_age=300, settle=2, clock=clock, changed=0.0)
    built = clock.now
    clock.now += 40
    fresh.note()  # a publication
    assert fresh.until(built) == clock.now  # over at once: the next reader gets a rebuild
    assert fresh.noted == 1


def test_after_a_change_pages_are_kept_as_long_as_the_data_was_quiet_at_least_settle() -> None:
    clock = Clock()
    fresh = Freshness(max_age=300, settle=2, clock=clock, changed=clock.now)
    # built 0.3 s after the change: the read model may not have it yet; kept 2 s
    assert fresh.until(clock.now + 0.3) == clock.now + 0.3 + 2
    # built 10 s after: kept 10 s; 200 s after: kept 200 s; 1 h after: the longest, 300 s
    assert fresh.until(clock.now + 10) == clock.now + 20
    assert fresh.until(clock.now + 200) == clock.now + 400
    assert fresh.until(clock.now + 3600) == clock.now + 3900


def test_the_start_counts_as_a_change_and_zero_seconds_keeps_nothing() -> None:
    clock = Clock()
    fresh = Freshness(max_age=300, settle=2, clock=clock)  # read models may be catching up
    assert fresh.until(clock.now + 1) == clock.now + 3
    assert not Freshness(max_age=0).on


async def test_the_cache_answers_a_page_ended_by_a_change_once_more_while_it_rebuilds() -> None:
    clock = Clock()
    fresh = Freshness(max_age=300, settle=2, clock=clock, changed=0.0)
    cache = PageCache(fresh)
    builds: list[int] = []

    async def build() -> Page:
        builds.append(1)
        return Page(f"<p>{len(builds)}</p>")

    first = await cache.get("/gk/sudian/column/finance", build)
    clock.now += 100
    assert await cache.get("/gk/sudian/column/finance", build) is first  # kept, no event
    fresh.note()
    stale = await cache.get("/gk/sudian/column/finance", build)  # the rebuild runs behind
    assert stale is first
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    rebuilt = await cache.get("/gk/sudian/column/finance", build)
    assert rebuilt.html == "<p>2</p>" and rebuilt.started == clock.now
    assert len(builds) == 2


@pytest.mark.parametrize(
    ("service", "event_type", "changes"),
    [
        ("catalog", "DocumentPublished", True),
        ("catalog", "DocumentWithdrawn", True),
        ("interpretation", "InterpretationPublished", True),
        ("enforcement", "DecisionPublished", True),
        ("applications", "AnnualReportPublished", True),
        ("applications", "RequestRegistered", False),  # a request changes no public page
        ("subscriptions", "PopularColumnsRanked", True),
        ("subscriptions", "PageViewsCounted", False),  # counted views show once ranked
        ("sentiment", "MessageReceived", False),  # replies are looked up, never kept
    ],
)
def test_which_events_change_pages(service: str, event_type: str, changes: bool) -> None:
    assert changes_pages(service, event_type) is changes


async def test_the_follower_notes_the_events_that_change_pages_from_the_stores(
    tmp_path: Path,
) -> None:
    stores = {
        name: await open_sqlite_store(str(tmp_path / f"{name}.db"), name=name)
        for name in ("catalog", "applications", "sentiment")
    }
    suite = SimpleNamespace(
        settings=SimpleNamespace(kafka_bootstrap=None),
        runtimes={name: SimpleNamespace(store=store) for name, store in stores.items()},
    )
    fresh = Freshness(max_age=300)
    stop = asyncio.Event()
    following = asyncio.create_task(follow(fresh, suite, stop))
    await asyncio.sleep(0.1)  # the tails start at each store's head

    async def write(service: str, event_type: str, n: int) -> None:
        event = NewEvent(
            type=event_type,
            tenant="shangdang/sudian",
            actor=Actor(id="li-na", role="drafter"),
            payload={"n": n},
        )
        write = StreamWrite(stream_id=f"s-{n}", stream_type="s", events=(event,))
        await stores[service].append([write])

    try:
        await write("applications", "RequestRegistered", 1)
        await write("sentiment", "MessageReceived", 2)
        await write("catalog", "DocumentPublished", 3)
        await write("applications", "AnnualReportPublished", 4)
        for _ in range(100):
            if fresh.noted == 2:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        assert fresh.noted == 2  # the publication and the annual report, nothing else
    finally:
        stop.set()
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following
        for store in stores.values():
            await store.close()


async def test_kept_pages_are_not_trusted_while_a_read_model_catches_up_in_process() -> None:
    """Embedded, started on a long log: the catalog's projections are behind, no event
    arrives, yet the read models change; nothing kept is trusted until they are caught up."""
    clock = Clock()
    fresh = Freshness(max_age=300, settle=2, clock=clock, changed=0.0)
    lags = [5, 0]

    async def lag() -> int:
        return lags.pop(0) if lags else 0

    runner = SimpleNamespace(source=SimpleNamespace(name="catalog"), lag=lag)
    other = SimpleNamespace(source=SimpleNamespace(name="applications"), lag=lag)
    stop = asyncio.Event()
    checking = asyncio.create_task(
        catching_up(fresh, SimpleNamespace(runners=[runner, other]), stop)
    )
    await asyncio.sleep(0.05)
    assert fresh.changed == clock.now  # behind: distrusted now
    assert fresh.noted == 0  # not an event
    # caught up (lag 0): the check ends by itself; later changes arrive as events
    await asyncio.wait_for(checking, timeout=5)
    assert not lags
    stop.set()
