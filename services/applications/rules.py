"""Guards shared by the lifecycle decisions (pure): state checks and date checks.

Every refusal names its rule and field, in Chinese and English (shared/errors.py).
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from services.applications.state import RequestState
from shared.errors import DomainRuleViolated, ValidationFailed


def invalid(rule: str, field: str, zh: str, en: str) -> ValidationFailed:
    return ValidationFailed(rule=rule, field=field, message_zh=zh, message_en=en)


def refuse(rule: str, field: str, zh: str, en: str) -> DomainRuleViolated:
    return DomainRuleViolated(rule=rule, field=field, message_zh=zh, message_en=en)


def rid_of(state: RequestState) -> UUID:
    if state.request_id is None:
        raise refuse("request.not_registered", "request_id", "申请尚未登记", "not registered")
    return state.request_id


def writable(state: RequestState) -> UUID:
    rid = rid_of(state)
    if state.archived:
        raise refuse(
            "request.archived",
            "request_id",
            "申请已归档，不能再办理（条例第四十五条）",
            "the request is archived; nothing changes after archiving",
        )
    return rid


def open_request(state: RequestState) -> UUID:
    rid = writable(state)
    if state.concluded:
        raise refuse(
            "request.concluded",
            "request_id",
            f"申请已办结（{state.conclusion}），不能再办理",
            f"the request is already concluded ({state.conclusion})",
        )
    return rid


def check_day(value: date, field: str, today: date, not_before: date | None = None) -> None:
    if value > today:
        raise invalid(
            "date.in_future", field, f"日期 {value} 晚于今天 {today}", f"{field} lies after today"
        )
    if not_before is not None and value < not_before:
        raise invalid(
            "date.too_early",
            field,
            f"日期 {value} 早于 {not_before}",
            f"{field} {value} lies before {not_before}",
        )


def running(state: RequestState, field: str) -> None:
    if state.awaiting_correction:
        raise refuse(
            "correction.pending",
            field,
            "申请待补正，答复期限尚未起算",
            "the request awaits correction; the reply clock has not started",
        )
