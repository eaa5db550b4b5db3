"""Typed domain errors with bilingual messages.

Every refusal the system makes is one of these. The HTTP layer maps them to
RFC 9457 problem+json in one place (shared/http/problems.py); the domain and the
kernel only raise them.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, ClassVar


@dataclass
class GongkaiError(Exception):
    """A refusal: which rule was broken, on which field, said in Chinese and English."""

    rule: str
    message_zh: str
    message_en: str
    field: str | None = None
    details: dict[str, Any] = dataclass_field(default_factory=dict)

    status: ClassVar[int] = 400
    type_slug: ClassVar[str] = "invalid-input"

    def __str__(self) -> str:
        where = f" [{self.field}]" if self.field else ""
        return f"{self.rule}{where}: {self.message_en} / {self.message_zh}"


class ValidationFailed(GongkaiError):
    status = 422
    type_slug = "validation-failed"


class DomainRuleViolated(GongkaiError):
    """The command is well-formed but the domain refuses it (wrong state, law forbids)."""

    status = 409
    type_slug = "domain-rule"


class NotFound(GongkaiError):
    status = 404
    type_slug = "not-found"


class Unauthenticated(GongkaiError):
    status = 401
    type_slug = "unauthenticated"


class Forbidden(GongkaiError):
    status = 403
    type_slug = "forbidden"


class ConcurrencyConflict(GongkaiError):
    """Expected stream version differs from the stored one; nothing was written."""

    status = 409
    type_slug = "concurrency-conflict"


class PreconditionFailed(GongkaiError):
    """If-Match named a version that is no longer current."""

    status = 412
    type_slug = "precondition-failed"


class TooManyAttempts(GongkaiError):
    """Locked out after repeated failed sign-ins (per account or per address): retry later.
    `details["retry_after"]` holds the seconds until the lock ends (the Retry-After header)."""

    status = 429
    type_slug = "too-many-attempts"
