"""Pure rules of 依申请公开 registration (DOMAIN.md §2), no I/O."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.applications import domain
from services.applications.commands import AssignRequest, RegisterRequest
from services.applications.events import RequestAssigned, RequestRegistered
from shared.envelope import new_id
from shared.errors import DomainRuleViolated, ValidationFailed
from shared.workdays import WorkdayCalendar

CAL = WorkdayCalendar.default()
TODAY = date(2026, 3, 20)


def command(**overrides: Any) -> RegisterRequest:
    body: dict[str, Any] = {
        "channel": "in_person",
        "submitted_on": "2026-02-10",
        "applicant": {
            "kind": "natural_person",
            "name": "王秀英",
            "id_document": "居民身份证",
            "phone": "13812345678",
        },
        "description": "申请公开苏店镇2025年度惠民惠农资金发放名单",
        "requested_form": "paper",
        "delivery_channel": "post",
    }
    body.update(overrides)
    return RegisterRequest.model_validate(body)


def decide(cmd: RegisterRequest, today: date = TODAY, sequence: int = 1) -> RequestRegistered:
    return domain.register(
        cmd,
        request_id=new_id(),
        short_name="苏店",
        year=today.year,
        sequence=sequence,
        today=today,
        calendar=CAL,
    )


def test_reply_due_is_twenty_working_days_after_receipt__art33_domain_example() -> None:
    """DOMAIN.md §2: received 2026-02-10 ⇒ 20th working day 2026-03-16 (春节 2/15–23 off)."""
    event = decide(command())
    assert event.received_on == date(2026, 2, 10)
    assert event.reply_due == date(2026, 3, 16)
    assert event.reply_deadline.working_days == 20
    assert event.reply_deadline.provisional is False
    assert event.reply_deadline.calendars == ["2026: chinese-calendar 1.11.0 v1"]


def test_correction_notice_is_due_within_seven_working_days__art30() -> None:
    # 2026-02-10 (Tue): 11, 12, 13, 14 (调休 Saturday), 24, 25, 26 -> the 7th is 2026-02-26.
    assert decide(command()).correction_notice_due == date(2026, 2, 26)


def test_registration_number_is_per_tenant_and_year() -> None:
    assert decide(command(), sequence=17).number == "苏店〔2026〕17号"
    assert domain.registration_number("上党", 2027, 1) == "上党〔2027〕1号"


@pytest.mark.parametrize(
    ("channel", "extra", "received"),
    [
        ("in_person", {}, date(2026, 2, 10)),
        ("oral", {}, date(2026, 2, 10)),
        ("registered_mail", {"signed_on": "2026-02-12"}, date(2026, 2, 12)),
        ("ordinary_mail", {"confirmed_on": "2026-02-13"}, date(2026, 2, 13)),
        ("online", {"confirmed_on": "2026-02-11"}, date(2026, 2, 11)),
        ("fax", {"confirmed_on": "2026-02-11"}, date(2026, 2, 11)),
    ],
)
def test_receipt_date_follows_the_channel__art31(
    channel: str, extra: dict[str, str], received: date
) -> None:
    assert domain.receipt_date(command(channel=channel, **extra)) == received


def test_receipt_across_national_day_counts_only_working_days__art33() -> None:
    """Received Tue 2025-09-30: 国庆+中秋 10/1–8 off, Sat 10/11 is a make-up working day."""
    event = decide(command(submitted_on="2025-09-30"), today=date(2025, 10, 1))
    # 9, 10, 11(Sat), 13, 14, 15, 16, 17, 20..24, 27..31, 11/3, 11/4 -> 20th is 2025-11-04.
    assert event.reply_due == date(2025, 11, 4)


def test_late_year_receipt_is_provisional_until_next_years_calendar__domain_s6() -> None:
    event = decide(command(submitted_on="2026-12-20"), today=date(2026, 12, 21))
    assert event.reply_deadline.provisional is True
    assert any(c.startswith("2027: provisional") for c in event.reply_deadline.calendars)


@pytest.mark.parametrize(
    ("overrides", "rule", "field"),
    [
        ({"submitted_on": "2026-03-21"}, "date.in_future", "submitted_on"),
        ({"channel": "registered_mail"}, "receipt.signed_on_required", "signed_on"),
        ({"channel": "fax"}, "receipt.confirmed_on_required", "confirmed_on"),
        (
            {"channel": "online", "confirmed_on": "2026-02-01"},
            "receipt.before_submission",
            "confirmed_on",
        ),
        (
            {
                "applicant": {
                    "kind": "organization",
                    "name": "长治市某建材有限公司",
                    "id_document": "统一社会信用代码",
                    "phone": "0355-1234567",
                }
            },
            "applicant.organization_kind_required",
            "applicant.organization_kind",
        ),
        (
            {
                "applicant": {
                    "kind": "natural_person",
                    "organization_kind": "commercial",
                    "name": "王秀英",
                    "id_document": "居民身份证",
                    "phone": "13812345678",
                }
            },
            "applicant.organization_kind_forbidden",
            "applicant.organization_kind",
        ),
    ],
)
def test_invalid_registrations_are_refused_naming_field_and_rule(
    overrides: dict[str, Any], rule: str, field: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        decide(command(**overrides))
    assert (caught.value.rule, caught.value.field) == (rule, field)
    assert caught.value.message_zh and caught.value.message_en


def test_assign_needs_a_registered_request_and_a_new_handler() -> None:
    with pytest.raises(DomainRuleViolated, match="not registered"):
        domain.assign(domain.RequestState(), AssignRequest(handler="wang-tietong"))
    state = domain.evolve(domain.RequestState(), decide(command()))
    assigned = domain.assign(state, AssignRequest(handler="wang-tietong"))
    assert isinstance(assigned, RequestAssigned) and assigned.previous_handler is None
    state = domain.evolve(state, assigned)
    assert (state.status, state.handler, state.version) == ("assigned", "wang-tietong", 2)
    with pytest.raises(DomainRuleViolated) as caught:
        domain.assign(state, AssignRequest(handler="wang-tietong"))
    assert caught.value.rule == "request.already_assigned"
