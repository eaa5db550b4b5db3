"""Realistic payloads of the accounts service's events, for the contract tests' EXAMPLES."""

from __future__ import annotations

from collections.abc import Callable

from services.accounts.events import (
    AccountMoved,
    AccountReactivated,
    AccountSuspended,
    OrgUnitRegistered,
    PasswordChanged,
    PasswordSetBy,
    PersonAccountCreated,
    RoleGranted,
    RoleRevoked,
    ServiceAccountCreated,
    SessionsEnded,
)
from shared.registry import DomainEvent
from shared.tenancy import OrgLevel, OrgPath, Role

SUDIAN = OrgPath("shangdang/sudian")


def org_unit_registered() -> OrgUnitRegistered:
    return OrgUnitRegistered(path=SUDIAN, name="苏店镇", kind=OrgLevel.TOWNSHIP, short_name="苏店")


def person_account_created() -> PersonAccountCreated:
    return PersonAccountCreated(
        account_id="wang-tietong",
        display_name="王铁童",
        org=SUDIAN,
        title="党委办公室科员",
        contact="0355-5551234",
    )


def service_account_created() -> ServiceAccountCreated:
    return ServiceAccountCreated(
        account_id="hotline-12345",
        display_name="12345政务服务便民热线平台",
        org=OrgPath("shangdang"),
        scopes=["sentiment.messages.write"],
    )


def role_granted() -> RoleGranted:
    return RoleGranted(account_id="wang-tietong", role=Role.ATTRIBUTE_OFFICER, org=SUDIAN)


def role_revoked() -> RoleRevoked:
    return RoleRevoked(
        account_id="wang-tietong",
        role=Role.ATTRIBUTE_OFFICER,
        org=SUDIAN,
        reason="岗位调整，公开属性认定改由党政办公室负责",
    )


def account_suspended() -> AccountSuspended:
    return AccountSuspended(account_id="wang-tietong", reason="离岗培训三个月")


def account_reactivated() -> AccountReactivated:
    return AccountReactivated(account_id="wang-tietong", reason="培训结束返岗")


def account_moved() -> AccountMoved:
    return AccountMoved(
        account_id="wang-tietong", from_org=SUDIAN, org=OrgPath("shangdang/handian")
    )


def sessions_ended() -> SessionsEnded:
    return SessionsEnded(account_id="wang-tietong", reason="终端遗失，强制下线")


def password_changed() -> PasswordChanged:
    return PasswordChanged(
        account_id="wang-tietong", set_by=PasswordSetBy.HOLDER, must_change=False
    )


EXAMPLES: dict[str, Callable[[], DomainEvent]] = {
    "accounts/OrgUnitRegistered.v1": org_unit_registered,
    "accounts/PersonAccountCreated.v1": person_account_created,
    "accounts/ServiceAccountCreated.v1": service_account_created,
    "accounts/RoleGranted.v1": role_granted,
    "accounts/RoleRevoked.v1": role_revoked,
    "accounts/AccountSuspended.v1": account_suspended,
    "accounts/AccountReactivated.v1": account_reactivated,
    "accounts/AccountMoved.v1": account_moved,
    "accounts/SessionsEnded.v1": sessions_ended,
    "accounts/PasswordChanged.v1": password_changed,
}
