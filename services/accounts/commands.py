"""Commands of the accounts service (API input), with the Chinese labels forms show."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.accounts.events import AccountId, DisplayName, Reason, Scope
from shared.fields import PERSONAL
from shared.tenancy import OrgLevel, OrgPath, Role

_STRICT = ConfigDict(extra="forbid", frozen=True)

Password = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class CreatePerson(BaseModel):
    """Open a person's account in an org unit, with its first roles and initial password."""

    model_config = _STRICT

    account_id: AccountId = Field(title="账号（登录名）")
    display_name: DisplayName = Field(title="姓名", json_schema_extra=PERSONAL)
    org: OrgPath = Field(title="所在单位")
    title: str | None = Field(
        default=None, max_length=100, title="职务", json_schema_extra=PERSONAL
    )
    contact: str | None = Field(
        default=None, max_length=100, title="联系方式", json_schema_extra=PERSONAL
    )
    roles: list[Role] = Field(default_factory=list, max_length=12, title="角色（在所在单位）")
    initial_password: Password = Field(title="初始密码")


class CreateService(BaseModel):
    """Open a service account for an integration, with its scopes."""

    model_config = _STRICT

    account_id: AccountId = Field(title="账号")
    display_name: DisplayName = Field(title="名称")
    org: OrgPath = Field(title="所属单位")
    scopes: list[Scope] = Field(default_factory=list, max_length=50, title="授权范围")


class RegisterOrgUnit(BaseModel):
    model_config = _STRICT

    path: OrgPath = Field(title="组织机构路径")
    name: str = Field(min_length=1, max_length=200, title="名称")
    kind: OrgLevel = Field(title="层级")
    short_name: str = Field(min_length=1, max_length=20, title="简称")


class GrantRole(BaseModel):
    model_config = _STRICT

    role: Role = Field(title="角色")
    org: OrgPath = Field(title="授权范围（组织机构）")


class RevokeRole(BaseModel):
    model_config = _STRICT

    role: Role = Field(title="角色")
    org: OrgPath = Field(title="授权范围（组织机构）")
    reason: str | None = Field(default=None, max_length=500, title="原因")


class Suspend(BaseModel):
    model_config = _STRICT

    reason: Reason = Field(title="停用原因")


class Reactivate(BaseModel):
    model_config = _STRICT

    reason: Reason = Field(title="启用原因")


class MoveAccount(BaseModel):
    model_config = _STRICT

    org: OrgPath = Field(title="调入单位")


class EndSessions(BaseModel):
    model_config = _STRICT

    reason: str | None = Field(default=None, max_length=500, title="原因")


class ResetPassword(BaseModel):
    """An administrator sets a new initial password (to be changed at first use)."""

    model_config = _STRICT

    initial_password: Password = Field(title="初始密码")


class PasswordSignIn(BaseModel):
    model_config = _STRICT

    username: Annotated[str, StringConstraints(min_length=1, max_length=40)] = Field(title="用户名")
    password: Password = Field(title="密码")
    org: OrgPath | None = Field(
        default=None, title="登录单位", description="the org to act in; default: the account's own"
    )


class PasswordChange(BaseModel):
    model_config = _STRICT

    username: Annotated[str, StringConstraints(min_length=1, max_length=40)] = Field(title="用户名")
    password: Password = Field(title="当前密码")
    new_password: Password = Field(title="新密码")


class ClientCredentials(BaseModel):
    """OAuth 2.0 client credentials (RFC 6749 §4.4) of a service account, as JSON."""

    model_config = _STRICT

    grant_type: Annotated[str, StringConstraints(pattern=r"^client_credentials$")] = Field(
        title="授权类型"
    )
    client_id: Annotated[str, StringConstraints(min_length=1, max_length=40)] = Field(title="账号")
    client_secret: Password = Field(title="密钥")
