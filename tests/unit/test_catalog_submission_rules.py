"""信息报送, the pure rules (services/catalog/submissions.py) and the assessment signal of the
monthly 刊登情况通报 (services/assessment/signals.py).

Rules: 方案§18 (完善向政府网站报送部门文件制度，建立联络员制度和报送刊登情况通报制度), §8 and
条例第十五条 (personal data held before publication), DOMAIN.md §1 (三审三校 follows the
draft), decisions 81–83 of docs/decisions.md.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from pydantic import ValidationError

from services.assessment.signals import Source, classify
from services.catalog import submissions as sub
from services.catalog.columns import SEED_CODES
from services.catalog.events import DocumentDrafted, PrivacyScanCompleted, registry
from services.catalog.submission_commands import DeclineSubmission, IssueBulletin, SubmitItem
from services.catalog.submission_events import (
    SubmissionAccepted,
    SubmissionBulletinIssued,
    SubmissionStatus,
)
from services.catalog.submission_examples import FINANCE, item_content
from shared.envelope import Actor, RecordedEvent
from shared.errors import DomainRuleViolated, ValidationFailed

NOW = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
AGRI = "shangdang/sudian/agri-service"


def received(content: Any = None, submission_id: UUID | None = None) -> sub.SubmissionState:
    event = sub.submit(
        submission_id=submission_id or uuid4(),
        unit=FINANCE,
        unit_name="苏店镇财政所",
        township="shangdang/sudian",
        liaison="chen-jing",
        content=content or item_content(),
        columns=SEED_CODES,
        now=NOW,
    )
    return sub.evolve(sub.SubmissionState(), event)


def clean() -> sub.SubmissionState:
    return received(item_content(body="镇财政所已按标准将补贴资金发放到户，欢迎群众监督。"))


def accept(state: sub.SubmissionState, document_id: UUID | None = None) -> list[Any]:
    return sub.accept(
        state,
        document_id=document_id or uuid4(),
        accepted_by="guo-xinxin",
        comment=None,
        columns=SEED_CODES,
        now=NOW,
    )


def test_an_item_with_a_phone_number_is_held_and_cannot_be_accepted__s8_art15() -> None:
    state = received()
    assert state.status is SubmissionStatus.held
    (finding,) = state.findings
    assert finding.kind.value == "mobile" and "13912345678" not in finding.masked
    with pytest.raises(DomainRuleViolated) as err:
        accept(state)
    assert (err.value.rule, err.value.field) == ("submission.privacy_held", "findings")
    assert "手机号码" in err.value.message_zh


def test_redaction_masks_the_data_and_releases_the_hold__s8() -> None:
    state = received()
    edited = sub.redact(state, editor="guo-xinxin", now=NOW)
    assert edited.redacted and edited.findings == []
    assert "139****5678" in edited.content.body and "13912345678" not in edited.content.body
    state = sub.evolve(state, edited)
    assert state.status is SubmissionStatus.received and state.author == "guo-xinxin"
    with pytest.raises(DomainRuleViolated) as err:
        sub.redact(state, editor="guo-xinxin", now=NOW)
    assert err.value.rule == "privacy.nothing_to_redact"


def test_an_edit_that_adds_personal_data_holds_the_item_again__s8() -> None:
    state = clean()
    with_id = item_content(body="联系人身份证号11010519491231002X，请核对。")
    edited = sub.edit(
        state, with_id, "补充联系人", editor="guo-xinxin", columns=SEED_CODES, now=NOW
    )
    assert sub.evolve(state, edited).status is SubmissionStatus.held


def test_accepting_drafts_a_catalog_document_that_names_the_item__s18() -> None:
    state = clean()
    document_id = uuid4()
    acceptance, drafted, scanned = accept(state, document_id)
    assert isinstance(acceptance, SubmissionAccepted) and acceptance.document_id == document_id
    assert isinstance(drafted, DocumentDrafted) and isinstance(scanned, PrivacyScanCompleted)
    assert drafted.submission_id == state.submission_id
    assert (drafted.drafting_unit, drafted.township) == (FINANCE, "shangdang/sudian")
    # The author of the text drafts it: they may then review none of its levels.
    assert drafted.drafter == "chen-jing" and drafted.content == state.content
    assert sub.evolve(state, acceptance).status is SubmissionStatus.accepted


def test_a_decided_item_cannot_be_decided_again__s18() -> None:
    state = clean()
    declined = sub.evolve(
        state, sub.decline(state, "属内部信息", declined_by="guo-xinxin", now=NOW)
    )
    assert declined.status is SubmissionStatus.declined and declined.decline_reason == "属内部信息"
    for attempt in (
        lambda: accept(declined),
        lambda: sub.decline(declined, "重复", declined_by="guo-xinxin", now=NOW),
        lambda: sub.redact(declined, editor="guo-xinxin", now=NOW),
    ):
        with pytest.raises(DomainRuleViolated) as err:
            attempt()
        assert (err.value.rule, err.value.field) == ("submission.closed", "status")


def test_an_unknown_column_is_refused_with_the_field_named() -> None:
    with pytest.raises(ValidationFailed) as err:
        received(item_content(column="no_such_column"))
    assert (err.value.rule, err.value.field) == ("submission.column_unknown", "content.column")


def test_the_drafted_event_v1_upcasts_to_no_submission() -> None:
    payload = DocumentDrafted(
        document_id=uuid4(),
        drafting_unit=FINANCE,
        drafting_unit_name="苏店镇财政所",
        township="shangdang/sudian",
        drafter="chen-jing",
        content=item_content(),
    ).model_dump(mode="json")
    del payload["submission_id"]
    stored = RecordedEvent(
        position=1,
        event_id=uuid4(),
        stream_id="document-x",
        stream_type="document",
        version=1,
        type="DocumentDrafted",
        schema_version=1,
        tenant=FINANCE,
        actor=Actor(id="chen-jing", role="drafter"),
        correlation_id=uuid4(),
        causation_id=None,
        occurred_at=NOW,
        recorded_at=NOW,
        payload=payload,
    )
    decoded = registry.decode(stored)
    assert isinstance(decoded, DocumentDrafted) and decoded.submission_id is None


# ------------------------------------------------------------------ the monthly bulletin


def test_month_bounds_and_a_month_not_over__s18() -> None:
    assert sub.month_bounds("2026-02") == (date(2026, 2, 1), date(2026, 2, 28))
    assert sub.month_bounds("2024-02")[1] == date(2024, 2, 29)
    sub.require_month_over("2026-02", date(2026, 3, 1))
    with pytest.raises(DomainRuleViolated) as err:
        sub.require_month_over("2026-03", date(2026, 3, 31))
    assert (err.value.rule, err.value.field) == ("bulletin.month_not_over", "month")


def test_the_bulletin_lists_every_unit_and_names_the_silent_ones__s18() -> None:
    rows = sub.bulletin_rows(
        [(FINANCE, "苏店镇财政所"), (AGRI, "苏店镇农业综合服务中心")],
        {FINANCE: sub.Counts(submitted=3, accepted=2, published=1, declined=1)},
    )
    bulletin = sub.issue_bulletin(
        township="shangdang/sudian",
        township_name="苏店镇",
        month="2026-02",
        rows=rows,
        issued_by="guo-xinxin",
        now=NOW,
        today=NOW.date(),
    )
    assert [(r.unit, r.submitted, r.published) for r in bulletin.rows] == [
        (FINANCE, 3, 1),
        (AGRI, 0, 0),
    ]
    assert [r.unit for r in sub.silent_units(bulletin)] == [AGRI]


def test_a_silent_unit_is_one_assessment_case_per_month__s18_s20() -> None:
    bulletin = SubmissionBulletinIssued(
        township="shangdang/sudian",
        township_name="苏店镇",
        month="2026-02",
        rows=sub.bulletin_rows(
            [(FINANCE, "苏店镇财政所"), (AGRI, "苏店镇农业综合服务中心")],
            {FINANCE: sub.Counts(submitted=1)},
        ),
        issued_by="guo-xinxin",
        issued_at=NOW,
    )
    source = Source(
        "e1", bulletin.event_type, "shangdang/sudian", NOW, bulletin.model_dump(mode="json")
    )
    (finding,) = classify(source)
    assert (finding.signal, finding.case, finding.org, finding.on) == (
        "submission.none_in_month",
        f"{AGRI}:2026-02",
        AGRI,
        date(2026, 2, 28),
    )
    broken = Source("e2", bulletin.event_type, "shangdang/sudian", NOW, {"month": "2026-13"})
    assert classify(broken) == []


@pytest.mark.parametrize(
    ("model", "body", "field"),
    [
        (IssueBulletin, {"month": "2026-13"}, "month"),
        (IssueBulletin, {"month": "1999-12"}, "month"),
        (IssueBulletin, {"month": "2026-3"}, "month"),
        (DeclineSubmission, {"reason": "否"}, "reason"),
        (SubmitItem, {"content": {"title": "无正文"}}, "content"),
    ],
)
def test_bad_input_names_the_field(model: Any, body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        model.model_validate(body)
    assert err.value.errors()[0]["loc"][0] == field
