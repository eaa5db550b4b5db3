"""Historic schema versions of catalog events, frozen as they were published.

- DocumentDrafted v1: no link to the 信息报送 item a draft came from.
- DocumentRevised v1: the reviser was not kept (separation of duties could not see them).
- GazetteIssuePublished v1: the hash covered the entries only; issues were not chained.
- PrivacyScanCompleted and PrivacyFindingJustified v1: four kinds of personal data (v2
  adds e-mail addresses and passport numbers; a v1 payload is a valid v2 one).

The classes keep their published names and docstrings so that contracts/ sees the same
schema; never edit them (add a new version instead). Each upcaster lifts one version.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.catalog.content import DocumentContent, GazetteEntry
from shared.fields import NOT_PERSONAL
from shared.registry import DomainEvent


class DocumentDrafted(DomainEvent):
    """拟稿: revision 1 of a document by its drafter, in its drafting unit."""

    event_type = "DocumentDrafted"
    stream_type = "document"

    document_id: UUID
    drafting_unit: str
    drafting_unit_name: str
    township: str
    drafter: str
    content: DocumentContent = Field(json_schema_extra=NOT_PERSONAL)


def document_drafted_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """v1 documents were all drafted in the catalog: no 报送 item behind them."""
    return {**payload, "submission_id": None}


class DocumentRevised(DomainEvent):
    """A new revision. While published it is an update (reason mandatory) that is reviewed again."""

    event_type = "DocumentRevised"
    stream_type = "document"

    document_id: UUID
    revision: int = Field(ge=2)
    content: DocumentContent = Field(json_schema_extra=NOT_PERSONAL)  # an added mark only
    reason: str | None = None
    is_update: bool = Field(description="已发布文件的更新（需重新三审后发布）")
    changed_on: date


def document_revised_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """v1 did not name the reviser: None here; the loader takes it from the envelope actor."""
    return {**payload, "revised_by": None}


class GazetteIssuePublished(DomainEvent):
    """政府公报: issue `number` of a year; the stream version is the number (no gaps)."""

    event_type = "GazetteIssuePublished"
    stream_type = "gazette"

    issue_id: UUID
    township: str
    year: int
    number: int = Field(ge=1)
    title: str
    entries: list[GazetteEntry]
    content_hash: str = Field(description="sha256 over the entries: tamper-evident")
    published_at: datetime


def gazette_issue_published_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """A v1 issue's hash covers its entries only (hash_version 1) and chains to nothing."""
    return {**payload, "previous_hash": None, "hash_version": 1}


class FindingKind(StrEnum):
    """Personal data the privacy guard detects (方案§8 更加注重个人隐私保护)."""

    resident_id = "resident_id"  # 居民身份证号 (18 位, GB 11643 校验码)
    legacy_resident_id = "legacy_resident_id"  # 15 位旧身份证号 (出生日期有效)
    mobile = "mobile"  # 手机号码
    bank_card = "bank_card"  # 银行卡号 (Luhn 校验)


class PrivacyFinding(BaseModel):
    """One piece of personal data found in a revision; never the value itself, only a mask."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fingerprint: str = Field(description="稳定标识：同一文档中同一号码在各版本相同")
    kind: FindingKind
    field: str = Field(description="title / body / attachments_text[i] / document_number")
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    masked: str = Field(description="脱敏显示，如 1404**********1234")


class PrivacyScanCompleted(DomainEvent):
    """The privacy guard's findings for one revision; `resolved` are earlier ones now gone."""

    event_type = "PrivacyScanCompleted"
    stream_type = "document"

    document_id: UUID
    revision: int = Field(ge=1)
    findings: list[PrivacyFinding]
    resolved_by_redaction: list[str] = Field(default_factory=list)


class PrivacyFindingJustified(DomainEvent):
    """A reviewer decided a finding may be published, and why (e.g. 公示 of a 法人 contact)."""

    event_type = "PrivacyFindingJustified"
    stream_type = "document"

    document_id: UUID
    fingerprint: str
    kind: FindingKind
    justification: str
    reviewer: str


def same_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """v1 -> v2 where v2 only widened an enum: every v1 payload is a v2 payload."""
    return dict(payload)
