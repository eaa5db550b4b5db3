"""The policy Q&A knowledge base (政策问答库, 方案§16) on the portal: the published answers
beside their policy, and among the search results. Read from the interpretation service's
public API (`/v1/public/interpretation/qa`), which returns only the question as the officer
published it and the answer, never the asker. A Q&A read that fails leaves the page as it
was (the document or the search is what the citizen came for)."""

from __future__ import annotations

from typing import Any

import structlog

from shared.gateway import Answer, Api, ServiceUnreachable

QA = "/v1/public/interpretation/qa"
log = structlog.get_logger(__name__)


async def _read(api: Api, params: dict[str, Any]) -> Answer | None:
    try:
        return await api.get("interpretation", QA, params)
    except ServiceUnreachable as err:  # the page goes on without its Q&A section
        log.warning("portal.qa_unavailable", rule=err.rule)
        return None


async def of_policy(api: Api, document_id: str) -> list[dict[str, Any]] | None:
    """The policy's published Q&A, in the order the questions came in; None when they
    cannot be read (the page then leaves the section out rather than say there are none)."""
    answer = await _read(api, {"document_id": document_id})
    return list(answer.body.get("items", [])) if answer and answer.ok else None


async def search(api: Api, q: str, township: str | None) -> dict[str, Any]:
    """Published Q&A holding the searched words: {"items", "terms", "total"}."""
    answer = await _read(api, {"q": q, "township": township})
    if answer is None or not answer.ok:
        return {"items": [], "terms": [], "total": 0}
    return dict(answer.body)
