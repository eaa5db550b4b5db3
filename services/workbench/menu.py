"""Each role's entry points (the side menu and the home page's buttons): only what the
person's roles allow; the APIs still judge every read and step."""

from __future__ import annotations

from collections.abc import Iterable

from shared.identity import Role

#: (section, [(nav key, label, href)], the roles that see it).
ENTRIES: tuple[tuple[str, tuple[tuple[str, str, str], ...], frozenset[Role]], ...] = (
    (
        "主动公开",
        (("review", "文件审核（三审三校）", "/workbench/review"),),
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


def entries(roles: Iterable[Role]) -> list[tuple[str, tuple[tuple[str, str, str], ...]]]:
    """The sections a person with these roles sees, in the menu's order."""
    held = frozenset(roles)
    return [(section, links) for section, links, allowed in ENTRIES if held & allowed]
