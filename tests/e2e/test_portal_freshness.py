"""Kept public pages end when an event changes them, not on a timer (issue #18, decision 157).

The portal keeps a rendered page and answers its next readers from it (fastpath.py,
pagecache.py) until an event of a service whose data the pages show arrives: it follows
those services' events — the stores' tails in the one embedded process, the Kafka topics in
its own `serve portal` process. Here pages are kept up to 300 s (the production default);
the other e2e modules run with kept pages off, as they read a page right after a command.

A reader who opens 苏店镇's 财政 column twice gets the second answer from the kept page (no
correlation id: it did not go through the stack). Then the openness office enters a
document it published on its old site (历史信息登记, one catalog event): the portal notes the
event (its /metrics count of page changes moves: the follower received it, from the store
or from Kafka) and the column page lists the document within seconds. How long a page is
kept before and after a change is the pure rule of freshness.py, tested by itself
(tests/unit/test_portal_freshness.py). Both modes, on a district of this module's own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.identity import Role
from tests.e2e.conftest import SuiteHandle, run_suite
from tests.e2e.factories import days_ago
from tests.e2e.test_catalog_workflow import content
from tests.e2e.test_portal import portal

SUDIAN = "shangdang/sudian"
KEPT_SECONDS = 300


@pytest.fixture(scope="module", params=["embedded", "distributed"])
def suite(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SuiteHandle]:
    yield from run_suite(
        request,
        tmp_path_factory,
        services=("catalog", "portal"),
        env_overrides={"GONGKAI_PORTAL_PAGE_SECONDS": str(KEPT_SECONDS)},
    )


def kept_answer(page: str, timeout: float = 30.0) -> httpx.Response:
    """The page as a reader gets it once the portal keeps it: answered without the stack.

    Just after the suite starts, and after any change, a page is kept for a short while
    only (max(2 s, the time the data has been quiet)): asked again and again, it is soon
    answered from the kept copy."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=30) as c:
        while True:
            r = c.get(page)
            assert r.status_code == 200, r.text
            if "x-correlation-id" not in r.headers:
                return r
            assert time.monotonic() < deadline, "the page was never answered from a kept copy"
            time.sleep(0.2)


def changes_noted(suite: SuiteHandle) -> float:
    """The portal process's count of events that changed pages (/metrics)."""
    text = httpx.get(suite.url_for("portal") + "/metrics", timeout=30).text
    for line in text.splitlines():
        if line.startswith("gongkai_portal_page_changes_total "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("no gongkai_portal_page_changes_total on /metrics")


def old_budget() -> dict[str, Any]:
    return {
        "content": content(
            title="苏店镇2025年财政决算公开说明",
            body="苏店镇2025年一般公共预算收入决算二千九百万元，支出决算二千八百万元，"
            "主要用于农村道路养护和义务教育保障。",
            attachments_text=[],
            document_number=None,
            issue_date=days_ago(40),
            kind="notice",
            column="finance",
        ),
        "published_on": days_ago(30),
        "source": "上党区人民政府网 苏店镇政府信息公开专栏（原网站）",
    }


def test_a_kept_column_page_ends_when_a_document_is_entered_not_on_a_timer(
    suite: SuiteHandle,
) -> None:
    page = portal(suite) + "/sudian/column/finance"
    before = kept_answer(page)
    assert "苏店镇2025年财政决算公开说明" not in before.text
    with httpx.Client(timeout=30) as c:  # still kept: the same bytes, still not the stack
        again = c.get(page)
    assert "x-correlation-id" not in again.headers and again.content == before.content

    token = suite.token("guo-xinxin", SUDIAN, Role.OPENNESS_OFFICE_HEAD)
    noted = changes_noted(suite)
    entered = time.monotonic()
    with suite.client(token, service="catalog") as c:
        r = c.post("/v1/catalog/published-documents", json=old_budget())
    assert r.status_code == 201, r.text

    with httpx.Client(timeout=30) as c:
        while "苏店镇2025年财政决算公开说明" not in (shown := c.get(page)).text:
            assert time.monotonic() - entered < 30, "the entered document never showed"
            time.sleep(0.2)
    assert shown.headers["etag"] != before.headers["etag"]
    assert changes_noted(suite) >= noted + 1  # the entry's event reached the portal
