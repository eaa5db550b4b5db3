"""Historic schema versions of catalog events, frozen as they were published.

DocumentRevised v1 (before the reviser was kept): separation of duties could not see who
revised. GazetteIssuePublished v1: its hash covered the entries only, and issues were not
chained. The classes keep their published names and docstrings so that contracts/ sees the
same schema; never edit them (add a new version instead). Each upcaster lifts one version.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from services.catalog.content import DocumentContent, GazetteEntry
from shared.registry import DomainEvent


class DocumentRevised(DomainEvent):
    """A new revision. While published it is an update (reason mandatory) that is reviewed again."""

    event_type = "DocumentRevised"
    stream_type = "document"

    document_id: UUID
    revision: int = Field(ge=2)
    content: DocumentContent
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
