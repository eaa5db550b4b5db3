"""The accounts service's command table and the steps that are not one command on one
existing account: opening an account (creates its stream), registering org units, setting
passwords (the hash goes to the credentials table, never into an event), sign-in, and the
idempotent provisioning the demo loader, `gongkai accounts bootstrap` and tests use.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import structlog

from services.accounts import domain, passwords
from services.accounts.commands import (
    ClientCredentials,
    CreatePerson,
    CreateService,
    EndSessions,
    GrantRole,
    MoveAccount,
    PasswordChange,
    PasswordSignIn,
    Reactivate,
    RegisterOrgUnit,
    RevokeRole,
    Suspend,
)
from services.accounts.events import (
    OrgUnitRegistered,
    PasswordChanged,
    PasswordSetBy,
    PersonAccountCreated,
    RoleGranted,
    ServiceAccountCreated,
    SessionsEnded,
    registry,
)
from services.accounts.signin import Credentials
from shared.account_book import (
    ORG_UNIT_STREAM_TYPE,
    AccountBook,
    AccountKind,
    AccountState,
    AccountStatus,
    account_stream,
    evolve_account,
)
from shared.commands import Aggregate, Command, CommandTable, Context, actor_of
from shared.envelope import Actor, RecordedEvent, StreamWrite, new_id
from shared.errors import (
    ConcurrencyConflict,
    DomainRuleViolated,
    Forbidden,
    Unauthenticated,
    ValidationFailed,
)
from shared.eventstore import EventStore
from shared.identity import Principal, Role, authorize, issue_token, within_scope
from shared.registry import DomainEvent, payload_of, to_new_event
from shared.tenancy import MAX_SLUG_LENGTH, SLUG_PATTERN, OrgLevel, OrgTree

log = structlog.get_logger("gongkai.accounts")

ACCESS_TOKEN_TTL = timedelta(minutes=10)
"""Access tokens from sign-in live 10 minutes (decision 86): the account book refuses a
revoked one within seconds anyway; the short life bounds a token copied out of a browser
or a log while its account stays active."""

SYSTEM = Actor(id="system", kind="system", role=None)


def org_unit_stream(path: str) -> str:
    return f"org-unit-{path.replace('/', '.')}"


def _evolve(state: AccountState, event: DomainEvent) -> AccountState:
    return evolve_account(state, event.event_type, payload_of(event))


ACCOUNT: Aggregate[AccountState] = Aggregate(
    kind="account",
    id_field="account_id",
    label_zh="账号",
    label_en="Account",
    registry=registry,
    initial=AccountState,
    evolve=_evolve,
    tenant=lambda state, events: state.org,
)


async def _units(
    deps: Any, state: Any, cmd: Any, principal: Principal, tenant: str
) -> dict[str, Any]:
    handlers: AccountsHandlers = deps.handlers
    return {"units": await handlers.units()}


def _not_self(state: AccountState, cmd: Any, ctx: Context) -> None:
    domain.refuse_self(ctx.principal, state.id)


def _level(ctx: Context, org: str) -> OrgLevel:
    return domain.require_registered(org, ctx.given["units"])


def _answer(events: Sequence[RecordedEvent], instance: UUID) -> dict[str, Any]:
    last = events[-1]
    return {
        "account_id": last.payload["account_id"],
        "version": last.version,
        "event_id": str(last.event_id),
        "type": last.type,
        **{k: v for k, v in last.payload.items() if k != "account_id"},
    }


ACCOUNT_COMMANDS: CommandTable[AccountState] = CommandTable(
    aggregate=ACCOUNT,
    prefix="/v1/accounts",
    tag="accounts 账号",
    answer=_answer,
    commands=(
        Command(
            "grant-role",
            GrantRole,
            "授予角色",
            "Grant a role in an org subtree",
            domain.MANAGERS,
            lambda s, cmd, x: domain.grant(s, cmd, x.principal, _level(x, cmd.org)),
            guard=_not_self,
            prepare=_units,
            path_types={"account_id": str},
            basis="GB/T 22239-2019 8.1.4.2 访问控制",
        ),
        Command(
            "revoke-role",
            RevokeRole,
            "撤销角色",
            "Revoke a role; its tokens stop working within seconds",
            domain.MANAGERS,
            lambda s, cmd, x: domain.revoke(s, cmd, x.principal),
            guard=_not_self,
            path_types={"account_id": str},
            basis="GB/T 22239-2019 8.1.4.2 访问控制",
        ),
        Command(
            "suspend",
            Suspend,
            "停用账号",
            "Suspend the account: no token of it counts, no sign-in",
            domain.MANAGERS,
            lambda s, cmd, x: domain.suspend(s, cmd),
            guard=_not_self,
            path_types={"account_id": str},
        ),
        Command(
            "reactivate",
            Reactivate,
            "启用账号",
            "Reactivate a suspended account (its old tokens stay dead)",
            domain.MANAGERS,
            lambda s, cmd, x: domain.reactivate(s, cmd),
            guard=_not_self,
            path_types={"account_id": str},
        ),
        Command(
            "move",
            MoveAccount,
            "人员调动",
            "Move a person to another org unit: the old post's grants and sessions end",
            domain.MANAGERS,
            lambda s, cmd, x: (_level(x, cmd.org), domain.move(s, cmd, x.principal))[1],
            guard=_not_self,
            prepare=_units,
            path_types={"account_id": str},
        ),
        Command(
            "end-sessions",
            EndSessions,
            "强制下线",
            "End every session of the account (sign-out everywhere)",
            domain.MANAGERS,
            lambda s, cmd, x: domain.end_sessions(s, cmd.reason),
            path_types={"account_id": str},
        ),
    ),
)


def _conflict_exists(account_id: str) -> DomainRuleViolated:
    return DomainRuleViolated(
        rule="account.exists",
        field="account_id",
        message_zh=f"账号 {account_id} 已存在",
        message_en=f"the account {account_id} exists already",
    )


def _signin_failed() -> Unauthenticated:
    # One answer for an unknown user and a wrong password: no account enumeration.
    return Unauthenticated(
        rule="signin.failed",
        field="password",
        message_zh="用户名或密码错误",
        message_en="wrong user name or password",
    )


@dataclass
class AccountsHandlers:
    """Built once per process (ServiceDefinition.build_handlers)."""

    store: EventStore
    credentials: Credentials
    book: AccountBook
    secret: str
    clock: Callable[[], datetime]
    access_ttl: timedelta = ACCESS_TOKEN_TTL
    _units: dict[str, OrgLevel] = field(default_factory=dict)

    # --- reads ------------------------------------------------------------------------

    async def account(self, account_id: str) -> AccountState:
        events = await self.store.read_stream(account_stream(account_id))
        state = ACCOUNT.fold(events)
        return state if state.exists else AccountState()

    async def version(self, account_id: str) -> int:
        return await self.store.stream_version(account_stream(account_id))

    async def units(self) -> dict[str, OrgLevel]:
        """Registered org units and their level (read from the log, kept in memory)."""
        if not self._units:
            position = 0
            while batch := await self.store.read_all(position, 10_000):
                for e in batch:
                    if e.stream_type == ORG_UNIT_STREAM_TYPE:
                        self._units[e.payload["path"]] = OrgLevel(e.payload["kind"])
                position = batch[-1].position
        for path, payload in self.book.org_units.items():
            self._units.setdefault(path, OrgLevel(payload["kind"]))
        return dict(self._units)

    async def holders(
        self, role: Role, org: str, start: datetime, end: datetime
    ) -> list[domain.Holder]:
        """Who could act as `role` at `org` during [start, end], folded from the log."""
        return await holders_in(self.store, role, org, start, end)

    async def _require_unit(self, org: str, field_name: str = "org") -> OrgLevel:
        units = await self.units()
        if org not in units:
            self._units.clear()  # registered by another process since: read the log again
            units = await self.units()
        return domain.require_registered(org, units, field_name)

    # --- writes -----------------------------------------------------------------------

    async def _append(
        self,
        stream: str,
        stream_type: str,
        tenant: str,
        actor: Actor,
        events: Sequence[DomainEvent],
        expected: int | None,
        correlation_id: UUID | None = None,
    ) -> list[RecordedEvent]:
        write = StreamWrite(
            stream_id=stream,
            stream_type=stream_type,
            expected_version=expected,
            events=tuple(to_new_event(e, tenant, actor, correlation_id) for e in events),
        )
        return await self.store.append([write])

    async def register_unit(
        self, cmd: RegisterOrgUnit, principal: Principal | None, correlation_id: UUID | None = None
    ) -> RecordedEvent | None:
        """Register an org unit (None if it is registered already, with the same name)."""
        units = await self.units()
        if principal is not None:
            authorize(principal, cmd.path, Role.DISTRICT_ADMINISTRATOR)
        if cmd.path in units:
            return None
        parent = cmd.path.parent
        if parent is not None:
            parent_level = units.get(parent)
            if parent_level is None:
                domain.require_registered(parent, units, "path")
            if parent_level is OrgLevel.UNIT:
                raise DomainRuleViolated(
                    rule="org.unit_under_unit",
                    field="path",
                    message_zh=f"{cmd.path} 不能设在站所/部门 {parent} 之下",
                    message_en=f"{cmd.path} cannot sit under the unit {parent}",
                )
        allowed = {
            1: (OrgLevel.DISTRICT,),
            2: (OrgLevel.TOWNSHIP, OrgLevel.UNIT),
            3: (OrgLevel.UNIT,),
        }
        if cmd.kind not in allowed[cmd.path.depth]:
            raise ValidationFailed(
                rule="org.kind_depth",
                field="kind",
                message_zh=f"{cmd.path} 所在层级不能登记为“{cmd.kind.label_zh}”",
                message_en=f"a {cmd.kind.value} cannot sit at depth {cmd.path.depth}",
            )
        return await self._register(cmd, cmd.kind, principal, correlation_id)

    async def _register(
        self,
        cmd: RegisterOrgUnit,
        kind: OrgLevel,
        principal: Principal | None,
        correlation_id: UUID | None,
    ) -> RecordedEvent:
        event = OrgUnitRegistered(
            path=cmd.path, name=cmd.name, kind=kind, short_name=cmd.short_name
        )
        actor = SYSTEM if principal is None else actor_of(principal, Role.DISTRICT_ADMINISTRATOR)
        try:
            (recorded,) = await self._append(
                org_unit_stream(cmd.path),
                ORG_UNIT_STREAM_TYPE,
                cmd.path,
                actor,
                [event],
                0,
                correlation_id,
            )
        except ConcurrencyConflict:
            raise DomainRuleViolated(
                rule="org.exists",
                field="path",
                message_zh=f"组织机构 {cmd.path} 已登记",
                message_en=f"the org unit {cmd.path} is registered already",
            ) from None
        self._units[cmd.path] = kind
        return recorded

    async def register_tree(self, tree: OrgTree, principal: Principal | None = None) -> int:
        """Register every unit of the org file not registered yet (parents first)."""
        count = 0
        units = await self.units()
        for unit in tree:
            if unit.path in units:
                continue
            cmd = RegisterOrgUnit(
                path=unit.path, name=unit.name, kind=unit.kind, short_name=unit.short_name
            )
            await self._register(cmd, unit.kind, principal, None)
            count += 1
        return count

    async def create_person(
        self,
        cmd: CreatePerson,
        principal: Principal | None,
        correlation_id: UUID | None = None,
        *,
        check_password: bool = True,
    ) -> list[RecordedEvent]:
        """Open a person's account with its first roles (at its org) and initial password.

        `principal` None: the system itself (bootstrap, demo loader), recorded as such."""
        level = await self._require_unit(cmd.org)
        actor = SYSTEM
        if principal is not None:
            authorize(principal, cmd.org, *domain.MANAGERS)
            domain.refuse_self(principal, cmd.account_id)
            actor = actor_of(principal, _managing_role(principal))
        for role in cmd.roles:
            if principal is not None:
                domain.check_grant(role, cmd.org, level, principal)
            elif role is Role.SERVICE:
                raise ValueError("a person is never granted the service role")
        if check_password:
            passwords.check_rules(cmd.initial_password, cmd.account_id, field="initial_password")
        events: list[DomainEvent] = [
            PersonAccountCreated(
                account_id=cmd.account_id,
                display_name=cmd.display_name,
                org=cmd.org,
                title=cmd.title,
                contact=cmd.contact,
            ),
            *(
                RoleGranted(account_id=cmd.account_id, role=role, org=cmd.org)
                for role in dict.fromkeys(cmd.roles)
            ),
            PasswordChanged(
                account_id=cmd.account_id, set_by=PasswordSetBy.ADMINISTRATOR, must_change=True
            ),
        ]
        try:
            recorded = await self._append(
                account_stream(cmd.account_id), "account", cmd.org, actor, events, 0, correlation_id
            )
        except ConcurrencyConflict:
            raise _conflict_exists(cmd.account_id) from None
        await self.credentials.set(
            cmd.account_id, await _hash(cmd.initial_password), True, self.clock()
        )
        return recorded

    async def create_service(
        self, cmd: CreateService, principal: Principal | None, correlation_id: UUID | None = None
    ) -> list[RecordedEvent]:
        await self._require_unit(cmd.org)
        actor = SYSTEM
        if principal is not None:
            authorize(principal, cmd.org, Role.DISTRICT_ADMINISTRATOR)
            actor = actor_of(principal, Role.DISTRICT_ADMINISTRATOR)
        event = ServiceAccountCreated(
            account_id=cmd.account_id, display_name=cmd.display_name, org=cmd.org, scopes=cmd.scopes
        )
        try:
            return await self._append(
                account_stream(cmd.account_id),
                "account",
                cmd.org,
                actor,
                [event],
                0,
                correlation_id,
            )
        except ConcurrencyConflict:
            raise _conflict_exists(cmd.account_id) from None

    async def _managed(self, account_id: str, principal: Principal) -> tuple[AccountState, int]:
        """An account the principal manages: in their subtree (else 404), not their own."""
        state = await self.account(account_id)
        if not state.exists or not str(state.org) or not within_scope(principal, state.org):
            raise ACCOUNT.not_found(account_id)
        authorize(principal, state.org, *domain.MANAGERS)
        domain.refuse_self(principal, account_id)
        return state, await self.version(account_id)

    async def reset_password(
        self, account_id: str, initial_password: str, principal: Principal, correlation_id: UUID
    ) -> RecordedEvent:
        """An administrator sets a new initial password (must be changed at first use)."""
        state, version = await self._managed(account_id, principal)
        if state.kind is not AccountKind.PERSON:
            raise DomainRuleViolated(
                rule="account.not_a_person",
                field="account_id",
                message_zh="服务账号使用客户端密钥，不设密码",
                message_en="a service account has a client secret, not a password",
            )
        passwords.check_rules(initial_password, account_id, field="initial_password")
        event = PasswordChanged(
            account_id=account_id, set_by=PasswordSetBy.ADMINISTRATOR, must_change=True
        )
        actor = actor_of(principal, _managing_role(principal))
        (recorded,) = await self._append(
            account_stream(account_id),
            "account",
            state.org,
            actor,
            [event],
            version,
            correlation_id,
        )
        await self.credentials.set(account_id, await _hash(initial_password), True, self.clock())
        return recorded

    async def new_client_secret(
        self, account_id: str, principal: Principal, correlation_id: UUID
    ) -> tuple[str, RecordedEvent]:
        """A new client secret for a service account (shown once; its hash is kept)."""
        state, version = await self._managed(account_id, principal)
        if state.kind is not AccountKind.SERVICE:
            raise DomainRuleViolated(
                rule="account.not_a_service",
                field="account_id",
                message_zh="只有服务账号有客户端密钥",
                message_en="only service accounts have client secrets",
            )
        secret = secrets.token_urlsafe(32)
        event = PasswordChanged(
            account_id=account_id, set_by=PasswordSetBy.ADMINISTRATOR, must_change=False
        )
        actor = actor_of(principal, _managing_role(principal))
        (recorded,) = await self._append(
            account_stream(account_id),
            "account",
            state.org,
            actor,
            [event],
            version,
            correlation_id,
        )
        await self.credentials.set(account_id, await _hash(secret), False, self.clock())
        return secret, recorded

    async def end_own_sessions(self, principal: Principal, correlation_id: UUID) -> RecordedEvent:
        """Sign out everywhere: the caller ends every session of their own account."""
        state = await self.account(principal.sub)
        event = SessionsEnded(account_id=principal.sub, reason="本人退出全部会话")
        actor = Actor(id=principal.sub, kind=principal.kind, role=None)
        (recorded,) = await self._append(
            account_stream(principal.sub),
            "account",
            state.org,
            actor,
            [event],
            await self.version(principal.sub),
            correlation_id,
        )
        return recorded

    # --- sign-in ----------------------------------------------------------------------

    async def _authenticate(self, username: str, password: str, address: str) -> AccountState:
        """The account whose password this is, or why not (401, 429); failures counted."""
        now = self.clock()
        await self.credentials.refuse_if_address_locked(address, now)
        state = await self.account(username) if _plausible(username) else AccountState()
        row = await self.credentials.get(username) if state.exists else None
        if row is None:
            await asyncio.to_thread(
                passwords.verify, passwords.dummy_hash(), password
            )  # the same time as a real check
            await self.credentials.address_failed(address, now)
            raise _signin_failed()
        self.credentials.refuse_if_account_locked(row, now)
        if not await asyncio.to_thread(passwords.verify, row.hash, password):
            await self.credentials.account_failed(username, now)
            await self.credentials.address_failed(address, now)
            log.warning("auth.signin_failed", account=username, address=address)
            raise _signin_failed()
        await self.credentials.succeeded(username)
        if state.status is AccountStatus.SUSPENDED:
            raise Unauthenticated(
                rule="account.suspended",
                field="username",
                message_zh="账号已停用，请联系管理员",
                message_en="the account is suspended; ask an administrator",
            )
        return state

    def token_for(self, state: AccountState, org: str | None) -> dict[str, Any]:
        """An access token for an active account, with every role it holds at `org`."""
        where = org or state.org
        roles = state.roles_at(where)
        if not roles:
            raise Forbidden(
                rule="account.no_roles",
                field="org",
                message_zh=f"账号 {state.id} 在 {where} 未持有任何角色",
                message_en=f"the account {state.id} holds no role at {where}",
            )
        now = self.clock()
        principal = Principal(
            sub=state.id,
            org=where,
            roles=roles,
            kind="service" if state.kind is AccountKind.SERVICE else "user",
            name=state.name,
            generation=state.generation,
        )
        token = issue_token(principal, self.secret, self.access_ttl, now)
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": int(self.access_ttl.total_seconds()),
            "sub": state.id,
            "name": state.name,
            "org": str(where),
            "roles": sorted(r.value for r in roles),
        }

    async def sign_in(self, cmd: PasswordSignIn, address: str) -> dict[str, Any]:
        state = await self._authenticate(cmd.username, cmd.password, address)
        if state.kind is not AccountKind.PERSON:
            raise _signin_failed()
        row = await self.credentials.get(cmd.username)
        assert row is not None
        if row.must_change or self.clock() - row.changed_at >= passwords.MAX_AGE:
            raise Forbidden(
                rule="password.change_required",
                field="password",
                message_zh="请先修改初始密码（或已超过 90 天未修改的密码）后再登录",
                message_en="change the initial (or 90-day-old) password before anything else",
                details={"change": "/v1/auth/password/change", "expired": not row.must_change},
            )
        log.info("auth.signed_in", account=state.id, method="password")
        return self.token_for(state, cmd.org)

    async def change_password(self, cmd: PasswordChange, address: str) -> dict[str, Any]:
        state = await self._authenticate(cmd.username, cmd.password, address)
        if state.kind is not AccountKind.PERSON:
            raise _signin_failed()
        passwords.check_rules(cmd.new_password, cmd.username)
        row = await self.credentials.get(cmd.username)
        assert row is not None
        if await asyncio.to_thread(passwords.reused, cmd.new_password, [*row.history, row.hash]):
            raise passwords.reused_error()
        event = PasswordChanged(account_id=state.id, set_by=PasswordSetBy.HOLDER, must_change=False)
        actor = Actor(id=state.id, kind="user", role=None)
        await self._append(
            account_stream(state.id),
            "account",
            state.org,
            actor,
            [event],
            await self.version(state.id),
            new_id(),
        )
        await self.credentials.set(state.id, await _hash(cmd.new_password), False, self.clock())
        log.info("auth.password_changed", account=state.id)
        return self.token_for(await self.account(state.id), None)

    async def client_credentials(self, cmd: ClientCredentials, address: str) -> dict[str, Any]:
        state = await self._authenticate(cmd.client_id, cmd.client_secret, address)
        if state.kind is not AccountKind.SERVICE:
            raise _signin_failed()
        return self.token_for(state, None)

    async def refresh(self, principal: Principal) -> dict[str, Any]:
        """A fresh token for a caller whose token still counts (the book checked it): the
        same org and session generation, with the roles the account holds there now."""
        state = await self.account(principal.sub)
        if not state.active or state.generation != principal.generation:
            raise Unauthenticated(
                rule="account.session_ended",
                field="gen",
                message_zh="会话已结束，请重新登录",
                message_en="the session has ended; sign in again",
            )
        return self.token_for(state, principal.org)

    # --- provisioning (demo loader, bootstrap, tests) ---------------------------------

    async def provision_person(
        self,
        account_id: str,
        name: str,
        org: str,
        roles: Sequence[Role],
        password: str,
        *,
        title: str | None = None,
    ) -> None:
        """Make it so, as the system: the account exists and holds `roles` at `org`
        (granted where missing). An existing account keeps its password."""
        state = await self.account(account_id)
        if not state.exists:
            cmd = CreatePerson(
                account_id=account_id,
                display_name=name,
                org=org,
                title=title,
                roles=list(roles),
                initial_password=password,
            )
            await self.create_person(cmd, None, check_password=False)
            return
        missing = [
            r
            for r in dict.fromkeys(roles)
            if not any(g.role is r and g.org == org for g in state.grants)
        ]
        if missing:
            await self._require_unit(org)
            await self._append(
                account_stream(account_id),
                "account",
                state.org,
                SYSTEM,
                [RoleGranted(account_id=account_id, role=r, org=org) for r in missing],
                await self.version(account_id),
            )

    async def provision_service(
        self, account_id: str, name: str, org: str, scopes: Sequence[str] = ()
    ) -> None:
        state = await self.account(account_id)
        if not state.exists:
            await self.create_service(
                CreateService(
                    account_id=account_id, display_name=name, org=org, scopes=list(scopes)
                ),
                None,
            )


async def holders_in(
    store: EventStore, role: Role, org: str, start: datetime, end: datetime
) -> list[domain.Holder]:
    """The as-of question on a store (the API and `gongkai accounts holders` ask it)."""
    events: list[RecordedEvent] = []
    position = 0
    while batch := await store.read_all(position, 10_000):
        events.extend(batch)
        position = batch[-1].position
    return domain.could_act(domain.as_logged(events), role, org, start, end)


async def _hash(password: str) -> str:
    """argon2id off the event loop: the service answers other requests meanwhile."""
    return await asyncio.to_thread(passwords.hash_password, password)


def _managing_role(principal: Principal) -> Role:
    for role in domain.MANAGERS:
        if role in principal.roles:
            return role
    return domain.MANAGERS[0]


def _plausible(username: str) -> bool:
    """Whether `username` could name an account (anything else is not looked up)."""
    return len(username) <= MAX_SLUG_LENGTH and re.fullmatch(SLUG_PATTERN, username) is not None


def summary(state: AccountState) -> dict[str, Any]:
    """An account as the API shows it (personal data of staff: name only)."""
    return {
        "account_id": state.id,
        "kind": state.kind.value if state.kind else None,
        "display_name": state.name,
        "org": str(state.org),
        "status": state.status.value,
        "status_zh": state.status.label_zh,
        "generation": state.generation,
        "must_change_password": state.must_change_password,
        "scopes": list(state.scopes),
        "grants": [
            {"role": g.role.value, "role_zh": g.role.label_zh, "org": str(g.org)}
            for g in sorted(state.grants, key=lambda g: (str(g.org), g.role.value))
        ],
    }
