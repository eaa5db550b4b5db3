"""Full-text search that works for Chinese without a tokenizer dependency.

Chinese has no spaces, so words cannot be split on whitespace. Every run of CJK characters
is indexed as its single characters and its overlapping character pairs (bigrams); other
runs as lower-cased words. A query matches a document holding every one of the query's
terms (pairs for Chinese runs of two or more characters). The index is a plain
(term, document_id) table, portable between SQLite and PostgreSQL. Pure functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.catalog.views import PUBLIC_ROW
from shared.cn_dates import BEIJING

_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[0-9A-Za-z]+")
MAX_QUERY_TERMS = 32


def _is_cjk(run: str) -> bool:
    return not run.isascii()


def index_terms(text: str) -> set[str]:
    """Unigrams and bigrams of each CJK run; lower-cased words otherwise."""
    terms: set[str] = set()
    for m in _RUN.finditer(text):
        run = m.group()
        if _is_cjk(run):
            terms.update(run)
            terms.update(run[i : i + 2] for i in range(len(run) - 1))
        else:
            terms.add(run.lower())
    return terms


def query_terms(query: str) -> list[str]:
    """The terms a query needs: bigrams for CJK runs (a lone character stands for itself)."""
    terms: list[str] = []
    for m in _RUN.finditer(query):
        run = m.group()
        if _is_cjk(run):
            pairs = [run[i : i + 2] for i in range(len(run) - 1)] or [run]
            terms.extend(pairs)
        else:
            terms.append(run.lower())
    unique = list(dict.fromkeys(terms))
    return unique[:MAX_QUERY_TERMS]


def snippet(text: str, query: str, width: int = 40) -> str:
    """Text around the first occurrence of the query (or its first term), for result lists."""
    at = text.find(query.strip())
    if at < 0:
        terms = query_terms(query)
        at = text.lower().find(terms[0]) if terms else -1
    if at < 0:
        return text[: width * 2]
    start = max(0, at - width)
    return (
        ("…" if start else "")
        + text[start : at + width * 2]
        + ("…" if at + width * 2 < len(text) else "")
    )


@dataclass(frozen=True)
class Filters:
    """What a search may be narrowed to: an organ, a column, a kind, a year of publication
    (Beijing time: a document published at 07:00 on 1 January belongs to the new year)."""

    township: str | None = None
    column: str | None = None
    kind: str | None = None
    year: int | None = None


def year_bounds(year: int) -> tuple[str, str]:
    """The UTC ISO instants that bound a Beijing calendar year (stored times are UTC ISO)."""
    start = datetime(year, 1, 1, tzinfo=BEIJING).astimezone(UTC).isoformat()
    end = datetime(year + 1, 1, 1, tzinfo=BEIJING).astimezone(UTC).isoformat()
    return start, end


def search_sql(terms: list[str], filters: Filters, limit: int) -> tuple[str, list[Any]]:
    """The public search: published documents holding every term, newest first."""
    placeholders = ", ".join(f"${i + 1}" for i in range(len(terms)))
    args: list[Any] = [*terms, len(terms)]
    sql = (
        f"{PUBLIC_ROW} JOIN ("
        f"SELECT document_id FROM catalog_search WHERE term IN ({placeholders}) "
        f"GROUP BY document_id HAVING COUNT(DISTINCT term) = ${len(terms) + 1}"
        ") m ON m.document_id = p.document_id"
    )
    clauses = []
    for name, value in (
        ("township", filters.township),
        ("column_code", filters.column),
        ("kind", filters.kind),
    ):
        if value is not None:
            args.append(value)
            clauses.append(f"p.{name} = ${len(args)}")
    if filters.year is not None:
        start, end = year_bounds(filters.year)
        args += [start, end]
        n = len(args)
        clauses.append(f"p.first_published_at >= ${n - 1} AND p.first_published_at < ${n}")
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    args.append(limit)
    sql += f" ORDER BY p.updated_at DESC LIMIT ${len(args)}"
    return sql, args
