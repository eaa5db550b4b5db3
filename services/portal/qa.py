"""The policy Q&A knowledge base (政策问答库, 方案§16) on the portal: the published answers
beside their policy, and among the search results. Read from the interpretation service's
public API (`/v1/public/interpretation/qa`), which returns only the question as the officer
published it and the answer, never the asker. A Q&A read that fails leaves the page as it
was (the document or the search is what the citizen came for)."""

from __future__ import annotations

from typing import Any

from shared.gateway import Api

QA = "/v1/public/interpretation/qa"


async def of_policy(api: Api, document_id: str) -> list[dict[str, Any]]:
    """The policy's published Q&A, in the order the questions came in."""
    answer = await api.get("interpretation", QA, {"document_id": document_id})
    return list(answer.body.get("items", [])) if answer.ok else []


async def search(api: Api, q: str, township: str | None) -> dict[str, Any]:
    """Published Q&A holding the searched words: {"items", "terms", "total"}."""
    answer = await api.get("interpretation", QA, {"q": q, "township": township})
    if not answer.ok:
        return {"items": [], "terms": [], "total": 0}
    return dict(answer.body)
