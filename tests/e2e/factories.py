"""Realistic 依申请公开 registrations for tests (factories, not copied dicts)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.envelope import utcnow
from shared.workdays import local_date


def today() -> Any:
    return local_date(utcnow())


def registration(**overrides: Any) -> dict[str, Any]:
    """A request handed in at the counter yesterday by a resident of 苏店镇."""
    day = today() - timedelta(days=1)
    body: dict[str, Any] = {
        "tenant": "shangdang/sudian",
        "channel": "in_person",
        "submitted_on": day.isoformat(),
        "applicant": {
            "kind": "natural_person",
            "name": "王秀英",
            "id_document": "居民身份证 140421199001011234",
            "phone": "13812345678",
            "address": "长治市上党区苏店镇苏店村",
        },
        "description": "申请公开苏店镇2025年度惠民惠农财政补贴资金发放名单及标准",
        "requested_form": "paper",
        "delivery_channel": "post",
    }
    for key, value in overrides.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def days_ago(days: int) -> str:
    """An ISO date `days` calendar days before today (Asia/Shanghai)."""
    return (today() - timedelta(days=days)).isoformat()


def citizen_message(text: str, **overrides: Any) -> dict[str, Any]:
    """A message left on the township's 政民互动 board by a resident of 苏店镇."""
    body: dict[str, Any] = {
        "source": "message_board",
        "text": text,
        "citizen": {"name": "李桂兰", "phone": "13700002222"},
    }
    return body | overrides
