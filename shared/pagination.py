"""Cursor pagination: opaque cursors over a stable (sort key, id) order."""

from __future__ import annotations

import base64

import orjson

from shared.errors import ValidationFailed


def encode_cursor(*values: str | int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(values))).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[str | int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = orjson.loads(raw)
        if not isinstance(values, list) or len(values) != arity:
            raise ValueError
        return values
    except ValueError:
        raise ValidationFailed(
            rule="cursor.invalid",
            field="cursor",
            message_zh="分页游标无效，请使用上一页返回的 next_cursor",
            message_en="invalid cursor; pass the next_cursor of the previous page",
        ) from None


def scope_clause(column: str, first_param: int) -> str:
    """SQL matching an org and its subtree: `column = $n OR column LIKE $n+1`."""
    return f"({column} = ${first_param} OR {column} LIKE ${first_param + 1})"


def scope_args(org: str) -> tuple[str, str]:
    return org, org.replace("%", "").replace("_", r"\_") + "/%"
