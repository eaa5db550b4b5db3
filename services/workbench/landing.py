"""Where a person whose roles have no request queue starts (issue #17): the opinion
officer at the case ledger, the auditor at the trail, the assessor and the leaders at the
ranking. Pure."""

from __future__ import annotations

from shared.identity import Principal, Role

#: The first of these roles the person holds decides (most specific first).
LANDINGS = (
    (Role.OPINION_OFFICER, "/workbench/opinion"),
    (Role.AUDITOR, "/workbench/audit"),
    (Role.DISTRICT_ASSESSOR, "/workbench/scores"),
    (Role.PRINCIPAL_LEADER, "/workbench/scores"),
    (Role.LEADER_IN_CHARGE, "/workbench/scores"),
)


def landing(principal: Principal) -> str | None:
    """The page to start at when the request queue is not the person's, else None."""
    return next((page for role, page in LANDINGS if principal.has_role(role)), None)
