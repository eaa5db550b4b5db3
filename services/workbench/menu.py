"""Each role's entry points (the side menu and the home page's buttons): only what the
person's roles allow; the APIs still judge every read and step."""

from __future__ import annotations

from collections.abc import Iterable

from shared.identity import Role

#: (section, [(nav key, label, href)], the roles that see it).
ENTRIES: tuple[tuple[str, tuple[tuple[str, str, str], ...], frozenset[Role]], ...] = (
    (
        "主动公开",
        (
            ("review", "文件审核（三审三校）", "/workbench/review"),
            ("review-new", "拟稿", "/workbench/review/new"),
        ),
        frozenset(
            {
                Role.DRAFTER,
                Role.ATTRIBUTE_OFFICER,
                Role.SECTION_HEAD,
                Role.OPENNESS_OFFICE_HEAD,
                Role.LEADER_IN_CHARGE,
                Role.PRINCIPAL_LEADER,
            }
        ),
    ),
    (
        "政策解读",
        (("interpretation", "解读任务", "/workbench/interpretation"),),
        frozenset(
            {
                Role.DRAFTER,
                Role.SECTION_HEAD,
                Role.OPENNESS_OFFICE_HEAD,
                Role.LEADER_IN_CHARGE,
                Role.PRINCIPAL_LEADER,
            }
        ),
    ),
)


#: Links of a section that fewer of its roles see: only a drafter drafts.
LINK_ROLES: dict[str, frozenset[Role]] = {"review-new": frozenset({Role.DRAFTER})}


def entries(roles: Iterable[Role]) -> list[tuple[str, tuple[tuple[str, str, str], ...]]]:
    """The sections a person with these roles sees, in the menu's order."""
    held = frozenset(roles)
    found = []
    for section, links, allowed in ENTRIES:
        if held & allowed:
            mine = tuple(link for link in links if held & LINK_ROLES.get(link[0], held))
            found.append((section, mine))
    return found
