"""The policy Q&A knowledge base (政策问答库, 方案§16 做好政策咨询服务, §五(三)) through HTTP
and a real browser, in both modes (embedded, and Kafka + PostgreSQL processes).

A 12345 consultation about a published 苏店镇 policy is registered by the opinion officer;
bad input is refused naming the field and writes nothing; the drafting unit's drafter
answers with a telephone number in the text, the privacy guard holds it (方案§8), the
drafter masks it; the drafter may not approve their own answer, the section head does. A
citizen on a 320 px phone then reads the answer beside the policy on the portal and finds it
by the portal's search — never the asker. A second caller's question is offered the
published answer. In 荫城镇, a unit scheme's 政策咨询答复及时率 line moves from a full
deduction (a question not yet answered) to none once it is answered within the limit.
"""

from __future__ import annotations

from typing import Any

import httpx

from shared.identity import Role
from tests.e2e.conftest import SuiteHandle
from tests.e2e.factories import today
from tests.e2e.test_catalog_workflow import Desk
from tests.e2e.test_portal import check_page, go, phone, portal, press
from tests.e2e.test_workbench import browser as browser  # the Chromium fixture

BASE = "/v1/interpretation/qa"
SUDIAN, YINCHENG = "shangdang/sudian", "shangdang/yincheng"
PEOPLE: dict[str, tuple[str, tuple[Role, ...]]] = {
    "liu-yang": (SUDIAN, (Role.OPINION_OFFICER,)),
    "li-na": (f"{SUDIAN}/party-office", (Role.DRAFTER,)),
    "zhang-wei": (f"{SUDIAN}/party-office", (Role.SECTION_HEAD,)),
    "wei-na": (f"{YINCHENG}/party-office", (Role.DRAFTER,)),
    "ding-bo": (f"{YINCHENG}/party-office", (Role.SECTION_HEAD,)),
    "lu-bin": (YINCHENG, (Role.PRINCIPAL_LEADER,)),
}
POLICY_TITLE = "苏店镇农村户厕改造奖补实施方案"
POLICY_BODY = (
    "为推进农村厕所革命，改善农村人居环境，制定本方案。\n"
    "一、奖补对象：本镇行政村内完成户厕改造并经验收合格的农户。\n"
    "二、奖补标准：水冲式户厕每户补助1200元，双瓮漏斗式卫生旱厕每户补助800元。\n"
    "三、发放方式：村、镇两级验收合格后，由镇财政所通过惠农一卡通直接发放到户，农户无需垫付。"
)
QUESTION = "我家在苏店村，改厕补助是不是要先自己垫钱？我叫赵秀英，电话13912345678。"
PUBLIC_Q = "农村户厕改造的补助需要农户先自己垫钱吗？"
ANSWER = (
    "不需要先行垫付。户厕改造经村、镇两级验收合格后，补助由镇财政所通过惠农一卡通"
    "直接发放到户，水冲式户厕每户1200元。"
)


def client(suite: SuiteHandle, person: str, *extra: Role) -> httpx.Client:
    org, roles = PEOPLE[person]
    return suite.client(suite.token(person, org, *roles, *extra), service="interpretation")


def post(suite: SuiteHandle, person: str, path: str, body: dict[str, Any], *extra: Role) -> Any:
    with client(suite, person, *extra) as c:
        return c.post(BASE + path, json=body)


def refused(suite: SuiteHandle, r: Any, status: int, rule: str, field: str, before: int) -> Any:
    """problem+json naming the rule and the field, in Chinese and English; nothing written."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["rule"] == rule and problem["field"] == field, problem
    assert problem["message_zh"] and problem["message_en"]
    assert suite.head_position("interpretation") == before
    return problem


def published_policy(suite: SuiteHandle, desk: Desk, title: str, body: str) -> str:
    """A 实施方案 through the catalog's 三审三校, once the interpretation service knows it."""
    document_id, _ = desk.published(title=title, body=body, attachments_text=[])
    org = "li-na" if desk.drafter == "li-na" else "wei-na"

    def known() -> Any:
        with client(suite, org) as c:
            r = c.get(f"/v1/interpretation/obligations/{document_id}")
        return r.status_code == 200

    suite.eventually(known, timeout=40)
    return document_id


def ask(suite: SuiteHandle, person: str, document_id: str, text: str = QUESTION) -> Any:
    body = {
        "document_id": document_id,
        "channel": "hotline",
        "question": text,
        "asker": {"name": "赵秀英", "phone": "13912345678"},
        "source_ref": "12345-0417",
    }
    return post(suite, person, "", body)


def test_a_consultation_is_answered_approved_and_read_beside_the_policy_and_by_search__s16(
    suite: SuiteHandle, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    document_id = published_policy(
        suite, Desk(suite), f"{POLICY_TITLE}（{today().year}）", POLICY_BODY
    )
    before = suite.head_position("interpretation")
    bad = {"document_id": document_id, "channel": "hotline", "question": "啊"}
    problem = refused(
        suite, post(suite, "liu-yang", "", bad), 422, problem_rule(), "question", before
    )
    assert "咨询问题" in problem["message_zh"]
    bad = {"document_id": document_id, "channel": "wechat", "question": QUESTION}
    problem = refused(
        suite, post(suite, "liu-yang", "", bad), 422, "schema.enum", "channel", before
    )
    assert "12345热线" in problem["message_zh"]  # the allowed channels, by their labels
    unknown = "00000000-0000-4000-8000-000000000000"
    refused(suite, ask(suite, "liu-yang", unknown), 422, "qa.policy_unknown", "document_id", before)

    r = ask(suite, "liu-yang", document_id)
    assert r.status_code == 201, r.text
    qa_id = r.json()["qa_id"]
    assert r.headers["location"] == f"{BASE}/{qa_id}"
    assert r.json()["due_at"]

    def seen() -> Any:
        with client(suite, "li-na") as c:
            got = c.get(f"{BASE}/{qa_id}")
        return got.json() if got.status_code == 200 else None

    entry = suite.eventually(seen)
    assert entry["question"] == QUESTION and "asker" not in entry  # the asker stays in the log
    assert entry["due_in_words"].startswith("还剩")  # deadlines in words (UI.md)
    before = suite.head_position("interpretation")
    short = {"public_question": PUBLIC_Q, "answer": "不"}
    problem = refused(
        suite,
        post(suite, "li-na", f"/{qa_id}/answer", short),
        422,
        problem_rule(),
        "answer",
        before,
    )
    assert "答复内容" in problem["message_zh"]

    leaky = {"public_question": PUBLIC_Q, "answer": ANSWER + "经办人电话13812345678。"}
    r = post(suite, "li-na", f"/{qa_id}/answer", leaky)
    assert r.status_code == 200, r.text
    assert r.json()["privacy_hold"] is True and r.json()["on_time"] is True
    before = suite.head_position("interpretation")
    r = post(suite, "zhang-wei", f"/{qa_id}/approve", {})
    problem = refused(suite, r, 409, "qa.privacy_hold", "answer", before)
    assert "手机号码" in problem["message_zh"]
    r = post(suite, "li-na", f"/{qa_id}/redact", {})
    assert r.status_code == 200, r.text
    before = suite.head_position("interpretation")
    r = post(suite, "li-na", f"/{qa_id}/approve", {}, Role.SECTION_HEAD)  # their own answer
    refused(suite, r, 403, "duty.same_person", "actor", before)
    r = post(suite, "zhang-wei", f"/{qa_id}/approve", {})
    assert r.status_code == 200, r.text
    assert r.json()["event_type"] == "AnswerPublished"

    with suite.client(service="interpretation") as c:
        beside = suite.eventually(
            lambda: (
                c.get("/v1/public/interpretation/qa", params={"document_id": document_id})
                .json()
                .get("items")
            )
        )
    assert [e["question"] for e in beside] == [PUBLIC_Q]
    assert "138****5678" in beside[0]["answer"]

    # A second caller asking the same thing is offered the published answer.
    r = post(suite, "liu-yang", "/suggestions", {"question": "户厕改造的补助是不是要先自己垫钱？"})
    assert r.status_code == 200, r.text
    assert qa_id in [a["qa_id"] for a in r.json()["answers"]]
    assert document_id in [p["document_id"] for p in r.json()["policies"]]

    phone(browser)
    go(browser, portal(suite) + f"/doc/{document_id}")
    text = check_page(browser, suite, "21-policy-with-qa")
    assert "政策问答" in text and PUBLIC_Q in text and "惠农一卡通" in text
    assert "赵秀英" not in text and "13912345678" not in text and "我家在苏店村" not in text

    go(browser, portal(suite) + "/search")
    browser.find_element(By.ID, "q").send_keys("垫钱")
    press(browser, ".searchbox button")
    text = check_page(browser, suite, "22-search-finds-qa")
    assert "在政策问答中找到" in text and PUBLIC_Q in text
    assert "垫钱" in [m.text for m in browser.find_elements(By.TAG_NAME, "mark")]
    browser.find_element(By.PARTIAL_LINK_TEXT, "农村户厕改造的补助").click()
    assert browser.current_url.endswith(f"/gk/doc/{document_id}#qa-{qa_id}")


def problem_rule() -> str:
    """The rule pydantic's min_length becomes (shared/http.py)."""
    return "schema.string_too_short"


def test_answering_within_the_limit_moves_the_consultation_line_of_the_assessment__s16(
    suite: SuiteHandle,
) -> None:
    leader = suite.token("lu-bin", YINCHENG, Role.PRINCIPAL_LEADER)
    scheme = {
        "year": today().year,
        "level": "unit",
        "owner": YINCHENG,
        "title": f"荫城镇{today().year}年政策咨询考核",
        "total": 10,
        "pass_line": 6,
        "indicators": [
            {
                "key": "policy_consultation",
                "name": "政策咨询答复及时率",
                "weight": 10,
                "basis": "方案§16",
                "rate": {
                    "of": "qa.consultation",
                    "hits": "qa.answered_in_time",
                    "target": 0.9,
                    "name": "政策咨询按时答复率达到90%",
                },
            }
        ],
    }
    with suite.client(leader, service="assessment") as c:
        r = c.post("/v1/assessment/schemes", json=scheme)
    assert r.status_code == 201, r.text
    document_id = published_policy(
        suite,
        Desk.yincheng(suite),
        f"荫城镇农村户厕改造奖补实施方案（{today().year}）",
        POLICY_BODY.replace("苏店", "荫城"),
    )
    party_office = f"{YINCHENG}/party-office"
    params = {"year": today().year, "level": "unit", "owner": YINCHENG}

    def line() -> float | None:
        """The party office's line; None while the scheme is not projected yet (404)."""
        with suite.client(leader, service="assessment") as c:
            r = c.get("/v1/assessment/scoreboard", params=params)
        if r.status_code == 404 and r.json().get("rule") == "scheme.not_found":
            return None
        assert r.status_code == 200, r.text
        for item in r.json()["items"]:
            if item["subject"] == party_office:
                return float(item["lines"]["policy_consultation"])
        raise AssertionError(f"{party_office} is not on the board: {r.text[:500]}")

    question = {"document_id": document_id, "channel": "in_person", "question": QUESTION}
    r = post(suite, "wei-na", "", question)
    assert r.status_code == 201, r.text
    qa_id = r.json()["qa_id"]
    # Registered, not answered: 0 of 1 answered in time, the line holds no points.
    suite.eventually_equal(line, 0, timeout=60)
    r = post(suite, "wei-na", f"/{qa_id}/answer", {"public_question": PUBLIC_Q, "answer": ANSWER})
    assert r.status_code == 200, r.text
    assert r.json()["on_time"] is True
    suite.eventually_equal(line, 10, timeout=60)  # 1 of 1 in time: the whole weight
