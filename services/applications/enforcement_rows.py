"""Read model of the enforcement decisions, kept by this service for section 二 of the
annual report (行政许可 / 行政处罚 / 行政强制 本年处理决定数量, 行政事业性收费 本年收费金额).

Source: the enforcement service's events (`sources=("enforcement",)`: in embedded mode its
store, in distributed mode its Kafka topic), never its tables; read as a tolerant reader
(only the payload fields used here). One row per decision (one stream each); the row's
`version` makes a replayed event a no-op. A decision counts in the year it was made
(decided_on), also when it is later changed or revoked: it was a decision of that year
(the annulment is a decision of its own in the unit's system).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.db import Tx
from shared.envelope import RecordedEvent


class EnforcementDecisions:
    name = "applications.enforcement_decisions.v1"
    sources = ("enforcement",)
    tables: Sequence[str] = ("app_enforcement",)
    schema: Sequence[str] = (
        """CREATE TABLE IF NOT EXISTS app_enforcement (
            decision_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            township TEXT NOT NULL,
            kind TEXT NOT NULL,
            decided_on TEXT NOT NULL,
            amount_fen BIGINT,
            version INTEGER NOT NULL
        )""",
    )

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        if event.stream_type != "enforcement" or event.type != "EnforcementDecisionRecorded":
            return
        p = event.payload
        decision_id = str(p["decision_id"])
        row = await tx.fetchrow(
            "SELECT version FROM app_enforcement WHERE decision_id = $1", decision_id
        )
        if row is not None:
            return  # recorded once per stream
        await tx.execute(
            "INSERT INTO app_enforcement (decision_id, tenant, township, kind, decided_on, "
            "amount_fen, version) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            decision_id,
            str(p.get("unit") or event.tenant),
            str(p.get("township") or event.tenant),
            str(p["kind"]),
            str(p["decided_on"]),
            p.get("amount_fen"),
            event.version,
        )


async def enforcement_rows(views: Any) -> list[Any]:
    """Section 二's enforcement rows; none when the projection has not run yet (no table)."""
    try:
        rows: list[Any] = await views.fetch(
            "SELECT tenant, kind, decided_on, amount_fen FROM app_enforcement"
        )
    except Exception as exc:  # the table is created when the projection first runs
        if "app_enforcement" in str(exc):
            return []
        raise
    return rows
