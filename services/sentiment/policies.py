"""Published policies and the misreading links of cases (误读政策, 方案§17, §五(一)).

Read models fed by other services' events (no service reads another's tables):

- PolicyCatalog (sources: catalog, interpretation): the published policies a citizen may
  misread — the catalog's DocumentPublished of the kinds that are interpreted (规范性文件,
  政策性文件, 实施方案, or flagged by the drafter) with their title, 文号 and text; the
  interpretation service's InterpretationRequired adds policies registered by hand and marks
  those whose interpretation obligation is open; DocumentWithdrawn / ObligationCancelled mark
  a policy withdrawn. Tolerant reader: only the fields used here.
- PolicyLinks (sources: sentiment, interpretation): per case and policy, the link
  (PolicyMisreadingReported) and the state of the follow-up interpretation the
  interpretation service opened for it (FollowUpRequested / FollowUpCasesAdded: requested,
  FollowUpFulfilled: fulfilled, with the interpretation's id). Rows are upserted from either
  side, so the order in which the two topics arrive does not matter.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from services.sentiment.policy_match import BODY_CHARS, PolicyRef, suggest
from shared.db import Tx
from shared.envelope import RecordedEvent
from shared.tenancy import is_within

#: The kinds of document the interpretation service interprets (DOMAIN.md §3; the same list
#: as services/interpretation/obligations.py INTERPRETED_KINDS — a catalog kind is data on
#: the bus, so both services read it from the event, neither imports the other).
POLICY_KINDS = frozenset({"normative", "policy", "implementation_plan"})
MISREADING_CLASS = "policy_misreading"


def _utc(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()


class PolicyCatalog:
    name = "sentiment.policies.v1"
    sources = ("catalog", "interpretation")
    tables: Sequence[str] = ("sent_policies",)
    schema: Sequence[str] = (
        """CREATE TABLE IF NOT EXISTS sent_policies (
            document_id TEXT PRIMARY KEY,
            township TEXT NOT NULL,
            title TEXT NOT NULL,
            document_number TEXT,
            kind TEXT NOT NULL,
            policy_text TEXT NOT NULL,
            published_on TEXT NOT NULL,
            revision INTEGER NOT NULL,
            obligation_open BOOLEAN NOT NULL,
            withdrawn BOOLEAN NOT NULL
        )""",
    )

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        p = event.payload
        if event.type == "DocumentPublished" and event.stream_type == "document":
            content = p.get("content") or {}
            flagged = bool(content.get("needs_interpretation", p.get("needs_interpretation")))
            if str(p.get("kind")) not in POLICY_KINDS and not flagged:
                return
            text = str(content.get("body", ""))[:BODY_CHARS]
            await tx.execute(
                """INSERT INTO sent_policies (document_id, township, title, document_number,
                       kind, policy_text, published_on, revision, obligation_open, withdrawn)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, FALSE, FALSE)
                   ON CONFLICT (document_id) DO UPDATE SET township = excluded.township,
                       title = excluded.title, document_number = excluded.document_number,
                       kind = excluded.kind, policy_text = excluded.policy_text,
                       published_on = excluded.published_on, revision = excluded.revision
                   WHERE sent_policies.revision < excluded.revision""",
                str(p["document_id"]),
                str(p.get("township") or event.tenant),
                str(p["title"]),
                p.get("document_number"),
                str(p["kind"]),
                text,
                str(p["published_at"])[:10],
                int(p.get("revision", 1)),
            )
        elif event.type == "InterpretationRequired" and event.stream_type == "obligation":
            await tx.execute(
                """INSERT INTO sent_policies (document_id, township, title, document_number,
                       kind, policy_text, published_on, revision, obligation_open, withdrawn)
                   VALUES ($1, $2, $3, $4, $5, '', $6, 0, TRUE, FALSE)
                   ON CONFLICT (document_id) DO UPDATE SET obligation_open = TRUE""",
                str(p["document_id"]),
                str(p["township"]),
                str(p["title"]),
                p.get("document_number"),
                str(p.get("kind", "")),
                str(p.get("published_on", "")),
            )
        elif (event.type, event.stream_type) in (
            ("DocumentWithdrawn", "document"),
            ("ObligationCancelled", "obligation"),
        ):
            await tx.execute(
                "UPDATE sent_policies SET withdrawn = TRUE WHERE document_id = $1",
                str(p["document_id"]),
            )


class PolicyLinks:
    name = "sentiment.policy_links.v1"
    sources = ("sentiment", "interpretation")
    tables: Sequence[str] = ("sent_case_policies",)
    schema: Sequence[str] = (
        """CREATE TABLE IF NOT EXISTS sent_case_policies (
            case_id TEXT NOT NULL,
            document_id TEXT NOT NULL,
            policy_title TEXT,
            document_number TEXT,
            misreading TEXT,
            reported_by TEXT,
            reported_at TEXT,
            classified_misreading BOOLEAN,
            match_score DOUBLE PRECISION,
            match_reasons TEXT,
            follow_up_id TEXT,
            stage INTEGER,
            follow_up_due TEXT,
            follow_up_status TEXT,
            interpretation_id TEXT,
            fulfilled_on TEXT,
            PRIMARY KEY (case_id, document_id)
        )""",
        "CREATE INDEX IF NOT EXISTS sent_case_policies_fu ON sent_case_policies (follow_up_id)",
    )

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        p = event.payload
        if event.type == "PolicyMisreadingReported" and event.stream_type == "opinion-case":
            await tx.execute(
                """INSERT INTO sent_case_policies (case_id, document_id, policy_title,
                       document_number, misreading, reported_by, reported_at,
                       classified_misreading, match_score, match_reasons)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                   ON CONFLICT (case_id, document_id) DO UPDATE SET
                       policy_title = excluded.policy_title,
                       document_number = excluded.document_number,
                       misreading = excluded.misreading, reported_by = excluded.reported_by,
                       reported_at = excluded.reported_at,
                       classified_misreading = excluded.classified_misreading,
                       match_score = excluded.match_score,
                       match_reasons = excluded.match_reasons""",
                str(p["case_id"]),
                str(p["document_id"]),
                p["policy_title"],
                p.get("document_number"),
                p["misreading"],
                p["reported_by"],
                _utc(event.recorded_at),
                bool(p["classified_misreading"]),
                p.get("match_score"),
                orjson.dumps(p.get("match_reasons", [])).decode(),
            )
        elif event.stream_type != "obligation":
            return
        elif event.type in ("FollowUpRequested", "FollowUpCasesAdded"):
            for case_id in p["case_ids"]:
                await tx.execute(
                    """INSERT INTO sent_case_policies (case_id, document_id, follow_up_id,
                           stage, follow_up_due, follow_up_status)
                       VALUES ($1, $2, $3, $4, $5, 'requested')
                       ON CONFLICT (case_id, document_id) DO UPDATE SET
                           follow_up_status = CASE
                               WHEN sent_case_policies.follow_up_id = excluded.follow_up_id
                               THEN COALESCE(sent_case_policies.follow_up_status, 'requested')
                               ELSE 'requested' END,
                           interpretation_id = CASE
                               WHEN sent_case_policies.follow_up_id = excluded.follow_up_id
                               THEN sent_case_policies.interpretation_id END,
                           fulfilled_on = CASE
                               WHEN sent_case_policies.follow_up_id = excluded.follow_up_id
                               THEN sent_case_policies.fulfilled_on END,
                           follow_up_id = excluded.follow_up_id, stage = excluded.stage,
                           follow_up_due = excluded.follow_up_due""",
                    str(case_id),
                    str(p["document_id"]),
                    str(p["follow_up_id"]),
                    int(p["stage"]),
                    str(p["due"]),
                )
        elif event.type == "FollowUpFulfilled":
            await tx.execute(
                """UPDATE sent_case_policies SET follow_up_status = 'fulfilled',
                       interpretation_id = $1, fulfilled_on = $2
                   WHERE follow_up_id = $3""",
                str(p["interpretation_id"]),
                str(p["published_on"]),
                str(p["follow_up_id"]),
            )


# ---------------------------------------------------------------------- queries


def related(policy_township: str, case_tenant: str) -> bool:
    """A township's citizens read their township's policies and those of the levels above."""
    return is_within(case_tenant, policy_township) or is_within(policy_township, case_tenant)


async def policy_facts(views: Any, document_id: str) -> Any:
    return await views.fetchrow("SELECT * FROM sent_policies WHERE document_id = $1", document_id)


async def case_texts(views: Any, case_id: str) -> tuple[str, bool, list[str]]:
    """The case's messages as one text, whether the classifier saw a misreading, and why."""
    rows = await views.fetch(
        "SELECT title, text, classification FROM sent_messages WHERE case_id = $1 "
        "ORDER BY recorded_at LIMIT 50",
        case_id,
    )
    texts: list[str] = []
    classified = False
    reasons: list[str] = []
    for r in rows:
        texts.append(f"{r['title']}\n{r['text']}" if r["title"] else str(r["text"]))
        c = orjson.loads(r["classification"]) if r["classification"] else {}
        if MISREADING_CLASS in c.get("urgency_classes", []):
            classified = True
            reasons += [x for x in c.get("urgency_reasons", []) if x not in reasons]
    return "\n".join(texts), classified, reasons


async def suggestions(views: Any, case_id: str, tenant: str) -> dict[str, Any]:
    """The published policies the case's messages are most likely about, with reasons."""
    text, classified, reasons = await case_texts(views, case_id)
    rows = await views.fetch(
        "SELECT * FROM sent_policies WHERE withdrawn = FALSE ORDER BY published_on DESC LIMIT 2000"
    )
    scoped = {r["document_id"]: r for r in rows if related(r["township"], tenant)}
    refs = [
        PolicyRef(r["document_id"], r["title"], r["document_number"], r["policy_text"])
        for r in scoped.values()
    ]
    return {
        "case_id": case_id,
        "classified_misreading": classified,
        "urgency_reasons": reasons,
        "suggestions": [
            {
                "document_id": m.document_id,
                "title": scoped[m.document_id]["title"],
                "document_number": scoped[m.document_id]["document_number"],
                "published_on": scoped[m.document_id]["published_on"],
                "score": m.score,
                "reasons": list(m.reasons),
            }
            for m in suggest(text, refs)
        ],
    }


async def links(views: Any, case_id: str) -> list[dict[str, Any]]:
    """The case's misread policies and the follow-up interpretation of each."""
    rows = await views.fetch(
        """SELECT l.*, p.title AS known_title, p.document_number AS known_number
           FROM sent_case_policies l LEFT JOIN sent_policies p ON p.document_id = l.document_id
           WHERE l.case_id = $1 ORDER BY l.reported_at, l.document_id""",
        case_id,
    )
    out = []
    for r in rows:
        document_id = r["document_id"]
        follow_up = None
        if r["follow_up_id"]:
            interpretation_id = r["interpretation_id"]
            follow_up = {
                "follow_up_id": r["follow_up_id"],
                "stage": r["stage"],
                "due": r["follow_up_due"],
                "status": r["follow_up_status"],
                "interpretation_id": interpretation_id,
                "fulfilled_on": r["fulfilled_on"],
                "obligation_url": f"/v1/interpretation/obligations/{document_id}",
                "interpretation_url": (
                    f"/v1/public/interpretation/interpretations/{interpretation_id}"
                    if interpretation_id
                    else None
                ),
            }
        out.append(
            {
                "document_id": document_id,
                "title": r["policy_title"] or r["known_title"],
                "document_number": r["document_number"] or r["known_number"],
                "policy_url": f"/v1/public/catalog/documents/{document_id}",
                "misreading": r["misreading"],
                "reported_by": r["reported_by"],
                "reported_at": r["reported_at"],
                "classified_misreading": (
                    None if r["classified_misreading"] is None else bool(r["classified_misreading"])
                ),
                "match_score": r["match_score"],
                "match_reasons": orjson.loads(r["match_reasons"]) if r["match_reasons"] else [],
                "follow_up": follow_up,
                "follow_up_status": r["follow_up_status"] or "pending",
            }
        )
    return out
