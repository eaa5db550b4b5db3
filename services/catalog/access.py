"""Who may act on a document: the roles of each step, who sees a document, and the duties
one person may not combine.

Staff of the document's township (or above it) see and act on its documents; anyone
else gets 404, so another township's documents do not leak (decision 5 of
docs/decisions.md). Each step needs its role; one person never holds two duties on
one document [ours]; refusals come before anything is written (shared/commands.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.catalog.columns import SEED_CODES
from services.catalog.domain import DocumentState
from shared.commands import Context
from shared.eventstore import EventStore
from shared.identity import Principal, Role, require_not_same_person, within_scope
from shared.tenancy import OrgTree

PUBLISHING_ROLES = (
    Role.DRAFTER,
    Role.OPENNESS_OFFICE_HEAD,
    Role.LEADER_IN_CHARGE,
    Role.PRINCIPAL_LEADER,
)
JUSTIFYING_ROLES = (
    Role.SECTION_HEAD,
    Role.LEADER_IN_CHARGE,
    Role.PRINCIPAL_LEADER,
    Role.OPENNESS_OFFICE_HEAD,
)
SIGNING_ROLES = (Role.LEADER_IN_CHARGE, Role.PRINCIPAL_LEADER)
WITHDRAWING_ROLES = (Role.OPENNESS_OFFICE_HEAD, Role.LEADER_IN_CHARGE, Role.PRINCIPAL_LEADER)
COLUMN_ROLES = (Role.OPENNESS_OFFICE_HEAD, Role.ADMINISTRATOR)
SWEEP_ROLES = (Role.OPENNESS_OFFICE_HEAD, Role.ADMINISTRATOR)
#: Who sets a published document's 有效期: those who withdraw it (decision 152).
VALIDITY_ROLES = WITHDRAWING_ROLES
#: Who enters documents published before the platform (历史信息登记): the openness office.
REGISTERING_ROLES = (Role.OPENNESS_OFFICE_HEAD,)
NUMBERING_ATTEMPTS = 50
#: Who files a 规范性文件 and records the filing body's answer (方案§18), and who confirms
#: an information-security incident (the openness-office head, D-dut).
FILING_ROLES = (
    Role.OPENNESS_OFFICE_HEAD,
    Role.SECTION_HEAD,
    Role.LEADER_IN_CHARGE,
    Role.PRINCIPAL_LEADER,
)
INCIDENT_ROLES = (Role.OPENNESS_OFFICE_HEAD,)


def column_stream(township: str) -> str:
    return f"catalog-columns-{township}"


def gazette_stream(township: str, year: int) -> str:
    return f"gazette-{township}-{year}"


def home(orgs: OrgTree, org: str) -> str:
    """The township an org belongs to; the district itself for district-level units."""
    township = orgs.township_of(org)
    return str(township.path if township else orgs.district.path)


def township_staff(principal: Principal, state: DocumentState, tenant: str, orgs: OrgTree) -> bool:
    """Who sees a document: its subtree, or staff of the same township (units of one
    township review together)."""
    if within_scope(principal, tenant):
        return True
    org = str(principal.org)
    return org in orgs and home(orgs, org) == state.township


async def columns_of(store: EventStore, township: str) -> frozenset[str]:
    """The township's column codes: the seeded ones and those it configured."""
    events = await store.read_stream(column_stream(township))
    return SEED_CODES | {str(e.payload["code"]) for e in events}


def separate(duty: str) -> Callable[[DocumentState, Any, Context], None]:
    """One person, one duty per document: refuse anyone who held another duty."""

    def guard(state: DocumentState, cmd: Any, x: Context) -> None:
        for person, held in sorted(state.duties.items()):
            for other in sorted(held - {duty}):
                require_not_same_person(x.principal, person, other)

    return guard


def not_drafter(state: DocumentState, cmd: Any, x: Context) -> None:
    """Whoever drafted (or revised) the document may not also check or sign it."""
    for person, held in sorted(state.duties.items()):
        if "drafting" in held:
            require_not_same_person(x.principal, person, "drafting")


def review_duty(state: DocumentState, cmd: Any, x: Context) -> None:
    """A reviewer holds the duty of the stage they review, and no other."""
    separate(cmd.stage.value)(state, cmd, x)
