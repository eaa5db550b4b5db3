"""Reply type (一) 已主动公开 from the catalog's publications (条例 Art. 36(一); DOMAIN.md §2;
issue #3 "suggest reply type (一) with its link"): the matching, the reply's link, the v1→v2
upcast of RequestReplied."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

import pytest

from services.applications import domain, matching
from services.applications.events import ReplyType, RequestReplied, RequestRepliedV1, registry
from services.applications.replies import PublicDocument
from shared.envelope import Actor, RecordedEvent, new_id
from shared.errors import ValidationFailed
from shared.registry import payload_of
from tests.unit.test_applications_lifecycle import registered, reply_cmd

LOW_INCOME = "苏店镇2026年农村低保资金发放情况公示"
LOW_INCOME_BODY = (
    "经村民代表评议、镇人民政府审核，现将2026年第一季度农村最低生活保障资金发放情况予以公示。"
)
HOUSING = "苏店镇农村危房改造补助资金发放名单"
DOC = UUID("01936f0e-7c1b-7000-8000-0000000000e1")


def candidates(*docs: tuple[str, str, str]) -> list[matching.Candidate]:
    """(id, title, body) -> candidates holding the description terms their text contains."""
    return [
        matching.Candidate(document_id=i, title=t, matched=frozenset(matching.terms_of(t + b)))
        for i, t, b in docs
    ]


def test_the_description_terms_leave_out_the_request_boilerplate__art36_1() -> None:
    terms = matching.request_terms("申请公开苏店镇2026年农村低保资金的发放情况")
    assert "申请" not in terms and "公开" not in terms and "情况" not in terms
    assert {"苏店", "低保", "资金", "发放", "2026"} <= set(terms)
    # Lone characters are never terms: too common to mean anything.
    assert all(len(t) > 1 or t.isascii() for t in matching.terms_of("镇 的 2026 a"))


def test_the_document_that_answers_the_request_ranks_first_and_explains_why__art36_1() -> None:
    terms = matching.request_terms("请提供苏店镇2026年农村低保资金发放情况")
    docs = candidates(
        ("low-income", LOW_INCOME, LOW_INCOME_BODY),
        ("housing", HOUSING, "危房改造补助对象名单如下。"),
        ("environment", "苏店镇农村人居环境整治长效管护办法", "管护范围包括村内道路。"),
    )
    found = matching.rank(terms, docs)
    assert [m.document_id for m in found] == ["low-income"]
    best = found[0]
    assert best.score == 1.0 and not best.missing_terms
    assert set(best.title_terms) >= {"低保", "资金", "发放"}
    assert best.explanation.startswith(f"申请描述的 {len(terms)} 个检索词中有 {len(terms)} 个")
    assert "低保" in best.explanation


def test_a_partly_matching_document_is_scored_by_its_share_and_names_the_missing_terms() -> None:
    terms = matching.request_terms("苏店镇农村危房改造补助资金发放名单")
    (housing, other) = candidates(
        ("housing", HOUSING, ""), ("low-income", LOW_INCOME, LOW_INCOME_BODY)
    )
    assert matching.score(terms, housing).score == 1.0
    partial = matching.score(terms, other)
    assert 0 < partial.score < matching.MIN_COVERAGE
    assert "危房" in partial.missing_terms and "未出现：" in partial.explanation
    assert matching.rank(terms, [other]) == []
    assert matching.rank([], [housing]) == []


def test_term_hits_of_the_index_group_into_candidates() -> None:
    found = matching.candidates_from_rows(
        {"a": "低保", "b": "危房"}, [("a", "低保"), ("a", "资金"), ("b", "危房")]
    )
    by_id = {c.document_id: c for c in found}
    assert by_id["a"].matched == {"低保", "资金"} and by_id["b"].title == "危房"


def published() -> PublicDocument:
    return PublicDocument(
        document_id=DOC, title=LOW_INCOME, link=f"/v1/public/catalog/documents/{DOC}"
    )


def test_reply_already_public_names_the_document_and_its_link_is_the_location__art36_1() -> None:
    state = registered()
    cmd = reply_cmd(reply_type="already_public", public_document_id=str(DOC))
    event = domain.reply(state, cmd, date(2026, 3, 2), published())
    assert event.public_document_id == DOC and event.report_row == "三(一)"
    assert event.location == f"{LOW_INCOME}：/v1/public/catalog/documents/{DOC}"
    # A location the handler wrote is kept.
    own = reply_cmd(reply_type="already_public", public_document_id=str(DOC), location="镇政务大厅")
    assert domain.reply(state, own, date(2026, 3, 2), published()).location == "镇政务大厅"


@pytest.mark.parametrize(
    ("body", "found", "rule"),
    [
        ({"reply_type": "disclosed"}, True, "reply.document_not_applicable"),
        ({"reply_type": "already_public"}, False, "reply.document_not_public"),
    ],
)
def test_a_linked_document_must_be_published_and_the_reply_already_public__art36_1(
    body: dict[str, str], found: bool, rule: str
) -> None:
    cmd = reply_cmd(**body, public_document_id=str(DOC))
    with pytest.raises(ValidationFailed) as caught:
        domain.reply(registered(), cmd, date(2026, 3, 2), published() if found else None)
    assert caught.value.rule == rule and caught.value.field == "public_document_id"
    assert caught.value.message_zh and caught.value.message_en


def test_already_public_without_a_document_still_needs_a_location__art36_1() -> None:
    with pytest.raises(ValidationFailed) as caught:
        domain.reply(registered(), reply_cmd(reply_type="already_public"), date(2026, 3, 2))
    assert caught.value.rule == "reply.location_required"


def test_a_v1_reply_reads_as_v2_without_a_document() -> None:
    old = RequestRepliedV1(
        request_id=DOC,
        reply_type=ReplyType.already_public,
        location="http://www.shangdang.gov.cn/xxgk",
        replied_on=date(2026, 3, 2),
        report_row="三(一)",
    )
    now = datetime.now(UTC)
    recorded = RecordedEvent(
        event_id=new_id(),
        stream_id=f"request-{DOC}",
        stream_type="request",
        version=2,
        position=2,
        type="RequestReplied",
        schema_version=1,
        tenant="shangdang/sudian",
        actor=Actor(id="wang-tietong"),
        correlation_id=new_id(),
        causation_id=None,
        occurred_at=now,
        recorded_at=now,
        payload=payload_of(old),
    )
    decoded = registry.decode(recorded)
    assert isinstance(decoded, RequestReplied)
    assert decoded.public_document_id is None
    assert decoded.location == "http://www.shangdang.gov.cn/xxgk"
