"""Pure rules of 行政执法公示 (issue #23; 方案§10; the three systems of 国办发〔2018〕118号).

Time limits under test:
- 国办发〔2018〕118号 二(二): 行政许可、行政处罚的执法决定信息要在执法决定作出之日起7个工作日
  内公开 (other enforcement decisions: 20 working days), on the working-day calendar;
- 行政处罚法 (2021) 第四十八条第二款 + 第八十五条: a public penalty decision that is changed,
  revoked, confirmed illegal or void is withdrawn within 三日 (working days);
- 行政处罚法第五十八条: no major decision without an approving 法制审核 first.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from services.catalog.privacy import resident_id_check_digit
from services.enforcement import domain
from services.enforcement import events as ev
from services.enforcement.domain import DecisionInput, DecisionState, Rules
from services.enforcement.events import DecisionAction, DecisionKind, PartyKind
from shared.errors import DomainRuleViolated, ValidationFailed
from shared.registry import DomainEvent
from shared.workdays import WorkdayCalendar

CAL = WorkdayCalendar.default()
RULES = Rules()
TOWNSHIP = "shangdang/sudian"
UNIT = "shangdang/sudian/agri-service"
# 2026-09-30 (Wed) is the last working day before 国庆 10/1–7; 10/10 (Sat) is a make-up day.
EVE = date(2026, 9, 30)
TODAY = date(2026, 11, 20)
ID_NUMBER = "14040219800101123" + resident_id_check_digit("14040219800101123")
HASH = "ab" * 32


def decision(**overrides: Any) -> DecisionInput:
    values: dict[str, Any] = {
        "unit": UNIT,
        "kind": DecisionKind.penalty,
        "action": None,
        "reference": "苏农罚〔2026〕12号",
        "title": "销售无标签农药案",
        "facts": "当事人张三于2026年9月在其经营场所销售无标签农药。",
        "legal_basis": ("《农药管理条例》第五十六条",),
        "party": ev.Party(kind=PartyKind.person, name="张三", id_number=ID_NUMBER),
        "amount_yuan": Decimal("5000"),
        "decided_on": EVE,
        "major": False,
        "records": (ev.RecordRef(kind=ev.RecordKind.document, identifier="决定书", sha256=HASH),),
        "publish": True,
        "not_published_reason": None,
        "source": "test",
    }
    values.update(overrides)
    return DecisionInput(**values)


def recorded(d: DecisionInput | None = None, state: DecisionState | None = None) -> DecisionState:
    d = d or decision()
    state = state or DecisionState()
    did = domain.decision_id(TOWNSHIP, d.kind, d.reference)
    event = domain.record_decision(state, did, TOWNSHIP, d, CAL, "system", None)
    return fold(state, event)


def fold(state: DecisionState, *events: DomainEvent) -> DecisionState:
    for event in events:
        state = domain.evolve(state, event)
    return state


def review(approved: bool = True, on: date = EVE) -> ev.LegalReviewRecorded:
    d = decision()
    return domain.record_review(
        DecisionState(),
        domain.decision_id(TOWNSHIP, d.kind, d.reference),
        TOWNSHIP,
        UNIT,
        d.kind,
        d.reference,
        "王律",
        "事实清楚，证据充分，同意。" if approved else "证据不足，不同意。",
        approved,
        on,
        TODAY,
        "reviewer",
    )


def refused_with(exc: pytest.ExceptionInfo[Any], rule: str, field: str) -> None:
    assert (exc.value.rule, exc.value.field) == (rule, field)
    assert exc.value.message_zh and exc.value.message_en


# --- the time limit --------------------------------------------------------------------


def test_licensing_and_penalty_are_public_within_7_working_days__guoban_2018_118() -> None:
    # 10/8 1, 10/9 2, 10/10 (make-up Saturday) 3, 10/12 4, 10/13 5, 10/14 6, 10/15 7.
    state = recorded()
    assert state.decision is not None
    assert state.decision.must_publish
    assert state.decision.publication_due == date(2026, 10, 15)
    licence = recorded(decision(kind=DecisionKind.licensing, action=DecisionAction.granted))
    assert licence.decision is not None and licence.decision.publication_due == date(2026, 10, 15)


def test_coercion_within_20_working_days_and_fees_are_counted_not_published() -> None:
    coercion = recorded(decision(kind=DecisionKind.coercion, action=DecisionAction.measure))
    assert coercion.decision is not None
    assert coercion.decision.publication_due == CAL.add_workdays(EVE, 20).due
    fee = recorded(decision(kind=DecisionKind.fee, party=None, title="不动产登记费"))
    assert fee.decision is not None
    assert (fee.decision.must_publish, fee.decision.publication_due) == (False, None)
    assert fee.decision.action is DecisionAction.charged
    assert fee.decision.amount_fen == 500_000


def test_the_decision_id_is_derived_so_a_resend_is_the_same_stream() -> None:
    a = domain.decision_id(TOWNSHIP, DecisionKind.penalty, "苏农罚〔2026〕12号")
    assert a == domain.decision_id(TOWNSHIP, DecisionKind.penalty, " 苏农罚〔2026〕12号 ")
    assert a != domain.decision_id("shangdang/handian", DecisionKind.penalty, "苏农罚〔2026〕12号")
    assert domain.fingerprint(decision()) == domain.fingerprint(decision(source="import"))
    assert domain.fingerprint(decision()) != domain.fingerprint(decision(amount_yuan=Decimal(1)))


# --- bad input: field and rule named ------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "rule", "field"),
    [
        ({"legal_basis": ()}, "enforcement.legal_basis_missing", "legal_basis"),
        ({"legal_basis": (" ",)}, "enforcement.legal_basis_missing", "legal_basis"),
        ({"amount_yuan": None}, "enforcement.amount_missing", "amount_yuan"),
        ({"party": None}, "enforcement.party_missing", "party"),
        ({"decided_on": TODAY + timedelta(days=1)}, "enforcement.decided_in_future", "decided_on"),
        ({"decided_on": date(2020, 1, 1)}, "enforcement.decided_too_long_ago", "decided_on"),
        (
            {"kind": DecisionKind.licensing, "amount_yuan": None},
            "enforcement.action_missing",
            "action",
        ),
        ({"action": DecisionAction.granted}, "enforcement.action_not_of_kind", "action"),
        ({"publish": False}, "enforcement.not_published_reason_missing", "not_published_reason"),
    ],
)
def test_bad_input_is_refused_with_field_and_rule(
    overrides: dict[str, Any], rule: str, field: str
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        domain.check(decision(**overrides), TODAY, RULES)
    refused_with(exc, rule, field)


def test_a_fee_without_amount_is_refused_and_a_warning_is_a_penalty_of_zero() -> None:
    with pytest.raises(ValidationFailed) as exc:
        domain.check(decision(kind=DecisionKind.fee, amount_yuan=None), TODAY, RULES)
    refused_with(exc, "enforcement.amount_missing", "amount_yuan")
    domain.check(decision(amount_yuan=Decimal(0), title="警告"), TODAY, RULES)


# --- 法制审核 (行政处罚法第五十八条) ------------------------------------------------------------


def test_a_major_decision_without_legal_review_is_refused__art58() -> None:
    with pytest.raises(ValidationFailed) as exc:
        recorded(decision(major=True))
    refused_with(exc, "enforcement.legal_review_missing", "major")
    assert "第五十八条" in exc.value.message_zh


def test_a_refused_review_does_not_allow_the_decision_and_an_approving_one_does() -> None:
    state = fold(DecisionState(), review(approved=False))
    with pytest.raises(ValidationFailed) as exc:
        recorded(decision(major=True), state)
    refused_with(exc, "enforcement.legal_review_missing", "major")
    state = fold(state, review(approved=True))
    done = recorded(decision(major=True), state)
    assert done.decision is not None and done.decision.major


def test_the_review_comes_before_the_decision() -> None:
    late_review = fold(DecisionState(), review(on=EVE + timedelta(days=1)))
    with pytest.raises(ValidationFailed) as exc:
        recorded(decision(major=True), late_review)
    refused_with(exc, "enforcement.review_after_decision", "decided_on")
    with pytest.raises(DomainRuleViolated) as after:
        domain.record_review(
            recorded(), recorded().decision_id, TOWNSHIP, UNIT, DecisionKind.penalty, "x",
            "王律", "同意", True, EVE, TODAY, "r",
        )  # fmt: skip
    assert after.value.rule == "enforcement.review_after_decision"


# --- 公示: masking and the privacy guard ---------------------------------------------------


def test_a_natural_persons_name_and_id_are_masked_in_every_published_text() -> None:
    published = domain.publish(recorded(), "苏店镇农业综合服务中心", None, CAL, EVE, RULES, "pub")
    for text in (published.text, published.title, published.party_shown or ""):
        assert "张三" not in text and ID_NUMBER not in text
    assert published.party_shown == f"张*（身份证号 {ID_NUMBER[:4]}{'*' * 10}{ID_NUMBER[-4:]}）"
    assert "当事人张*于2026年9月" in published.text
    assert "《农药管理条例》第五十六条" in published.text and "5,000.00元" in published.text


def test_an_organisation_is_shown_in_full() -> None:
    org = ev.Party(
        kind=PartyKind.organisation, name="丰收农资经营部", id_number="92140404MA0K1234XY"
    )
    published = domain.publish(recorded(decision(party=org)), "苏店镇", None, CAL, EVE, RULES, "p")
    assert published.party_shown == "丰收农资经营部（统一社会信用代码 92140404MA0K1234XY）"


def test_the_privacy_guard_holds_unmasked_personal_data_and_a_masked_summary_passes() -> None:
    state = recorded(decision(facts="举报人电话 13912345678，当事人住所见卷宗。"))
    with pytest.raises(ValidationFailed) as exc:
        domain.publish(state, "苏店镇", None, CAL, EVE, RULES, "p")
    refused_with(exc, "enforcement.personal_data_unmasked", "summary")
    assert "13912345678" not in exc.value.message_zh
    assert exc.value.details["findings"][0]["kind"] == "mobile"
    ok = domain.publish(state, "苏店镇", "当事人销售无标签农药。", CAL, EVE, RULES, "p")
    assert "139" not in ok.text


def test_published_on_time_or_late_with_the_working_days_taken() -> None:
    on_time = domain.publish(recorded(), "苏店镇", None, CAL, date(2026, 10, 15), RULES, "p")
    assert (on_time.late, on_time.working_days_taken) == (False, 7)
    late = domain.publish(recorded(), "苏店镇", None, CAL, date(2026, 10, 16), RULES, "p")
    assert (late.late, late.working_days_taken) == (True, 8)
    assert late.visible_until == date(2026, 10, 16) + timedelta(days=RULES.penalty_visible_days)


def test_overdue_is_noticed_once_after_the_due_day_and_not_after_publication() -> None:
    state = recorded()
    assert domain.overdue(state, date(2026, 10, 15)) is None
    flagged = domain.overdue(state, date(2026, 10, 16))
    assert flagged is not None and flagged.publication_due == date(2026, 10, 15)
    assert domain.overdue(fold(state, flagged), date(2026, 10, 20)) is None
    published = domain.publish(state, "苏店镇", None, CAL, EVE, RULES, "p")
    assert domain.overdue(fold(state, published), date(2026, 10, 20)) is None


def test_publishing_twice_or_a_fee_is_refused() -> None:
    state = recorded()
    state = fold(state, domain.publish(state, "苏店镇", None, CAL, EVE, RULES, "p"))
    with pytest.raises(DomainRuleViolated) as exc:
        domain.publish(state, "苏店镇", None, CAL, EVE, RULES, "p")
    assert exc.value.rule == "enforcement.already_published"
    fee = recorded(decision(kind=DecisionKind.fee, party=None))
    with pytest.raises(DomainRuleViolated) as exc:
        domain.publish(fee, "苏店镇", None, CAL, EVE, RULES, "p")
    assert exc.value.rule == "enforcement.not_for_publication"


# --- withdrawal: annulment (三日), period, 信用修复 ----------------------------------------------


def test_an_annulled_public_decision_is_withdrawn_at_once__art48_and_85() -> None:
    state = recorded()
    state = fold(state, domain.publish(state, "苏店镇", None, CAL, EVE, RULES, "p"))
    annulled_on = date(2026, 10, 30)  # Friday: 三日 = 11/2, 11/3, 11/4 (working days)
    events = domain.annul(
        state, ev.AnnulmentOutcome.revoked, annulled_on, "复议决定书", CAL, annulled_on, "u"
    )
    annulled, withdrawn = events
    assert isinstance(annulled, ev.EnforcementDecisionAnnulled)
    assert annulled.withdrawal_due == date(2026, 11, 4)
    assert isinstance(withdrawn, ev.EnforcementPublicationWithdrawn)
    assert withdrawn.reason is ev.WithdrawalReason.decision_annulled and not withdrawn.late
    after = fold(state, *events)
    assert not domain.is_public(after)
    with pytest.raises(DomainRuleViolated):
        domain.publish(after, "苏店镇", None, CAL, TODAY, RULES, "p")


def test_an_unpublished_decision_annulled_is_not_flagged_overdue_later() -> None:
    state = recorded()
    (annulled,) = domain.annul(state, ev.AnnulmentOutcome.changed, EVE, "变更决定", CAL, EVE, "u")
    assert domain.overdue(fold(state, annulled), TODAY) is None


def test_the_publication_period_ends_and_credit_repair_after_the_minimum() -> None:
    state = recorded()
    state = fold(state, domain.publish(state, "苏店镇", None, CAL, EVE, RULES, "p"))
    end = EVE + timedelta(days=RULES.penalty_visible_days)
    assert domain.period_ended(state, end - timedelta(days=1), "s") is None
    ended = domain.period_ended(state, end, "s")
    assert ended is not None and ended.reason is ev.WithdrawalReason.period_ended
    with pytest.raises(DomainRuleViolated) as exc:
        domain.credit_repair(state, EVE + timedelta(days=89), RULES, "p", "已履行")
    assert exc.value.rule == "enforcement.credit_repair_too_early"
    repaired = domain.credit_repair(state, EVE + timedelta(days=90), RULES, "p", "已履行处罚")
    assert repaired.reason is ev.WithdrawalReason.credit_repair


def test_a_licence_stays_public_until_revoked() -> None:
    state = recorded(decision(kind=DecisionKind.licensing, action=DecisionAction.granted))
    state = fold(state, domain.publish(state, "苏店镇", None, CAL, EVE, RULES, "p"))
    assert state.published is not None and state.published.visible_until is None
    assert domain.period_ended(state, EVE + timedelta(days=4000), "s") is None
    assert replace(state, withdrawn=None) == state
