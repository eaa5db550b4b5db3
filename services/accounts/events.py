"""Events of the accounts service. The source of contracts/.

Two stream types:
- `org-unit-<path with dots>`: an org unit of the district registered (OrgUnitRegistered);
  the demo loader and `gongkai accounts bootstrap` register the org file's tree as events;
- `account-<account id>`: a person's or a service account's life: created, roles granted
  and revoked in an org subtree, suspended and reactivated, moved, sessions ended, password
  changed. The envelope's tenant is the account's org unit, so the audit chain and the
  subtree rule see them like any other event.

Password hashes are secrets, never events (decision 85): `PasswordChanged` says that
and by whom a password was set, not what it is. The fold of an account is
`shared.account_book.evolve_account`, shared with every process's account book.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from shared import account_book as names
from shared.fields import NOT_PERSONAL, PERSONAL, LabelledEnum
from shared.registry import DomainEvent, EventRegistry
from shared.tenancy import SLUG_PATTERN, OrgLevel, OrgPath, Role

registry = EventRegistry(service="accounts")

AccountId = Annotated[
    str, StringConstraints(pattern=rf"^{SLUG_PATTERN}$", min_length=2, max_length=40)
]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500)]
Scope = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:[._:-][a-z0-9]+)*$", max_length=60)]


class PasswordSetBy(LabelledEnum):
    """Who set a password: an administrator (an initial one, to be changed) or its holder."""

    ADMINISTRATOR = "administrator", "管理员设置初始密码"
    HOLDER = "holder", "本人修改"


@registry.register
class OrgUnitRegistered(DomainEvent):
    """An org unit of the district (区、镇（乡）、站所/部门) registered with its name."""

    event_type = names.ORG_UNIT_REGISTERED
    stream_type = names.ORG_UNIT_STREAM_TYPE

    path: OrgPath = Field(title="组织机构路径")
    name: str = Field(min_length=1, max_length=200, title="名称", json_schema_extra=NOT_PERSONAL)
    kind: OrgLevel = Field(title="层级")
    short_name: str = Field(min_length=1, max_length=20, title="简称")


@registry.register
class PersonAccountCreated(DomainEvent):
    """A person's account opened in an org unit (their post); roles come by RoleGranted."""

    event_type = names.PERSON_ACCOUNT_CREATED
    stream_type = names.ACCOUNT_STREAM_TYPE

    account_id: AccountId = Field(title="账号")
    display_name: DisplayName = Field(title="姓名", json_schema_extra=PERSONAL)
    org: OrgPath = Field(title="所在单位")
    title: str | None = Field(
        default=None, max_length=100, title="职务", json_schema_extra=PERSONAL
    )
    contact: str | None = Field(
        default=None, max_length=100, title="联系方式", json_schema_extra=PERSONAL
    )


@registry.register
class ServiceAccountCreated(DomainEvent):
    """A service account for an integration (12345 热线平台, the portal) with its own scopes;
    it holds the `service` role at its org, and only that role."""

    event_type = names.SERVICE_ACCOUNT_CREATED
    stream_type = names.ACCOUNT_STREAM_TYPE

    account_id: AccountId = Field(title="账号")
    display_name: DisplayName = Field(title="名称", json_schema_extra=NOT_PERSONAL)
    org: OrgPath = Field(title="所属单位")
    scopes: list[Scope] = Field(default_factory=list, max_length=50, title="授权范围")


@registry.register
class RoleGranted(DomainEvent):
    """A role granted in an org subtree: the holder may act with it at `org` and below."""

    event_type = names.ROLE_GRANTED
    stream_type = names.ACCOUNT_STREAM_TYPE

    account_id: AccountId
    role: Role = Field(title="角色")
    org: OrgPath = Field(title="授权范围（组织机构）")


@registry.register
class RoleRevoked(DomainEvent):
    """A role taken back; tokens naming it stop working on every process within seconds."""

    event_type = names.ROLE_REVOKED
    stream_type = names.ACCOUNT_STREAM_TYPE

    account_id: AccountId
    role: Role = Field(title="角色")
    org: OrgPath = Field(title="授权范围（组织机构）")
    reason: str | None = Field(default=None, max_length=500, title="原因")


@registry.register
class AccountSuspended(DomainEvent):
    """An account suspended (离岗、调离、安全事件): no token of it counts, no sign-in."""

    event_type = names.ACCOUNT_SUSPENDED
    stream_type = names.ACCOUNT_STREAM_TYPE

    account_id: AccountId
    reason: Reason = Field(title="停用原因")


@registry.register
class AccountReactivated(DomainEvent):
    """A suspended account reactivated; its old tokens stay dead (the suspension ended them)."""

    event_type = names.ACCOUNT_REACTIVATED
    stream_type = names.ACCOUNT_STREAM_TYPE

    account_id: AccountId
    reason: Reason = Field(title="启用原因")


@registry.register
class AccountMoved(DomainEvent):
    """A person moved to another org unit: the old post's grants and sessions end."""

    event_type = names.ACCOUNT_MOVED
    stream_type = names.ACCOUNT_STREAM_TYPE

    account_id: AccountId
    from_org: OrgPath
    org: OrgPath = Field(title="调入单位")


@registry.register
class SessionsEnded(DomainEvent):
    """Every session of the account ended (sign-out everywhere): older tokens are refused."""

    event_type = names.SESSIONS_ENDED
    stream_type = names.ACCOUNT_STREAM_TYPE

    account_id: AccountId
    reason: str | None = Field(default=None, max_length=500, title="原因")


@registry.register
class PasswordChanged(DomainEvent):
    """A password set (no hash here: it lives in the accounts service's credentials table).

    `must_change`: an initial password an administrator set, to be changed by its holder
    before any other use. Ends the account's other sessions.
    """

    event_type = names.PASSWORD_CHANGED
    stream_type = names.ACCOUNT_STREAM_TYPE

    account_id: AccountId
    set_by: PasswordSetBy
    must_change: bool
