"""主动公开 through HTTP in both modes: 公开属性认定, 三审三校, publication, separation of duties.

Rules: DOMAIN.md §1 (方案§18 三审三校, §19 公开属性认定; 条例 Arts. 14–16, 26),
ARCHITECTURE.md "Tenancy, identity, authorization"; issue #4 "Bad input and safety".
People follow deploy/demo/district.yaml (苏店镇).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from shared.identity import Role
from tests.e2e.conftest import SuiteHandle
from tests.e2e.factories import today

SUDIAN = "shangdang/sudian"
PARTY_OFFICE = "shangdang/sudian/party-office"
FINANCE = "shangdang/sudian/finance"
HANDIAN = "shangdang/handian"


def content(**overrides: Any) -> dict[str, Any]:
    """A realistic 行政规范性文件 of 苏店镇, issued yesterday."""
    body: dict[str, Any] = {
        "title": "苏店镇人民政府关于印发《苏店镇农村人居环境整治长效管护办法》的通知",
        "body": (
            "各村（社区）、镇直各单位：\n"
            "现将《苏店镇农村人居环境整治长效管护办法》印发给你们，请认真贯彻执行。\n"
            "一、管护范围包括村内道路、公共绿地、河道沟渠和垃圾收集点。\n"
            "二、各村设立保洁员，所需经费由镇财政按每人每月八百元标准予以补助。\n"
            "三、本办法自印发之日起施行，有效期五年。"
        ),
        "attachments_text": ["附件：苏店镇农村人居环境整治考核评分表"],
        "document_number": f"苏政发〔{today().year}〕12号",
        "issue_date": (today() - timedelta(days=1)).isoformat(),
        "kind": "normative",
        "column": "rule_of_law",
    }
    body.update(overrides)
    return body


PEOPLE: dict[str, tuple[str, ...]] = {
    "li-na": (PARTY_OFFICE, Role.DRAFTER),
    "chen-jing": (FINANCE, Role.DRAFTER),
    "zhang-wei": (PARTY_OFFICE, Role.SECTION_HEAD),
    "wang-fang": (FINANCE, Role.SECTION_HEAD),
    "guo-xinxin": (SUDIAN, Role.LEADER_IN_CHARGE, Role.OPENNESS_OFFICE_HEAD),
    "wang-xiaole": (SUDIAN, Role.LEADER_IN_CHARGE),
    "tian-yiming": (SUDIAN, Role.PRINCIPAL_LEADER),
    "wang-tietong": (SUDIAN, Role.ATTRIBUTE_OFFICER, Role.REQUEST_HANDLER),
    "tang-hui": ("shangdang/handian/party-office", Role.SECTION_HEAD),
    "xu-li": (HANDIAN, Role.LEADER_IN_CHARGE, Role.OPENNESS_OFFICE_HEAD),
    # 荫城镇
    "wei-na": ("shangdang/yincheng/party-office", Role.DRAFTER),
    "ye-qing": ("shangdang/yincheng/agri-service", Role.DRAFTER),
    "ding-bo": ("shangdang/yincheng/party-office", Role.SECTION_HEAD),
    "jiang-hong": ("shangdang/yincheng", Role.LEADER_IN_CHARGE, Role.OPENNESS_OFFICE_HEAD),
    "lu-bin": ("shangdang/yincheng", Role.PRINCIPAL_LEADER),
    "cai-ming": ("shangdang/yincheng", Role.ATTRIBUTE_OFFICER, Role.REQUEST_HANDLER),
}


@dataclass
class Desk:
    """The people of one township who carry a document from draft to publication."""

    suite: SuiteHandle
    drafter: str = "li-na"
    first: str = "chen-jing"
    second: str = "zhang-wei"
    final: str = "guo-xinxin"
    officer: str = "wang-tietong"
    signer: str = "wang-xiaole"

    @classmethod
    def yincheng(cls, suite: SuiteHandle) -> Desk:
        return cls(suite, "wei-na", "ye-qing", "ding-bo", "jiang-hong", "cai-ming", "lu-bin")

    def as_(self, person: str) -> httpx.Client:
        org, *roles = PEOPLE[person]
        token = self.suite.token(person, org, *(Role(r) for r in roles))
        return self.suite.client(token, service="catalog")

    def post(self, person: str, path: str, body: dict[str, Any]) -> httpx.Response:
        with self.as_(person) as c:
            return c.post(path, json=body)

    def get(self, person: str, path: str, **params: Any) -> httpx.Response:
        with self.as_(person) as c:
            return c.get(path, params=params)

    def draft(self, drafter: str | None = None, **overrides: Any) -> str:
        r = self.post(
            drafter or self.drafter, "/v1/catalog/documents", {"content": content(**overrides)}
        )
        assert r.status_code == 201, r.text
        return str(r.json()["document_id"])

    def doc(self, document_id: str, path: str = "") -> str:
        return f"/v1/catalog/documents/{document_id}{path}"

    def decide_attribute(self, document_id: str, attribute: str = "proactive") -> None:
        ground = None if attribute == "proactive" else "art15_personal_privacy"
        body = {"attribute": attribute, "legal_ground": ground, "reason": "依法认定"}
        for person, path, payload in (
            (self.drafter, "/attribute/proposal", body),
            (self.officer, "/attribute/check", {"agrees": True}),
            (self.signer, "/attribute/decision", body),
        ):
            r = self.post(person, self.doc(document_id, path), payload)
            assert r.status_code == 200, r.text

    def review(self, person: str, document_id: str, stage: str) -> httpx.Response:
        return self.post(
            person,
            self.doc(document_id, "/reviews"),
            {"stage": stage, "outcome": "pass", "proofreading": {"signed": True, "corrections": 1}},
        )

    def three_reviews(self, document_id: str) -> None:
        for person, stage in (
            (self.first, "first_review"),
            (self.second, "second_review"),
            (self.final, "final_review"),
        ):
            r = self.review(person, document_id, stage)
            assert r.status_code == 200, r.text

    def publish(self, document_id: str, *channels: str) -> httpx.Response:
        body = {"channels": list(channels or ("website", "new_media"))}
        return self.post(self.final, self.doc(document_id, "/publish"), body)

    def published(self, **overrides: Any) -> tuple[str, dict[str, Any]]:
        document_id = self.draft(**overrides)
        self.decide_attribute(document_id)
        self.three_reviews(document_id)
        r = self.publish(document_id)
        assert r.status_code == 200, r.text
        return document_id, r.json()


def refused(
    suite: SuiteHandle, response: httpx.Response, status: int, rule: str, before: int
) -> None:
    """A refusal: problem+json naming the rule, and no event written."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["rule"] == rule, response.json()
    assert suite.head_position("catalog") == before


def test_document_passes_attribute_and_three_reviews_then_is_published_and_in_the_ledger__s18(
    suite: SuiteHandle,
) -> None:
    desk = Desk(suite)
    document_id, published = desk.published()
    # Art. 26: 20 working days from the issue date; published the day after issue: on time.
    assert published["late"] is False
    assert published["publication_due"] > (today() - timedelta(days=1)).isoformat()
    assert len(published["content_hash"]) == 64
    doc = desk.get("li-na", desk.doc(document_id)).json()
    assert doc["status"] == "published"
    assert doc["attribute"]["attribute"] == "proactive"
    assert doc["reviews"]["final_review"]["reviewer"] == "guo-xinxin"
    assert doc["channels"] == {"new_media": "pending", "website": "published"}
    assert doc["needs_interpretation"] is True

    def ledger_row() -> dict[str, Any] | None:
        items = desk.get("zhang-wei", "/v1/catalog/ledger", tenant=SUDIAN).json()["items"]
        return next((i for i in items if i["document_id"] == document_id), None)

    row = suite.eventually(ledger_row)
    assert row["title"].startswith("苏店镇人民政府关于印发")
    assert row["publisher"] == "guo-xinxin"
    assert (row["first_reviewer"], row["second_reviewer"], row["final_reviewer"]) == (
        "chen-jing",
        "zhang-wei",
        "guo-xinxin",
    )
    assert row["drafter"] == "li-na" and row["published_at"]


def test_publish_without_all_three_stages_is_refused_and_writes_nothing__s18(
    suite: SuiteHandle,
) -> None:
    desk = Desk(suite)
    document_id = desk.draft()
    desk.decide_attribute(document_id)
    assert desk.review("chen-jing", document_id, "first_review").status_code == 200
    assert desk.review("zhang-wei", document_id, "second_review").status_code == 200
    before = suite.head_position("catalog")
    refused(suite, desk.publish(document_id), 409, "publish.review_incomplete", before)
    # Levels go in order: no final review before the second, no second before the first.
    other = desk.draft()
    desk.decide_attribute(other)
    before = suite.head_position("catalog")
    r = desk.review("zhang-wei", other, "second_review")
    refused(suite, r, 409, "review.out_of_order", before)


def test_reviewer_may_not_review_own_draft_nor_hold_two_stages__separation_of_duties(
    suite: SuiteHandle,
) -> None:
    desk = Desk(suite, drafter="chen-jing", first="li-na")  # the drafter proposes the attribute
    document_id = desk.draft()
    desk.decide_attribute(document_id)
    before = suite.head_position("catalog")
    r = desk.review("chen-jing", document_id, "first_review")
    refused(suite, r, 403, "duty.same_person", before)
    assert desk.review("li-na", document_id, "first_review").status_code == 200
    # li-na now holds 初审; the same person with a section-head role may not also 复审.
    token = suite.token("li-na", PARTY_OFFICE, Role.SECTION_HEAD)
    with suite.client(token, service="catalog") as c:
        r = c.post(
            desk.doc(document_id, "/reviews"),
            json={"stage": "second_review", "outcome": "pass", "proofreading": {"signed": True}},
        )
    refused(suite, r, 403, "duty.same_person", before + 1)
    # And a stage needs its role: a drafter cannot 复审.
    r = desk.review("chen-jing", document_id, "second_review")
    refused(suite, r, 403, "role.missing", before + 1)


def test_reviser_of_a_draft_may_not_review_it__separation_of_duties(suite: SuiteHandle) -> None:
    desk = Desk(suite)
    document_id = desk.draft()
    revised = content(body=content()["body"] + "\n四、各村须于每月五日前报送上月管护台账。")
    r = desk.post("chen-jing", desk.doc(document_id, "/revisions"), {"content": revised})
    assert r.status_code == 200, r.text
    history = desk.get(desk.drafter, desk.doc(document_id, "/revisions")).json()["items"]
    assert [h["by"] for h in history] == ["li-na", "chen-jing"]
    desk.decide_attribute(document_id)
    before = suite.head_position("catalog")
    r = desk.review("chen-jing", document_id, "first_review")
    refused(suite, r, 403, "duty.same_person", before)


def test_fourth_review_of_an_approved_update_is_refused_not_a_crash__s18(
    suite: SuiteHandle,
) -> None:
    desk = Desk(suite)
    document_id, _ = desk.published()
    old = desk.get(desk.drafter, desk.doc(document_id)).json()["content"]
    new = {**old, "body": old["body"].replace("八百元", "九百元")}
    r = desk.post(
        desk.drafter,
        desk.doc(document_id, "/revisions"),
        {"content": new, "reason": "调整保洁员补助标准"},
    )
    assert r.status_code == 200, r.text
    desk.three_reviews(document_id)
    before = suite.head_position("catalog")
    r = desk.review("tian-yiming", document_id, "final_review")
    refused(suite, r, 409, "review.not_in_review", before)
    assert desk.publish(document_id).status_code == 200


def test_pass_without_proofreading_sign_off_is_refused__s18(suite: SuiteHandle) -> None:
    desk = Desk(suite)
    document_id = desk.draft()
    desk.decide_attribute(document_id)
    before = suite.head_position("catalog")
    for proofreading in ({"signed": False, "corrections": 2}, None):
        body: dict[str, Any] = {"stage": "first_review", "outcome": "pass"}
        if proofreading is not None:
            body["proofreading"] = proofreading
        r = desk.post(desk.first, desk.doc(document_id, "/reviews"), body)
        refused(suite, r, 422, "review.proofreading_required", before)
        assert r.json()["field"] == "proofreading.signed"


def test_rejection_without_comments_is_refused__s18(suite: SuiteHandle) -> None:
    desk = Desk(suite)
    document_id = desk.draft()
    desk.decide_attribute(document_id)
    before = suite.head_position("catalog")
    for comments in (None, "  ", "差"):
        body = {"stage": "first_review", "outcome": "reject", "comments": comments}
        r = desk.post(desk.first, desk.doc(document_id, "/reviews"), body)
        refused(suite, r, 422, "review.comments_required", before)
        assert r.json()["field"] == "comments"


def test_withdrawal_without_reason_is_refused__s13(suite: SuiteHandle) -> None:
    desk = Desk(suite)
    document_id, _ = desk.published()
    before = suite.head_position("catalog")
    r = desk.post(desk.final, desk.doc(document_id, "/withdraw"), {})
    refused(suite, r, 422, "schema.missing", before)
    assert r.json()["field"] == "reason"
    r = desk.post(desk.final, desk.doc(document_id, "/withdraw"), {"reason": "   "})
    refused(suite, r, 422, "schema.string_too_short", before)
    assert desk.get(desk.drafter, desk.doc(document_id)).json()["status"] == "published"


def test_sensitive_document_final_review_is_the_principal_leaders_alone__s18(
    suite: SuiteHandle,
) -> None:
    desk = Desk(suite)
    document_id = desk.draft(sensitive=True, title="苏店镇关于信访积案化解工作的实施意见")
    desk.decide_attribute(document_id)
    assert desk.review(desk.first, document_id, "first_review").status_code == 200
    assert desk.review(desk.second, document_id, "second_review").status_code == 200
    before = suite.head_position("catalog")
    r = desk.review("guo-xinxin", document_id, "final_review")  # 分管领导: not enough
    refused(suite, r, 403, "role.missing", before)
    assert desk.review("tian-yiming", document_id, "final_review").status_code == 200
    assert desk.publish(document_id).status_code == 200
    doc = desk.get(desk.drafter, desk.doc(document_id)).json()
    assert doc["reviews"]["final_review"]["reviewer"] == "tian-yiming"


def test_attribute_other_than_proactive_needs_its_legal_ground__art14_16(
    suite: SuiteHandle,
) -> None:
    desk = Desk(suite)
    document_id = desk.draft()
    before = suite.head_position("catalog")
    r = desk.post("li-na", desk.doc(document_id, "/attribute/proposal"), {"attribute": "withheld"})
    refused(suite, r, 422, "attribute.legal_ground_required", before)
    assert r.json()["field"] == "legal_ground"
    # The signer decides only after the office checked the proposal.
    r = desk.post(
        "wang-xiaole", desk.doc(document_id, "/attribute/decision"), {"attribute": "proactive"}
    )
    refused(suite, r, 409, "attribute.not_checked", before)


def test_draft_without_decided_attribute_cannot_enter_review__s19(suite: SuiteHandle) -> None:
    desk = Desk(suite)
    document_id = desk.draft()
    before = suite.head_position("catalog")
    r = desk.review("chen-jing", document_id, "first_review")
    refused(suite, r, 409, "review.attribute_undecided", before)


def test_another_townships_document_is_not_found_and_untouched__tenancy(
    suite: SuiteHandle,
) -> None:
    desk = Desk(suite)
    document_id = desk.draft()
    desk.decide_attribute(document_id)
    before = suite.head_position("catalog")
    r = desk.review("tang-hui", document_id, "first_review")
    refused(suite, r, 404, "document.not_found", before)
    assert desk.get("xu-li", desk.doc(document_id)).status_code == 404
    r = desk.post("xu-li", desk.doc(document_id, "/withdraw"), {"reason": "测试"})
    refused(suite, r, 404, "document.not_found", before)
    # Drafting in another township's unit is refused outright.
    r = desk.post(
        "li-na",
        "/v1/catalog/documents",
        {"drafting_unit": "shangdang/handian/party-office", "content": content()},
    )
    refused(suite, r, 403, "org.outside_subtree", before)


def test_rejection_returns_to_draft_with_comments_and_every_stage_starts_over__s18(
    suite: SuiteHandle,
) -> None:
    desk = Desk(suite)
    document_id = desk.draft()
    desk.decide_attribute(document_id)
    desk.review("chen-jing", document_id, "first_review")
    r = desk.post(
        "zhang-wei",
        desk.doc(document_id, "/reviews"),
        {"stage": "second_review", "outcome": "reject", "comments": "补贴标准缺少文件依据"},
    )
    assert r.status_code == 200, r.text
    doc = desk.get("li-na", desk.doc(document_id)).json()
    assert doc["status"] == "draft" and doc["reviews"] == {} and doc["next_stage"] == "first_review"
    revised = content(body=content()["body"] + "\n依据：《山西省农村人居环境整治条例》。")
    r = desk.post("li-na", desk.doc(document_id, "/revisions"), {"content": revised})
    assert r.status_code == 200 and r.json()["revision"] == 2
    desk.three_reviews(document_id)
    assert desk.publish(document_id).status_code == 200


def test_late_publication_is_flagged_after_twenty_working_days__art26(suite: SuiteHandle) -> None:
    desk = Desk(suite)
    issued = today() - timedelta(days=60)
    _, published = desk.published(
        issue_date=issued.isoformat(), kind="work_news", column="work_news"
    )
    assert published["late"] is True
    assert published["publication_due"] < today().isoformat()


def test_each_channel_has_its_own_status__s12(suite: SuiteHandle) -> None:
    desk = Desk(suite)
    document_id, _ = desk.published()
    r = desk.post("li-na", desk.doc(document_id, "/channels/new_media"), {"status": "published"})
    assert r.status_code == 200, r.text
    before = suite.head_position("catalog")
    r = desk.post("li-na", desk.doc(document_id, "/channels/e_screen"), {"status": "published"})
    refused(suite, r, 409, "channel.not_used", before)
    channels = desk.get("li-na", desk.doc(document_id)).json()["channels"]
    assert channels == {"new_media": "published", "website": "published"}


def test_unpublished_document_past_twenty_working_days_is_recorded_once__art26(
    suite: SuiteHandle,
) -> None:
    desk = Desk(suite)
    issued = (today() - timedelta(days=60)).isoformat()
    document_id = desk.draft(issue_date=issued, title="苏店镇2026年第一季度财政收支情况")
    desk.decide_attribute(document_id)

    def flagged() -> list[dict[str, Any]] | None:
        r = desk.post(desk.final, "/v1/catalog/deadline-checks", {})
        assert r.status_code == 200, r.text
        found = [f for f in r.json()["flagged"] if f["document_id"] == document_id]
        return found or None

    (event,) = suite.eventually(flagged)
    assert event["issue_date"] == issued and event["publication_due"] < today().isoformat()
    before = suite.head_position("catalog")
    assert desk.post(desk.final, "/v1/catalog/deadline-checks", {}).json()["flagged"] == []
    assert suite.head_position("catalog") == before
    overdue = desk.get(desk.final, "/v1/catalog/overdue").json()["items"]
    assert document_id in {i["document_id"] for i in overdue}
    # A unit's drafter may not run the township's sweep.
    r = desk.post(desk.drafter, "/v1/catalog/deadline-checks", {})
    refused(suite, r, 403, "org.outside_subtree", before)


def test_idempotency_key_replays_and_stale_if_match_is_refused(suite: SuiteHandle) -> None:
    desk = Desk(suite)
    with desk.as_(desk.drafter) as c:
        before = suite.head_position("catalog")
        first = c.post(
            "/v1/catalog/documents", json={"content": content()}, headers={"Idempotency-Key": "k-1"}
        )
        again = c.post(
            "/v1/catalog/documents", json={"content": content()}, headers={"Idempotency-Key": "k-1"}
        )
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["document_id"] == first.json()["document_id"]
    assert suite.head_position("catalog") == before + 2  # drafted + privacy scan, once
    document_id = first.json()["document_id"]
    assert first.headers["ETag"] == '"2"'
    body = {"attribute": "proactive"}
    with desk.as_(desk.drafter) as c:
        ok = c.post(
            desk.doc(document_id, "/attribute/proposal"), json=body, headers={"If-Match": '"2"'}
        )
        assert ok.status_code == 200 and ok.headers["ETag"] == '"3"'
        stale = c.post(
            desk.doc(document_id, "/attribute/proposal"), json=body, headers={"If-Match": '"2"'}
        )
    refused(suite, stale, 412, "if_match.stale", before + 3)
