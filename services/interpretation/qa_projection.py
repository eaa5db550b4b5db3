"""Read model and queries of the policy Q&A knowledge base (政策问答库).

`itp_qa`: one row per entry, written only by `qa` streams (so it does not depend on the
order of other streams). The asker is never copied here: it stays in the event, for the
answer to reach them. Two MinHash signatures (sentiment's grouping) let a new question find
the published answers to it: of the question as asked and of the question as published.
The question as asked is kept for the staff who answer; the public reads (`published`,
`search`) return only the officer's `public_question` and `answer` of published entries
whose policy is still current.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from services.interpretation import qa_events as ev
from services.interpretation.events import registry
from services.sentiment.grouping import signature
from shared.db import Tx
from shared.envelope import RecordedEvent

PUBLIC_LIMIT = 100


def _utc(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()


class QaLedger:
    name = "interpretation.qa.v1"
    tables: Sequence[str] = ("itp_qa",)
    schema: Sequence[str] = (
        """CREATE TABLE IF NOT EXISTS itp_qa (
            qa_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            document_id TEXT NOT NULL,
            township TEXT NOT NULL,
            policy_title TEXT NOT NULL,
            document_number TEXT,
            channel TEXT NOT NULL,
            source_ref TEXT,
            question TEXT NOT NULL,
            status TEXT NOT NULL,
            received_at TEXT NOT NULL,
            due_at TEXT NOT NULL,
            similar_answers TEXT NOT NULL,
            revision INTEGER NOT NULL,
            public_question TEXT,
            answer TEXT,
            answered_by TEXT,
            answered_at TEXT,
            on_time BOOLEAN,
            privacy_findings TEXT NOT NULL,
            returned_reason TEXT,
            approved_by TEXT,
            published_at TEXT,
            signature TEXT,
            question_signature TEXT NOT NULL,
            version INTEGER NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS itp_qa_document ON itp_qa (document_id, status)",
    )

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        if event.stream_type != "qa" or not registry.knows(event.type):
            return
        e = registry.decode(event)
        if isinstance(e, ev.QuestionRegistered):
            await tx.execute(
                """INSERT INTO itp_qa (qa_id, tenant, document_id, township, policy_title,
                       document_number, channel, source_ref, question, status, received_at,
                       due_at, similar_answers, revision, privacy_findings,
                       question_signature, version)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'registered', $10, $11, $12,
                       0, '[]', $13, $14)
                   ON CONFLICT (qa_id) DO NOTHING""",
                str(e.qa_id),
                event.tenant,
                str(e.document_id),
                e.township,
                e.policy_title,
                e.document_number,
                e.channel.value,
                e.source_ref,
                e.question,
                _utc(e.received_at),
                _utc(e.due_at),
                orjson.dumps([s.model_dump(mode="json") for s in e.similar]).decode(),
                orjson.dumps(signature(e.question)).decode(),
                event.version,
            )
        elif isinstance(e, ev.QuestionAnswered):
            findings = [f.model_dump(mode="json") for f in e.privacy_findings]
            await tx.execute(
                """UPDATE itp_qa SET status = 'answered', revision = $2, public_question = $3,
                       answer = $4, answered_by = $5,
                       answered_at = COALESCE(answered_at, $6), on_time = $7,
                       privacy_findings = $8, returned_reason = NULL, version = $9
                   WHERE qa_id = $1""",
                str(e.qa_id),
                e.revision,
                e.public_question,
                e.answer,
                e.answered_by,
                _utc(e.answered_at),
                e.on_time,
                orjson.dumps(findings).decode(),
                event.version,
            )
        elif isinstance(e, ev.AnswerRedacted):
            await tx.execute(
                """UPDATE itp_qa SET public_question = $2, answer = $3, privacy_findings = '[]',
                       version = $4 WHERE qa_id = $1""",
                str(e.qa_id),
                e.public_question,
                e.answer,
                event.version,
            )
        elif isinstance(e, ev.AnswerReturned):
            await tx.execute(
                "UPDATE itp_qa SET status = 'returned', returned_reason = $2, version = $3 "
                "WHERE qa_id = $1",
                str(e.qa_id),
                e.reason,
                event.version,
            )
        elif isinstance(e, ev.AnswerPublished):
            await tx.execute(
                """UPDATE itp_qa SET status = 'published', approved_by = $2, published_at = $3,
                       public_question = $4, answer = $5, signature = $6, version = $7
                   WHERE qa_id = $1""",
                str(e.qa_id),
                e.approved_by,
                _utc(e.published_at),
                e.public_question,
                e.answer,
                orjson.dumps(signature(e.public_question)).decode(),
                event.version,
            )


# ---------------------------------------------------------------------------- queries


def staff_view(row: Any) -> dict[str, Any]:
    """An entry as the staff who answer and review it see it (never the asker)."""
    return {
        "qa_id": row["qa_id"],
        "tenant": row["tenant"],
        "document_id": row["document_id"],
        "township": row["township"],
        "policy_title": row["policy_title"],
        "document_number": row["document_number"],
        "channel": row["channel"],
        "channel_zh": ev.QuestionChannel(row["channel"]).label_zh,
        "source_ref": row["source_ref"],
        "question": row["question"],
        "status": row["status"],
        "received_at": row["received_at"],
        "due_at": row["due_at"],
        "similar": orjson.loads(row["similar_answers"]),
        "revision": row["revision"],
        "public_question": row["public_question"],
        "answer": row["answer"],
        "answered_by": row["answered_by"],
        "answered_at": row["answered_at"],
        "on_time": None if row["on_time"] is None else bool(row["on_time"]),
        "privacy_findings": orjson.loads(row["privacy_findings"]),
        "returned_reason": row["returned_reason"],
        "approved_by": row["approved_by"],
        "published_at": row["published_at"],
        "version": row["version"],
    }


def public_view(row: Any) -> dict[str, Any]:
    """What the portal shows: the question as published and the answer, nothing of the
    asker, the channel or the people who handled it."""
    return {
        "qa_id": row["qa_id"],
        "document_id": row["document_id"],
        "township": row["township"],
        "policy_title": row["policy_title"],
        "document_number": row["document_number"],
        "question": row["public_question"],
        "answer": row["answer"],
        "published_at": row["published_at"],
        "policy_url": f"/v1/public/catalog/documents/{row['document_id']}",
    }


_PUBLIC = """SELECT q.* FROM itp_qa q
    LEFT JOIN itp_policies p ON p.document_id = q.document_id
    WHERE q.status = 'published' AND (p.withdrawn IS NULL OR p.withdrawn = FALSE)"""


async def published(views: Any, document_id: str) -> list[dict[str, Any]]:
    """A policy's published Q&A, oldest first (the order questions came in)."""
    rows = await views.fetch(
        _PUBLIC + " AND q.document_id = $1 ORDER BY q.published_at, q.qa_id LIMIT 200",
        document_id,
    )
    return [public_view(r) for r in rows]


def terms_of(q: str) -> list[str]:
    """The words searched for: the whole query, and each space-separated word of it."""
    words = [w for w in q.split() if w]
    return list(dict.fromkeys([" ".join(words), *words])) if words else []


async def search(views: Any, q: str, township: str | None) -> dict[str, Any]:
    """Published Q&A whose question, answer or policy title holds a searched word; the
    entries holding the most words first, then the newest."""
    terms = terms_of(q)
    if not terms:
        return {"items": [], "terms": [], "total": 0}
    rows = await views.fetch(_PUBLIC + " ORDER BY q.published_at DESC LIMIT 5000")
    hits = []
    for r in rows:
        if township and not (
            r["township"] == township or str(r["township"]).startswith(township + "/")
        ):
            continue
        text = f"{r['public_question']}\n{r['answer']}\n{r['policy_title']}".casefold()
        found = sum(1 for t in terms if t.casefold() in text)
        if found:
            hits.append((found, r))
    hits.sort(key=lambda pair: -pair[0])  # stable: newest first among equals
    items = [public_view(r) for _, r in hits[:PUBLIC_LIMIT]]
    return {"items": items, "terms": terms, "total": len(hits)}
