"""Pure rules of intake, response clocks and the case ledger (DOMAIN.md §4, 方案§17)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.sentiment import domain
from services.sentiment.commands import (
    AssignCase,
    DecideExtension,
    FollowUpCase,
    PublishResult,
    ReceiveMessage,
    RemindCase,
    RequestExtension,
    RespondCase,
    ReturnCase,
)
from services.sentiment.deadlines import SHANGHAI, DeadlineRules, case_deadlines
from services.sentiment.events import CaseOpened, MessageKind, Source
from shared.envelope import new_id
from shared.errors import DomainRuleViolated, ValidationFailed
from shared.registry import DomainEvent
from shared.workdays import WorkdayCalendar

CAL = WorkdayCalendar.default()
OPENED = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)  # a Monday


def receive(**overrides: Any) -> ReceiveMessage:
    body = {"source": "mailbox", "text": "东街路灯坏了一个月没人修"} | overrides
    return ReceiveMessage.model_validate(body)


def clocks(source: Source, kind: MessageKind, urgency: str = "normal", **kw: Any) -> Any:
    return case_deadlines(
        source=source,
        kind=kind,
        category="城乡建设",
        urgency=urgency,
        opened_at=kw.pop("opened_at", OPENED),
        calendar=CAL,
        **kw,
    )


def test_empty_or_blank_text_is_refused() -> None:
    with pytest.raises(ValidationFailed) as err:
        domain.check_message(receive(text="  \n "))
    assert (err.value.rule, err.value.field) == ("message.text_empty", "text")


def test_text_over_the_limit_is_refused() -> None:
    with pytest.raises(ValidationFailed) as err:
        domain.check_message(receive(text="字" * 5001))
    assert err.value.rule == "message.text_too_long"


def test_unknown_source_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ValidationFailed) as err:
        domain.check_message(receive(source="wechat"))
    assert err.value.rule == "message.source_unknown" and "hotline" in err.value.message_en


def test_default_kind_is_complaint_for_12345_and_opinion_otherwise() -> None:
    assert domain.check_message(receive(source="hotline"))[1] is MessageKind.complaint
    assert domain.check_message(receive())[1] is MessageKind.opinion


def test_dedup_key_by_external_id_else_by_whitespace_insensitive_text() -> None:
    key = domain.dedup_key
    t = "shangdang/sudian"
    assert key(t, Source.hotline, "A1", "x") == key(t, Source.hotline, "A1", "y")
    assert key(t, Source.mailbox, None, "路灯 坏了") == key(t, Source.mailbox, None, "路灯  坏了")
    assert key(t, Source.mailbox, None, "a") != key("shangdang/xihuo", Source.mailbox, None, "a")


def test_major_emergency_clocks_are_5_and_24_hours__61hao() -> None:
    deadlines, due = clocks(Source.media, MessageKind.opinion, "major_emergency")
    assert [d.name for d in deadlines] == ["authoritative_information", "press_conference"]
    assert due == OPENED + timedelta(hours=5)
    assert deadlines[1].due_at == OPENED + timedelta(hours=24)


def test_other_public_opinion_has_48_hours__61hao() -> None:
    _, due = clocks(Source.message_board, MessageKind.opinion)
    assert due == OPENED + timedelta(hours=48)


@pytest.mark.parametrize(
    ("kind", "days", "due_day"),
    [
        (MessageKind.consultation, 2, date(2026, 3, 4)),
        (MessageKind.help, 10, date(2026, 3, 16)),
        (MessageKind.suggestion, 10, date(2026, 3, 16)),
        (MessageKind.complaint, 15, date(2026, 3, 23)),
    ],
)
def test_12345_limits_count_working_days_to_the_end_of_the_day__local(
    kind: MessageKind, days: int, due_day: date
) -> None:
    (deadline,), due = clocks(Source.hotline, kind)
    assert due == datetime.combine(due_day, time(23, 59, 59), tzinfo=SHANGHAI)
    assert f"{days} 个工作日" in deadline.rule


def test_12345_clock_skips_the_spring_festival__workdays() -> None:
    # Opened Friday 2026-02-13; 2/14 is a make-up workday, 2/15–23 the holiday.
    opened = datetime(2026, 2, 13, 10, 0, tzinfo=SHANGHAI)
    _, due = clocks(Source.hotline, MessageKind.consultation, opened_at=opened)
    assert due.date() == date(2026, 2, 24)


def test_rules_are_configurable() -> None:
    rules = DeadlineRules(opinion_response_hours=24, category_hours={"城乡建设": 12})
    _, due = clocks(Source.mailbox, MessageKind.opinion, rules=rules)
    assert due == OPENED + timedelta(hours=12)


@given(
    hours=st.integers(min_value=0, max_value=24 * 400),
    kind=st.sampled_from(list(MessageKind)),
    source=st.sampled_from(list(Source)),
)
def test_every_clock_lies_after_the_opening(hours: int, kind: MessageKind, source: Source) -> None:
    opened = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=hours)
    deadlines, due = clocks(source, kind, opened_at=opened)
    assert due > opened and due == min(d.due_at for d in deadlines)


def opened_case(events: list[DomainEvent] | None = None) -> domain.CaseState:
    deadlines, due = clocks(Source.hotline, MessageKind.help)
    state = domain.evolve(
        domain.CaseState(),
        CaseOpened(
            case_id=new_id(),
            first_message_id=new_id(),
            source=Source.hotline,
            kind=MessageKind.help,
            category="城乡建设",
            tags=[],
            urgency="normal",
            opened_at=OPENED,
            deadlines=deadlines,
            response_due=due,
        ),
    )
    for event in events or []:
        state = domain.evolve(state, event)
    return state


ASSIGN = AssignCase(unit="shangdang/sudian/social-affairs", officer="liu-yang")


def run(state: domain.CaseState, *steps: Any) -> domain.CaseState:
    for make in steps:
        state = domain.evolve(state, make(state))
    return state


def test_full_work_order_with_return_extension_and_reopen() -> None:
    now = OPENED + timedelta(days=1)
    state = run(
        opened_case(),
        lambda s: domain.assign(s, ASSIGN),
        lambda s: domain.return_case(s, ReturnCase(reason="不属本单位职责")),
        lambda s: domain.assign(s, ASSIGN),
        domain.accept,
        lambda s: domain.request_extension(
            s,
            RequestExtension(reason="需现场核查", requested_due=s.response_due + timedelta(days=3)),
        ),
        lambda s: domain.decide_extension(s, DecideExtension(approved=True)),
        lambda s: domain.remind(s, RemindCase(level="supervision")),
        lambda s: domain.respond(s, RespondCase(response="已修复"), now),
        lambda s: domain.publish_result(s, PublishResult(), now),
        lambda s: domain.follow_up(s, FollowUpCase(satisfaction="dissatisfied")),
        lambda s: domain.reopen(s, "仍未修好", now),
    )
    assert state.status == "reopened" and state.version == 12
    assert state.response_due == now + (state.first_due - OPENED)  # type: ignore[operator]


def test_response_before_the_due_time_is_on_time() -> None:
    state = run(opened_case(), lambda s: domain.assign(s, ASSIGN), domain.accept)
    assert domain.respond(state, RespondCase(response="已答复"), OPENED).on_time
    late = state.response_due + timedelta(seconds=1)  # type: ignore[operator]
    assert not domain.respond(state, RespondCase(response="已答复"), late).on_time


def test_reply_to_a_closed_case_is_refused() -> None:
    state = run(
        opened_case(),
        lambda s: domain.assign(s, ASSIGN),
        domain.accept,
        lambda s: domain.respond(s, RespondCase(response="已答复"), OPENED),
        lambda s: domain.follow_up(s, FollowUpCase(satisfaction="satisfied")),
    )
    assert state.status == "closed"
    with pytest.raises(DomainRuleViolated) as err:
        domain.respond(state, RespondCase(response="再答复"), OPENED)
    assert err.value.rule == "case.closed"


def test_steps_out_of_order_are_refused() -> None:
    state = opened_case()
    with pytest.raises(DomainRuleViolated):
        domain.accept(state)
    with pytest.raises(DomainRuleViolated):
        domain.respond(state, RespondCase(response="答复"), OPENED)
    with pytest.raises(DomainRuleViolated, match="no extension"):
        domain.decide_extension(
            run(state, lambda s: domain.assign(s, ASSIGN), domain.accept),
            DecideExtension(approved=True),
        )


def test_refused_extension_keeps_the_clock_and_must_ask_for_later() -> None:
    state = run(opened_case(), lambda s: domain.assign(s, ASSIGN), domain.accept)
    with pytest.raises(ValidationFailed):
        domain.request_extension(
            state, RequestExtension(reason="需核查", requested_due=OPENED + timedelta(hours=1))
        )
    state = run(
        state,
        lambda s: domain.request_extension(
            s, RequestExtension(reason="需核查", requested_due=s.response_due + timedelta(days=1))
        ),
    )
    decided = domain.decide_extension(state, DecideExtension(approved=False))
    assert decided.response_due == state.response_due


def test_overdue_case_escalates_to_the_township_then_the_district__fangan_5_4() -> None:
    state = run(opened_case(), lambda s: domain.assign(s, ASSIGN))
    due = state.response_due
    assert due is not None
    assert domain.escalation(state, due) is None
    first = domain.escalation(state, due + timedelta(minutes=1))
    assert first is not None and first.level == 1
    state = domain.evolve(state, first)
    assert domain.escalation(state, due + timedelta(hours=1)) is None
    second = domain.escalation(state, due + (due - OPENED) + timedelta(minutes=1))
    assert second is not None and second.level == 2
    assert "district_cyberspace_office" in second.escalated_to


def test_a_responded_case_never_escalates() -> None:
    state = run(
        opened_case(),
        lambda s: domain.assign(s, ASSIGN),
        domain.accept,
        lambda s: domain.respond(s, RespondCase(response="已答复"), OPENED),
    )
    assert domain.escalation(state, OPENED + timedelta(days=365)) is None
