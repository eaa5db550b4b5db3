"""The HTTP kernel's refusals and headers, in embedded and distributed mode (issue #21).

Rules: ARCHITECTURE.md "HTTP conventions" (problem+json with field, rule and a message in
Chinese and English; 401 before anything else on a protected route), RFC 9110 (405 with
`Allow`, 401 with `WWW-Authenticate`), docs/decisions.md (control characters; security
headers on every HTML page).
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from shared.identity import Role
from tests.e2e.conftest import SuiteHandle
from tests.e2e.factories import registration, today

SUDIAN = "shangdang/sudian"


def handler(suite: SuiteHandle) -> str:
    return suite.token("wang-tietong", SUDIAN, Role.REQUEST_HANDLER, Role.ATTRIBUTE_OFFICER)


def _refused(suite: SuiteHandle, token: str | None, call: Any) -> dict[str, Any]:
    before = suite.head_position()
    with suite.client(token) as c:
        r: httpx.Response = call(c)
    assert r.headers["content-type"] == "application/problem+json", r.text
    problem = {"_status": r.status_code, "_headers": r.headers, **r.json()}
    assert problem["message_zh"] and problem["message_en"] and problem["rule"]
    assert suite.head_position() == before, "a refused command must write no event"
    return problem


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"description": "申请公开\u0000苏店镇补贴名单"}, "description"),
        ({"description": "申请公开苏店镇补贴名单\u0007"}, "description"),
        ({"description": "申请公开苏店镇补贴名单\u007f"}, "description"),
        ({"applicant": {**registration()["applicant"], "name": "王\u0000秀英"}}, "applicant.name"),
    ],
)
def test_a_control_character_in_any_text_is_refused_422_naming_the_field(
    suite: SuiteHandle, overrides: dict[str, Any], field: str
) -> None:
    # On PostgreSQL a NUL answered 500; on SQLite it was stored raw (issue #21).
    p = _refused(
        suite, handler(suite), lambda c: c.post("/v1/requests", json=registration(**overrides))
    )
    assert (p["_status"], p["rule"], p["field"]) == (422, "schema.control_character", field)
    assert "U+00" in p["message_zh"] and "U+00" in p["message_en"]


def test_tab_line_feed_and_carriage_return_are_text(suite: SuiteHandle) -> None:
    body = registration(description="申请公开：\n\t1. 苏店镇补贴名单；\r\n\t2. 发放标准")
    with suite.client(handler(suite)) as c:
        r = c.post("/v1/requests", json=body)
    assert r.status_code == 201, r.text


def test_a_control_character_in_a_query_is_refused_on_the_public_api(suite: SuiteHandle) -> None:
    with suite.client(service="catalog") as c:
        r = c.get("/v1/public/catalog/search", params={"q": "秸秆\u0000还田"})
    assert r.status_code == 422, r.text
    assert (r.json()["rule"], r.json()["field"]) == ("schema.control_character", "q")


def test_a_caller_with_no_token_is_refused_401_before_its_body_is_judged(
    suite: SuiteHandle,
) -> None:
    """Malformed JSON, or a NUL, from a caller with no token: 401, never 400 or 422."""
    malformed = _refused(
        suite,
        None,
        lambda c: c.post(
            "/v1/requests",
            content=b'{"channel": "fax",',
            headers={"content-type": "application/json"},
        ),
    )
    assert (malformed["_status"], malformed["rule"]) == (401, "token.missing")
    assert malformed["_headers"]["www-authenticate"] == "Bearer"
    with_nul = _refused(
        suite, None, lambda c: c.post("/v1/requests", json=registration(description="\u0000"))
    )
    assert (with_nul["_status"], with_nul["rule"]) == (401, "token.missing")
    forged = handler(suite)[:-4] + "AAAA"
    p = _refused(
        suite,
        forged,
        lambda c: c.post(
            "/v1/requests", content=b"{", headers={"content-type": "application/json"}
        ),
    )
    assert (p["_status"], p["rule"]) == (401, "token.bad_signature")


def test_405_names_the_allowed_methods__rfc9110(suite: SuiteHandle) -> None:
    with suite.client(handler(suite)) as c:
        r = c.delete("/v1/requests")
    assert r.status_code == 405
    assert r.headers["content-type"] == "application/problem+json"
    assert {m.strip() for m in r.headers["allow"].split(",")} == {"GET", "POST"}


def test_every_html_page_carries_the_security_headers(suite: SuiteHandle) -> None:
    with suite.client(handler(suite)) as c:
        report = c.get(
            "/v1/requests/annual-report", params={"year": today().year, "format": "html"}
        )
        docs = c.get("/docs")
        as_json = c.get("/v1/requests/annual-report", params={"year": today().year})
    for page in (report, docs):
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "no-referrer"
    assert "script-src" not in report.headers["content-security-policy"]  # nothing runs
    assert as_json.headers["x-content-type-options"] == "nosniff"


def test_the_chinese_message_names_the_field_by_its_label_and_lists_allowed_values(
    suite: SuiteHandle,
) -> None:
    missing = _refused(
        suite,
        handler(suite),
        lambda c: c.post("/v1/requests", json=registration(submitted_on=None)),
    )
    assert missing["field"] == "submitted_on"  # machines keep the field's name
    assert missing["message_zh"] == "申请提交日期：缺少必填字段"
    wrong = _refused(
        suite,
        handler(suite),
        lambda c: c.post("/v1/requests", json=registration(channel="carrier_pigeon")),
    )
    assert (wrong["field"], wrong["rule"]) == ("channel", "schema.enum")
    assert wrong["message_zh"].startswith("提交渠道：取值不在允许范围内，允许的取值：")
    assert "in_person" in wrong["message_zh"] and "registered_mail" in wrong["message_zh"]


def test_api_docs_work_offline_from_assets_the_app_serves_itself(suite: SuiteHandle) -> None:
    """/docs and /redoc on a government intranet with no Internet (issue #17): every script
    and style they load is served by the app, none comes from a CDN."""
    with suite.client(handler(suite)) as c:
        for page in ("/docs", "/redoc"):
            html = c.get(page).text
            sources = re.findall(r'(?:src|href)="([^"]+)"', html)
            assert sources, page
            assert not [s for s in sources if s.startswith(("http:", "https:", "//"))], page
            for asset in sources:
                if asset.endswith((".js", ".css")):
                    served = c.get(asset)
                    assert served.status_code == 200 and len(served.content) > 10_000, asset
