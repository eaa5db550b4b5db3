"""Read model of the interpretations published for catalog documents (双向关联, DOMAIN.md §3).

Source: the interpretation service's events (`sources=("interpretation",)`: in embedded
mode its store, in distributed mode its Kafka topic), never its tables. A tolerant reader:
only the payload fields used here, so the interpretation service may add fields freely.
The public document view (public_api.py) lists these rows, so a policy links to its
interpretations as the interpretation links to its policy.

Each interpretation is one stream, and per-stream order is what Kafka keeps: a row keeps
the highest revision seen, so a replayed or older publication is a no-op.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from shared.db import Tx
from shared.envelope import RecordedEvent

#: Where the public reads one interpretation (services/interpretation/api.py).
INTERPRETATION_LINK = "/v1/public/interpretation/interpretations/{interpretation_id}"


class PublishedInterpretations:
    name = "catalog.published_interpretations.v1"
    sources = ("interpretation",)
    tables: Sequence[str] = ("catalog_interpretations",)
    schema: Sequence[str] = (
        """CREATE TABLE IF NOT EXISTS catalog_interpretations (
            interpretation_id TEXT PRIMARY KEY,
            document_id TEXT NOT NULL,
            title TEXT NOT NULL,
            stage INTEGER NOT NULL,
            revision INTEGER NOT NULL,
            forms TEXT NOT NULL,
            published_at TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS catalog_interpretations_document "
        "ON catalog_interpretations (document_id)",
    )

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        if event.type != "InterpretationPublished":
            return
        p = event.payload
        published_at = datetime.fromisoformat(str(p["published_at"])).astimezone(UTC)
        forms = sorted({str(f) for f in p.get("forms", [])})
        await tx.execute(
            """INSERT INTO catalog_interpretations (interpretation_id, document_id, title, stage,
                   revision, forms, published_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (interpretation_id) DO UPDATE SET title = excluded.title,
                   stage = excluded.stage, revision = excluded.revision,
                   forms = excluded.forms, published_at = excluded.published_at
               WHERE catalog_interpretations.revision <= excluded.revision""",
            str(p["interpretation_id"]),
            str(p["document_id"]),
            str(p["title"]),
            int(p.get("stage", 1)),
            int(p.get("revision", 1)),
            orjson.dumps(forms).decode(),
            published_at.isoformat(),
        )


async def interpretations_of(views: Any, document_id: str) -> list[dict[str, Any]]:
    """The published interpretations of one document, first stage first."""
    rows = await views.fetch(
        "SELECT * FROM catalog_interpretations WHERE document_id = $1 "
        "ORDER BY stage, published_at, interpretation_id",
        document_id,
    )
    return [
        {
            "interpretation_id": r["interpretation_id"],
            "title": r["title"],
            "stage": r["stage"],
            "forms": orjson.loads(r["forms"]),
            "published_at": r["published_at"],
            "url": INTERPRETATION_LINK.format(interpretation_id=r["interpretation_id"]),
        }
        for r in rows
    ]
