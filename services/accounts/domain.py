"""The rules of accounts, pure: who may manage whom, which grants are allowed, and the
auditor's question "who could act as ROLE in ORG at (or during) a time", folded from the log.

- Managers: a district administrator (role `district_administrator`, granted only at the
  district root) manages every account of the district; a township administrator
  (`township_administrator`, granted only at a township) manages the accounts of that
  township's subtree. Both by the one subtree rule (shared/identity.py): the account's org
  and every org a grant names must lie in the manager's subtree.
- Nobody manages their own account (no self-granted roles, no self-reactivation).
- The `service` role belongs to service accounts only (created with it); a person is never
  granted it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.accounts.commands import GrantRole, MoveAccount, Reactivate, RevokeRole, Suspend
from services.accounts.events import (
    AccountMoved,
    AccountReactivated,
    AccountSuspended,
    RoleGranted,
    RoleRevoked,
    SessionsEnded,
)
from shared.account_book import (
    ACCOUNT_STREAM_TYPE,
    AccountKind,
    AccountState,
    AccountStatus,
    evolve_account,
)
from shared.errors import DomainRuleViolated, Forbidden, ValidationFailed
from shared.identity import Principal, require_org
from shared.tenancy import OrgLevel, Role

MANAGERS: tuple[Role, ...] = (Role.DISTRICT_ADMINISTRATOR, Role.TOWNSHIP_ADMINISTRATOR)

#: Where an administrator role may be granted: the level of the org the grant names.
ROLE_LEVEL: Mapping[Role, OrgLevel] = {
    Role.DISTRICT_ADMINISTRATOR: OrgLevel.DISTRICT,
    Role.TOWNSHIP_ADMINISTRATOR: OrgLevel.TOWNSHIP,
}


def refuse_self(principal: Principal, account_id: str) -> None:
    if principal.sub == account_id:
        raise Forbidden(
            rule="account.self_management",
            field="account_id",
            message_zh="管理员不得管理本人账号（授予或撤销本人角色、停用或启用本人账号）",
            message_en="an administrator does not manage their own account",
            details={"account_id": account_id},
        )


def require_registered(org: str, units: Mapping[str, OrgLevel], field: str = "org") -> OrgLevel:
    level = units.get(org)
    if level is None:
        raise ValidationFailed(
            rule="org.unregistered",
            field=field,
            message_zh=f"组织机构 {org} 尚未登记",
            message_en=f"the org unit {org} is not registered",
        )
    return level


def check_grant(role: Role, org: str, level: OrgLevel, principal: Principal) -> None:
    """A grant the principal may make: in their subtree, at the level the role needs."""
    require_org(principal, org)
    if role is Role.SERVICE:
        raise ValidationFailed(
            rule="role.service_only",
            field="role",
            message_zh="服务账号角色只属于服务账号，不得授予人员",
            message_en="the service role belongs to service accounts and is not granted",
        )
    wanted = ROLE_LEVEL.get(role)
    if wanted is not None and level is not wanted:
        raise ValidationFailed(
            rule="role.wrong_level",
            field="org",
            message_zh=f"“{role.label_zh}”只能在{wanted.label_zh}级授予",
            message_en=f"{role.value} is granted only at {wanted.value} level",
        )


def _person(state: AccountState) -> None:
    if state.kind is not AccountKind.PERSON:
        raise DomainRuleViolated(
            rule="account.not_a_person",
            field="account_id",
            message_zh="服务账号的角色随账号设定，不能另行授予或撤销",
            message_en="a service account's role comes with the account",
        )


def grant(
    state: AccountState, cmd: GrantRole, principal: Principal, level: OrgLevel
) -> RoleGranted:
    _person(state)
    check_grant(cmd.role, cmd.org, level, principal)
    if any(g.role is cmd.role and g.org == cmd.org for g in state.grants):
        raise DomainRuleViolated(
            rule="role.already_held",
            field="role",
            message_zh=f"该账号已在 {cmd.org} 持有“{cmd.role.label_zh}”",
            message_en=f"the account already holds {cmd.role.value} at {cmd.org}",
        )
    return RoleGranted(account_id=state.id, role=cmd.role, org=cmd.org)


def revoke(state: AccountState, cmd: RevokeRole, principal: Principal) -> RoleRevoked:
    _person(state)
    require_org(principal, cmd.org)
    if not any(g.role is cmd.role and g.org == cmd.org for g in state.grants):
        raise DomainRuleViolated(
            rule="role.not_held",
            field="role",
            message_zh=f"该账号未在 {cmd.org} 持有“{cmd.role.label_zh}”",
            message_en=f"the account does not hold {cmd.role.value} at {cmd.org}",
        )
    return RoleRevoked(account_id=state.id, role=cmd.role, org=cmd.org, reason=cmd.reason)


def suspend(state: AccountState, cmd: Suspend) -> AccountSuspended:
    if state.status is AccountStatus.SUSPENDED:
        raise DomainRuleViolated(
            rule="account.already_suspended",
            field="account_id",
            message_zh="该账号已停用",
            message_en="the account is already suspended",
        )
    return AccountSuspended(account_id=state.id, reason=cmd.reason)


def reactivate(state: AccountState, cmd: Reactivate) -> AccountReactivated:
    if state.status is AccountStatus.ACTIVE:
        raise DomainRuleViolated(
            rule="account.not_suspended",
            field="account_id",
            message_zh="该账号未停用",
            message_en="the account is not suspended",
        )
    return AccountReactivated(account_id=state.id, reason=cmd.reason)


def move(state: AccountState, cmd: MoveAccount, principal: Principal) -> AccountMoved:
    _person(state)
    require_org(principal, cmd.org)
    if cmd.org == state.org:
        raise DomainRuleViolated(
            rule="account.same_org",
            field="org",
            message_zh="调入单位与现单位相同",
            message_en="the account is already in that org unit",
        )
    return AccountMoved(account_id=state.id, from_org=state.org, org=cmd.org)


def end_sessions(state: AccountState, reason: str | None) -> SessionsEnded:
    return SessionsEnded(account_id=state.id, reason=reason)


# --- roles as of a time, from the log -------------------------------------------------------


@dataclass(frozen=True)
class LoggedEvent:
    """What the as-of fold needs of a stored event."""

    stream_type: str
    type: str
    recorded_at: datetime
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class Holder:
    account_id: str
    name: str
    org: str
    grant_org: str
    kind: str


def _holders(accounts: Mapping[str, AccountState], role: Role, org: str) -> dict[str, Holder]:
    found = {}
    for account in accounts.values():
        if not account.active:
            continue
        for g in account.grants:
            if g.role is role and g.covers(org):
                found[account.id] = Holder(
                    account.id, account.name, account.org, g.org, str(account.kind)
                )
    return found


def could_act(
    events: Iterable[LoggedEvent], role: Role, org: str, start: datetime, end: datetime
) -> list[Holder]:
    """Who could act as `role` at `org` at some instant of [start, end] (start == end: at
    that instant): active accounts holding a grant of `role` whose subtree holds `org`.
    Events are taken in log order; an event counts from the instant it was recorded."""
    accounts: dict[str, AccountState] = {}
    found: dict[str, Holder] = {}
    started = False
    for event in events:
        if event.stream_type != ACCOUNT_STREAM_TYPE:
            continue
        if event.recorded_at > end:
            break
        if not started and event.recorded_at > start:
            found.update(_holders(accounts, role, org))
            started = True
        account_id = str(event.payload["account_id"])
        accounts[account_id] = evolve_account(
            accounts.get(account_id, AccountState()), event.type, event.payload
        )
        if started:
            found.update(_holders(accounts, role, org))
    found.update(_holders(accounts, role, org))
    return sorted(found.values(), key=lambda h: h.account_id)


def as_logged(events: Sequence[Any]) -> list[LoggedEvent]:
    return [LoggedEvent(e.stream_type, e.type, e.recorded_at, e.payload) for e in events]
