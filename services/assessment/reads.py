"""Reads of the scoreboard the API and the live page share: whose scheme, which rows a
caller may see, a ranking, one subject's card.

No `from __future__ import annotations` here: FastAPI reads `Which` and `PageWhich` as
dependencies (their fields are query parameters).
"""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Query

from services.assessment import queries
from services.assessment.handlers import subjects_of
from services.assessment.scheme import Level, Scheme, scheme_id
from shared.errors import NotFound
from shared.identity import Principal, within_scope

YEAR = Query(ge=2008, le=2100)


@dataclass(frozen=True)
class Which:
    """Which scheme a read is about: `?year=&level=&owner=` (no owner: the district's, or
    at unit level the subject's township's)."""

    year: Annotated[int, YEAR]
    level: Level = Level.township
    owner: str | None = None


@dataclass(frozen=True)
class PageWhich:
    """The same for a page, where the year defaults to this year."""

    year: Annotated[int | None, YEAR] = None
    level: Level = Level.township
    owner: str | None = None

    def this(self, this_year: int) -> Which:
        year = self.year if self.year is not None else this_year
        return Which(year, self.level, self.owner)


def owner_for(runtime: Any, level: Level, subject: str | None, owner: str | None) -> str:
    """The scheme's owner: given, else the district, else the subject's township."""
    if owner:
        return owner
    district = str(runtime.orgs.district.path)
    if level is Level.township or subject is None:
        return district
    return "/".join(subject.split("/")[:2])


async def scheme_or_404(runtime: Any, year: int, level: Level, owner: str) -> Scheme:
    sid = scheme_id(year, level.value, owner)
    found = await queries.scheme(runtime.views, sid)
    if found is None:
        raise NotFound(
            rule="scheme.not_found",
            field="scheme_id",
            message_zh=f"尚未发布考核方案 {sid}",
            message_en=f"no published scheme {sid}",
        )
    return found[0]


def visible(caller: Principal, owner: str, subject: str) -> bool:
    """The scheme's owner's staff see every row; a subject's staff see their own."""
    return within_scope(caller, owner) or within_scope(caller, subject)


async def ranking(runtime: Any, caller: Principal, which: Which) -> dict[str, Any]:
    level = which.level
    owner_path = owner_for(runtime, level, None, which.owner)
    found = await scheme_or_404(runtime, which.year, level, owner_path)
    # At unit level the township's own offices (镇本级) carry what is recorded there.
    subjects, names = subjects_of(runtime.orgs, level, owner_path)
    cards = [await queries.card(runtime.views, found, s) for s in subjects]
    rows = queries.ranked(cards, names)
    rows = [r for r in rows if visible(caller, owner_path, r["subject"])]
    return {
        "scheme_id": found.scheme_id,
        "title": found.title,
        "pass_line": found.pass_line,
        "owner": owner_path,
        "items": rows,
    }


async def card_of(runtime: Any, caller: Principal, subject: str, which: Which) -> dict[str, Any]:
    owner_path = owner_for(runtime, which.level, subject, which.owner)
    if subject not in runtime.orgs or not visible(caller, owner_path, subject):
        raise NotFound(
            rule="subject.not_found",
            field="subject",
            message_zh=f"未找到考核对象 {subject}",
            message_en=f"no assessed subject {subject}",
        )
    found = await scheme_or_404(runtime, which.year, which.level, owner_path)
    card = await queries.card(runtime.views, found, subject, cases=True)
    name = runtime.orgs.get(subject).name
    return {"name": name, "pass_line": found.pass_line, **card.as_dict()}
