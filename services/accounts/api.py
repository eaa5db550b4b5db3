"""HTTP API of the accounts service: accounts and org units under /v1/accounts and
/v1/org-units (administrators; auditors read), sign-in under /v1/auth (no token needed
to sign in; the rest with one).

The commands on one existing account are routes generated from the command table
(handlers.py ACCOUNT_COMMANDS); opening an account, registering a unit and setting a
password are routed here. Password bodies are never stored: their routes take no
Idempotency-Key (the kernel would keep a fingerprint of the body) and answer nothing
secret but a client secret, once.

No `from __future__ import annotations` here: FastAPI must see the real dependency objects
and command models, not strings.
"""

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from services.accounts import domain
from services.accounts.commands import (
    ClientCredentials,
    CreatePerson,
    CreateService,
    PasswordChange,
    PasswordSignIn,
    RegisterOrgUnit,
    ResetPassword,
)
from services.accounts.handlers import ACCOUNT_COMMANDS, AccountsHandlers, summary
from shared.deps import Caller, current_principal, handlers_of, runtime_of
from shared.errors import ValidationFailed
from shared.http import IdempotencyKey, correlation_id
from shared.identity import Role, authorize, require_org, within_scope
from shared.routes import COMMAND_RESPONSES, command_router, run_command
from shared.service import Runtime
from shared.tenancy import ORG_PATH_PATTERN, OrgPath

Rt = Annotated[Runtime, Depends(runtime_of("accounts"))]
H = Annotated[AccountsHandlers, Depends(handlers_of("accounts", AccountsHandlers))]
SHANGHAI = ZoneInfo("Asia/Shanghai")

READERS = (*domain.MANAGERS, Role.AUDITOR)

accounts = APIRouter(prefix="/v1/accounts", tags=["accounts 账号"])
units = APIRouter(prefix="/v1/org-units", tags=["accounts 账号"])
auth = APIRouter(prefix="/v1/auth", tags=["auth 身份认证"])

_REFUSALS: dict[int | str, dict[str, Any]] = {s: COMMAND_RESPONSES[s] for s in (401, 403, 409, 422)}
_SIGNIN_REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"description": "用户名或密码错误 wrong user name or password; suspended"},
    403: {"description": "password.change_required: change the initial password first"},
    422: COMMAND_RESPONSES[422],
    429: {"description": "登录失败次数过多 locked (account or address); Retry-After"},
}


async def client_address(request: Request) -> str:
    """The address sign-in failures are counted against: the client as the server reports
    it (uvicorn takes `X-Forwarded-For` from a reverse proxy on 127.0.0.1, its
    FORWARDED_ALLOW_IPS), or the first `X-Forwarded-For` entry when the request comes from
    a service account (a sign-in page of the suite's own, forwarding its visitors'
    addresses); another remote caller's header is not believed."""
    peer = request.client.host if request.client else "unknown"
    forwarded = request.headers.get("x-forwarded-for", "").split(",")[0].strip()
    authorization = request.headers.get("authorization")
    if not forwarded or not authorization:
        return peer
    forwarder = await current_principal(request, authorization)
    return forwarded[:100] if forwarder.kind == "service" else peer


Address = Annotated[str, Depends(client_address)]


@accounts.post(
    "", status_code=201, summary="开设人员账号 Open a person's account", responses=_REFUSALS
)
async def create_person(
    cmd: CreatePerson, request: Request, caller: Caller, rt: Rt, h: H, key: IdempotencyKey = None
) -> JSONResponse:
    async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
        await h.create_person(cmd, caller, correlation_id(request))
        return 201, summary(await h.account(cmd.account_id))

    # The fingerprint leaves the password out: the idempotency table keeps no trace of it.
    fingerprint = {"command": "create-person", **cmd.model_dump(mode="json")}
    fingerprint.pop("initial_password")
    return await run_command(
        rt.idempotency,
        caller,
        key,
        None,
        fingerprint,
        act,
        lambda body: f"/v1/accounts/{body['account_id']}",
    )


@accounts.post(
    "/services", status_code=201, summary="开设服务账号 Open a service account", responses=_REFUSALS
)
async def create_service(
    cmd: CreateService, request: Request, caller: Caller, rt: Rt, h: H, key: IdempotencyKey = None
) -> JSONResponse:
    async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
        await h.create_service(cmd, caller, correlation_id(request))
        return 201, summary(await h.account(cmd.account_id))

    fingerprint = {"command": "create-service", **cmd.model_dump(mode="json")}
    return await run_command(
        rt.idempotency,
        caller,
        key,
        None,
        fingerprint,
        act,
        lambda body: f"/v1/accounts/{body['account_id']}",
    )


@accounts.get("", summary="账号列表 Accounts in the caller's subtree")
async def list_accounts(
    caller: Caller,
    h: H,
    org: Annotated[
        str | None,
        Query(description="only accounts at or below this org", pattern=ORG_PATH_PATTERN),
    ] = None,
) -> dict[str, Any]:
    authorize(caller, str(caller.org), *READERS, write=False)
    where = OrgPath.parse(org, field="org") if org else caller.org
    require_org(caller, where)
    items = [
        summary(a)
        for a in sorted(h.book.accounts.values(), key=lambda a: (str(a.org), a.id))
        if a.exists and OrgPath.parse(a.org).is_within(where)
    ]
    return {"items": items, "count": len(items)}


@accounts.get(
    "/holders",
    summary="角色持有人（按时点） Who could act as a role in an org at an instant or on a day",
)
async def holders(
    caller: Caller,
    h: H,
    role: Annotated[Role, Query(description="e.g. attribute_officer (公开属性认定人)")],
    org: Annotated[str, Query(description="e.g. shangdang/sudian", pattern=ORG_PATH_PATTERN)],
    on: Annotated[
        date | None,
        Query(description="a day (Asia/Shanghai): anyone who could act at some time of it"),
    ] = None,
    at: Annotated[datetime | None, Query(description="an instant (ISO 8601 with offset)")] = None,
) -> dict[str, Any]:
    authorize(caller, org, *READERS, write=False)
    start, end = window(on, at, h.clock())
    found = await h.holders(role, org, start, end)
    return {
        "role": role.value,
        "role_zh": role.label_zh,
        "org": org,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "items": [
            {
                "account_id": x.account_id,
                "display_name": x.name,
                "org": x.org,
                "granted_at_org": x.grant_org,
                "kind": x.kind,
            }
            for x in found
        ],
    }


def window(on: date | None, at: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """The instants a holders question covers: a whole local day, one instant, or now."""
    if on is not None and at is not None:
        raise ValidationFailed(
            rule="holders.on_or_at",
            field="on",
            message_zh="日期（on）与时点（at）只能给出其一",
            message_en="give either on (a day) or at (an instant), not both",
        )
    if on is not None:
        start = datetime.combine(on, time(0), SHANGHAI).astimezone(UTC)
        return start, start + timedelta(days=1) - timedelta(microseconds=1)
    if at is not None:
        if at.tzinfo is None:
            raise ValidationFailed(
                rule="holders.at_naive",
                field="at",
                message_zh="时点应带时区，例如 2026-03-01T09:00:00+08:00",
                message_en="at needs an offset, e.g. 2026-03-01T09:00:00+08:00",
            )
        return at, at
    return now, now


@accounts.get(
    "/{account_id}", summary="账号详情 One account", responses={404: COMMAND_RESPONSES[404]}
)
async def get_account(account_id: str, caller: Caller, h: H) -> dict[str, Any]:
    state = await h.account(account_id)
    if not state.exists or not within_scope(caller, state.org):
        raise ACCOUNT_COMMANDS.aggregate.not_found(account_id)
    if caller.sub != account_id:
        authorize(caller, state.org, *READERS, write=False)
    return summary(state)


@accounts.post(
    "/{account_id}/password",
    summary="重置初始密码 Set a new initial password (changed at first use)",
    responses=_REFUSALS,
)
async def reset_password(
    account_id: str, body: ResetPassword, request: Request, caller: Caller, h: H
) -> dict[str, Any]:
    event = await h.reset_password(
        account_id, body.initial_password, caller, correlation_id(request)
    )
    return {"account_id": account_id, "version": event.version, "must_change": True}


@accounts.post(
    "/{account_id}/client-secret",
    summary="生成客户端密钥 A new client secret for a service account (shown once)",
    responses=_REFUSALS,
)
async def client_secret(account_id: str, request: Request, caller: Caller, h: H) -> JSONResponse:
    secret, event = await h.new_client_secret(account_id, caller, correlation_id(request))
    return JSONResponse(
        {"client_id": account_id, "client_secret": secret, "version": event.version},
        headers={"Cache-Control": "no-store"},
    )


@units.post("", status_code=201, summary="登记组织机构 Register an org unit", responses=_REFUSALS)
async def register_unit(
    cmd: RegisterOrgUnit, request: Request, caller: Caller, h: H
) -> dict[str, Any]:
    event = await h.register_unit(cmd, caller, correlation_id(request))
    if event is None:
        return {"path": cmd.path, "registered": False}
    return {"path": cmd.path, "registered": True, **event.payload}


@units.get("", summary="组织机构 Registered org units")
async def list_units(caller: Caller, h: H) -> dict[str, Any]:
    known = await h.units()
    return {
        "items": [
            {"path": path, "kind": level.value, "kind_zh": level.label_zh}
            for path, level in sorted(known.items())
            if within_scope(caller, path)
        ]
    }


# --- sign-in ------------------------------------------------------------------------------


def _token_response(body: dict[str, Any]) -> JSONResponse:
    # RFC 6749 §5.1: a token response is not cached.
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@auth.post(
    "/password",
    summary="密码登录 Sign in with user name and password: an access token",
    responses=_SIGNIN_REFUSALS,
)
async def password_sign_in(cmd: PasswordSignIn, address: Address, h: H) -> JSONResponse:
    return _token_response(await h.sign_in(cmd, address))


@auth.post(
    "/password/change",
    summary="修改密码 Change one's password (the initial one first): an access token",
    responses=_SIGNIN_REFUSALS,
)
async def password_change(cmd: PasswordChange, address: Address, h: H) -> JSONResponse:
    return _token_response(await h.change_password(cmd, address))


@auth.post(
    "/token",
    summary="服务账号取令牌 Client credentials of a service account: an access token",
    responses=_SIGNIN_REFUSALS,
)
async def client_token(cmd: ClientCredentials, address: Address, h: H) -> JSONResponse:
    return _token_response(await h.client_credentials(cmd, address))


@auth.post(
    "/refresh",
    summary="续期 A fresh access token for a token that still counts",
    responses={401: COMMAND_RESPONSES[401], 403: COMMAND_RESPONSES[403]},
)
async def refresh(caller: Caller, h: H) -> JSONResponse:
    return _token_response(await h.refresh(caller))


@auth.post(
    "/sign-out-everywhere",
    summary="退出全部会话 End every session of one's own account",
    responses={401: COMMAND_RESPONSES[401]},
)
async def sign_out_everywhere(request: Request, caller: Caller, h: H) -> dict[str, Any]:
    event = await h.end_own_sessions(caller, correlation_id(request))
    return {"account_id": caller.sub, "version": event.version, "type": event.type}


def routers() -> list[APIRouter]:
    # the generated command routes first: /v1/accounts/{account_id}/<command>
    return [command_router(ACCOUNT_COMMANDS), accounts, units, auth]
