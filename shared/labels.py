"""Enumerations that carry their Chinese label: the standard library only, so a module
that needs one (the command line's `--role` choices, shared/roles.py) does not pay for
pydantic's import."""

from __future__ import annotations

from enum import StrEnum


class LabelledEnum(StrEnum):
    """A code and, beside it, what a person reads: `in_person = "in_person", "当面提交"`.

    The value (the code) is what APIs, events and contracts carry; `label_zh` is the one
    place a form, a page or a letter takes the Chinese word from (GET /v1/commands lists
    them). The label is not part of the value, so schemas and stored events do not change.
    """

    label_zh: str

    def __new__(cls, value: str, label_zh: str = "") -> LabelledEnum:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label_zh = label_zh
        return member
