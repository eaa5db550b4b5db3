"""政府信息公开指南 (条例 Art. 12) as data the openness office edits: one YAML file
(deploy/demo/portal-guide.yaml; GONGKAI_PORTAL_GUIDE names another), read at start.

Pure: parsing and checking. A guide missing for an organ, or missing its office, address
or telephone, stops the portal at start with the organ and the field named, instead of a
public page with a hole in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

REQUIRED = ("office", "address", "phone", "hours", "scope", "how_to_apply", "answer", "remedy")
LABELS_ZH = {
    "office": "受理机构",
    "address": "办公地址",
    "phone": "咨询电话",
    "hours": "办公时间",
    "scope": "主动公开的主要内容",
    "how_to_apply": "申请方式",
    "answer": "答复期限",
    "remedy": "救济方式",
}


@dataclass(frozen=True)
class Rule:
    """One 政府信息公开制度 the organ has adopted: its name, when and by which document it
    was adopted, and what it requires, in points a citizen can hold the organ to."""

    title: str
    adopted: date
    points: tuple[str, ...]
    number: str = ""


class GuideInvalid(ValueError):
    """The guide file cannot serve the portal: which organ, which field, what is wrong."""


@dataclass(frozen=True)
class Guide:
    org: str
    office: str
    address: str
    phone: str
    hours: str
    scope: tuple[str, ...]
    how_to_apply: tuple[str, ...]
    answer: str
    remedy: str
    fees: str = ""
    postcode: str = ""
    fax: str = ""
    updated: date | None = None
    #: 政府信息公开制度 (issue #18): the rules the organ works by, shown on their own page.
    rules: tuple[Rule, ...] = ()


def _rules(org: str, data: Any) -> tuple[Rule, ...]:
    if not isinstance(data, list) or not data:
        raise GuideInvalid(f"{org}.rules: missing / 指南缺少“政府信息公开制度”")
    rules = []
    for n, item in enumerate(data, 1):
        where = f"{org}.rules[{n}]"
        if not isinstance(item, Mapping) or not item.get("title"):
            raise GuideInvalid(f"{where}.title: missing / 第{n}项制度缺少名称")
        if not isinstance(item.get("adopted"), date):
            raise GuideInvalid(f"{where}.adopted: not a date / 第{n}项制度的印发日期须为日期")
        points = item.get("points")
        if not isinstance(points, list) or not points:
            raise GuideInvalid(f"{where}.points: missing / 第{n}项制度缺少主要内容")
        rules.append(
            Rule(
                title=str(item["title"]),
                adopted=item["adopted"],
                points=tuple(str(p) for p in points),
                number=str(item.get("number") or ""),
            )
        )
    return tuple(rules)


def parse(data: Any, orgs: list[str]) -> dict[str, Guide]:
    """Every organ's guide: `defaults` laid under each entry; each of `orgs` must have one."""
    if not isinstance(data, Mapping) or data.get("version") != 1:
        raise GuideInvalid("guide file: `version: 1` expected / 指南文件须为 version: 1")
    defaults = data.get("defaults") or {}
    entries = data.get("guides") or {}
    guides: dict[str, Guide] = {}
    for org in orgs:
        entry = entries.get(org)
        if not isinstance(entry, Mapping):
            raise GuideInvalid(f"{org}: no guide / 缺少“{org}”的政府信息公开指南")
        merged = {**defaults, **entry}
        for name in REQUIRED:
            if not merged.get(name):
                raise GuideInvalid(f"{org}.{name}: missing / 指南缺少“{LABELS_ZH[name]}”")
        updated = merged.get("updated")
        guides[org] = Guide(
            org=org,
            office=str(merged["office"]),
            address=str(merged["address"]),
            phone=str(merged["phone"]),
            hours=str(merged["hours"]),
            scope=tuple(str(s) for s in merged["scope"]),
            how_to_apply=tuple(str(s) for s in merged["how_to_apply"]),
            answer=str(merged["answer"]),
            remedy=str(merged["remedy"]),
            fees=str(merged.get("fees") or ""),
            postcode=str(merged.get("postcode") or ""),
            fax=str(merged.get("fax") or ""),
            updated=updated if isinstance(updated, date) else None,
            rules=_rules(org, merged.get("rules")),
        )
    return guides


def load(path: Path, orgs: list[str]) -> dict[str, Guide]:
    return parse(yaml.safe_load(path.read_text(encoding="utf-8")), orgs)
