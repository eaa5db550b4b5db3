"""有效期: whether a published document still applies — 现行有效, 已失效 or 已废止.

A 行政规范性文件 states how long it applies (国办发〔2018〕37号: as a rule no more than five
years); a citizen reading it on the portal must see whether it is still in force (issue #18:
"its validity (有效/失效/废止)"), and the annual report counts only those in force at the
year's end (条例 Art. 50, section 二). The openness office or a leader sets the last day in
force on a published document (`POST /v1/catalog/documents/{id}/validity`); the day after
it, the public API and the portal say 已失效. Both modes, on the session suite.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from tests.e2e.conftest import SuiteHandle
from tests.e2e.factories import today
from tests.e2e.test_catalog_public import public
from tests.e2e.test_catalog_workflow import Desk, refused
from tests.e2e.test_portal import check_page, go, phone, portal
from tests.e2e.test_workbench import browser as browser  # the Chromium fixture


def validity_of(suite: SuiteHandle, document_id: str, expected: str) -> dict[str, Any] | None:
    doc: dict[str, Any] = public(suite, f"/documents/{document_id}").json()
    return doc if doc.get("validity") == expected else None


def page(suite: SuiteHandle, document_id: str) -> str:
    return httpx.get(f"{portal(suite)}/doc/{document_id}", timeout=10).text


def test_a_document_whose_period_ended_is_shown_lapsed_and_in_force_while_it_runs(
    suite: SuiteHandle, browser: Any
) -> None:
    desk = Desk(suite)
    issued = (today() - timedelta(days=2)).isoformat()
    document_id, _ = desk.published(
        title="苏店镇农村宅基地审批管理暂行办法",
        issue_date=issued,
        document_number=f"苏政发〔{today().year}〕21号",
    )
    fresh = suite.eventually(lambda: validity_of(suite, document_id, "in_force"))
    assert fresh["valid_until"] is None and fresh["in_force"] is True

    # 暂行办法 that applied until yesterday: lapsed today.
    yesterday = (today() - timedelta(days=1)).isoformat()
    r = desk.post(desk.final, desk.doc(document_id, "/validity"), {"valid_until": yesterday})
    assert r.status_code == 200, r.text
    assert r.json()["events"] == ["DocumentValidityPeriodSet"]
    lapsed = suite.eventually(lambda: validity_of(suite, document_id, "lapsed"))
    assert (lapsed["in_force"], lapsed["validity_label"], lapsed["valid_until"]) == (
        False,
        "已失效",
        yesterday,
    )
    staff = desk.get(desk.final, desk.doc(document_id)).json()
    assert staff["valid_until"] == yesterday
    listed = public(suite, "/documents", township="shangdang/sudian", limit=200).json()["items"]
    assert next(d for d in listed if d["document_id"] == document_id)["validity"] == "lapsed"

    def shown(words: str) -> str | None:
        html = page(suite, document_id)
        return html if words in html else None

    html = suite.eventually(lambda: shown("已失效"))
    assert "有效期至" in html and "现行有效" not in html
    phone(browser)
    go(browser, f"{portal(suite)}/doc/{document_id}")
    text = check_page(browser, suite, "04c-document-lapsed")
    assert f"已失效（有效期至{today().year}年" in text

    # Extended for five years: in force again, with its last day shown.
    later = (today() + timedelta(days=5 * 365)).isoformat()
    r = desk.post(desk.final, desk.doc(document_id, "/validity"), {"valid_until": later})
    assert r.status_code == 200, r.text
    suite.eventually(lambda: validity_of(suite, document_id, "in_force"))
    html = suite.eventually(lambda: shown("现行有效（有效期至"))
    assert "已失效" not in html


def test_a_period_before_the_document_or_from_a_drafter_is_refused_and_writes_nothing(
    suite: SuiteHandle,
) -> None:
    desk = Desk(suite)
    document_id, _ = desk.published(title="苏店镇村级公益事业一事一议财政奖补办法")
    before_issue = (today() - timedelta(days=30)).isoformat()  # content(): issued yesterday
    before = suite.head_position("catalog")
    r = desk.post(desk.final, desk.doc(document_id, "/validity"), {"valid_until": before_issue})
    refused(suite, r, 422, "validity.before_issue", before)
    assert r.json()["field"] == "valid_until"
    r = desk.post(desk.drafter, desk.doc(document_id, "/validity"), {"valid_until": None})
    refused(suite, r, 403, "role.missing", before)
