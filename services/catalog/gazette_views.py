"""Read model of the gazette (政府公报, 方案§13) and the public check of its integrity.

`catalog.gazette_issues.v2` keeps every issue as published (v1 issues upcast, hash_version
1). A new projection name with its own table, so a deployment fills it from position 0
without a manual rebuild; the old `catalog_gazette` table of the public catalog is no longer
written or read.

The public check (`verify`) does not trust the row alone: it recomputes the issue's hash,
follows the chain to the previous issue's row, and compares each entry's content hash with
the text the public catalog serves (catalog_public), so a changed issue, a removed or
renumbered issue, and a published text that differs from what was compiled all show.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

import orjson

from services.catalog import gazette
from services.catalog.events import GazetteEntry, GazetteIssuePublished, registry
from shared.db import Tx, fetch_in
from shared.envelope import RecordedEvent


class GazetteIssues:
    name = "catalog.gazette_issues.v2"
    tables: Sequence[str] = ("catalog_gazette_issues",)
    schema: Sequence[str] = (
        """CREATE TABLE IF NOT EXISTS catalog_gazette_issues (
            issue_id TEXT PRIMARY KEY,
            township TEXT NOT NULL,
            year INTEGER NOT NULL,
            number INTEGER NOT NULL,
            title TEXT NOT NULL,
            published_at TEXT NOT NULL,
            previous_hash TEXT,
            content_hash TEXT NOT NULL,
            hash_version INTEGER NOT NULL,
            entries TEXT NOT NULL,
            UNIQUE (township, year, number)
        )""",
    )

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        if event.type != GazetteIssuePublished.event_type:
            return
        e = registry.decode(event)
        assert isinstance(e, GazetteIssuePublished)
        await tx.execute(
            """INSERT INTO catalog_gazette_issues (issue_id, township, year, number, title,
                   published_at, previous_hash, content_hash, hash_version, entries)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
               ON CONFLICT (issue_id) DO NOTHING""",
            str(e.issue_id),
            e.township,
            e.year,
            e.number,
            e.title,
            e.published_at.astimezone(UTC).isoformat(),
            e.previous_hash,
            e.content_hash,
            e.hash_version,
            orjson.dumps([x.model_dump(mode="json") for x in e.entries]).decode(),
        )


def _issue_of(row: Any) -> GazetteIssuePublished:
    return GazetteIssuePublished(
        issue_id=row["issue_id"],
        township=row["township"],
        year=row["year"],
        number=row["number"],
        title=row["title"],
        entries=[GazetteEntry.model_validate(e) for e in orjson.loads(row["entries"])],
        previous_hash=row["previous_hash"],
        content_hash=row["content_hash"],
        hash_version=row["hash_version"],
        published_at=row["published_at"],
    )


async def verify(views: Any, row: Any) -> dict[str, Any]:
    """One issue as the public sees it, with each integrity check and its outcome."""
    (checked,) = await verify_all(views, [row])
    return checked


async def verify_all(views: Any, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """The public check of many issues in a fixed number of queries: the list endpoint is
    unauthenticated, so its cost must not grow with issues × entries round trips."""
    issues = [_issue_of(r) for r in rows]
    hashes: dict[tuple[str, int, int], str | None] = {
        (i.township, i.year, i.number): i.content_hash for i in issues
    }
    for i in issues:  # a previous issue not among the rows (one issue asked for)
        key = (i.township, i.year, i.number - 1)
        if i.hash_version != 1 and i.number > 1 and key not in hashes:
            hashes[key] = await views.fetchval(
                "SELECT content_hash FROM catalog_gazette_issues "
                "WHERE township = $1 AND year = $2 AND number = $3",
                *key,
            )
    documents = sorted({str(e.document_id) for i in issues for e in i.entries})
    public = {
        str(r["document_id"]): r
        for r in await fetch_in(
            views,
            "SELECT document_id, revision, content_hash FROM catalog_public "
            "WHERE document_id IN ({values})",
            documents,
        )
    }
    return [_checked(row, issue, hashes, public) for row, issue in zip(rows, issues, strict=True)]


def _checked(
    row: Any,
    issue: GazetteIssuePublished,
    hashes: dict[tuple[str, int, int], str | None],
    public: dict[str, Any],
) -> dict[str, Any]:
    hash_verified = gazette.hash_of(issue) == issue.content_hash
    chain_verified: bool | None
    if issue.hash_version == 1:
        chain_verified = None  # v1 issues were not chained
    elif issue.number == 1:
        chain_verified = issue.previous_hash is None
    else:
        previous = hashes.get((issue.township, issue.year, issue.number - 1))
        chain_verified = previous is not None and previous == issue.previous_hash
    entries = []
    for entry in issue.entries:
        text = public.get(str(entry.document_id))
        if text is None:
            status = "not_public"  # withdrawn since
        elif text["revision"] != entry.revision:
            status = "superseded"  # updated since; the compiled revision is in its history
        else:
            status = "matches" if text["content_hash"] == entry.content_hash else "differs"
        entries.append({**entry.model_dump(mode="json"), "public_status": status})
    return {
        "issue_id": str(issue.issue_id),
        "township": issue.township,
        "year": issue.year,
        "number": issue.number,
        "title": issue.title,
        "published_at": row["published_at"],
        "previous_hash": issue.previous_hash,
        "content_hash": issue.content_hash,
        "hash_version": issue.hash_version,
        "hash_verified": hash_verified,
        "chain_verified": chain_verified,
        "verified": hash_verified
        and chain_verified is not False
        and all(e["public_status"] != "differs" for e in entries),
        "entries": entries,
    }
