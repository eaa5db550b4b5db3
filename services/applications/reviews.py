"""行政复议 and 行政诉讼 about request decisions, and annual-report section 四 (条例 Art. 51;
国办公开办函〔2021〕30号; DOMAIN.md §2).

A case lives in its own stream `review-case-<id>` (a request may be archived long before
the court decides), opened with its kind and filing date, closed with its result.

Report decision [ours]: in year Y a case counts under its result if decided in Y, and as
尚未审结 if filed by the end of Y and not decided by then (a case pending for two years
appears as 尚未审结 in both).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.applications.events import registry
from shared.envelope import RecordedEvent
from shared.errors import DomainRuleViolated, ValidationFailed
from shared.fields import NOT_PERSONAL, Day, LabelledEnum
from shared.registry import DomainEvent


class CaseKind(LabelledEnum):
    review = "review", "行政复议"
    litigation_direct = "litigation_direct", "行政诉讼（未经复议直接起诉）"
    litigation_after_review = "litigation_after_review", "行政诉讼（复议后起诉）"


class CaseResult(LabelledEnum):
    upheld = "upheld", "结果维持"
    corrected = "corrected", "结果纠正"
    other = "other", "其他结果"


@registry.register
class ReviewCaseOpened(DomainEvent):
    event_type = "ReviewCaseOpened"
    stream_type = "review-case"

    case_id: UUID
    request_id: UUID
    kind: CaseKind
    filed_on: date
    body: str = Field(description="复议机关或人民法院", json_schema_extra=NOT_PERSONAL)


@registry.register
class ReviewCaseDecided(DomainEvent):
    event_type = "ReviewCaseDecided"
    stream_type = "review-case"

    case_id: UUID
    result: CaseResult
    decided_on: date


class OpenCase(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: CaseKind
    filed_on: Day
    body: str = Field(min_length=2, max_length=200)


class DecideCase(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    result: CaseResult
    decided_on: Day


@dataclass(frozen=True)
class Case:
    case_id: UUID
    tenant: str
    kind: CaseKind
    filed_on: date
    result: CaseResult | None = None
    decided_on: date | None = None


def _future(value: date, today: date, field: str) -> None:
    if value > today:
        raise ValidationFailed(
            rule="date.in_future",
            field=field,
            message_zh=f"日期 {value} 晚于今天 {today}",
            message_en=f"{field} lies after today",
        )


def open_case(
    cmd: OpenCase, case_id: UUID, request_id: UUID, received_on: date, today: date
) -> ReviewCaseOpened:
    _future(cmd.filed_on, today, "filed_on")
    if cmd.filed_on < received_on:
        raise ValidationFailed(
            rule="date.too_early",
            field="filed_on",
            message_zh="复议或诉讼不能早于收到申请之日",
            message_en="a case cannot be filed before the request was received",
        )
    return ReviewCaseOpened(
        case_id=case_id, request_id=request_id, kind=cmd.kind, filed_on=cmd.filed_on, body=cmd.body
    )


def decide_case(case: Case, cmd: DecideCase, today: date) -> ReviewCaseDecided:
    if case.result is not None:
        raise DomainRuleViolated(
            rule="review_case.already_decided",
            field="result",
            message_zh="该案件已审结",
            message_en="the case is already decided",
        )
    _future(cmd.decided_on, today, "decided_on")
    if cmd.decided_on < case.filed_on:
        raise ValidationFailed(
            rule="date.too_early",
            field="decided_on",
            message_zh="审结日期不能早于立案日期",
            message_en="a case cannot be decided before it was filed",
        )
    return ReviewCaseDecided(case_id=case.case_id, result=cmd.result, decided_on=cmd.decided_on)


def fold_cases(events: Iterable[RecordedEvent]) -> dict[UUID, Case]:
    cases: dict[UUID, Case] = {}
    for event in events:
        if event.stream_type != "review-case" or not registry.knows(event.type):
            continue
        decoded = registry.decode(event)
        if isinstance(decoded, ReviewCaseOpened):
            cases[decoded.case_id] = Case(
                decoded.case_id, event.tenant, decoded.kind, decoded.filed_on
            )
        elif isinstance(decoded, ReviewCaseDecided) and decoded.case_id in cases:
            old = cases[decoded.case_id]
            cases[decoded.case_id] = Case(
                old.case_id, old.tenant, old.kind, old.filed_on, decoded.result, decoded.decided_on
            )
    return cases


SECTION_FOUR_COLUMNS = (
    ("upheld", "结果维持"),
    ("corrected", "结果纠正"),
    ("other", "其他结果"),
    ("pending", "尚未审结"),
    ("total", "总计"),
)
SECTION_FOUR_GROUPS = (
    ("review", "行政复议"),
    ("litigation_direct", "行政诉讼 未经复议直接起诉"),
    ("litigation_after_review", "行政诉讼 复议后起诉"),
)


def section_four(cases: Iterable[Case], year: int) -> dict[str, Any]:
    counts = {g: {c: 0 for c, _ in SECTION_FOUR_COLUMNS} for g, _ in SECTION_FOUR_GROUPS}
    for case in cases:
        if case.filed_on.year > year:
            continue
        if case.decided_on is not None and case.decided_on.year == year:
            assert case.result is not None
            column = case.result.value
        elif case.decided_on is None or case.decided_on.year > year:
            column = "pending"
        else:
            continue  # decided before the year
        counts[case.kind.value][column] += 1
        counts[case.kind.value]["total"] += 1
    return {
        "section": "四、政府信息公开行政复议、行政诉讼情况",
        "columns": [{"key": k, "label": label} for k, label in SECTION_FOUR_COLUMNS],
        "groups": [
            {"key": g, "label": label, "values": counts[g]} for g, label in SECTION_FOUR_GROUPS
        ],
    }
