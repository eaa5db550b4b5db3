"""历史信息登记: what a township published before it used the platform, entered as published.

A township that starts on the platform has years of documents on its old 政府信息公开专栏.
Its openness office enters them with the day each was first published and where; they join
the public catalogue and its search under that day, and the column checks read that day as
the column's last update (DOMAIN.md §1: dynamic columns every 2 weeks, others every 6
months; issue #21: a stale column must reach the score, tests/e2e/test_district_scenario.py).
Nothing is reviewed again, so the platform refuses what it can check: a day in the future,
before the regulation took effect (条例, in force 2008-05-01) or before the document's own
date, and any personal data (方案§8), each naming the field, and none writes an event.

Both modes, on the session suite: in 西火镇, whose columns no other test checks, and only
through reads that write nothing (the column report, not the recorded check).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx

from shared.identity import Role
from tests.e2e.conftest import SuiteHandle
from tests.e2e.factories import days_ago, today
from tests.e2e.test_catalog_public import public
from tests.e2e.test_catalog_workflow import content, refused
from tests.e2e.test_portal import check_page, go, phone, portal
from tests.e2e.test_workbench import browser as browser  # the Chromium fixture

XIHUO = "shangdang/xihuo"
PATH = "/v1/catalog/published-documents"


def office(suite: SuiteHandle) -> httpx.Client:
    """杜晓燕, 副镇长 of 西火镇, heads its openness office (公开办)."""
    token = suite.token("du-xiaoyan", XIHUO, Role.OPENNESS_OFFICE_HEAD)
    return suite.client(token, service="catalog")


def budget(**overrides: Any) -> dict[str, Any]:
    """西火镇's budget disclosure, dated 203 days ago."""
    fields: dict[str, Any] = {
        "title": "西火镇2026年财政预算公开说明",
        "body": "西火镇2026年一般公共预算收入安排三千二百万元，支出安排三千一百万元，"
        "其中农林水支出九百万元，主要用于高标准农田建设和农村供水保障。",
        "attachments_text": ["附件：西火镇2026年一般公共预算收支总表"],
        "document_number": None,
        "issue_date": days_ago(203),
        "kind": "notice",
        "column": "finance",
    }
    return content(**(fields | overrides))


def budget_report(**overrides: Any) -> dict[str, Any]:
    """The budget disclosure as it stood on the old site, published 200 days ago."""
    body: dict[str, Any] = {
        "content": budget(),
        "published_on": days_ago(200),
        "source": "上党区人民政府网 西火镇政府信息公开专栏（原网站，2026年迁移前）",
    }
    body.update(overrides)
    return body


def test_an_old_document_is_public_under_its_day_and_its_column_goes_stale__domain_s1(
    suite: SuiteHandle, browser: Any
) -> None:
    with office(suite) as c:
        r = c.post(PATH, json=budget_report())
    assert r.status_code == 201, r.text
    registered = r.json()
    document_id = registered["document_id"]
    assert registered["published_on"] == days_ago(200)

    # Public, with its text, under the day it was first published (Beijing time).
    def shown() -> dict[str, Any] | None:
        response = public(suite, f"/documents/{document_id}")
        return response.json() if response.status_code == 200 else None

    doc = suite.eventually(shown)
    assert doc["title"] == "西火镇2026年财政预算公开说明"
    assert doc["content_hash"] == registered["content_hash"]
    # 00:00 Beijing time on that day is 16:00 UTC the day before.
    assert doc["published_at"] == f"{days_ago(201)}T16:00:00+00:00", doc["published_at"]
    hits = public(suite, "/search", q="高标准农田", township=XIHUO).json()["items"]
    assert document_id in {h["document_id"] for h in hits}
    # On the portal, as any document: its date is the day it was first published.
    phone(browser)
    go(browser, f"{portal(suite)}/doc/{document_id}")
    text = check_page(browser, suite, "04d-document-registered")
    published = date.fromisoformat(days_ago(200))
    assert f"{published.year}年{published.month}月{published.day}日" in text

    # The column report (a read: nothing recorded) now counts finance as updated 200 days
    # ago: stale under the 6-month rule (183 days), no longer empty.
    with office(suite) as c:
        report = c.get("/v1/catalog/columns", params={"township": XIHUO}).json()
    finance = next(i for i in report["items"] if i["code"] == "finance")
    assert finance["last_published_on"] == days_ago(200), finance
    assert finance["days_since_update"] == 200 and finance["stale"] is True
    assert "finance" in report["stale"] and "finance" not in report["empty"]

    # Entered again, the same document as of 3 days ago: the column is fresh again.
    with office(suite) as c:
        again = c.post(PATH, json=budget_report(published_on=days_ago(3)))
    assert again.status_code == 201, again.text

    def fresh() -> dict[str, Any] | None:
        with office(suite) as c:
            items = c.get("/v1/catalog/columns", params={"township": XIHUO}).json()["items"]
        item = next(i for i in items if i["code"] == "finance")
        return item if item["stale"] is False else None

    assert suite.eventually(fresh)["days_since_update"] == 3


def test_what_the_platform_can_check_is_refused_naming_the_field_and_nothing_is_written(
    suite: SuiteHandle,
) -> None:
    tomorrow = (today() + timedelta(days=1)).isoformat()
    with_phone = "申请人王某某（电话13912345678）反映的问题已按规定办理。"
    cases = [
        # (the body, the rule, the field)
        (budget_report(published_on=tomorrow), "legacy.published_in_future", "published_on"),
        (
            budget_report(published_on="2008-04-30", content=budget(issue_date="2008-04-01")),
            "legacy.before_regulation",
            "published_on",
        ),
        (
            budget_report(published_on=days_ago(205)),
            "legacy.published_before_issue",
            "published_on",
        ),
        (
            budget_report(content=budget(body=with_phone)),
            "legacy.personal_data",
            "content.body",
        ),
        (
            budget_report(content=budget(column="no_such_column")),
            "document.column_unknown",
            "content.column",
        ),
    ]
    for body, rule, field in cases:
        before = suite.head_position("catalog")
        with office(suite) as c:
            r = c.post(PATH, json=body)
        refused(suite, r, 422, rule, before)
        problem = r.json()
        assert problem["field"] == field, problem
        assert problem["message_zh"] and problem["message_en"], problem
        # The personal data is named by its mask, never repeated.
        assert "13912345678" not in r.text

    # Only the openness office enters documents: a drafter of the township is refused.
    before = suite.head_position("catalog")
    unit = f"{XIHUO}/party-office"
    drafter = suite.token("wang-yan", unit, Role.DRAFTER)
    with suite.client(drafter, service="catalog") as c:
        r = c.post(PATH, json=budget_report(drafting_unit=unit))
    refused(suite, r, 403, "role.missing", before)
