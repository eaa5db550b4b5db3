"""The rules of the policy Q&A knowledge base (政策问答库, 方案§16, §五(三)), pure.

A question about a published policy is registered with its answer clock; an officer
answers with a text to publish (the question restated without the asker, and the answer);
the catalog's privacy guard scans that text and holds it while it finds personal data
(方案§8, like a document); a reviewer who is not the answerer approves it, which publishes
it beside the policy, or returns it. No I/O: the handler passes in the policy, the clock,
the calendar and the similar published answers it read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time
from uuid import UUID
from zoneinfo import ZoneInfo

from services.catalog import privacy
from services.catalog.events import PrivacyFinding
from services.interpretation.qa_commands import AnswerQuestion, RegisterQuestion, ReturnAnswer
from services.interpretation.qa_events import (
    AnswerPublished,
    AnswerRedacted,
    AnswerReturned,
    QuestionAnswered,
    QuestionChannel,
    QuestionRegistered,
    SimilarEntry,
)
from shared.errors import DomainRuleViolated, ValidationFailed
from shared.registry import DomainEvent
from shared.workdays import WorkdayCalendar, local_date

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: 12345 consultation limit [local, default 广东: 2 working days], the same number as the
#: sentiment service's clock for a 咨询 work order (services/sentiment/deadlines.py).
CONSULTATION_WORKING_DAYS = 2
#: At most this many published answers are suggested for a new question.
MAX_SIMILAR = 5


@dataclass(frozen=True)
class QaPolicy:
    """The published policy a question is about, as the interpretation service knows it."""

    document_id: UUID
    title: str
    document_number: str | None
    township: str
    owner_unit: str
    withdrawn: bool
    interpretation_ids: tuple[UUID, ...] = ()


@dataclass(frozen=True)
class QaState:
    version: int = 0
    qa_id: UUID | None = None
    document_id: UUID | None = None
    policy_title: str = ""
    document_number: str | None = None
    township: str = ""
    channel: QuestionChannel | None = None
    status: str = "new"
    received_at: datetime | None = None
    due_at: datetime | None = None
    revision: int = 0
    public_question: str = ""
    answer: str = ""
    answered_by: str | None = None
    answered_at: datetime | None = None
    on_time: bool | None = None
    findings: tuple[PrivacyFinding, ...] = ()
    interpretation_ids: tuple[UUID, ...] = ()


def evolve(state: QaState, event: DomainEvent) -> QaState:
    s = replace(state, version=state.version + 1)
    if isinstance(event, QuestionRegistered):
        return replace(
            s,
            qa_id=event.qa_id,
            document_id=event.document_id,
            policy_title=event.policy_title,
            document_number=event.document_number,
            township=event.township,
            channel=event.channel,
            status="registered",
            received_at=event.received_at,
            due_at=event.due_at,
            interpretation_ids=tuple(event.interpretation_ids),
        )
    if isinstance(event, QuestionAnswered):
        return replace(
            s,
            status="answered",
            revision=event.revision,
            public_question=event.public_question,
            answer=event.answer,
            answered_by=event.answered_by,
            answered_at=s.answered_at or event.answered_at,
            on_time=event.on_time,
            findings=tuple(event.privacy_findings),
        )
    if isinstance(event, AnswerRedacted):
        return replace(s, public_question=event.public_question, answer=event.answer, findings=())
    if isinstance(event, AnswerReturned):
        return replace(s, status="returned")
    if isinstance(event, AnswerPublished):
        return replace(s, status="published")
    return s


def _invalid(rule: str, field: str, zh: str, en: str) -> ValidationFailed:
    return ValidationFailed(rule=rule, field=field, message_zh=zh, message_en=en)


def _refuse(rule: str, zh: str, en: str, field: str = "status") -> DomainRuleViolated:
    return DomainRuleViolated(rule=rule, field=field, message_zh=zh, message_en=en)


def answer_due(
    received_at: datetime, calendar: WorkdayCalendar, days: int = CONSULTATION_WORKING_DAYS
) -> tuple[datetime, bool]:
    """The end (23:59:59 Beijing time) of the `days`-th working day after receipt."""
    due = calendar.add_workdays(local_date(received_at), days)
    return datetime.combine(due.due, time(23, 59, 59), tzinfo=SHANGHAI), due.provisional


def register(
    qa_id: UUID,
    cmd: RegisterQuestion,
    policy: QaPolicy | None,
    similar: list[tuple[UUID, float]],
    calendar: WorkdayCalendar,
    now: datetime,
    registered_by: str,
    days: int = CONSULTATION_WORKING_DAYS,
) -> QuestionRegistered:
    """登记: a question about a published, current policy, received no later than now."""
    if policy is None:
        raise _invalid(
            "qa.policy_unknown",
            "document_id",
            f"所咨询的政策文件 {cmd.document_id} 未找到：须为已公开的政策文件",
            f"no published policy {cmd.document_id} is known",
        )
    if policy.withdrawn:
        raise _invalid(
            "qa.policy_withdrawn",
            "document_id",
            "所咨询的政策文件已撤销或废止，不再登记咨询",
            "the policy was withdrawn; questions about it are not registered",
        )
    received = cmd.received_at or now
    if received.utcoffset() is None:
        raise _invalid(
            "qa.received_at_naive",
            "received_at",
            "收到时间须带时区，如 2026-12-07T09:30:00+08:00",
            "received_at needs a UTC offset, e.g. 2026-12-07T09:30:00+08:00",
        )
    if received > now:
        raise _invalid(
            "qa.received_in_future",
            "received_at",
            "收到时间不能晚于登记时间",
            "received_at cannot be later than now",
        )
    if not cmd.question.strip(" \u3000\n\t？?。."):
        raise _invalid("qa.question_empty", "question", "咨询问题不能为空", "the question is empty")
    due, provisional = answer_due(received, calendar, days)
    return QuestionRegistered(
        qa_id=qa_id,
        document_id=policy.document_id,
        policy_title=policy.title,
        document_number=policy.document_number,
        township=policy.township,
        channel=cmd.channel,
        source_ref=cmd.source_ref,
        question=cmd.question,
        asker=cmd.asker,
        received_at=received,
        due_at=due,
        limit_working_days=days,
        due_provisional=provisional,
        interpretation_ids=list(policy.interpretation_ids),
        similar=[SimilarEntry(qa_id=q, similarity=round(s, 4)) for q, s in similar[:MAX_SIMILAR]],
        registered_by=registered_by,
    )


def _require(state: QaState, allowed: tuple[str, ...], step_zh: str, step: str) -> UUID:
    if state.qa_id is None:
        raise _refuse("qa.not_registered", "问答条目不存在", "the entry does not exist", "qa_id")
    if state.status == "published":
        raise _refuse(
            "qa.already_published",
            f"答复已审核发布，不能再{step_zh}",
            f"the answer is published; it cannot be {step}",
        )
    if state.status not in allowed:
        raise _refuse(
            f"qa.{step.replace(' ', '_')}_not_allowed",
            f"问答条目状态为 {state.status}，不能{step_zh}",
            f"an entry in status {state.status} cannot be {step}",
        )
    return state.qa_id


def answer(state: QaState, cmd: AnswerQuestion, by: str, now: datetime) -> QuestionAnswered:
    """答复: the text to publish, scanned; the first answer decides whether it was on time."""
    qa_id = _require(state, ("registered", "returned", "answered"), "答复", "answered")
    assert state.due_at is not None
    on_time = state.on_time if state.on_time is not None else now <= state.due_at
    fields = {"public_question": cmd.public_question, "answer": cmd.answer}
    return QuestionAnswered(
        qa_id=qa_id,
        revision=state.revision + 1,
        public_question=cmd.public_question,
        answer=cmd.answer,
        answered_by=by,
        answered_at=now,
        on_time=on_time,
        privacy_findings=privacy.scan(fields, salt=str(qa_id)),
    )


def redact(state: QaState, by: str) -> AnswerRedacted:
    """脱敏: mask what the guard found (the masks keep the length)."""
    qa_id = _require(state, ("answered",), "脱敏", "redacted")
    if not state.findings:
        raise _refuse(
            "qa.nothing_to_redact",
            "答复中没有待脱敏的个人信息",
            "the answer holds no personal data to redact",
            "answer",
        )

    def masked(name: str, text: str) -> str:
        return privacy.redact(text, [f for f in state.findings if f.field == name])

    return AnswerRedacted(
        qa_id=qa_id,
        revision=state.revision,
        public_question=masked("public_question", state.public_question),
        answer=masked("answer", state.answer),
        redacted=list(state.findings),
        redacted_by=by,
    )


def return_answer(state: QaState, cmd: ReturnAnswer, by: str) -> AnswerReturned:
    qa_id = _require(state, ("answered",), "退回", "returned")
    return AnswerReturned(qa_id=qa_id, revision=state.revision, reason=cmd.reason, returned_by=by)


def approve(state: QaState, by: str, now: datetime) -> AnswerPublished:
    """审核发布: held while the privacy guard finds personal data (方案§8)."""
    qa_id = _require(state, ("answered",), "审核发布", "approved")
    if state.findings:
        kinds = "、".join(sorted({f.kind.label_zh for f in state.findings}))
        raise _refuse(
            "qa.privacy_hold",
            f"答复含个人信息（{kinds}），须脱敏或修改后才能审核发布",
            "the text to publish holds personal data; redact or revise it before approval",
            "answer",
        )
    assert state.document_id is not None and state.channel is not None
    assert state.received_at and state.due_at and state.answered_at and state.answered_by
    return AnswerPublished(
        qa_id=qa_id,
        revision=state.revision,
        document_id=state.document_id,
        township=state.township,
        policy_title=state.policy_title,
        document_number=state.document_number,
        public_question=state.public_question,
        answer=state.answer,
        channel=state.channel,
        answered_by=state.answered_by,
        approved_by=by,
        received_at=state.received_at,
        due_at=state.due_at,
        answered_at=state.answered_at,
        on_time=bool(state.on_time),
        published_at=now,
        interpretation_ids=list(state.interpretation_ids),
    )


def remaining_words(due_at: datetime, today: date, calendar: WorkdayCalendar) -> str:
    """还剩N个工作日 / 今天到期 / 已超期N个工作日 (UI.md: deadlines in words)."""
    due = due_at.astimezone(SHANGHAI).date()
    if due == today:
        return "今天到期"
    if due > today:
        return f"还剩{calendar.workdays_between(today, due)}个工作日"
    return f"已超期{calendar.workdays_between(due, today)}个工作日"
