"""Issue #20 duties through HTTP, in embedded and distributed mode:

- 规范性文件备案 (方案§18; 《法规规章备案条例》第三条, 国办发〔2018〕37号): a published normative
  document carries its filing limit; filed, returned with the reason, filed again, accepted;
- a confirmed information-security incident (方案§8, §18): a secret leak vetoes the
  township (the card names the event), a personal-data leak deducts 6 on 信息安全;
- the annual report's publication (条例第四十九、五十条): late after 31 January, copied when
  its text repeats last year's; each traced on the 年度报告 line;
- 学法 (方案§六(一)): a session covering the 条例 with its attendees; the leaders' record.

Every refusal names its field and rule and writes no event. A fresh district per module:
the assertions are exact scores.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from services.catalog.filing import filing_due
from shared.identity import Role
from shared.workdays import WorkdayCalendar
from tests.e2e.conftest import SuiteHandle, run_suite
from tests.e2e.factories import today
from tests.e2e.test_catalog_workflow import Desk, refused

DEMO = Path(__file__).parents[2] / "deploy" / "demo" / "assessment-scheme-2026.yaml"
SUDIAN, HANDIAN = "shangdang/sudian", "shangdang/handian"
YINCHENG, XIHUO = "shangdang/yincheng", "shangdang/xihuo"


@pytest.fixture(scope="module", params=["embedded", "distributed"])
def suite(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SuiteHandle]:
    yield from run_suite(
        request, tmp_path_factory, services=("assessment", "catalog", "applications", "portal")
    )


def office_head(suite: SuiteHandle, person: str, org: str, service: str) -> httpx.Client:
    token = suite.token(person, org, Role.OPENNESS_OFFICE_HEAD, Role.LEADER_IN_CHARGE)
    return suite.client(token, service=service)


def publish_scheme(suite: SuiteHandle) -> None:
    data: dict[str, Any] = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    token = suite.token("li-qiang", "shangdang", Role.DISTRICT_ASSESSOR)
    with suite.client(token, service="assessment") as c:
        r = c.post("/v1/assessment/schemes", json=data | {"year": today().year})
    assert r.status_code in (200, 201), r.text


def card(suite: SuiteHandle, subject: str) -> dict[str, Any]:
    token = suite.token("li-qiang", "shangdang", Role.DISTRICT_ASSESSOR)
    with suite.client(token, service="assessment") as c:
        r = c.get("/v1/assessment/scores", params={"subject": subject, "year": today().year})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def line(body: dict[str, Any], key: str) -> dict[str, Any]:
    return next(x for x in body["lines"] if x["key"] == key)


def problem(r: httpx.Response, status: int, rule: str, field: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    found = body.get("field") or (body.get("errors") or [{}])[0].get("field")
    assert body["rule"] == rule and found == field, body


# --- 规范性文件备案 ------------------------------------------------------------------------


def test_published_normative_document_is_filed_returned_and_accepted__s18(
    suite: SuiteHandle,
) -> None:
    desk = Desk(suite)
    document_id, published = desk.published()
    assert "FilingRequired" in published["events"]
    due = filing_due(today(), WorkdayCalendar.default(), 30)
    doc = desk.get("guo-xinxin", desk.doc(document_id)).json()
    assert doc["filing"] == {
        "published_on": today().isoformat(),
        "due_on": due.isoformat(),
        "attempts": 0,
        "status": "not_filed",
        "overdue_noticed": False,
    }
    filing, review = desk.doc(document_id, "/filing"), desk.doc(document_id, "/filing/review")
    good = {"filed_on": today().isoformat(), "filed_with": "上党区司法局"}
    before = suite.head_position("catalog")
    tomorrow = (today() + timedelta(days=1)).isoformat()
    problem(
        desk.post("guo-xinxin", filing, good | {"filed_on": tomorrow}),
        422,
        "date.in_future",
        "filed_on",
    )
    problem(
        desk.post("guo-xinxin", filing, {"filed_on": today().isoformat()}),
        422,
        "schema.missing",
        "filed_with",
    )
    problem(desk.post("li-na", filing, good), 403, "role.missing", "roles")
    answer = {"outcome": "accepted", "reviewed_on": today().isoformat()}
    problem(desk.post("guo-xinxin", review, answer), 409, "filing.not_filed", "document_id")
    assert suite.head_position("catalog") == before

    r = desk.post("guo-xinxin", filing, good | {"filing_number": "苏政备〔2026〕3号"})
    assert r.status_code == 200, r.text
    returned = {"outcome": "returned", "reviewed_on": today().isoformat()}
    refused(
        suite,
        desk.post("guo-xinxin", review, returned),
        422,
        "filing.reason_required",
        suite.head_position("catalog"),
    )
    r = desk.post("guo-xinxin", review, returned | {"reason": "未附制定说明，请补充后重新报送"})
    assert r.status_code == 200, r.text
    assert desk.get("guo-xinxin", desk.doc(document_id)).json()["filing"]["status"] == "returned"
    r = desk.post("guo-xinxin", filing, good)
    assert r.status_code == 200, r.text
    r = desk.post("zhang-wei", review, answer)
    assert r.status_code == 200, r.text
    filed = desk.get("guo-xinxin", desk.doc(document_id)).json()["filing"]
    assert (filed["status"], filed["attempts"]) == ("accepted", 2)
    refused(
        suite,
        desk.post("guo-xinxin", filing, good),
        409,
        "filing.already_accepted",
        suite.head_position("catalog"),
    )


def test_a_work_news_item_owes_no_filing__s18(suite: SuiteHandle) -> None:
    desk = Desk(suite)
    document_id, published = desk.published(kind="work_news", column="work_news")
    assert "FilingRequired" not in published["events"]
    before = suite.head_position("catalog")
    r = desk.post(
        "guo-xinxin",
        desk.doc(document_id, "/filing"),
        {"filed_on": today().isoformat(), "filed_with": "上党区司法局"},
    )
    problem(r, 422, "filing.not_required", "kind")
    assert suite.head_position("catalog") == before


# --- information-security incidents ----------------------------------------------------------


def incident(kind: str, org: str, **changes: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "org": org,
        "occurred_on": (today() - timedelta(days=2)).isoformat(),
        "confirmed_on": today().isoformat(),
        "cause": "公示名单未删减身份证号码，经审核人员复核后确认",
        "measures": "已撤稿并重新发布删减后的版本",
    } | changes


def test_confirmed_secret_leak_vetoes_and_data_leak_deducts_six_with_their_events__s18(
    suite: SuiteHandle,
) -> None:
    publish_scheme(suite)
    unit = f"{YINCHENG}/party-office"
    before = suite.head_position("catalog")
    with office_head(suite, "jiang-hong", YINCHENG, "catalog") as c:
        problem(
            c.post("/v1/catalog/incidents", json=incident("secret_leak", unit, cause="泄")),
            422,
            "schema.string_too_short",
            "cause",
        )
        late = incident(
            "secret_leak",
            unit,
            occurred_on=today().isoformat(),
            confirmed_on=(today() - timedelta(days=3)).isoformat(),
        )
        problem(
            c.post("/v1/catalog/incidents", json=late),
            422,
            "incident.confirmed_before_occurred",
            "confirmed_on",
        )
        problem(
            c.post("/v1/catalog/incidents", json=incident("rumour", unit)),
            422,
            "schema.enum",
            "kind",
        )
    with suite.client(suite.token("wei-na", unit, Role.DRAFTER), service="catalog") as c:
        problem(
            c.post("/v1/catalog/incidents", json=incident("secret_leak", unit)),
            403,
            "role.missing",
            "roles",
        )
    with office_head(suite, "xu-li", HANDIAN, "catalog") as c:
        r = c.post("/v1/catalog/incidents", json=incident("secret_leak", unit))
        assert r.status_code == 403 and r.json()["rule"] == "org.outside_subtree", r.text
    assert suite.head_position("catalog") == before

    with office_head(suite, "jiang-hong", YINCHENG, "catalog") as c:
        r = c.post("/v1/catalog/incidents", json=incident("secret_leak", unit))
    assert r.status_code == 201, r.text
    secret_id = r.json()["event_id"]
    with office_head(suite, "xu-li", HANDIAN, "catalog") as c:
        r = c.post(
            "/v1/catalog/incidents", json=incident("personal_data_leak", f"{HANDIAN}/party-office")
        )
    assert r.status_code == 201, r.text
    leak_id = r.json()["event_id"]

    def vetoed_card() -> Any:
        body = card(suite, YINCHENG)
        return body if body["vetoed"] else None

    def docked_card() -> Any:
        body = card(suite, HANDIAN)
        return body if line(body, "information_security")["points"] == 4 else None

    vetoed = suite.eventually(vetoed_card, timeout=60)
    assert vetoed["vetoed"] == ["secret_leak"] and not vetoed["passed"]
    assert vetoed["veto_cases"][0]["event_ids"] == [secret_id]
    docked = suite.eventually(docked_card, timeout=60)
    (case,) = line(docked, "information_security")["cases"]
    assert case["signal"] == "disclosure.personal_data_leak" and case["event_ids"] == [leak_id]


# --- the annual report -----------------------------------------------------------------------


def write_texts(c: httpx.Client, year: int, overview: str, problems: str) -> None:
    for section, text in (("overview", overview), ("problems", problems)):
        r = c.post(f"/v1/annual-reports/{year}/texts", json={"section": section, "text": text})
        assert r.status_code == 201, r.text


def test_annual_report_late_and_copied_are_traced_on_the_report_line__art49(
    suite: SuiteHandle,
) -> None:
    publish_scheme(suite)
    last = today().year - 1
    before = suite.head_position("applications")
    with office_head(suite, "xu-li", HANDIAN, "applications") as c:
        problem(
            c.post(f"/v1/annual-reports/{today().year}/publication", json={}),
            422,
            "annual_report.year_not_over",
            "year",
        )
        problem(
            c.post(f"/v1/annual-reports/{last}/publication", json={}),
            422,
            "annual_report.texts_missing",
            "texts",
        )
    with suite.client(suite.token("tang-hui", f"{HANDIAN}/party-office", Role.SECTION_HEAD)) as c:
        problem(
            c.post(f"/v1/annual-reports/{last}/publication", json={}), 403, "role.missing", "roles"
        )
    assert suite.head_position("applications") == before

    with office_head(suite, "xu-li", HANDIAN, "applications") as c:
        write_texts(c, last, f"{last}年，韩店镇全面推进政务公开。", "个别栏目更新不及时。")
        r = c.post(
            f"/v1/annual-reports/{last}/publication",
            json={"url": "http://www.shangdang.gov.cn/hd/nb"},
        )
        assert r.status_code == 201, r.text
        again = c.post(f"/v1/annual-reports/{last}/publication", json={})
    published = r.json()
    assert published["late"] and published["due_on"] == f"{today().year}-01-31"
    assert published["similarity"] is None and not published["copied"]
    problem(again, 409, "annual_report.already_published", "year")

    texts = (
        "西火镇坚持以公开为常态、不公开为例外，全面推进决策、执行、管理、服务、结果公开。",
        "政策解读形式较为单一，下一步将增加图解和短视频解读。",
    )
    with office_head(suite, "du-xiaoyan", XIHUO, "applications") as c:
        write_texts(c, last - 1, *texts)
        first = c.post(f"/v1/annual-reports/{last - 1}/publication", json={})
        write_texts(c, last, *texts)
        copied = c.post(f"/v1/annual-reports/{last}/publication", json={})
    assert first.status_code == copied.status_code == 201, copied.text
    assert copied.json()["copied"] and copied.json()["similarity"] == 1.0

    def report_line(subject: str, signals: set[str]) -> Any:
        found = line(card(suite, subject), "annual_report")
        return found if {c["signal"] for c in found["cases"]} == signals else None

    late = suite.eventually(lambda: report_line(HANDIAN, {"annual_report.late"}), timeout=60)
    assert late["points"] == 0 and late["cases"][0]["event_ids"] == [published["event_id"]]
    both = suite.eventually(
        lambda: report_line(XIHUO, {"annual_report.late", "annual_report.copied"}), timeout=60
    )
    (copy_case,) = [c for c in both["cases"] if c["signal"] == "annual_report.copied"]
    assert copy_case["case"] == f"{XIHUO}:{last}"
    assert copy_case["event_ids"] == [copied.json()["event_id"]]

    # The report says when it was published, and so does the portal's page of it.
    with office_head(suite, "xu-li", HANDIAN, "applications") as c:
        whole = c.get(f"/v1/annual-reports/{last}").json()
    assert whole["publication"]["published_on"] == today().isoformat()
    assert whole["publication"]["event_id"] == published["event_id"]
    page = httpx.get(suite.url_for("portal") + f"/gk/handian/report/{last}", timeout=30)
    assert page.status_code == 200 and f"公布日期：{today().isoformat()}" in page.text
    unpublished = httpx.get(suite.url_for("portal") + f"/gk/yincheng/report/{last}", timeout=30)
    assert "本年度报告尚未正式公布" in unpublished.text


# --- 学法 ---------------------------------------------------------------------------------------


def test_a_session_covering_the_regulation_enters_the_leaders_record__s6_1(
    suite: SuiteHandle,
) -> None:
    with office_head(suite, "guo-xinxin", SUDIAN, "assessment") as c:
        r = c.post(
            "/v1/assessment/training/sessions",
            json={
                "org": SUDIAN,
                "topic": "《政府信息公开条例》专题学法",
                "planned_on": today().isoformat(),
            },
        )
        assert r.status_code == 201, r.text
        held = f"/v1/assessment/training/sessions/{r.json()['session_id']}/held"
        body = {"held_on": today().isoformat(), "attendees": 30, "covers_regulation": True}
        before = suite.head_position("assessment")
        problem(
            c.post(held, json=body | {"attendee_ids": ["tian-yiming", "nobody"]}),
            422,
            "training.unknown_attendee",
            "attendee_ids[1]",
        )
        problem(
            c.post(
                held, json=body | {"attendees": 1, "attendee_ids": ["tian-yiming", "guo-xinxin"]}
            ),
            422,
            "training.attendees_below_named",
            "attendees",
        )
        assert suite.head_position("assessment") == before
        r = c.post(held, json=body | {"attendee_ids": ["tian-yiming", "guo-xinxin"]})
        assert r.status_code == 200, r.text
        assert r.json()["covers_regulation"] and r.json()["attendee_ids"] == [
            "tian-yiming",
            "guo-xinxin",
        ]

        def recorded() -> Any:
            got = c.get(
                "/v1/assessment/training/study", params={"year": today().year, "org": SUDIAN}
            )
            assert got.status_code == 200, got.text
            return got.json() if got.json()["sessions_covering"] else None

        record = suite.eventually(recorded, timeout=60)
        problem(
            c.get(
                "/v1/assessment/training/study", params={"year": today().year, "org": "shangdang"}
            ),
            422,
            "study.not_a_township",
            "org",
        )
    by_person = {x["person"]: x["sessions"] for x in record["leaders"]}
    assert [s["topic"] for s in by_person["tian-yiming"]] == ["《政府信息公开条例》专题学法"]
    assert (
        "tian-yiming" not in record["leaders_absent"] and "wang-xiaole" in record["leaders_absent"]
    )
    assert not record["complete"]
    with office_head(suite, "xu-li", HANDIAN, "assessment") as c:
        r = c.get("/v1/assessment/training/study", params={"year": today().year, "org": SUDIAN})
    assert r.status_code == 403 and r.json()["rule"] == "org.outside_subtree"
