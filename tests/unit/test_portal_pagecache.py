"""The portal's micro-cache of rendered pages (services/portal/pagecache.py, decision 116):
a page is built once per key and period, concurrent misses share the one build, a failed or
non-200 build is not kept, and 0 seconds turns it off."""

from __future__ import annotations

import asyncio

import pytest

from services.portal.pagecache import Page, PageCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def counting(status: int = 200) -> tuple[list[int], object]:
    builds: list[int] = []

    async def build() -> Page:
        builds.append(1)
        await asyncio.sleep(0.01)
        return Page(f"<p>{len(builds)}</p>", status=status)

    return builds, build


async def test_a_page_is_kept_for_its_seconds_then_rebuilt() -> None:
    clock = Clock()
    cache = PageCache(seconds=2, clock=clock)
    builds, build = counting()
    first = await cache.get("/gk/sudian", build)  # type: ignore[arg-type]
    clock.now += 1.9
    again = await cache.get("/gk/sudian", build)  # type: ignore[arg-type]
    assert again is first and len(builds) == 1
    clock.now += 0.2  # a publication shows within the period
    fresh = await cache.get("/gk/sudian", build)  # type: ignore[arg-type]
    assert fresh.html == "<p>2</p>" and len(builds) == 2


async def test_concurrent_misses_wait_for_the_one_build() -> None:
    cache = PageCache(seconds=2)
    builds, build = counting()
    pages = await asyncio.gather(*(cache.get("/gk/doc/1", build) for _ in range(50)))  # type: ignore[arg-type]
    assert len(builds) == 1 and len({id(p) for p in pages}) == 1


async def test_a_failed_build_and_a_missing_page_are_not_kept() -> None:
    cache = PageCache(seconds=2)
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
    off = PageCache(seconds=0)
    builds, build = counting()
    await off.get("/gk", build)  # type: ignore[arg-type]
    await off.get("/gk", build)  # type: ignore[arg-type]
    assert len(builds) == 2
    small = PageCache(seconds=60, max_pages=2)
    _, build = counting()
    for key in ("/a", "/b", "/c"):
        await small.get(key, build)  # type: ignore[arg-type]
    assert list(small._pages) == ["/b", "/c"]
