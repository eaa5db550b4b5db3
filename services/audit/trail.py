"""Audit trails: the chained events of one stream, one actor or one tenant, in a period.

The exported record is the HASHED event (the chain row's body), with its link: an
auditor can recompute every hash from the export alone.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from services.audit.chain import time_key
from shared.db import Database
from shared.errors import ValidationFailed
from shared.pagination import scope_args, scope_clause

CSV_COLUMNS = (
    "seq",
    "event_id",
    "service",
    "stream_id",
    "event_type",
    "tenant",
    "actor_id",
    "recorded_at",
    "hash",
    "prev_hash",
    "payload",
)


#: The streams reads of personal data are appended to (shared.registry.access_write).
ACCESS_STREAMS = "personal-data-access-%"


@dataclass(frozen=True)
class TrailQuery:
    stream_id: str | None = None
    actor: str | None = None
    tenant: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    #: Only events inside this org subtree (the caller's scope); None = everything.
    scope: str | None = None
    #: Only the reads of personal data (the `personal-data-access-<reader>` streams).
    access_only: bool = False

    def validate(self) -> None:
        if not (self.stream_id or self.actor or self.tenant):
            raise ValidationFailed(
                rule="trail.subject_missing",
                field="stream",
                message_zh="请指定 stream、actor 或 tenant 之一",
                message_en="name one of stream, actor or tenant",
            )
        if self.start and self.end and self.start > self.end:
            raise ValidationFailed(
                rule="trail.period_reversed",
                field="from",
                message_zh="起始时间晚于截止时间",
                message_en="from is after to",
            )

    def sql(self, after_seq: int, limit: int) -> tuple[str, list[Any]]:
        where: list[str] = ["seq > $1"]
        args: list[Any] = [after_seq]

        def add(clause: str, *values: Any) -> None:
            args.extend(values)
            where.append(clause.format(*range(len(args) - len(values) + 1, len(args) + 1)))

        if self.stream_id:
            add("stream_id = ${0}", self.stream_id)
        if self.actor:
            add("actor_id = ${0}", self.actor)
        if self.tenant:
            n = len(args) + 1
            args.extend(scope_args(self.tenant))
            where.append(scope_clause("tenant", n))
        if self.scope:
            n = len(args) + 1
            args.extend(scope_args(self.scope))
            where.append(scope_clause("tenant", n))
        if self.access_only:
            add("stream_id LIKE ${0}", ACCESS_STREAMS)
        if self.start:
            add("recorded_at >= ${0}", time_key(self.start))
        if self.end:
            add("recorded_at <= ${0}", time_key(self.end))
        args.append(limit)
        clauses = " AND ".join(where)
        sql = f"SELECT * FROM audit_chain WHERE {clauses} ORDER BY seq LIMIT ${len(args)}"
        return sql, args


def record_of(row: Any) -> dict[str, Any]:
    return {
        "seq": int(row["seq"]),
        "service": row["service"],
        "hash": row["hash"],
        "prev_hash": row["prev_hash"],
        "event": orjson.loads(row["body"]),
    }


async def rows(
    db: Database,
    query: TrailQuery,
    batch: int = 2000,
    *,
    after: int = 0,
    limit: int | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """The records after seq `after`, in chain order; at most `limit` of them."""
    query.validate()
    left = limit
    while left is None or left > 0:
        size = batch if left is None else min(batch, left)
        sql, args = query.sql(after, size)
        found = await db.fetch(sql, *args)
        for row in found:
            yield record_of(row)
        if left is not None:
            left -= len(found)
        if len(found) < size:
            return
        after = int(found[-1]["seq"])


def jsonl_line(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS) + b"\n"


def csv_header() -> str:
    return csv_lines([], header=True)


def csv_lines(records: Iterable[dict[str, Any]], *, header: bool = False) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(CSV_COLUMNS)
    for r in records:
        e = r["event"]
        writer.writerow(
            [
                r["seq"],
                e["event_id"],
                r["service"],
                e["stream_id"],
                e["type"],
                e["tenant"],
                e["actor"]["id"],
                e["recorded_at"],
                r["hash"],
                r["prev_hash"],
                orjson.dumps(e["payload"], option=orjson.OPT_SORT_KEYS).decode(),
            ]
        )
    return out.getvalue()
