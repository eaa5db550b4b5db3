"""误读政策 → 跟踪解读, through HTTP in both modes (embedded; Kafka + PostgreSQL processes).

DOMAIN.md §3 (follow up in stages as new questions arise) and §4 (misreading of a policy
feeds a follow-up interpretation); 方案§17 (误读政策 is an urgent class), §五(一)
(对误解误读及时解读回应). A 实施方案 is published through the catalog's 三审三校; a citizen
misreads it on the message board; the opinion officer sees the policy suggested with the
reasons, links the case to it; the interpretation service opens a follow-up stage naming
the case; the case shows that stage, and its fulfilment once the follow-up is published.
No service reads another's tables: catalog → sentiment, sentiment → interpretation and
interpretation → sentiment travel as events.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from services.interpretation import samples
from shared.identity import Role
from tests.e2e.conftest import SuiteHandle
from tests.e2e.factories import today
from tests.e2e.test_catalog_workflow import Desk
from tests.e2e.test_interpretation_api import drafted_and_approved, get, post

SUDIAN = "shangdang/sudian"
SENTIMENT = "sentiment"


def officer(suite: SuiteHandle) -> httpx.Client:
    token = suite.token("liu-yang", SUDIAN, Role.OPINION_OFFICER)
    return suite.client(token, service=SENTIMENT)


def published_plan(suite: SuiteHandle) -> tuple[str, str]:
    """The 改厕 实施方案 with a 文号 of its own; returns (document id, 文号) once the
    interpretation obligation is open."""
    number = f"苏政发〔{today().year}〕{uuid.uuid4().int % 90000 + 10000}号"
    document_id, _ = Desk(suite).published(
        title=samples.POLICY_TITLE,
        body=samples.POLICY_TEXT,
        attachments_text=[],
        kind="implementation_plan",
        document_number=number,
    )

    def opened() -> Any:
        r = get(suite, "zhang-wei", f"/obligations/{document_id}")
        return r.status_code == 200

    suite.eventually(opened, timeout=40)
    return document_id, number


def misreading_case(suite: SuiteHandle, number: str) -> dict[str, Any]:
    text = (
        f"网传{number}文件规定，改厕必须自己先垫钱，补助1200元要等验收以后才发，"
        "而且只给水冲式厕所补助，是真的吗？这个政策到底怎么理解？"
    )
    with officer(suite) as c:
        r = c.post(
            "/v1/messages",
            json={"source": "message_board", "title": "改厕补助要先垫钱？", "text": text},
        )
    assert r.status_code == 201, r.text
    return dict(r.json())


def case_view(suite: SuiteHandle, case_id: str) -> dict[str, Any]:
    with officer(suite) as c:
        r = c.get(f"/v1/opinion-cases/{case_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_misread_policy_is_suggested_linked_and_gets_a_follow_up_interpretation__s17_s5_1(
    suite: SuiteHandle,
) -> None:
    document_id, number = published_plan(suite)
    received = misreading_case(suite, number)
    case_id = received["case_id"]
    assert "policy_misreading" in received["classification"]["urgency_classes"]

    # The catalog's publication reached the sentiment service: the policy is suggested first,
    # with the reason (its 文号 in the message), and the classifier's own reasons.
    def suggested() -> Any:
        with officer(suite) as c:
            r = c.get(f"/v1/opinion-cases/{case_id}/policy-suggestions")
        if r.status_code != 200:
            return None
        body = r.json()
        return body if body["suggestions"] else None

    hint = suite.eventually(suggested)
    assert hint["classified_misreading"] is True
    assert any(reason.startswith("误读政策:") for reason in hint["urgency_reasons"])
    top = hint["suggestions"][0]
    assert (top["document_id"], top["score"]) == (document_id, 1.0)
    assert top["reasons"] == [f"文号：{number}"]

    # Bad input: an unknown document, and someone without the role; nothing written.
    before = suite.head_position(SENTIMENT)
    with officer(suite) as c:
        r = c.post(
            f"/v1/opinion-cases/{case_id}/policy-link",
            json={"document_id": str(uuid.uuid4()), "misreading": "误以为改厕须先垫付"},
        )
    assert r.status_code == 422 and r.json()["rule"] == "policy_link.document_unknown", r.text
    assert r.json()["field"] == "document_id"
    # A township drafter sees the case but lacks the role (403); a unit's drafter, outside
    # the case's township and not its assigned unit, does not see it at all (404, issue #21).
    for org, status in ((SUDIAN, 403), (f"{SUDIAN}/party-office", 404)):
        drafter = suite.token("li-na", org, Role.DRAFTER)
        with suite.client(drafter, service=SENTIMENT) as c:
            r = c.post(
                f"/v1/opinion-cases/{case_id}/policy-link",
                json={"document_id": document_id, "misreading": "误以为改厕须先垫付"},
            )
        assert r.status_code == status, r.text
    assert suite.written_since(SENTIMENT, before) == []

    misreading = "群众误以为改厕须先自行垫付、补助仅限水冲式厕所"
    with officer(suite) as c:
        r = c.post(
            f"/v1/opinion-cases/{case_id}/policy-link",
            json={"document_id": document_id, "misreading": misreading},
        )
        assert r.status_code == 200, r.text
        linked = r.json()
        again = c.post(
            f"/v1/opinion-cases/{case_id}/policy-link",
            json={"document_id": document_id, "misreading": misreading},
        )
    assert linked["event_type"] == "PolicyMisreadingReported"
    assert linked["classified_misreading"] is True and linked["match_score"] == 1.0
    assert again.status_code == 409 and again.json()["rule"] == "policy_link.duplicate"

    # The interpretation service consumed the link and opened stage 2 naming the case.
    def staged() -> Any:
        body = get(suite, "zhang-wei", f"/obligations/{document_id}").json()
        return body["follow_ups"] or None

    (follow_up,) = suite.eventually(staged, timeout=40)
    assert follow_up["case_ids"] == [case_id] and follow_up["stage"] == 2
    assert misreading in follow_up["reason"]

    # The case points to the follow-up (interpretation's events, back in sentiment).
    def pointed() -> Any:
        links = case_view(suite, case_id)["policy_links"]
        return links if links and links[0]["follow_up"] else None

    (link,) = suite.eventually(pointed)
    assert link["document_id"] == document_id and link["document_number"] == number
    assert link["misreading"] == misreading
    assert link["follow_up"]["follow_up_id"] == follow_up["follow_up_id"]
    assert link["follow_up"]["status"] == "requested" and link["follow_up"]["stage"] == 2
    assert link["follow_up"]["obligation_url"] == f"/v1/interpretation/obligations/{document_id}"
    assert "误读政策·请求跟踪解读" in [s["step"] for s in case_view(suite, case_id)["steps"]]

    # The drafting unit publishes the follow-up interpretation: the case shows it fulfilled.
    second = drafted_and_approved(
        suite, document_id, samples.GOOD_SECTIONS, follow_up_id=follow_up["follow_up_id"]
    )
    r = post(suite, "zhang-wei", f"/interpretations/{second}/publish")
    assert r.status_code == 200, r.text

    def fulfilled() -> Any:
        (one,) = case_view(suite, case_id)["policy_links"]
        return one if one["follow_up"]["status"] == "fulfilled" else None

    done = suite.eventually(fulfilled)
    assert done["follow_up"]["interpretation_id"] == second
    assert done["follow_up"]["interpretation_url"] == (
        f"/v1/public/interpretation/interpretations/{second}"
    )


def test_a_second_case_on_the_same_misreading_joins_the_pending_stage__s5_1(
    suite: SuiteHandle,
) -> None:
    """Two cases, one stage: a case linked while the stage is not yet interpreted joins it
    (FollowUpCasesAdded), so the unit answers the misreading once."""
    document_id, number = published_plan(suite)
    cases = []
    for text in (
        f"听说{number}规定改厕补助只给水冲式厕所，旱厕不给补助，是不是真的？",
        "村干部说改厕的钱要我们先全部垫上，验收完才返还，家里老人拿不出，到底怎么理解？",
    ):
        with officer(suite) as c:
            r = c.post("/v1/messages", json={"source": "mailbox", "text": text})
        assert r.status_code == 201, r.text
        cases.append(r.json()["case_id"])
    assert cases[0] != cases[1]

    def link(case_id: str) -> None:
        def known() -> Any:
            with officer(suite) as c:
                r = c.post(
                    f"/v1/opinion-cases/{case_id}/policy-link",
                    json={"document_id": document_id, "misreading": "误以为旱厕不给补助"},
                )
            if r.status_code == 422 and r.json()["rule"] == "policy_link.document_unknown":
                return None  # the catalog's event has not reached sentiment yet
            assert r.status_code == 200, r.text
            return True

        suite.eventually(known)

    link(cases[0])

    def staged(count: int) -> Any:
        body = get(suite, "zhang-wei", f"/obligations/{document_id}").json()
        items = body["follow_ups"]
        return items if items and len(items[0]["case_ids"]) == count else None

    suite.eventually(lambda: staged(1), timeout=40)
    link(cases[1])
    (stage,) = suite.eventually(lambda: staged(2), timeout=40)
    assert sorted(stage["case_ids"]) == sorted(cases) and stage["stage"] == 2
    history = get(suite, "zhang-wei", f"/obligations/{document_id}").json()
    assert len(history["follow_ups"]) == 1
