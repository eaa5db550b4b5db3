"""The document rules as pure functions (DOMAIN.md §1; 方案§18, §19; 条例 Arts. 14–16, 26)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

import pytest

from services.catalog import domain, gazette, views
from services.catalog.columns import SEED_COLUMNS, Column, health, health_event, merge
from services.catalog.commands import (
    CheckAttribute,
    DetermineAttribute,
    JustifyFinding,
    Proofreading,
    ProposeAttribute,
    PublishDocument,
    RecordReview,
    RepealDocument,
    SetValidityPeriod,
)
from services.catalog.events import (
    DisclosureAttribute,
    DocumentContent,
    DocumentKind,
    DocumentRevised,
    GazetteIssuePublished,
    LegalGround,
    PublicationChannel,
    ReviewStage,
    registry,
)
from services.catalog.search import index_terms, query_terms
from shared.errors import DomainRuleViolated, ValidationFailed
from shared.registry import DomainEvent
from shared.tenancy import Role
from shared.workdays import WorkdayCalendar

pytestmark = pytest.mark.unit

DOC = UUID("01936f0e-7c1a-7b3e-9d42-5a1e0c2f8b01")
NOW = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
CALENDAR = WorkdayCalendar.default()


def content(**overrides: object) -> DocumentContent:
    base: dict[str, object] = {
        "title": "苏店镇关于做好2026年春耕生产工作的实施方案",
        "body": "为切实做好春耕生产，确保粮食稳产增产，制定本方案。",
        "issue_date": date(2026, 2, 10),
        "kind": DocumentKind.implementation_plan,
        "column": "work_news",
    }
    base.update(overrides)
    return DocumentContent.model_validate(base)


def fold(
    events: list[DomainEvent], state: domain.DocumentState | None = None
) -> domain.DocumentState:
    state = state or domain.DocumentState()
    for event in events:
        state = domain.evolve(state, event)
    return state


def drafted(**overrides: object) -> domain.DocumentState:
    return fold(
        domain.draft(
            document_id=DOC,
            township="shangdang/sudian",
            drafting_unit="shangdang/sudian/party-office",
            drafting_unit_name="苏店镇党政办公室",
            drafter="li-na",
            content=content(**overrides),
        )
    )


def decided(state: domain.DocumentState) -> domain.DocumentState:
    p = ProposeAttribute(attribute=DisclosureAttribute.proactive)
    state = fold([domain.propose(state, p, "li-na")], state)
    state = fold([domain.check(state, CheckAttribute(agrees=True), "wang-tietong")], state)
    d = DetermineAttribute(attribute=DisclosureAttribute.proactive)
    return fold([domain.determine(state, d, "wang-xiaole")], state)


def passed(state: domain.DocumentState) -> domain.DocumentState:
    for stage, person in zip(domain.STAGES, ("chen-jing", "zhang-wei", "guo-xinxin"), strict=True):
        cmd = RecordReview(stage=stage, outcome="pass", proofreading=Proofreading(signed=True))
        state = fold([domain.review(state, cmd, person)], state)
    return state


def publish(state: domain.DocumentState, today: date = date(2026, 3, 1)) -> DomainEvent:
    cmd = PublishDocument(channels=[PublicationChannel.website])
    return domain.publish(
        state, cmd, publisher="guo-xinxin", now=NOW, today=today, calendar=CALENDAR
    )


def test_published_event_carries_what_interpretation_and_assessment_need__art26() -> None:
    event = publish(passed(decided(drafted())))
    payload = event.model_dump(mode="json")
    for key in (
        "document_id",
        "township",
        "drafting_unit",
        "kind",
        "title",
        "issue_date",
        "published_at",
        "needs_interpretation",
        "channels",
        "content_hash",
    ):
        assert key in payload
    assert payload["needs_interpretation"] is True  # 实施方案
    # DOMAIN.md §2's worked example: 2026-02-10 + 20 working days (春节) = 2026-03-16.
    assert payload["publication_due"] == "2026-03-16"
    assert payload["late"] is False


def test_publication_after_the_twentieth_working_day_is_flagged_late__art26() -> None:
    due = CALENDAR.add_workdays(date(2026, 2, 10), 20).due
    event = publish(passed(decided(drafted())), today=date.fromordinal(due.toordinal() + 1))
    assert event.model_dump()["late"] is True


def test_non_proactive_attribute_without_legal_ground_is_refused__art14_16() -> None:
    state = drafted()
    for attribute in ("on_request", "withheld", "redacted"):
        with pytest.raises(ValidationFailed) as err:
            domain.propose(state, ProposeAttribute(attribute=attribute), "li-na")
        assert err.value.rule == "attribute.legal_ground_required"
    ok = ProposeAttribute(attribute="withheld", legal_ground=LegalGround.art16_process_information)
    assert domain.propose(state, ok, "li-na")


def test_review_needs_a_decided_attribute_and_goes_in_order__s18_s19() -> None:
    cmd = RecordReview(
        stage=ReviewStage.first_review, outcome="pass", proofreading=Proofreading(signed=True)
    )
    with pytest.raises(DomainRuleViolated) as err:
        domain.review(drafted(), cmd, "chen-jing")
    assert err.value.rule == "review.attribute_undecided"
    later = cmd.model_copy(update={"stage": ReviewStage.final_review})
    with pytest.raises(DomainRuleViolated) as err:
        domain.review(decided(drafted()), later, "guo-xinxin")
    assert err.value.rule == "review.out_of_order"


def test_each_level_needs_its_proofreading_sign_off__s18() -> None:
    cmd = RecordReview(stage=ReviewStage.first_review, outcome="pass")
    with pytest.raises(ValidationFailed) as err:
        domain.review(decided(drafted()), cmd, "chen-jing")
    assert err.value.rule == "review.proofreading_required"


def test_rejection_needs_comments_and_clears_every_stage__s18() -> None:
    state = passed(decided(drafted()))
    assert state.status == "approved"
    state = drafted()
    state = decided(state)
    first = RecordReview(
        stage=ReviewStage.first_review, outcome="pass", proofreading=Proofreading(signed=True)
    )
    state = fold([domain.review(state, first, "chen-jing")], state)
    reject = RecordReview(stage=ReviewStage.second_review, outcome="reject", comments="依据不足")
    state = fold([domain.review(state, reject, "zhang-wei")], state)
    assert state.status == "draft" and not state.passed
    assert state.duties["zhang-wei"] == frozenset({"second_review"})
    # 退回修改 until the drafter revises: the drafter's queue and the document's page say so.
    assert state.returned is not None
    assert (state.returned.stage, state.returned.reviewer) == (
        ReviewStage.second_review,
        "zhang-wei",
    )
    assert state.returned.comments == "依据不足" and state.returned.revision == 1
    assert views.document_view(state)["returned"] == {
        "stage": "second_review", "reviewer": "zhang-wei", "comments": "依据不足", "revision": 1,
    }  # fmt: skip
    text = content(title="关于印发方案的通知（修改稿）")
    revised = fold(domain.revise(state, text, None, date(2026, 3, 21), reviser="li-na"), state)
    assert revised.returned is None and views.document_view(revised)["returned"] is None


def test_publish_before_all_three_levels_is_refused__s18() -> None:
    with pytest.raises(DomainRuleViolated) as err:
        publish(decided(drafted()))
    assert err.value.rule == "publish.review_incomplete"


def test_personal_data_blocks_publication_until_justified_or_redacted__s8() -> None:
    body = "经审核，发放对象王某，身份证号11010519491231002X，联系电话13912345678。"
    state = passed(decided(drafted(body=body)))
    assert {f.kind.value for f in state.findings} == {"resident_id", "mobile"}
    with pytest.raises(DomainRuleViolated) as err:
        publish(state)
    assert err.value.rule == "publish.privacy_unresolved"
    for finding in state.findings:
        cmd = JustifyFinding(fingerprint=finding.fingerprint, justification="本人书面同意公开")
        state = fold([domain.justify(state, cmd, "zhang-wei")], state)
    assert publish(state).model_dump()["revision"] == 1
    # Or redact: a new revision whose scan finds nothing, and every stage starts over.
    fresh = passed(decided(drafted(body=body)))
    redaction = domain.redacted_content(fresh, None)
    events = domain.revise(fresh, redaction, None, date(2026, 3, 1), reviser="li-na")
    redacted = fold(events, fresh)
    assert redacted.findings == () and redacted.status == "draft"
    assert "11010519491231002X" not in (redacted.content.body if redacted.content else "")


def test_update_of_a_published_document_needs_a_reason_and_a_new_review() -> None:
    state = fold([publish(passed(decided(drafted())))], passed(decided(drafted())))
    with pytest.raises(ValidationFailed):
        domain.revise(
            state, content(body="修订后的正文。"), None, date(2026, 3, 5), reviser="li-na"
        )
    new = content(body="修订后的正文。")
    events = domain.revise(state, new, "更正补贴标准", date(2026, 3, 5), reviser="li-na")
    state = fold(events, state)
    assert state.status == "revising" and state.published_revision == 1
    with pytest.raises(DomainRuleViolated):
        publish(state)
    state = passed(state)
    update = publish(state, today=date(2026, 3, 6)).model_dump()
    assert update["is_update"] and update["update_reason"] == "更正补贴标准"
    assert update["revision"] == 2


def test_gazette_hash_covers_each_entry_and_refuses_unpublished_documents__s13() -> None:
    normative = drafted(kind=DocumentKind.normative, column="rule_of_law")
    with pytest.raises(DomainRuleViolated):
        gazette.entry_of(normative)
    published = fold([publish(passed(decided(normative)))], passed(decided(normative)))
    issue = gazette.compile_issue(
        issue_id=DOC,
        township="shangdang/sudian",
        township_name="苏店镇",
        year=2026,
        number=1,
        documents=[published],
        already_compiled=frozenset(),
        now=NOW,
        previous_hash=None,
    )
    assert issue.title == "苏店镇人民政府公报 2026年第1期"
    assert issue.previous_hash is None and issue.hash_version == 2
    assert gazette.hash_of(issue) == issue.content_hash
    tampered = [issue.entries[0].model_copy(update={"title": "篡改"})]
    assert gazette.hash_of(issue.model_copy(update={"entries": tampered})) != issue.content_hash


def test_gazette_hash_covers_number_year_township_and_chains_the_previous_issue__s13() -> None:
    normative = drafted(kind=DocumentKind.normative, column="rule_of_law")
    published = fold([publish(passed(decided(normative)))], passed(decided(normative)))

    def issue(number: int, previous: str | None) -> GazetteIssuePublished:
        return gazette.compile_issue(
            issue_id=DOC,
            township="shangdang/sudian",
            township_name="苏店镇",
            year=2026,
            number=number,
            documents=[published],
            already_compiled=frozenset(),
            now=NOW,
            previous_hash=previous,
        )

    first = issue(1, None)
    second = issue(2, first.content_hash)
    assert second.previous_hash == first.content_hash != second.content_hash
    for change in ({"number": 3}, {"year": 2025}, {"township": "shangdang/handian"}):
        assert gazette.hash_of(first.model_copy(update=change)) != first.content_hash
    # Another first issue in the chain's place breaks the link of the second.
    assert issue(2, issue(1, "0" * 64).content_hash).content_hash != second.content_hash


def test_gazette_issue_v1_upcasts_to_an_unchained_entries_only_hash__s13() -> None:
    normative = drafted(kind=DocumentKind.normative, column="rule_of_law")
    published = fold([publish(passed(decided(normative)))], passed(decided(normative)))
    entries = [gazette.entry_of(published).model_dump(mode="json")]
    v1 = {
        "issue_id": str(DOC),
        "township": "shangdang/sudian",
        "year": 2026,
        "number": 1,
        "title": "苏店镇人民政府公报 2026年第1期",
        "entries": entries,
        "content_hash": gazette.entries_hash([gazette.entry_of(published)]),
        "published_at": NOW.isoformat(),
    }
    lifted = GazetteIssuePublished.model_validate(registry.upcast("GazetteIssuePublished", 1, v1))
    assert lifted.hash_version == 1 and lifted.previous_hash is None
    assert gazette.hash_of(lifted) == lifted.content_hash


def test_seed_columns_and_their_update_rules__s4() -> None:
    codes = {c.code for c in SEED_COLUMNS}
    assert {"powers_list", "finance", "enforcement", "five_year_plan", "epidemic"} <= codes
    work_news = next(c for c in SEED_COLUMNS if c.code == "work_news")
    assert work_news.dynamic and work_news.max_age_days == 14
    assert health(work_news, date(2026, 3, 1), 3, date(2026, 3, 16)).stale
    assert not health(work_news, date(2026, 3, 10), 3, date(2026, 3, 16)).stale
    assert health(work_news, None, 0, date(2026, 3, 16)).empty
    merged = merge([Column("work_news", "工作动态", True, 7)])
    assert next(c for c in merged if c.code == "work_news").max_age_days == 7


def test_chinese_search_terms_are_bigrams() -> None:
    terms = index_terms("苏店镇农村人居环境整治")
    assert {"苏店", "农村", "人居", "环境", "整治", "苏"} <= terms
    assert query_terms("人居环境") == ["人居", "居环", "环境"]
    assert query_terms("镇") == ["镇"]
    assert query_terms("2026 Plan") == ["2026", "plan"]


def test_sensitive_document_needs_the_principal_leader_for_final_review__s18() -> None:
    state = drafted(sensitive=True)
    assert domain.stage_roles(state, ReviewStage.final_review) == (Role.PRINCIPAL_LEADER,)
    assert Role.LEADER_IN_CHARGE in domain.stage_roles(drafted(), ReviewStage.final_review)


def test_on_request_and_withheld_documents_are_not_proactively_published__s19() -> None:
    state = drafted()
    ground = LegalGround.art16_internal_affairs
    propose = ProposeAttribute(attribute="withheld", legal_ground=ground)
    state = fold([domain.propose(state, propose, "li-na")], state)
    state = fold([domain.check(state, CheckAttribute(agrees=True), "wang-tietong")], state)
    decide = DetermineAttribute(attribute="withheld", legal_ground=ground, reason="人事任免过程稿")
    state = passed(fold([domain.determine(state, decide, "wang-xiaole")], state))
    with pytest.raises(DomainRuleViolated) as err:
        publish(state)
    assert err.value.rule == "publish.attribute_not_public"
    # Nor is a never-published withheld document ever overdue under Art. 26.
    assert domain.missed_deadline(state, date(2026, 12, 31), CALENDAR) is None


def test_column_check_records_each_episode_once__s4() -> None:
    work_news = next(c for c in SEED_COLUMNS if c.code == "work_news")
    today = date(2026, 3, 16)
    empty = health_event("shangdang/sudian", health(work_news, None, 0, today), today, None)
    assert empty is not None and empty.event_type == "ColumnEmpty"
    again = health_event("shangdang/sudian", health(work_news, None, 0, today), today, {"a": 1})
    assert again is None
    stale = health(work_news, date(2026, 3, 1), 2, today)
    first = health_event("shangdang/sudian", stale, today, empty.model_dump(mode="json"))
    assert first is not None and first.model_dump()["days_since_update"] == 15
    same = health_event("shangdang/sudian", stale, today, first.model_dump(mode="json"))
    assert same is None
    fresh = health(work_news, date(2026, 3, 10), 3, today)
    assert health_event("shangdang/sudian", fresh, today, first.model_dump(mode="json")) is None


def test_reviser_and_proposer_hold_a_drafting_duty__separation_of_duties() -> None:
    state = drafted()
    revised = domain.revise(
        state, content(body="修订后的正文。"), None, date(2026, 3, 1), reviser="chen-jing"
    )
    state = fold(revised, state)
    assert state.duties["chen-jing"] == frozenset({"drafting"})
    proposal = ProposeAttribute(attribute=DisclosureAttribute.proactive)
    state = fold([domain.propose(state, proposal, "wei-na")], state)
    assert state.duties["wei-na"] == frozenset({"drafting"})


def test_revision_v1_upcasts_with_an_unknown_reviser() -> None:
    v1 = {
        "document_id": str(DOC),
        "revision": 2,
        "content": content().model_dump(mode="json"),
        "reason": None,
        "is_update": False,
        "changed_on": "2026-03-01",
    }
    lifted = DocumentRevised.model_validate(registry.upcast("DocumentRevised", 1, v1))
    assert lifted.revised_by is None and lifted.revision == 2


def test_a_fourth_review_of_an_approved_update_is_refused__s18() -> None:
    state = passed(decided(drafted()))
    state = fold([publish(state)], state)
    events = domain.revise(
        state, content(body="修订后的正文。"), "更正补贴标准", date(2026, 3, 5), reviser="li-na"
    )
    state = passed(fold(events, state))
    assert state.status == "revising" and state.next_stage is None
    again = RecordReview(
        stage=ReviewStage.final_review, outcome="pass", proofreading=Proofreading(signed=True)
    )
    with pytest.raises(DomainRuleViolated) as err:
        domain.review(state, again, "tian-yiming")
    assert err.value.rule == "review.not_in_review"


# --------------------------------------------------------------- 历史信息登记 (issue #21)
def register(**overrides: object) -> DomainEvent:
    given: dict[str, object] = {
        "document_id": DOC,
        "township": "shangdang/sudian",
        "drafting_unit": "shangdang/sudian",
        "drafting_unit_name": "苏店镇人民政府",
        "registered_by": "guo-xinxin",
        "content": content(column="finance"),
        "published_on": date(2026, 2, 12),
        "source": "苏店镇政府信息公开专栏（原网站）",
        "today": date(2026, 3, 20),
    }
    given.update(overrides)
    return domain.register_published(**given)  # type: ignore[arg-type]


def test_a_document_published_before_the_platform_is_registered_with_its_day__s1() -> None:
    event = register()
    assert event.event_type == "PublishedDocumentRegistered"
    assert event.stream_type == "legacy-document"  # not a document: no review, no duties
    payload = event.model_dump(mode="json")
    assert payload["published_on"] == "2026-02-12"
    assert payload["content_hash"] == domain.content_hash(content(column="finance"))
    # The day it was published is the day itself, and the regulation's first day is allowed.
    register(published_on=date(2026, 3, 20))
    register(published_on=date(2008, 5, 1), content=content(issue_date=date(2008, 4, 1)))


@pytest.mark.parametrize(
    ("overrides", "rule", "field"),
    [
        ({"published_on": date(2026, 3, 21)}, "legacy.published_in_future", "published_on"),
        # 《政府信息公开条例》(国务院令第492号) took effect on 1 May 2008.
        (
            {"published_on": date(2008, 4, 30), "content": content(issue_date=date(2008, 4, 1))},
            "legacy.before_regulation",
            "published_on",
        ),
        ({"published_on": date(2026, 2, 9)}, "legacy.published_before_issue", "published_on"),
        ({"content": content(column="no_such")}, "document.column_unknown", "content.column"),
        # 方案§8: no personal data goes public; a text with some is drafted and redacted.
        (
            {"content": content(body="联系人：李某，电话13812345678。")},
            "legacy.personal_data",
            "content.body",
        ),
    ],
)
def test_what_can_be_checked_is_refused_naming_the_field__s1_s8(
    overrides: dict[str, object], rule: str, field: str
) -> None:
    with pytest.raises(ValidationFailed) as err:
        register(**overrides)
    assert (err.value.rule, err.value.field) == (rule, field)
    assert "13812345678" not in err.value.message_zh + err.value.message_en


# --------------------------------------------------------------- 有效期 (有效 / 失效 / 已废止)
def test_a_published_document_gets_a_validity_period_and_lapses_after_its_last_day() -> None:
    # 国办发〔2018〕37号: a 规范性文件 states its period; a reader must see if it still applies.
    state = fold([publish(passed(decided(drafted())))], passed(decided(drafted())))
    event = domain.set_validity(
        state, SetValidityPeriod(valid_until=date(2031, 2, 9)), "guo-xinxin"
    )
    state = fold([event], state)
    assert state.valid_until == date(2031, 2, 9)
    assert views.validity(None, "2031-02-09", date(2031, 2, 9)) == "in_force"  # its last day
    assert views.validity(None, "2031-02-09", date(2031, 2, 10)) == "lapsed"
    assert views.validity("2027-05-01", "2031-02-09", date(2031, 2, 10)) == "repealed"
    assert views.validity(None, None, date(2099, 1, 1)) == "in_force"
    # Cleared again: no period (长期有效).
    cleared = domain.set_validity(state, SetValidityPeriod(valid_until=None), "guo-xinxin")
    assert fold([cleared], state).valid_until is None


@pytest.mark.parametrize(
    ("valid_until", "rule"),
    [
        (date(2026, 2, 9), "validity.before_issue"),  # the document is dated 2026-02-10
        (date(2031, 2, 9), "validity.unchanged"),
    ],
)
def test_a_validity_period_before_the_document_or_unchanged_is_refused(
    valid_until: date, rule: str
) -> None:
    state = fold([publish(passed(decided(drafted())))], passed(decided(drafted())))
    state = fold(
        [domain.set_validity(state, SetValidityPeriod(valid_until=date(2031, 2, 9)), "x")], state
    )
    with pytest.raises((ValidationFailed, DomainRuleViolated)) as err:
        domain.set_validity(state, SetValidityPeriod(valid_until=valid_until), "guo-xinxin")
    assert (err.value.rule, err.value.field) == (rule, "valid_until")


def test_a_draft_or_a_repealed_document_gets_no_validity_period() -> None:
    with pytest.raises(DomainRuleViolated) as err:
        domain.set_validity(drafted(), SetValidityPeriod(valid_until=None), "guo-xinxin")
    assert err.value.rule == "document.not_published"
    # 废止 ends a document already: no period after it (repeal wins, views.validity).
    normative = passed(decided(drafted(kind=DocumentKind.normative)))
    state = fold([publish(normative)], normative)
    repeal = RepealDocument(repealed_on=date(2026, 3, 1), reason="已被新规定替代")
    state = fold([domain.repeal(state, repeal, date(2026, 3, 20))], state)
    with pytest.raises(DomainRuleViolated) as err:
        domain.set_validity(state, SetValidityPeriod(valid_until=date(2031, 1, 1)), "guo-xinxin")
    assert (err.value.rule, err.value.field) == ("validity.repealed", "valid_until")
