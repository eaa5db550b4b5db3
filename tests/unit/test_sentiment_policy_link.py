"""Linking a case to the policy its citizens misread (pure rules; 方案§17, §五(一)).

The link (PolicyMisreadingReported) is what the interpretation service turns into a
follow-up interpretation (DOMAIN.md §4: misreading of a policy feeds a follow-up
interpretation). Refusals name the field and the rule; a case is linked to a policy once.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from uuid import UUID

import pytest

from services.sentiment import domain
from services.sentiment.events import CaseFollowedUp, PolicyMisreadingReported
from shared.envelope import new_id
from shared.errors import DomainRuleViolated, ValidationFailed
from tests.unit.test_sentiment_domain import opened_case

DOC = UUID("01936f0e-7c1b-7000-8000-0000000000d1")
POLICY = domain.PolicyFacts(
    document_id=DOC,
    title="苏店镇人民政府关于印发《苏店镇农村人居环境整治长效管护办法》的通知",
    document_number="苏政发〔2026〕12号",
    township="shangdang/sudian",
    withdrawn=False,
)


def link(state: domain.CaseState, policy: Any = POLICY, **kw: Any) -> PolicyMisreadingReported:
    args: dict[str, Any] = {
        "document_id": DOC,
        "misreading": "群众误以为保洁员经费由村民分摊",
        "reported_by": "liu-yang",
        "classified_misreading": True,
        "match": (1.0, ("文号：苏政发〔2026〕12号",)),
    } | kw
    return domain.report_misreading(state, policy, **args)


def test_the_link_carries_the_policy_what_was_misread_and_why_it_was_suggested() -> None:
    state = opened_case()
    event = link(state)
    assert event.case_id == state.case_id and event.document_id == DOC
    assert event.policy_title == POLICY.title and event.document_number == "苏政发〔2026〕12号"
    assert event.policy_township == "shangdang/sudian"
    assert event.misreading == "群众误以为保洁员经费由村民分摊"
    assert event.classified_misreading is True
    assert (event.match_score, event.match_reasons) == (1.0, ["文号：苏政发〔2026〕12号"])


def test_an_officer_may_link_a_case_the_classifier_did_not_flag() -> None:
    event = link(opened_case(), classified_misreading=False, match=None)
    assert event.classified_misreading is False and event.match_score is None


def test_a_case_is_linked_to_a_policy_once_and_may_name_another() -> None:
    state = domain.evolve(opened_case(), link(opened_case()))
    assert state.policies == (DOC,)
    with pytest.raises(DomainRuleViolated) as err:
        link(state)
    assert (err.value.rule, err.value.field) == ("policy_link.duplicate", "document_id")
    other = replace(POLICY, document_id=new_id())
    assert link(state, other, document_id=other.document_id).document_id == other.document_id


@pytest.mark.parametrize(
    ("policy", "rule"),
    [
        (None, "policy_link.document_unknown"),
        (replace(POLICY, withdrawn=True), "policy_link.document_withdrawn"),
        (replace(POLICY, in_scope=False), "policy_link.outside_township"),
    ],
)
def test_an_unknown_withdrawn_or_foreign_policy_is_refused(policy: Any, rule: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        link(opened_case(), policy)
    assert (err.value.rule, err.value.field) == (rule, "document_id")
    assert err.value.message_zh and err.value.message_en


def test_a_blank_misreading_is_refused() -> None:
    with pytest.raises(ValidationFailed) as err:
        link(opened_case(), misreading="  ")
    assert (err.value.rule, err.value.field) == ("policy_link.misreading_empty", "misreading")


def test_a_closed_case_is_not_linked() -> None:
    state = replace(opened_case(), status="responded")
    assert link(state).case_id == state.case_id  # an answered case may still be linked
    closed = domain.evolve(state, CaseFollowedUp(case_id=new_id(), satisfaction="satisfied"))
    with pytest.raises(DomainRuleViolated) as err:
        link(closed)
    assert err.value.rule == "case.closed"
