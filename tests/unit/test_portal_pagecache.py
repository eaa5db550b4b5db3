"""The portal's micro-cache of rendered pages (services/portal/pagecache.py, decisions 116
and 153): a page is built once per key and period, concurrent misses share the one build,
an expired page is answered while one rebuild runs, a failed or non-200 build is not kept,
and 0 seconds turns it off."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.portal.freshness import Freshness
from services.portal.pagecache import Page, PageCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def quiet(seconds: float, clock: Clock | None = None, **kwargs: Any) -> PageCache:
    """A cache whose data has been quiet for ever: each page is kept `seconds`."""
    freshness = Freshness(max_age=seconds, changed=float("-inf"))
    if clock is not None:
        freshness.clock = clock
    return PageCache(freshness, **kwargs)


def counting(status: int = 200) -> tuple[list[int], object]:
    builds: list[int] = []

    async def build() -> Page:
        builds.append(1)
        await asyncio.sleep(0.01)
        return Page(f"<p>{len(builds)}</p>", status=status)

    return builds, build


async def test_a_page_is_kept_for_its_seconds_then_rebuilt() -> None:
    clock = Clock()
    cache = quiet(2, clock)
    builds, build = counting()
    first = await cache.get("/gk/sudian", build)  # type: ignore[arg-type]
    clock.now += 1.9
    again = await cache.get("/gk/sudian", build)  # type: ignore[arg-type]
    assert again is first and len(builds) == 1
    clock.now += 0.2  # expired: answered as it was, while one rebuild runs behind it
    stale = await asyncio.gather(*(cache.get("/gk/sudian", build) for _ in range(20)))  # type: ignore[arg-type]
    assert all(p is first for p in stale)
    await asyncio.sleep(0.05)  # the rebuild lands: a publication shows within the period
    fresh = await cache.get("/gk/sudian", build)  # type: ignore[arg-type]
    assert fresh.html == "<p>2</p>" and len(builds) == 2


async def test_an_expired_page_whose_rebuild_is_gone_or_too_old_is_not_answered() -> None:
    clock = Clock()
    cache = quiet(2, clock, stale_seconds=30)
    status = [200]

    async def build() -> Page:
        await asyncio.sleep(0.01)
        return Page("<p>doc</p>", status=status[0])

    await cache.get("/gk/doc/9", build)
    status[0] = 404  # the document was withdrawn
    clock.now += 3
    assert (await cache.get("/gk/doc/9", build)).status == 200  # the copy, once
    await asyncio.sleep(0.05)
    assert (await cache.get("/gk/doc/9", build)).status == 404  # never stale again
    # Long expired (the service was idle): the reader waits for the build, not a stale copy.
    status[0] = 200
    old = await cache.get("/gk/doc/10", build)
    clock.now += 40
    new = await cache.get("/gk/doc/10", build)
    assert new is not old and new.status == 200 and not cache._building


async def test_a_failed_rebuild_behind_a_stale_page_keeps_the_page() -> None:
    clock = Clock()
    cache = quiet(2, clock)
    fail = [False]

    async def build() -> Page:
        if fail[0]:
            raise RuntimeError("catalog unreachable")
        return Page("<p>kept</p>")

    first = await cache.get("/gk", build)
    fail[0] = True
    clock.now += 3
    assert await cache.get("/gk", build) is first
    await asyncio.sleep(0.01)  # the rebuild failed, and nobody waited for it
    assert await cache.get("/gk", build) is first


async def test_concurrent_misses_wait_for_the_one_build() -> None:
    cache = quiet(2)
    builds, build = counting()
    pages = await asyncio.gather(*(cache.get("/gk/doc/1", build) for _ in range(50)))  # type: ignore[arg-type]
    assert len(builds) == 1 and len({id(p) for p in pages}) == 1


async def test_a_failed_build_and_a_missing_page_are_not_kept() -> None:
    cache = quiet(2)
    calls: list[int] = []

    async def failing() -> Page:
        calls.append(1)
        raise RuntimeError("catalog unreachable")

    for _ in range(2):
        with pytest.raises(RuntimeError):
            await cache.get("/gk/doc/2", failing)
    assert len(calls) == 2
    builds, missing = counting(status=404)
    await cache.get("/gk/doc/3", missing)  # type: ignore[arg-type]
    await cache.get("/gk/doc/3", missing)  # type: ignore[arg-type]
    assert len(builds) == 2


async def test_zero_seconds_builds_every_time_and_the_oldest_page_goes_first() -> None:
    off = quiet(0)
    builds, build = counting()
    await off.get("/gk", build)  # type: ignore[arg-type]
    await off.get("/gk", build)  # type: ignore[arg-type]
    assert len(builds) == 2
    small = quiet(60, max_pages=2)
    _, build = counting()
    for key in ("/a", "/b", "/c"):
        await small.get(key, build)  # type: ignore[arg-type]
    assert list(small._pages) == ["/b", "/c"]
