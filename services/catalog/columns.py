"""Catalog columns (目录栏目) every township starts with, and their update rule.

方案§四(一)2–11 names the columns (DOMAIN.md §1). Dynamic columns must be updated at
least every 2 weeks, the others at least every 6 months, and no column may stay empty
[local: 玉环; 国办秘函〔2019〕19号 inspection practice]. Both periods are configurable per
township (ColumnConfigured). Pure data and functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.catalog.events import ColumnEmpty, ColumnStale
from shared.registry import DomainEvent

DYNAMIC_MAX_AGE_DAYS = 14  # 动态类栏目 每两周至少更新一次
STATIC_MAX_AGE_DAYS = 183  # 其他栏目 每半年至少更新一次


@dataclass(frozen=True)
class Column:
    code: str
    name: str
    dynamic: bool
    max_age_days: int


def _c(code: str, name: str, dynamic: bool = False) -> Column:
    return Column(code, name, dynamic, DYNAMIC_MAX_AGE_DAYS if dynamic else STATIC_MAX_AGE_DAYS)


SEED_COLUMNS: tuple[Column, ...] = (
    _c("powers_list", "权责清单"),
    _c("major_decisions", "重大行政决策事项目录"),
    _c("certification_commitment", "证明事项告知承诺目录"),
    _c("intermediary_services", "行政审批中介服务事项清单"),
    _c("public_resource_trading", "公共资源交易目录清单"),
    _c("fees_and_funds", "政府性基金及涉企收费目录清单"),
    _c("transformation_policies", "转型发展政策专题"),
    _c("livelihood", "民生（教育、医疗、就业、生态环境、水电气暖）", dynamic=True),
    _c("five_year_plan", "十四五规划"),
    _c("rule_of_law", "法治政府（制度建设、行政规范性文件）"),
    _c("work_news", "工作动态", dynamic=True),
    _c("reform_policies", "重大改革政策及解读"),
    _c("epidemic", "疫情防控", dynamic=True),
    _c("finance", "财政（预决算、政府债务、惠民惠农资金）"),
    _c("enforcement", "行政执法公示"),
    _c("service_guides", "政务服务事项办事指南"),
)

SEED_CODES = frozenset(c.code for c in SEED_COLUMNS)


def merge(configured: list[Column]) -> list[Column]:
    """The seed columns with a township's own settings laid over them, plus its additions."""
    by_code = {c.code: c for c in SEED_COLUMNS}
    for column in configured:
        by_code[column.code] = column
    return sorted(by_code.values(), key=lambda c: (c.code not in SEED_CODES, c.code))


@dataclass(frozen=True)
class ColumnHealth:
    column: Column
    last_published_on: date | None
    published_count: int
    days_since_update: int | None
    empty: bool
    stale: bool


def health(column: Column, last: date | None, count: int, today: date) -> ColumnHealth:
    """Empty = nothing published; stale = the last publication is older than the rule allows."""
    if last is None:
        return ColumnHealth(column, None, 0, None, True, True)
    age = (today - last).days
    return ColumnHealth(column, last, count, age, count == 0, age > column.max_age_days)


def health_event(
    township: str, h: ColumnHealth, today: date, last: Mapping[str, Any] | None
) -> DomainEvent | None:
    """The event a column check records, unless the same episode was recorded already.

    `last` is the payload of the column's latest health event (None if none): an empty
    column is recorded once; a stale one once per last-publication date.
    """
    c = h.column
    if h.empty:
        if last is not None and "last_published_on" not in last:
            return None
        return ColumnEmpty(township=township, column=c.code, name=c.name, noticed_on=today)
    if not h.stale or h.last_published_on is None or h.days_since_update is None:
        return None
    if last is not None and last.get("last_published_on") == h.last_published_on.isoformat():
        return None
    return ColumnStale(
        township=township,
        column=c.code,
        name=c.name,
        dynamic=c.dynamic,
        max_age_days=c.max_age_days,
        last_published_on=h.last_published_on,
        days_since_update=h.days_since_update,
        noticed_on=today,
    )
