"""Read model of 行政执法公示: one row per decision (stream), `enf_decisions`.

Written only by this service's own events, each decision one stream; the row's `version`
(the stream version of the last event applied) makes a replayed event a no-op. The row
holds what staff lists and the scheduler need, and — once published — the masked public
text the public list and search show (the personal data of the decision stays in the
event log, never in a public column).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from shared.db import Tx
from shared.envelope import RecordedEvent


class DecisionLedger:
    name = "enforcement.decisions.v1"
    tables: Sequence[str] = ("enf_decisions",)
    schema: Sequence[str] = (
        """CREATE TABLE IF NOT EXISTS enf_decisions (
            decision_id TEXT PRIMARY KEY,
            township TEXT NOT NULL,
            unit TEXT NOT NULL,
            kind TEXT NOT NULL,
            reference TEXT NOT NULL,
            status TEXT NOT NULL,
            action TEXT,
            title TEXT,
            decided_on TEXT,
            amount_fen BIGINT,
            major BOOLEAN NOT NULL,
            reviewed BOOLEAN NOT NULL,
            records TEXT NOT NULL,
            must_publish BOOLEAN NOT NULL,
            publication_due TEXT,
            published_on TEXT,
            late BOOLEAN NOT NULL,
            overdue BOOLEAN NOT NULL,
            public_title TEXT,
            public_text TEXT,
            party_shown TEXT,
            visible_until TEXT,
            annulled TEXT,
            withdrawn_on TEXT,
            withdrawal_reason TEXT,
            version INTEGER NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS enf_decisions_township ON enf_decisions (township, status)",
    )

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        if event.stream_type != "enforcement":
            return
        p = event.payload
        did = str(p["decision_id"])
        row = await tx.fetchrow("SELECT version FROM enf_decisions WHERE decision_id = $1", did)
        if row is not None and row["version"] >= event.version:
            return
        if row is None:
            await tx.execute(
                "INSERT INTO enf_decisions (decision_id, township, unit, kind, reference, status, "
                "major, reviewed, records, must_publish, late, overdue, version) "
                "VALUES ($1, $2, $3, $4, $5, 'review', FALSE, FALSE, '[]', FALSE, FALSE, FALSE, 0)",
                did,
                str(p["township"]),
                str(p["unit"]),
                str(p["kind"]),
                str(p.get("reference", "")),
            )
        sets = self._changes(event.type, p)
        sets["version"] = event.version
        assignments = ", ".join(f"{k} = ${i}" for i, k in enumerate(sets, start=1))
        await tx.execute(
            f"UPDATE enf_decisions SET {assignments} WHERE decision_id = ${len(sets) + 1}",
            *sets.values(),
            did,
        )

    @staticmethod
    def _changes(kind: str, p: dict[str, Any]) -> dict[str, Any]:
        if kind == "LegalReviewRecorded":
            return {"reviewed": bool(p["approved"])}
        if kind == "EnforcementDecisionRecorded":
            status = "recorded" if p["must_publish"] else "not_published"
            return {
                "status": status,
                "action": p["action"],
                "title": p["title"],
                "decided_on": str(p["decided_on"]),
                "amount_fen": p.get("amount_fen"),
                "major": bool(p["major"]),
                "records": orjson.dumps(p.get("records") or []).decode(),
                "must_publish": bool(p["must_publish"]),
                "publication_due": p.get("publication_due"),
            }
        if kind == "EnforcementDecisionPublished":
            return {
                "status": "published",
                "published_on": str(p["published_on"]),
                "late": bool(p["late"]),
                "public_title": p["title"],
                "public_text": p["text"],
                "party_shown": p.get("party_shown"),
                "visible_until": p.get("visible_until"),
                "withdrawn_on": None,
                "withdrawal_reason": None,
            }
        if kind == "EnforcementPublicationOverdue":
            return {"overdue": True}
        if kind == "EnforcementDecisionAnnulled":
            return {"annulled": str(p["outcome"])}
        if kind == "EnforcementPublicationWithdrawn":
            return {
                "status": "withdrawn",
                "withdrawn_on": str(p["withdrawn_on"]),
                "withdrawal_reason": str(p["reason"]),
            }
        return {}
