"""Pure rules of the policy Q&A knowledge base (政策问答库, 方案§16 做好政策咨询服务,
§五(三) 政策咨询服务; §8 个人隐私保护): registration and its answer clock, the privacy
hold, separation of duties, publication, and the assessment signals it feeds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from pydantic import ValidationError

from services.assessment.signals import Source, classify
from services.interpretation import qa, samples
from services.interpretation.qa import QaPolicy, QaState
from services.interpretation.qa_commands import AnswerQuestion, RegisterQuestion, ReturnAnswer
from services.interpretation.qa_events import Asker, QuestionChannel
from services.interpretation.qa_handlers import QA_COMMANDS
from shared.commands import Context
from shared.envelope import new_id
from shared.errors import DomainRuleViolated, Forbidden, ValidationFailed
from shared.identity import Principal, Role
from shared.registry import DomainEvent, payload_of
from shared.workdays import WorkdayCalendar

CAL = WorkdayCalendar.default()
UNIT = "shangdang/sudian/agri-service"
# 10:00 in Beijing on 2026-09-30, the last working day before 国庆 (10/1–7 off).
RECEIVED = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)
QUESTION = "我家改厕的补助是要先自己垫钱吗？我电话13912345678，姓赵。"
PUBLIC_Q = "农村户厕改造的补助需要农户先行垫付吗？"
ANSWER = "不需要先行垫付。户厕改造经村、镇两级验收合格后，补助由镇财政所直接发放到户。"


def policy(**overrides: Any) -> QaPolicy:
    values: dict[str, Any] = {
        "document_id": new_id(),
        "title": samples.POLICY_TITLE,
        "document_number": samples.POLICY_NUMBER,
        "township": "shangdang/sudian",
        "owner_unit": UNIT,
        "withdrawn": False,
        "interpretation_ids": (new_id(),),
    }
    values.update(overrides)
    return QaPolicy(**values)


def question(document: UUID, **overrides: Any) -> RegisterQuestion:
    values: dict[str, Any] = {
        "document_id": str(document),
        "channel": "hotline",
        "question": QUESTION,
        "asker": {"name": "赵秀英", "phone": "13912345678"},
        "source_ref": "12345-20260930-0417",
        "received_at": RECEIVED.isoformat(),
    }
    values.update(overrides)
    return RegisterQuestion.model_validate(values)


def fold(events: list[DomainEvent]) -> QaState:
    state = QaState()
    for e in events:
        state = qa.evolve(state, e)
    return state


def registered(**overrides: Any) -> tuple[QaState, list[DomainEvent]]:
    p = policy(**overrides)
    e = qa.register(new_id(), question(p.document_id), p, [], CAL, RECEIVED, "liu-yang")
    return fold([e]), [e]


def answered(at: datetime, text: str = ANSWER) -> tuple[QaState, list[DomainEvent]]:
    state, events = registered()
    e = qa.answer(state, AnswerQuestion(public_question=PUBLIC_Q, answer=text), "yang-fan", at)
    return fold([*events, e]), [*events, e]


def test_registration_links_the_policy_and_its_interpretations_and_starts_the_clock__s16() -> None:
    p = policy()
    similar = [(new_id(), 0.61)]
    e = qa.register(new_id(), question(p.document_id), p, similar, CAL, RECEIVED, "liu-yang")
    assert e.document_id == p.document_id and e.policy_title == samples.POLICY_TITLE
    assert e.interpretation_ids == list(p.interpretation_ids)
    assert e.channel is QuestionChannel.hotline and e.asker == Asker(
        name="赵秀英", phone="13912345678"
    )
    # 2 working days after 09-30 skip 国庆: 10-08 and 10-09; due at 23:59:59 Beijing time.
    assert e.due_at == datetime(2026, 10, 9, 15, 59, 59, tzinfo=UTC)
    assert e.limit_working_days == 2 and not e.due_provisional
    assert [(s.qa_id, s.similarity) for s in e.similar] == [(similar[0][0], 0.61)]


def test_a_question_about_an_unknown_or_withdrawn_policy_is_refused_naming_the_field() -> None:
    doc = new_id()
    with pytest.raises(ValidationFailed) as err:
        qa.register(new_id(), question(doc), None, [], CAL, RECEIVED, "liu-yang")
    assert (err.value.rule, err.value.field) == ("qa.policy_unknown", "document_id")
    p = policy(withdrawn=True)
    with pytest.raises(ValidationFailed) as err:
        qa.register(new_id(), question(p.document_id), p, [], CAL, RECEIVED, "liu-yang")
    assert (err.value.rule, err.value.field) == ("qa.policy_withdrawn", "document_id")


def test_a_question_received_in_the_future_or_empty_is_refused() -> None:
    p = policy()
    later = question(p.document_id, received_at=(RECEIVED + timedelta(hours=1)).isoformat())
    with pytest.raises(ValidationFailed) as err:
        qa.register(new_id(), later, p, [], CAL, RECEIVED, "liu-yang")
    assert (err.value.rule, err.value.field) == ("qa.received_in_future", "received_at")
    with pytest.raises(ValidationFailed) as err:
        qa.register(
            new_id(), question(p.document_id, question="？？？？"), p, [], CAL, RECEIVED, "x"
        )
    assert (err.value.rule, err.value.field) == ("qa.question_empty", "question")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("channel", "wechat"),
        ("question", "啊"),
        ("question", "问" * 5001),
        ("received_at", 1764201600),
        ("received_at", "0001-03-01T09:00:00+08:00"),
        ("document_id", "not-a-uuid"),
    ],
)
def test_bad_input_is_refused_by_the_command_model_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as err:
        question(new_id(), **{field: value})
    assert err.value.errors()[0]["loc"][0] == field


def test_the_first_answer_decides_on_time_and_a_revision_keeps_the_verdict__s16() -> None:
    in_time, _ = answered(datetime(2026, 10, 9, 15, 0, tzinfo=UTC))
    assert in_time.on_time is True and in_time.status == "answered"
    late, events = answered(datetime(2026, 10, 9, 16, 0, tzinfo=UTC))  # 00:00 on 10-10
    assert late.on_time is False
    # Returned and answered again: still late (a revision cannot make it timely).
    back = qa.return_answer(late, ReturnAnswer(reason="请写明补助标准"), "zhao-lei")
    state = fold([*events, back])
    assert state.status == "returned"
    again = qa.answer(
        state, AnswerQuestion(public_question=PUBLIC_Q, answer=ANSWER), "yang-fan", RECEIVED
    )
    assert again.revision == 2 and again.on_time is False


def test_an_answer_holding_personal_data_is_held_until_redacted__s8() -> None:
    leaky = ANSWER + "如有疑问请联系经办人王强13812345678。"
    state, events = answered(datetime(2026, 10, 8, 2, 0, tzinfo=UTC), leaky)
    assert [f.kind.value for f in state.findings] == ["mobile"]
    with pytest.raises(DomainRuleViolated) as err:
        qa.approve(state, "zhao-lei", datetime(2026, 10, 8, 3, 0, tzinfo=UTC))
    assert (err.value.rule, err.value.field) == ("qa.privacy_hold", "answer")
    assert "手机号码" in err.value.message_zh
    redacted = qa.redact(state, "yang-fan")
    assert "13812345678" not in redacted.answer and "138****5678" in redacted.answer
    state = fold([*events, redacted])
    published = qa.approve(state, "zhao-lei", datetime(2026, 10, 8, 3, 0, tzinfo=UTC))
    assert "13812345678" not in published.answer
    with pytest.raises(DomainRuleViolated) as err:
        qa.redact(state, "yang-fan")
    assert err.value.rule == "qa.nothing_to_redact"


def test_the_published_text_never_carries_the_asker__s8() -> None:
    state, events = answered(datetime(2026, 10, 8, 2, 0, tzinfo=UTC))
    published = qa.approve(state, "zhao-lei", datetime(2026, 10, 8, 3, 0, tzinfo=UTC))
    payload = payload_of(published)
    text = str(payload)
    assert "赵秀英" not in text and "13912345678" not in text and QUESTION not in text
    assert payload["public_question"] == PUBLIC_Q and payload["answer"] == ANSWER
    assert fold([*events, published]).status == "published"
    with pytest.raises(DomainRuleViolated) as err:
        qa.answer(
            fold([*events, published]),
            AnswerQuestion(public_question=PUBLIC_Q, answer=ANSWER),
            "yang-fan",
            RECEIVED,
        )
    assert err.value.rule == "qa.already_published"


def test_only_an_answered_entry_is_approved() -> None:
    state, _ = registered()
    with pytest.raises(DomainRuleViolated) as err:
        qa.approve(state, "zhao-lei", RECEIVED)
    assert err.value.rule == "qa.approved_not_allowed"


def test_the_answerer_may_not_approve_or_return_their_own_answer() -> None:
    state, _ = answered(datetime(2026, 10, 8, 2, 0, tzinfo=UTC))
    head = Principal(sub="yang-fan", org=UNIT, roles=frozenset({Role.SECTION_HEAD}))
    context = Context(
        principal=head, now=RECEIVED, today=RECEIVED.date(), calendar=CAL, new_id=new_id()
    )
    for name in ("approve", "return"):
        guard = QA_COMMANDS[name].guard
        assert guard is not None
        with pytest.raises(Forbidden) as err:
            guard(state, None, context)
        assert err.value.rule == "duty.same_person"
    other = Principal(sub="zhao-lei", org=UNIT, roles=frozenset({Role.SECTION_HEAD}))
    guard = QA_COMMANDS["approve"].guard
    assert guard is not None
    guard(state, None, Context(other, RECEIVED, RECEIVED.date(), CAL, new_id()))


def _source(event: DomainEvent, tenant: str = UNIT) -> Source:
    return Source(
        event_id=str(new_id()),
        type=event.event_type,
        tenant=tenant,
        occurred_at=RECEIVED,
        payload=payload_of(event),
    )


def test_registered_and_timely_answered_consultations_are_the_assessment_rate__s16() -> None:
    state, events = registered()
    (base,) = classify(_source(events[0]))
    assert (base.signal, base.case, base.org) == ("qa.consultation", str(state.qa_id), UNIT)
    _, timely = answered(datetime(2026, 10, 9, 15, 0, tzinfo=UTC))
    (hit,) = classify(_source(timely[-1]))
    assert hit.signal == "qa.answered_in_time" and hit.case == str(timely[-1].qa_id)  # type: ignore[attr-defined]
    _, late = answered(datetime(2026, 10, 10, 1, 0, tzinfo=UTC))
    assert classify(_source(late[-1])) == []


def test_the_deadline_reads_in_words_counting_working_days_over_national_day() -> None:
    due = datetime(2026, 10, 9, 15, 59, 59, tzinfo=UTC)  # 23:59:59 on 10-09 in Beijing
    assert qa.remaining_words(due, date(2026, 9, 30), CAL) == "还剩2个工作日"  # 10-08, 10-09
    assert qa.remaining_words(due, date(2026, 10, 9), CAL) == "今天到期"
    assert qa.remaining_words(due, date(2026, 10, 12), CAL) == "已超期2个工作日"  # 10-10 调休
