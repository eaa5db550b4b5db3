"""The accounts a process knows: who exists, in which org, with which roles where, and
whether their tokens still count. Every process keeps one (docs/identity.md "Tokens follow
accounts").

Like the working-day calendar (shared/calendar_book.py), the book is fed by another
service's events: the accounts service's log (embedded: its store; distributed: its Kafka
topic, read whole from the beginning by every process), so no service reads another's
tables and a revocation reaches every process within the relay's latency. The fold of one
account (`evolve_account`) lives here, beside the book, and the accounts service folds its
aggregate with the same function: the book and the service cannot disagree about what an
event means.

The HTTP layer asks the book about every authenticated request (`AccountBook.check`):
a signed token proves who issued it, the book says whether it still speaks for someone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final, NamedTuple

from shared.envelope import RecordedEvent
from shared.errors import Forbidden, Unauthenticated
from shared.fields import LabelledEnum
from shared.identity import Principal
from shared.lazylog import LazyLogger
from shared.tenancy import OrgPath, Role, is_within

log = LazyLogger("gongkai.accounts.book")

ACCOUNTS_SERVICE: Final = "accounts"
ACCOUNT_STREAM_TYPE: Final = "account"
ORG_UNIT_STREAM_TYPE: Final = "org-unit"

ORG_UNIT_REGISTERED: Final = "OrgUnitRegistered"
PERSON_ACCOUNT_CREATED: Final = "PersonAccountCreated"
SERVICE_ACCOUNT_CREATED: Final = "ServiceAccountCreated"
ROLE_GRANTED: Final = "RoleGranted"
ROLE_REVOKED: Final = "RoleRevoked"
ACCOUNT_SUSPENDED: Final = "AccountSuspended"
ACCOUNT_REACTIVATED: Final = "AccountReactivated"
ACCOUNT_MOVED: Final = "AccountMoved"
SESSIONS_ENDED: Final = "SessionsEnded"
PASSWORD_CHANGED: Final = "PasswordChanged"


def account_stream(account_id: str) -> str:
    return f"account-{account_id}"


class AccountKind(LabelledEnum):
    PERSON = "person", "人员账号"
    SERVICE = "service", "服务账号"


class AccountStatus(LabelledEnum):
    ACTIVE = "active", "启用"
    SUSPENDED = "suspended", "已停用"


class Grant(NamedTuple):
    """A role held in an org subtree: the holder may act with `role` at `org` and below."""

    role: Role
    org: str

    def covers(self, org: str) -> bool:
        return is_within(org, self.org)


@dataclass(frozen=True)
class AccountState:
    """One account, folded from its stream."""

    id: str = ""
    kind: AccountKind | None = None
    name: str = ""
    org: str = ""
    status: AccountStatus = AccountStatus.ACTIVE
    #: Raised by every event that ends the account's sessions (suspension, sign-out
    #: everywhere, a password change after the first, a move): a token of an older
    #: generation is refused. A new account's is 0.
    generation: int = 0
    grants: frozenset[Grant] = frozenset()
    scopes: tuple[str, ...] = ()
    #: The last stream version applied (the book skips redelivered events by it).
    version: int = 0
    #: The initial password is still to be changed (set by an administrator).
    must_change_password: bool = False
    #: A password (or a service account's client secret) has been set.
    has_password: bool = False

    @property
    def exists(self) -> bool:
        return self.kind is not None

    @property
    def active(self) -> bool:
        return self.exists and self.status is AccountStatus.ACTIVE

    def roles_at(self, org: str) -> frozenset[Role]:
        """The roles the account may act in at `org`: grants whose subtree holds it."""
        return frozenset(g.role for g in self.grants if g.covers(org))


def evolve_account(
    state: AccountState, event_type: str, payload: Mapping[str, Any]
) -> AccountState:
    """The account after one of its events (the payload as stored)."""
    if event_type == PERSON_ACCOUNT_CREATED:
        return replace(
            state,
            id=payload["account_id"],
            kind=AccountKind.PERSON,
            name=payload["display_name"],
            org=payload["org"],
        )
    if event_type == SERVICE_ACCOUNT_CREATED:
        return replace(
            state,
            id=payload["account_id"],
            kind=AccountKind.SERVICE,
            name=payload["display_name"],
            org=payload["org"],
            scopes=tuple(payload.get("scopes", ())),
            grants=frozenset({Grant(Role.SERVICE, payload["org"])}),
        )
    if event_type == ROLE_GRANTED:
        return replace(state, grants=state.grants | {Grant(Role(payload["role"]), payload["org"])})
    if event_type == ROLE_REVOKED:
        return replace(state, grants=state.grants - {Grant(Role(payload["role"]), payload["org"])})
    if event_type == ACCOUNT_SUSPENDED:
        return replace(state, status=AccountStatus.SUSPENDED, generation=state.generation + 1)
    if event_type == ACCOUNT_REACTIVATED:
        return replace(state, status=AccountStatus.ACTIVE)
    if event_type == ACCOUNT_MOVED:
        # A transfer ends the old post's duties: its grants go, the new post's are granted.
        kept = frozenset(g for g in state.grants if g.role is Role.SERVICE)
        return replace(state, org=payload["org"], grants=kept, generation=state.generation + 1)
    if event_type == SESSIONS_ENDED:
        return replace(state, generation=state.generation + 1)
    if event_type == PASSWORD_CHANGED:
        # The first password (set when the account is opened) ends no session: there is none.
        return replace(
            state,
            generation=state.generation + 1 if state.has_password else state.generation,
            has_password=True,
            must_change_password=bool(payload.get("must_change", False)),
        )
    return state


def _unknown(principal: Principal) -> Unauthenticated:
    return Unauthenticated(
        rule="account.unknown",
        field="sub",
        message_zh=f"身份验证失败：账号 {principal.sub} 不存在",
        message_en=f"Authentication failed: no account {principal.sub!r}",
        details={"sub": principal.sub},
    )


@dataclass
class AccountBook:
    """The accounts of the suite as this process has read them from the accounts log."""

    accounts: dict[str, AccountState] = field(default_factory=dict)
    #: Registered org units: path -> the OrgUnitRegistered payload (name, kind, short name).
    org_units: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Events applied, and when the last one was recorded (readiness, metrics).
    applied: int = 0
    last_recorded_at: datetime | None = None

    def get(self, account_id: str) -> AccountState | None:
        return self.accounts.get(account_id)

    def apply(self, event: RecordedEvent) -> None:
        if event.stream_type == ORG_UNIT_STREAM_TYPE and event.type == ORG_UNIT_REGISTERED:
            self.org_units[event.payload["path"]] = dict(event.payload)
            self._count(event)
            return
        if event.stream_type != ACCOUNT_STREAM_TYPE:
            return
        account_id = str(event.payload.get("account_id", ""))
        current = self.accounts.get(account_id, AccountState())
        if event.version <= current.version:
            return  # redelivered (the relay publishes at least once): already applied
        updated = evolve_account(current, event.type, event.payload)
        self.accounts[account_id] = replace(updated, version=event.version)
        self._count(event)
        if event.type in (ROLE_REVOKED, ACCOUNT_SUSPENDED, SESSIONS_ENDED, ACCOUNT_MOVED):
            log.info("accounts.book_changed", account=account_id, type=event.type)

    def _count(self, event: RecordedEvent) -> None:
        self.applied += 1
        self.last_recorded_at = event.recorded_at

    def apply_all(self, events: Iterable[RecordedEvent]) -> None:
        for event in events:
            self.apply(event)

    async def follow(self, events: AsyncIterator[RecordedEvent]) -> None:
        async for event in events:
            try:
                self.apply(event)
            except Exception:  # one unreadable event must not stop the book
                log.exception("accounts.book_unreadable", event_id=str(event.event_id))

    def check(self, principal: Principal) -> AccountState:
        """The account a verified token speaks for, or why it no longer does.

        401 account.unknown (no such account, or a person's token for a service account
        or the reverse), 401 account.suspended, 401 account.session_ended (the token is
        older than the account's last sign-out everywhere, suspension or password change);
        403 account.role_not_held (the token names a role the account does not hold at the
        token's org: revoked, never granted, or the account moved).
        """
        account = self.accounts.get(principal.sub)
        if account is None or not account.exists:
            raise _unknown(principal)
        expected_kind = AccountKind.SERVICE if principal.kind == "service" else AccountKind.PERSON
        if account.kind is not expected_kind:
            raise _unknown(principal)
        if account.status is AccountStatus.SUSPENDED:
            raise Unauthenticated(
                rule="account.suspended",
                field="sub",
                message_zh=f"身份验证失败：账号 {principal.sub} 已停用",
                message_en=f"Authentication failed: the account {principal.sub!r} is suspended",
                details={"sub": principal.sub},
            )
        if principal.generation < account.generation:
            raise Unauthenticated(
                rule="account.session_ended",
                field="gen",
                message_zh="身份验证失败：该账号的会话已结束（已退出登录、修改密码或调动），请重新登录",
                message_en=(
                    "Authentication failed: the account's sessions were ended (signed out "
                    "everywhere, password changed or moved); sign in again"
                ),
                details={"sub": principal.sub},
            )
        held = account.roles_at(OrgPath.parse(principal.org))
        missing = sorted(principal.roles - held)
        if missing:
            raise Forbidden(
                rule="account.role_not_held",
                field="roles",
                message_zh=(
                    f"无权操作：账号 {principal.sub} 在 {principal.org} 未持有角色"
                    f"{'、'.join(r.label_zh for r in missing)}（已撤销、未授予或人员已调动）"
                ),
                message_en=(
                    f"Forbidden: the account {principal.sub!r} does not hold "
                    f"{', '.join(missing)} at {principal.org} (revoked, never granted, or moved)"
                ),
                details={
                    "missing": [r.value for r in missing],
                    "held": sorted(r.value for r in held),
                    "org": str(principal.org),
                },
            )
        return account
