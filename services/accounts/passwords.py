"""Password rules and hashes of local accounts (pure, but for the hash's own randomness).

The rules follow GB/T 22239-2019《信息安全技术 网络安全等级保护基本要求》level 3, 8.1.4.1
身份鉴别: a) identities are unique and "身份鉴别信息具有复杂度要求并定期更换" (complexity and
periodic change); b) "应具有登录失败处理功能…限制非法登录次数" (lockout: signin.py). As the
assessment practice reads a) for level 3: at least 8 characters with at least three of
upper case, lower case, digits and special characters; not the user name; not one of the
last passwords; changed at least every 90 days; an initial password changed at first use.

Hashes: argon2id (RFC 9106) with the OWASP Password Storage Cheat Sheet's first configuration
(m=19 MiB, t=2, p=1): about 25 ms on one core of the development VM, so 2 cores shared with
the whole suite still sign people in while the lockout throttles guessing; the parameters
are in each hash, so raising them later re-hashes nothing.
"""

from __future__ import annotations

import functools
import secrets
import string
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from shared.errors import ValidationFailed

MIN_LENGTH = 8
MAX_LENGTH = 128
MIN_CLASSES = 3
HISTORY = 5
"""A new password may not be any of the account's last HISTORY passwords."""
MAX_AGE = timedelta(days=90)
"""定期更换: a password older than this must be changed at the next sign-in."""

_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)  # argon2id


@dataclass(frozen=True)
class Classes:
    upper: bool
    lower: bool
    digit: bool
    special: bool

    @property
    def count(self) -> int:
        return sum((self.upper, self.lower, self.digit, self.special))


def classes_of(password: str) -> Classes:
    return Classes(
        upper=any(c in string.ascii_uppercase for c in password),
        lower=any(c in string.ascii_lowercase for c in password),
        digit=any(c in string.digits for c in password),
        special=any(not c.isalnum() and not c.isspace() for c in password),
    )


def _refuse(rule: str, zh: str, en: str, field: str) -> ValidationFailed:
    return ValidationFailed(
        rule=f"password.{rule}",
        field=field,
        message_zh=f"新密码：{zh}（GB/T 22239-2019 8.1.4.1）",
        message_en=f"new password: {en} (GB/T 22239-2019 8.1.4.1)",
    )


def check_rules(password: str, username: str, *, field: str = "new_password") -> None:
    """Refuse a password that breaks the level-3 rules (ValidationFailed, rule password.*)."""
    if len(password) < MIN_LENGTH:
        raise _refuse(
            "too_short",
            f"长度至少 {MIN_LENGTH} 位",
            f"at least {MIN_LENGTH} characters",
            field,
        )
    if len(password) > MAX_LENGTH:
        raise _refuse(
            "too_long", f"长度不超过 {MAX_LENGTH} 位", f"at most {MAX_LENGTH} characters", field
        )
    if classes_of(password).count < MIN_CLASSES:
        raise _refuse(
            "too_simple",
            "应包含大写字母、小写字母、数字和特殊字符中的至少三类",
            "must mix at least three of upper case, lower case, digits and special characters",
            field,
        )
    if username and username.lower() in password.lower():
        raise _refuse(
            "contains_username",
            "不得包含用户名",
            "must not contain the user name",
            field,
        )


@functools.cache
def dummy_hash() -> str:
    """A hash to verify against when there is no account: the same time either way."""
    return _HASHER.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def reused(password: str, history: list[str]) -> bool:
    """Whether `password` is one of the hashes in `history` (the last HISTORY ones)."""
    return any(verify(old, password) for old in history[-HISTORY:])


def reused_error(field: str = "new_password") -> ValidationFailed:
    return _refuse(
        "reused",
        f"不得与最近 {HISTORY} 次使用过的密码相同",
        f"must differ from the last {HISTORY} passwords",
        field,
    )
