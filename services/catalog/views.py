"""JSON views of catalog state and rows (kept apart from the stored events)."""

from __future__ import annotations

import difflib
from datetime import date
from typing import Any

import orjson

from services.catalog import domain
from services.catalog.events import DocumentContent
from services.catalog.state import Filing
from shared.db import Row
from shared.envelope import RecordedEvent


def attribute_view(attribute: domain.Attribute | None) -> dict[str, Any] | None:
    if attribute is None:
        return None
    return {
        "attribute": attribute.attribute.value,
        "legal_ground": attribute.legal_ground.value if attribute.legal_ground else None,
        "reason": attribute.reason,
        "by": attribute.by,
    }


def document_view(state: domain.DocumentState) -> dict[str, Any]:
    assert state.content is not None
    return {
        "document_id": str(state.document_id),
        "tenant": state.drafting_unit,
        "township": state.township,
        "drafting_unit": state.drafting_unit,
        "drafting_unit_name": state.drafting_unit_name,
        "drafter": state.drafter,
        "status": state.status,
        "revision": state.revision,
        "content": state.content.model_dump(mode="json"),
        "content_hash": domain.content_hash(state.content),
        "needs_interpretation": domain.needs_interpretation(state.content),
        "attribute_proposal": attribute_view(state.proposal),
        "attribute_checked": state.checked,
        "attribute": attribute_view(state.attribute),
        "reviews": {
            stage.value: {"reviewer": p.reviewer, "proofreader": p.proofreader}
            for stage, p in state.passed.items()
        },
        "next_stage": state.next_stage.value if state.next_stage else None,
        "privacy_findings": [
            {**f.model_dump(mode="json"), "justified": f.fingerprint in state.justified}
            for f in state.findings
        ],
        "publication_blocked_by_privacy": bool(state.open_findings),
        "published_revision": state.published_revision,
        "channels": {c.value: s.value for c, s in sorted(state.channels.items())},
        "repealed_on": state.repealed_on.isoformat() if state.repealed_on else None,
        "valid_until": state.valid_until.isoformat() if state.valid_until else None,
        "filing": filing_view(state.filing),
        # 退回修改: the level that sent the text back and why, until a revision (or a pass).
        "returned": (
            {
                "stage": state.returned.stage.value,
                "reviewer": state.returned.reviewer,
                "comments": state.returned.comments,
                "revision": state.returned.revision,
            }
            if state.returned is not None
            else None
        ),
        "version": state.version,
    }


def filing_view(filing: Filing | None) -> dict[str, Any] | None:
    """备案 (方案§18): its limit and where it stands; None for kinds that are not filed."""
    if filing is None:
        return None
    return {
        "published_on": filing.published_on.isoformat(),
        "due_on": filing.due_on.isoformat(),
        "attempts": filing.attempts,
        "status": filing.status or "not_filed",
        "overdue_noticed": filing.overdue_noticed,
    }


def revisions(events: list[RecordedEvent]) -> list[dict[str, Any]]:
    """Version history: one entry per revision, with who made it, when and why."""
    found: list[dict[str, Any]] = []
    for e in events:
        if e.type not in ("DocumentDrafted", "DocumentRevised"):
            continue
        content = DocumentContent.model_validate(e.payload["content"])
        found.append(
            {
                "revision": e.payload.get("revision", 1),
                "recorded_at": e.recorded_at.isoformat(),
                "by": e.actor.id,
                "reason": e.payload.get("reason"),
                "is_update": bool(e.payload.get("is_update", False)),
                "title": content.title,
                "content_hash": domain.content_hash(content),
                "content": content.model_dump(mode="json"),
            }
        )
    return found


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Fields that changed, and a unified diff of the body and attachments."""
    changed = {
        k: {"from": old["content"].get(k), "to": new["content"].get(k)}
        for k in sorted(set(old["content"]) | set(new["content"]))
        if k not in ("body", "attachments_text") and old["content"].get(k) != new["content"].get(k)
    }

    def lines(content: dict[str, Any]) -> list[str]:
        parts = [content["body"], *content.get("attachments_text", [])]
        return "\n".join(parts).splitlines()

    unified = list(
        difflib.unified_diff(
            lines(old["content"]),
            lines(new["content"]),
            fromfile=f"revision {old['revision']}",
            tofile=f"revision {new['revision']}",
            lineterm="",
        )
    )
    return {
        "from_revision": old["revision"],
        "to_revision": new["revision"],
        "changed_fields": changed,
        "body_diff": unified,
    }


def list_row(row: Row) -> dict[str, Any]:
    return {
        "document_id": row["document_id"],
        "tenant": row["tenant"],
        "township": row["township"],
        "drafting_unit_name": row["drafting_unit_name"],
        "title": row["title"],
        "document_number": row["document_number"],
        "kind": row["kind"],
        "column": row["column_code"],
        "issue_date": row["issue_date"],
        "status": row["status"],
        "revision": row["revision"],
        "drafter": row["drafter"],
        "attribute": row["attribute"],
        "privacy_findings": row["privacy_findings"],
        "reviews": orjson.loads(row["reviews"]),
        "published_at": row["published_at"],
        "publication_due": row["publication_due"],
        "late": None if row["late"] is None else bool(row["late"]),
        "channels": orjson.loads(row["channels"]),
        "withdraw_reason": row["withdraw_reason"],
        "repealed_on": row["repealed_on"],
        "updated_at": row["updated_at"],
        "version": row["version"],
    }


def ledger_row(row: Row) -> dict[str, Any]:
    return {
        "document_id": row["document_id"],
        "revision": row["revision"],
        "title": row["title"],
        "document_number": row["document_number"],
        "kind": row["kind"],
        "published_at": row["published_at"],
        "publisher": row["publisher"],
        "drafter": row["drafter"],
        "first_reviewer": row["first_reviewer"],
        "second_reviewer": row["second_reviewer"],
        "final_reviewer": row["final_reviewer"],
        "proofreaders": orjson.loads(row["proofreaders"]),
        "channels": orjson.loads(row["channels"]),
        "issue_date": row["issue_date"],
        "publication_due": row["publication_due"],
        "late": bool(row["late"]),
        "working_days_taken": row["working_days_taken"],
        "is_update": bool(row["is_update"]),
        "update_reason": row["update_reason"],
        "content_hash": row["content_hash"],
    }


#: A published document's public row with its 有效期 (`catalog_validity`, decision 152).
PUBLIC_ROW = (
    "SELECT p.*, (SELECT v.valid_until FROM catalog_validity v "
    "WHERE v.document_id = p.document_id) AS valid_until FROM catalog_public p"
)
VALIDITY_ZH = {"in_force": "现行有效", "lapsed": "已失效", "repealed": "已废止"}


def validity(repealed_on: str | None, valid_until: str | None, today: date) -> str:
    """有效 / 失效 / 已废止 on `today`: repealed wins (a repeal is never dated after the day
    it is recorded); lapsed the day after its last day."""
    if repealed_on is not None:
        return "repealed"
    if valid_until is not None and valid_until < today.isoformat():
        return "lapsed"
    return "in_force"


def public_row(row: Row, *, full: bool, today: date) -> dict[str, Any]:
    state = validity(row["repealed_on"], row["valid_until"], today)
    body: dict[str, Any] = {
        "document_id": row["document_id"],
        "township": row["township"],
        "drafting_unit_name": row["drafting_unit_name"],
        "title": row["title"],
        "document_number": row["document_number"],
        "kind": row["kind"],
        "column": row["column_code"],
        "issue_date": row["issue_date"],
        "published_at": row["first_published_at"],
        "updated_at": row["updated_at"],
        "revision": row["revision"],
        "content_hash": row["content_hash"],
        "in_force": state == "in_force",
        "validity": state,
        "validity_label": VALIDITY_ZH[state],
        "valid_until": row["valid_until"],
        "repealed_on": row["repealed_on"],
    }
    if full:
        body["body"] = row["body"]
        body["attachments_text"] = orjson.loads(row["attachments_text"])
    return body
