"""Read model of the task ledger (工作台账, 方案§20): one row per item, with its status.

Status: `open`, `overdue` (noticed by the scheduler), `done`, `done_late`. Fed by the
assessment service's own log only (per-stream order is all it needs).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.db import Database, Tx
from shared.envelope import RecordedEvent
from shared.pagination import decode_cursor, encode_cursor, scope_args, scope_clause

STATUSES = ("open", "overdue", "done", "done_late")


class TaskLedger:
    name = "assessment.task_ledger.v1"
    tables: Sequence[str] = ("assess_tasks",)
    schema: Sequence[str] = (
        """CREATE TABLE IF NOT EXISTS assess_tasks (
            task_id TEXT PRIMARY KEY,
            org TEXT NOT NULL,
            owner TEXT NOT NULL,
            title TEXT NOT NULL,
            due_on TEXT NOT NULL,
            basis TEXT,
            status TEXT NOT NULL,
            completed_on TEXT,
            version INTEGER NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS assess_tasks_org ON assess_tasks (org, due_on)",
    )

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        p = event.payload
        if event.type == "TaskAdded":
            await tx.execute(
                """INSERT INTO assess_tasks
                   (task_id, org, owner, title, due_on, basis, status, completed_on, version)
                   VALUES ($1, $2, $3, $4, $5, $6, 'open', NULL, $7)
                   ON CONFLICT (task_id) DO NOTHING""",
                p["task_id"],
                p["org"],
                p["owner"],
                p["title"],
                p["due_on"],
                p.get("basis"),
                event.version,
            )
        elif event.type == "TaskCompleted":
            status = "done_late" if p.get("late") else "done"
            await tx.execute(
                """UPDATE assess_tasks SET status = $1, completed_on = $2, version = $3
                   WHERE task_id = $4 AND version < $3""",
                status,
                p["completed_on"],
                event.version,
                p["task_id"],
            )
        elif event.type == "TaskOverdue":
            await tx.execute(
                """UPDATE assess_tasks SET status = 'overdue', version = $1
                   WHERE task_id = $2 AND version < $1 AND status = 'open'""",
                event.version,
                p["task_id"],
            )


def task_row(r: Any) -> dict[str, Any]:
    return {
        "task_id": r["task_id"],
        "org": r["org"],
        "owner": r["owner"],
        "title": r["title"],
        "due_on": r["due_on"],
        "basis": r["basis"],
        "status": r["status"],
        "completed_on": r["completed_on"],
        "version": r["version"],
    }


async def tasks(
    views: Database, scope: str, status: str | None, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Items in `scope`'s subtree by due date, then id (cursor pages)."""
    args: list[Any] = [*scope_args(scope)]
    where = [scope_clause("org", 1)]
    if status:
        args.append(status)
        where.append(f"status = ${len(args)}")
    if cursor:
        due, task_id = decode_cursor(cursor, 2)
        args += [str(due), str(task_id)]
        n = len(args)
        where.append(f"(due_on > ${n - 1} OR (due_on = ${n - 1} AND task_id > ${n}))")
    args.append(limit + 1)
    rows = await views.fetch(
        f"SELECT * FROM assess_tasks WHERE {' AND '.join(where)} "
        f"ORDER BY due_on, task_id LIMIT ${len(args)}",
        *args,
    )
    items = [task_row(r) for r in rows[:limit]]
    nxt = encode_cursor(items[-1]["due_on"], items[-1]["task_id"]) if len(rows) > limit else None
    return items, nxt
