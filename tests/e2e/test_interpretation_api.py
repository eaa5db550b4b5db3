"""政策解读 through HTTP in both modes (embedded, and Kafka + PostgreSQL processes).

Rules: DOMAIN.md §3 (方案§15 三同步 and rates, §五(一) content and quality, §五(二) forms
and channels); issue #5. Obligations are opened by real catalog publications (the catalog
desk of tests/e2e/test_catalog_workflow.py carries a policy through 三审三校); people follow
deploy/demo/district.yaml (苏店镇 党政办公室 drafts the policy, so it interprets it).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from services.interpretation import samples
from shared.identity import Role
from tests.e2e.conftest import SuiteHandle
from tests.e2e.factories import today
from tests.e2e.test_catalog_workflow import Desk

PARTY_OFFICE = "shangdang/sudian/party-office"
FINANCE = "shangdang/sudian/finance"
BASE = "/v1/interpretation"

PEOPLE: dict[str, tuple[str, tuple[Role, ...]]] = {
    "li-na": (PARTY_OFFICE, (Role.DRAFTER,)),
    "zhang-wei": (PARTY_OFFICE, (Role.SECTION_HEAD,)),
    "chen-jing": (FINANCE, (Role.DRAFTER,)),
    "wang-fang": (FINANCE, (Role.SECTION_HEAD,)),
    "guo-xinxin": ("shangdang/sudian", (Role.LEADER_IN_CHARGE, Role.OPENNESS_OFFICE_HEAD)),
    "zhao-huiling": ("shangdang/sudian", (Role.AUDITOR,)),
    "liu-yang": ("shangdang/sudian", (Role.OPINION_OFFICER,)),
    "wei-na": ("shangdang/yincheng/party-office", (Role.DRAFTER,)),
    "sentiment-service": ("shangdang", (Role.SERVICE,)),
}


def client(suite: SuiteHandle, person: str) -> httpx.Client:
    org, roles = PEOPLE[person]
    return suite.client(suite.token(person, org, *roles), service="interpretation")


def post(suite: SuiteHandle, person: str, path: str, body: dict[str, Any] | None = None) -> Any:
    with client(suite, person) as c:
        return c.post(BASE + path, json=body or {})


def get(suite: SuiteHandle, person: str, path: str, **params: Any) -> Any:
    with client(suite, person) as c:
        return c.get(BASE + path, params=params)


def refused(
    suite: SuiteHandle,
    response: Any,
    status: int,
    rule: str,
    before: int,
    field: str | None = None,
) -> Any:
    """A refusal: problem+json naming the rule (and the field, when given), no event written."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["rule"] == rule, response.json()
    if field is not None:
        assert response.json()["field"] == field, response.json()
    assert response.json()["message_zh"] and response.json()["message_en"]
    assert suite.head_position("interpretation") == before
    return response.json()


def published_policy(suite: SuiteHandle) -> str:
    """A 实施方案 through the catalog's 三审三校; returns its id once the obligation is open."""
    document_id, _ = Desk(suite).published(
        title=samples.POLICY_TITLE,
        body=samples.POLICY_TEXT,
        attachments_text=[],
        kind="implementation_plan",
    )

    def opened() -> Any:
        r = get(suite, "zhang-wei", f"/obligations/{document_id}")
        return r.json() if r.status_code == 200 else None

    suite.eventually(opened, timeout=40)
    return document_id


def draft(
    suite: SuiteHandle, document_id: str, sections: Any, person: str = "li-na", **kw: Any
) -> Any:
    body = {"document_id": document_id, "content": samples.interpretation_body(sections), **kw}
    return post(suite, person, "/interpretations", body)


def drafted_and_approved(suite: SuiteHandle, document_id: str, sections: Any, **kw: Any) -> str:
    r = draft(suite, document_id, sections, **kw)
    assert r.status_code == 201, r.text
    interpretation_id = str(r.json()["interpretation_id"])
    r = post(suite, "zhang-wei", f"/interpretations/{interpretation_id}/review", {"approve": True})
    assert r.status_code == 200, r.text
    return interpretation_id


def test_a_catalog_publication_opens_an_obligation_for_the_drafting_unit__shei_qicao_shei_jiedu(
    suite: SuiteHandle,
) -> None:
    document_id = published_policy(suite)
    obligation = get(suite, "zhang-wei", f"/obligations/{document_id}").json()
    assert obligation["owner_unit"] == PARTY_OFFICE
    assert obligation["source"] == "catalog" and obligation["trigger"] == "kind"
    assert obligation["status"] == "open"
    assert obligation["due"] == obligation["published_on"]  # 三同步: the same day
    assert obligation["latest_due"] > obligation["published_on"]  # at the latest 3 working days
    listed = get(suite, "guo-xinxin", "/obligations", tenant="shangdang/sudian", status="open")
    assert document_id in [o["document_id"] for o in listed.json()["items"]]


def test_a_good_interpretation_is_published_and_policy_and_interpretation_list_each_other(
    suite: SuiteHandle,
) -> None:
    document_id = published_policy(suite)
    r = draft(suite, document_id, samples.GOOD_SECTIONS)
    assert r.status_code == 201, r.text
    assert r.json()["quality"]["passed"] is True
    interpretation_id = r.json()["interpretation_id"]
    refused(
        suite,
        post(suite, "li-na", f"/interpretations/{interpretation_id}/review", {"approve": True}),
        403,
        "role.missing",
        suite.head_position("interpretation"),
    )
    r = post(suite, "zhang-wei", f"/interpretations/{interpretation_id}/review", {"approve": True})
    assert r.status_code == 200, r.text
    r = post(suite, "zhang-wei", f"/interpretations/{interpretation_id}/publish")
    assert r.status_code == 200, r.text
    assert r.json()["events"] == ["InterpretationPublished", "ObligationFulfilled"]
    assert r.json()["synchronous"] is True and r.json()["on_time"] is True

    with suite.client(service="interpretation") as public:

        def listed() -> Any:
            body = public.get(f"/v1/public/interpretation/policies/{document_id}").json()
            return body if body.get("interpretations") else None

        policy = suite.eventually(listed)
        assert [i["interpretation_id"] for i in policy["interpretations"]] == [interpretation_id]
        assert policy["title"] == samples.POLICY_TITLE
        one = public.get(f"/v1/public/interpretation/interpretations/{interpretation_id}").json()
        assert one["policy"]["document_id"] == document_id
        assert one["policy"]["url"] == f"/v1/public/catalog/documents/{document_id}"
        assert one["policy"]["source"] == "catalog"
        assert [f["form"] for f in one["forms"]] == ["text", "graphic"]

    # 双向关联: the catalog's own public view of the policy lists it too (its read model, fed
    # by InterpretationPublished: the catalog never reads the interpretation tables).
    with suite.client(service="catalog") as catalog:

        def linked() -> Any:
            body = catalog.get(f"/v1/public/catalog/documents/{document_id}").json()
            return body if body.get("interpretations") else None

        (link,) = suite.eventually(linked)["interpretations"]
        assert link["interpretation_id"] == interpretation_id and link["stage"] == 1
        assert link["url"] == f"/v1/public/interpretation/interpretations/{interpretation_id}"
        assert link["forms"] == ["graphic", "text"] and link["title"] == one["title"]

    day = get(suite, "zhang-wei", f"/obligations/{document_id}").json()["published_on"]
    rates = get(
        suite, "guo-xinxin", "/rates", tenant="shangdang/sudian", year=day[:4], since=day, until=day
    ).json()
    assert rates["since"] == rates["until"] == day
    mine = {p["document_id"]: p for p in rates["diversified_rate"]["policies"]}
    assert mine[document_id]["counted"] is True  # 图解 besides 文字
    multi = {p["document_id"]: p for p in rates["multichannel_rate"]["policies"]}
    assert multi[document_id]["counted"] is True  # 政府网站 + 政务新媒体
    assert rates["diversified_rate"]["target"] == 0.9


def test_a_copy_and_a_title_only_text_are_refused_at_publication_with_measured_values(
    suite: SuiteHandle,
) -> None:
    document_id = published_policy(suite)
    copy_id = drafted_and_approved(suite, document_id, samples.COPIED_SECTIONS)
    before = suite.head_position("interpretation")
    problem = refused(
        suite,
        post(suite, "zhang-wei", f"/interpretations/{copy_id}/publish"),
        422,
        "interpretation.quality_gate",
        before,
    )
    checks = {c["check"]: c for c in problem["details"]["quality"]["checks"]}
    assert checks["copy"]["measured"]["containment"] == 1.0
    assert checks["copy"]["measured"]["longest_copied_passages"][0]["length"] >= 20
    assert "照搬照抄原文" in problem["message_zh"]

    title_id = drafted_and_approved(suite, document_id, samples.TITLE_ONLY_SECTIONS)
    before = suite.head_position("interpretation")
    problem = refused(
        suite,
        post(suite, "zhang-wei", f"/interpretations/{title_id}/publish"),
        422,
        "interpretation.quality_gate",
        before,
    )
    checks = {c["check"]: c for c in problem["details"]["quality"]["checks"]}
    assert checks["title_only"]["measured"]["explanatory_chars"] == 0
    assert "标题式" in problem["message_zh"]


def test_other_units_other_townships_and_auditors_are_refused_without_an_event(
    suite: SuiteHandle,
) -> None:
    document_id = published_policy(suite)
    before = suite.head_position("interpretation")
    # Another unit of the township, and another township: the obligation lies outside
    # their subtree, so it is not found, exactly like an absent one (issue #21: 404, not 403).
    refused(
        suite,
        draft(suite, document_id, samples.GOOD_SECTIONS, "chen-jing"),
        404,
        "policy.not_published",
        before,
    )
    refused(
        suite,
        draft(suite, document_id, samples.GOOD_SECTIONS, "wei-na"),
        404,
        "policy.not_published",
        before,
    )
    refused(
        suite,
        draft(suite, document_id, samples.GOOD_SECTIONS, "zhao-huiling"),
        403,
        "auditor.read_only",
        before,
    )
    unknown = "01900000-0000-7000-8000-000000000000"
    refused(
        suite, draft(suite, unknown, samples.GOOD_SECTIONS), 404, "policy.not_published", before
    )


def test_an_unknown_form_or_channel_is_refused_naming_the_field__fang_an_5_2(
    suite: SuiteHandle,
) -> None:
    """方案§五(二) names the forms and channels; anything else is refused by the schema."""
    document_id = published_policy(suite)
    before = suite.head_position("interpretation")
    cases = (
        ({"forms": [{"form": "text"}, {"form": "poster"}]}, "content.forms.1.form"),
        ({"channels": ["radio"]}, "content.channels.0"),
        ({"channels": ["website", "wechat"]}, "content.channels.1"),
    )
    for change, field in cases:
        body = samples.interpretation_body(samples.GOOD_SECTIONS, **change)
        for path in ("/interpretations", "/quality-check"):
            r = post(suite, "li-na", path, {"document_id": document_id, "content": body})
            problem = refused(suite, r, 422, "schema.enum", before, field)
            assert "取值不在允许范围内" in problem["message_zh"]


def test_a_catalog_document_not_yet_published_is_not_interpreted(suite: SuiteHandle) -> None:
    """A real 实施方案 still in the catalog's review (drafted, not published): no obligation
    is open, so drafting its interpretation is refused and nothing is written."""
    desk = Desk(suite)
    document_id = desk.draft(
        title=samples.POLICY_TITLE,
        body=samples.POLICY_TEXT,
        attachments_text=[],
        kind="implementation_plan",
    )
    desk.decide_attribute(document_id)
    assert desk.get(desk.drafter, desk.doc(document_id)).status_code == 200  # it exists
    before = suite.head_position("interpretation")
    problem = refused(
        suite,
        draft(suite, document_id, samples.GOOD_SECTIONS),
        404,
        "policy.not_published",
        before,
        "document_id",
    )
    assert document_id in problem["message_en"]
    assert get(suite, "zhang-wei", f"/obligations/{document_id}").status_code == 404


def test_delegation_is_explicit_recorded_and_hands_the_obligation_over(suite: SuiteHandle) -> None:
    document_id = published_policy(suite)
    handover = {"to_unit": FINANCE, "reason": "补助资金部分由财政所统一解读"}
    before = suite.head_position("interpretation")
    with client(suite, "zhang-wei") as c:
        path = f"{BASE}/obligations/{document_id}/delegate"
        stale = c.post(path, json=handover, headers={"If-Match": '"7"'})
        refused(suite, stale, 412, "if_match.stale", before)
        r = c.post(path, json=handover, headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    obligation = get(suite, "guo-xinxin", f"/obligations/{document_id}")

    def delegated() -> Any:
        body = get(suite, "guo-xinxin", f"/obligations/{document_id}").json()
        return body if body["owner_unit"] == FINANCE else None

    body = suite.eventually(delegated)
    assert obligation.status_code == 200
    assert body["delegations"][0]["from_unit"] == PARTY_OFFICE
    assert body["delegations"][0]["delegated_by"] == "zhang-wei"
    before = suite.head_position("interpretation")
    # The obligation now lies outside the party office's subtree (issue #21: 404, not 403).
    refused(
        suite,
        draft(suite, document_id, samples.GOOD_SECTIONS, "li-na"),
        404,
        "policy.not_published",
        before,
    )
    body = {
        "document_id": document_id,
        "content": samples.interpretation_body(samples.GOOD_SECTIONS),
    }
    with client(suite, "chen-jing") as c:
        key = {"Idempotency-Key": f"draft-{document_id}"}
        first = c.post(f"{BASE}/interpretations", json=body, headers=key)
        assert first.status_code == 201, first.text
        head = suite.head_position("interpretation")
        again = c.post(f"{BASE}/interpretations", json=body, headers=key)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["interpretation_id"] == first.json()["interpretation_id"]
    assert suite.head_position("interpretation") == head


def test_after_delegation_the_old_units_draft_is_not_published__shei_qicao_shei_jiedu(
    suite: SuiteHandle,
) -> None:
    """Audit gap 1: a draft approved in the party office, then the obligation delegated to
    the finance office; neither the party office nor a township leader above both units can
    carry the old draft through, and nothing is written."""
    document_id = published_policy(suite)
    old_draft = drafted_and_approved(suite, document_id, samples.GOOD_SECTIONS)
    handover = {"to_unit": FINANCE, "reason": "补助资金部分由财政所统一解读"}
    r = post(suite, "zhang-wei", f"/obligations/{document_id}/delegate", handover)
    assert r.status_code == 200, r.text
    before = suite.head_position("interpretation")
    problem = refused(
        suite,
        post(suite, "zhang-wei", f"/interpretations/{old_draft}/publish"),
        403,
        "obligation.not_owner",
        before,
    )
    assert problem["details"]["owner_unit"] == FINANCE
    refused(
        suite,
        post(suite, "zhang-wei", f"/interpretations/{old_draft}/review", {"approve": True}),
        403,
        "obligation.not_owner",
        before,
    )
    revision = {"content": samples.interpretation_body(samples.GOOD_SECTIONS)}
    refused(
        suite,
        post(suite, "li-na", f"/interpretations/{old_draft}/revise", revision),
        403,
        "obligation.not_owner",
        before,
    )
    problem = refused(
        suite,
        post(suite, "guo-xinxin", f"/interpretations/{old_draft}/publish"),
        403,
        "interpretation.owner_changed",
        before,
    )
    assert problem["field"] == "interpretation_id"
    assert problem["details"] == {"draft_unit": PARTY_OFFICE, "owner_unit": FINANCE}
    obligation = get(suite, "guo-xinxin", f"/obligations/{document_id}").json()
    assert obligation["status"] == "open"  # no ObligationFulfilled either

    r = draft(suite, document_id, samples.GOOD_SECTIONS, "chen-jing")
    assert r.status_code == 201, r.text
    own = r.json()["interpretation_id"]
    r = post(suite, "wang-fang", f"/interpretations/{own}/review", {"approve": True})
    assert r.status_code == 200, r.text
    r = post(suite, "wang-fang", f"/interpretations/{own}/publish")
    assert r.status_code == 200, r.text
    assert r.json()["events"] == ["InterpretationPublished", "ObligationFulfilled"]


def test_a_policy_registered_by_hand_past_its_deadline_is_reported_overdue(
    suite: SuiteHandle,
) -> None:
    """The manual path for policies published outside the system; the scheduler notices."""
    published_on = (today() - timedelta(days=14)).isoformat()
    r = post(
        suite,
        "zhang-wei",
        "/policies",
        {
            "lead_unit": PARTY_OFFICE,
            "joint_units": [FINANCE],
            "title": samples.POLICY_TITLE,
            "document_number": samples.POLICY_NUMBER,
            "kind": "implementation_plan",
            "text": samples.POLICY_TEXT,
            "published_on": published_on,
        },
    )
    assert r.status_code == 201, r.text
    document_id = r.json()["document_id"]
    assert r.json()["owner_unit"] == PARTY_OFFICE  # joint document: the lead unit

    def missed() -> Any:
        body = get(suite, "zhang-wei", f"/obligations/{document_id}").json()
        return body if body.get("missed") else None

    suite.eventually(missed, timeout=30)
    overdue = get(suite, "zhang-wei", "/obligations", overdue="true").json()["items"]
    assert document_id in [o["document_id"] for o in overdue]
    rates = get(suite, "zhang-wei", "/rates", year=published_on[:4]).json()
    assert document_id in [o["document_id"] for o in rates["overdue"]]


def test_a_policy_registered_by_hand_links_no_catalog_page__shuangxiang_guanlian(
    suite: SuiteHandle,
) -> None:
    """Audit gap 3: the public views link the catalog's page only for a catalog policy; a
    policy published outside the system has none (the catalog would answer 404)."""
    r = post(
        suite,
        "zhang-wei",
        "/policies",
        {
            "lead_unit": PARTY_OFFICE,
            "title": samples.POLICY_TITLE,
            "document_number": samples.POLICY_NUMBER,
            "kind": "implementation_plan",
            "text": samples.POLICY_TEXT,
            "published_on": today().isoformat(),
        },
    )
    assert r.status_code == 201, r.text
    document_id = r.json()["document_id"]
    interpretation_id = drafted_and_approved(suite, document_id, samples.GOOD_SECTIONS)
    r = post(suite, "zhang-wei", f"/interpretations/{interpretation_id}/publish")
    assert r.status_code == 200, r.text
    with suite.client(service="interpretation") as public:

        def listed() -> Any:
            body = public.get(f"/v1/public/interpretation/policies/{document_id}").json()
            return body if body.get("interpretations") else None

        policy = suite.eventually(listed)
        assert policy["source"] == "manual" and policy["url"] is None
        one = public.get(f"/v1/public/interpretation/interpretations/{interpretation_id}")
        assert one.json()["policy"]["source"] == "manual"
        assert one.json()["policy"]["url"] is None


def test_misreading_opens_a_follow_up_stage_linked_to_the_cases__fang_an_5_1(
    suite: SuiteHandle,
) -> None:
    document_id = published_policy(suite)
    first = drafted_and_approved(suite, document_id, samples.GOOD_SECTIONS)
    assert post(suite, "zhang-wei", f"/interpretations/{first}/publish").status_code == 200
    r = post(
        suite,
        "sentiment-service",
        f"/obligations/{document_id}/follow-ups",
        {"case_ids": ["case-101", "case-102"], "reason": "群众误以为改厕补助须先垫付"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["stage"] == 2 and r.json()["case_ids"] == ["case-101", "case-102"]
    follow_up_id = r.json()["follow_up_id"]
    second = drafted_and_approved(
        suite, document_id, samples.GOOD_SECTIONS, follow_up_id=follow_up_id
    )
    r = post(suite, "zhang-wei", f"/interpretations/{second}/publish")
    assert r.status_code == 200, r.text
    assert r.json()["events"] == ["InterpretationPublished", "FollowUpFulfilled"]

    def linked() -> Any:
        body = get(suite, "zhang-wei", f"/obligations/{document_id}").json()
        done = [f for f in body["follow_ups"] if f["interpretation_id"] == second]
        return body if done else None

    body = suite.eventually(linked)
    assert body["follow_ups"][0]["case_ids"] == ["case-101", "case-102"]

    def published() -> Any:
        one = get(suite, "zhang-wei", f"/interpretations/{second}").json()
        return one if one.get("status") == "published" else None

    staged = suite.eventually(published)
    assert staged["stage"] == 2 and staged["case_ids"] == ["case-101", "case-102"]


def test_a_policy_withdrawn_in_the_catalog_cancels_the_obligation_and_refuses_publication(
    suite: SuiteHandle,
) -> None:
    document_id = published_policy(suite)
    interpretation_id = drafted_and_approved(suite, document_id, samples.GOOD_SECTIONS)
    desk = Desk(suite)
    r = desk.post(desk.final, desk.doc(document_id, "/withdraw"), {"reason": "补助标准需重新测算"})
    assert r.status_code == 200, r.text

    def cancelled() -> Any:
        body = get(suite, "zhang-wei", f"/obligations/{document_id}").json()
        return body if body["status"] == "cancelled" else None

    suite.eventually(cancelled, timeout=30)
    before = suite.head_position("interpretation")
    r = post(suite, "zhang-wei", f"/interpretations/{interpretation_id}/publish")
    refused(suite, r, 409, "policy.withdrawn", before)
    with suite.client(service="interpretation") as public:
        assert public.get(f"/v1/public/interpretation/policies/{document_id}").status_code == 404
