"""政府公报 (方案§13): numbered issues of published normative documents, tamper-evident.

Pure: the handler passes the documents' current states and the previous issue's hash.
The issue's hash covers the township, year, number, title, every entry and the previous
issue's hash, so the issues of a year form a chain: changing, removing or renumbering an
issue breaks the next one's link. Each entry carries the content hash of the revision it
compiles, so anyone holding the published texts can recompute and compare.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from services.catalog.domain import DocumentState, content_hash
from services.catalog.events import GAZETTE_KINDS, GazetteEntry, GazetteIssuePublished
from shared.envelope import canonical_json
from shared.errors import DomainRuleViolated, ValidationFailed


def issue_title(township_name: str, year: int, number: int) -> str:
    return f"{township_name}人民政府公报 {year}年第{number}期"


#: The hash_version new issues carry (1 was entries only, GazetteIssuePublished v1).
HASH_VERSION = 2


def entries_hash(entries: Sequence[GazetteEntry]) -> str:
    """The v1 hash: the entries only."""
    payload = [e.model_dump(mode="json") for e in entries]
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def issue_hash(
    *,
    township: str,
    year: int,
    number: int,
    title: str,
    previous_hash: str | None,
    entries: Sequence[GazetteEntry],
) -> str:
    """The v2 hash: everything that identifies the issue, chained to the one before."""
    payload = {
        "township": township,
        "year": year,
        "number": number,
        "title": title,
        "previous_hash": previous_hash,
        "entries": [e.model_dump(mode="json") for e in entries],
    }
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def hash_of(issue: GazetteIssuePublished) -> str:
    """Recompute an issue's hash the way its hash_version says it was made."""
    if issue.hash_version == 1:
        return entries_hash(issue.entries)
    return issue_hash(
        township=issue.township,
        year=issue.year,
        number=issue.number,
        title=issue.title,
        previous_hash=issue.previous_hash,
        entries=issue.entries,
    )


def entry_of(state: DocumentState) -> GazetteEntry:
    """The published revision of one document, or a refusal saying why it cannot go in."""
    if state.document_id is None or state.content is None:
        raise ValidationFailed(
            rule="gazette.document_unknown",
            field="document_ids",
            message_zh="公报所列文件不存在",
            message_en="a listed document does not exist",
        )
    if state.status == "withdrawn" or state.published_revision is None:
        raise DomainRuleViolated(
            rule="gazette.document_not_published",
            field="document_ids",
            message_zh=f"文件 {state.document_id} 未发布或已撤稿，不能编入公报",
            message_en=f"document {state.document_id} is not published (or was withdrawn)",
        )
    if state.published_revision != state.revision:
        raise DomainRuleViolated(
            rule="gazette.update_pending",
            field="document_ids",
            message_zh=f"文件 {state.document_id} 有未发布的更新，请发布后再编入公报",
            message_en=f"document {state.document_id} has an unpublished update",
        )
    content = state.content
    if content.kind not in GAZETTE_KINDS:
        raise ValidationFailed(
            rule="gazette.kind_not_normative",
            field="document_ids",
            message_zh=f"《{content.title}》不是规章或行政规范性文件，不编入公报",
            message_en=f"{state.document_id} is not a regulation or normative document",
        )
    return GazetteEntry(
        document_id=state.document_id,
        revision=state.revision,
        title=content.title,
        document_number=content.document_number,
        kind=content.kind,
        issue_date=content.issue_date,
        content_hash=content_hash(content),
    )


def compile_issue(
    *,
    issue_id: UUID,
    township: str,
    township_name: str,
    year: int,
    number: int,
    documents: Sequence[DocumentState],
    already_compiled: frozenset[UUID],
    now: datetime,
    previous_hash: str | None,
) -> GazetteIssuePublished:
    entries = [entry_of(d) for d in documents]
    for entry in entries:
        if entry.document_id in already_compiled:
            raise DomainRuleViolated(
                rule="gazette.already_compiled",
                field="document_ids",
                message_zh=f"《{entry.title}》已编入本年度公报",
                message_en=f"{entry.document_id} is already in this year's gazette",
            )
    if len({e.document_id for e in entries}) != len(entries):
        raise ValidationFailed(
            rule="gazette.duplicate_document",
            field="document_ids",
            message_zh="同一文件在公报中列了两次",
            message_en="a document is listed twice",
        )
    entries.sort(key=lambda e: (e.issue_date, e.title))
    unhashed = GazetteIssuePublished(
        issue_id=issue_id,
        township=township,
        year=year,
        number=number,
        title=issue_title(township_name, year, number),
        entries=entries,
        previous_hash=previous_hash,
        content_hash="",
        hash_version=HASH_VERSION,
        published_at=now,
    )
    # The hash is made exactly as the public check remakes it (hash_of), from the issue.
    return unhashed.model_copy(update={"content_hash": hash_of(unhashed)})
