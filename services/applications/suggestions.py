"""Suggesting reply type (一) 已主动公开 (条例 Art. 36(一)): load -> match -> explain.

Reads this service's own read model of the catalog's publications
(publications.PublishedDocuments), never the catalog's tables; the matching is pure
(matching.py).
"""

from __future__ import annotations

import math
from typing import Any
from uuid import UUID

from services.applications import matching
from services.applications.publications import public_link
from services.applications.replies import PublicDocument
from shared.identity import Principal, Role, authorize, within_scope

HANDLING_ROLES = (Role.REQUEST_HANDLER, Role.OPENNESS_OFFICE_HEAD)
BASIS = "条例第三十六条第一项：所申请公开信息已经主动公开的，告知申请人获取该政府信息的方式、途径"


def township_of(h: Any, tenant: str) -> str:
    """The township whose catalog a request's agency publishes in (the district for its own)."""
    unit = h.orgs.township_of(tenant) if tenant in h.orgs else None
    return str(unit.path if unit is not None else h.orgs.district.path)


async def public_document(h: Any, document_id: UUID, tenant: str) -> PublicDocument | None:
    """The document if it is published, not withdrawn nor repealed, in the request's township."""
    row = await h.views.fetchrow(
        "SELECT document_id, title FROM app_publications WHERE document_id = $1 "
        "AND township = $2 AND withdrawn = FALSE AND repealed_on IS NULL",
        str(document_id),
        township_of(h, tenant),
    )
    if row is None:
        return None
    return PublicDocument(
        document_id=UUID(row["document_id"]),
        title=row["title"],
        link=public_link(row["document_id"]),
    )


async def suggest(h: Any, request_id: UUID, principal: Principal, limit: int = 5) -> dict[str, Any]:
    """The published documents that match the request's description, best first."""
    from services.applications.handlers import _not_found, request_stream

    events = await h.store.read_stream(request_stream(request_id))
    if not events or not within_scope(principal, events[0].tenant):
        raise _not_found(request_id)
    tenant = events[0].tenant
    authorize(principal, tenant, *HANDLING_ROLES)
    description = str(events[0].payload["description"])
    township = township_of(h, tenant)
    terms = matching.request_terms(description)
    items: list[dict[str, Any]] = []
    if terms:
        # The index answers which documents hold enough of the terms; only theirs are read.
        placeholders = ", ".join(f"${i + 3}" for i in range(len(terms)))
        needed = math.ceil(matching.MIN_COVERAGE * len(terms))
        kept = await h.views.fetch(
            "SELECT t.document_id FROM app_publication_terms t "
            "JOIN app_publications d ON d.document_id = t.document_id "
            "WHERE d.township = $1 AND d.withdrawn = FALSE AND d.repealed_on IS NULL "
            f"AND t.term IN ({placeholders}) GROUP BY t.document_id HAVING COUNT(*) >= $2",
            township,
            needed,
            *terms,
        )
        ids = sorted(r["document_id"] for r in kept)
        pairs: list[tuple[str, str]] = []
        rows: dict[str, Any] = {}
        if ids:
            marks = ", ".join(f"${i + 1}" for i in range(len(ids)))
            term_marks = ", ".join(f"${len(ids) + i + 1}" for i in range(len(terms)))
            hits = await h.views.fetch(
                "SELECT document_id, term FROM app_publication_terms "
                f"WHERE document_id IN ({marks}) AND term IN ({term_marks})",
                *ids,
                *terms,
            )
            pairs = [(r["document_id"], r["term"]) for r in hits]
            for r in await h.views.fetch(
                f"SELECT * FROM app_publications WHERE document_id IN ({marks})", *ids
            ):
                rows[r["document_id"]] = r
        titles = {d: rows[d]["title"] for d in rows}
        for m in matching.rank(terms, matching.candidates_from_rows(titles, pairs), limit=limit):
            row = rows[m.document_id]
            link = public_link(m.document_id)
            items.append(
                {
                    "document_id": m.document_id,
                    "title": row["title"],
                    "document_number": row["document_number"],
                    "kind": row["kind"],
                    "issue_date": row["issue_date"],
                    "published_on": row["published_on"],
                    "link": link,
                    "score": m.score,
                    "matched_terms": m.matched_terms,
                    "title_terms": m.title_terms,
                    "missing_terms": m.missing_terms,
                    "explanation": m.explanation,
                    "reply": {
                        "reply_type": "already_public",
                        "public_document_id": m.document_id,
                        "location": f"{row['title']}：{link}",
                    },
                }
            )
    return {
        "request_id": str(request_id),
        "township": township,
        "terms": terms,
        "min_score": matching.MIN_COVERAGE,
        "basis": BASIS,
        "items": items,
    }
