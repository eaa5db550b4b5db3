"""Identity and authorization: who calls (Principal), how they prove it (a signed token),
and what they may do (pure decisions that raise Forbidden with the reason).

The rules (ARCHITECTURE.md, "Tenancy, identity, authorization"; docs/identity.md):
- a caller acts only inside its org subtree (`org.outside_subtree`); a
  district-level caller's subtree holds every township, so district roles see
  all townships by the same rule, with no exception to maintain;
- auditors read everything in their subtree and change nothing (`auditor.read_only`);
- a step needs one of the roles named for it (`role.missing`);
- one person never holds two duties on the same item, e.g. the drafter of a
  document may not review it (`duty.same_person`).
Every function here is pure; the caller passes the clock and the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from shared.errors import Forbidden, Unauthenticated
from shared.tenancy import ROLE_LABELS_ZH, OrgPath, OrgTree, Role, Slug, is_within

__all__ = [
    "DUTY_LABELS_ZH",
    "MIN_SECRET_BYTES",
    "ROLE_LABELS_ZH",
    "TOKEN_ALGORITHM",
    "TOKEN_ISSUER",
    "Principal",
    "PrincipalKind",
    "Role",
    "authorize",
    "issue_token",
    "principal_for_person",
    "require_not_same_person",
    "require_org",
    "require_role",
    "require_write",
    "verify_token",
    "within_scope",
]

TOKEN_ISSUER = "gongkai"
TOKEN_ALGORITHM = "HS256"
MIN_SECRET_BYTES = 32
"""RFC 7518 §3.2: an HS256 key must be at least 256 bits."""

_REQUIRED_CLAIMS = ("iss", "sub", "org", "roles", "kind", "iat", "exp")
_ROLE_VALUES = frozenset(role.value for role in Role)

PrincipalKind = Literal["user", "service"]

DUTY_LABELS_ZH: Mapping[str, str] = MappingProxyType(
    {
        "drafting": "起草",
        "attribute_determination": "公开属性认定",
        "first_review": "初审",
        "second_review": "复审",
        "final_review": "终审",
        "proofreading": "校对",
        "signing": "签发",
        "reply": "答复",
    }
)
"""Chinese labels of the duties `require_not_same_person` names most often."""


class Principal(BaseModel):
    """The authenticated caller: a person or a service account, placed in the org tree."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sub: Slug
    org: OrgPath
    roles: frozenset[Role] = Field(min_length=1)
    kind: PrincipalKind = "user"
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    #: The account's session generation when the token was issued (claim `gen`): ending
    #: every session of an account (sign-out everywhere, suspension, a password change)
    #: raises it, and the account book refuses tokens of an older generation.
    generation: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _service_role_iff_service_kind(self) -> Self:
        if (self.kind == "service") != (Role.SERVICE in self.roles):
            raise ValueError("the service role belongs to service accounts, and only to them")
        return self

    def has_role(self, *roles: Role) -> bool:
        """True when the principal holds any of `roles`."""
        return not self.roles.isdisjoint(roles)


def principal_for_person(tree: OrgTree, person_id: str) -> Principal:
    """The principal of a person in the org file: org = the node listing them."""
    unit, person = tree.find_person(person_id)
    return Principal(
        sub=person.id, org=unit.path, roles=person.roles, kind="user", name=person.name
    )


# ----------------------------------------------------------------------------- tokens


def issue_token(principal: Principal, secret: str, ttl: timedelta, now: datetime) -> str:
    """A signed HS256 token for `principal`, valid from `now` for `ttl`."""
    _check_secret(secret)
    _check_aware(now)
    if ttl <= timedelta(0):
        raise ValueError("ttl must be positive")
    claims: dict[str, Any] = {
        "iss": TOKEN_ISSUER,
        "sub": principal.sub,
        "org": str(principal.org),
        "roles": sorted(role.value for role in principal.roles),
        "kind": principal.kind,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    if principal.name is not None:
        claims["name"] = principal.name
    if principal.generation:
        claims["gen"] = principal.generation
    return _sign_hs256(claims, secret)


def _b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


_HS256_HEADER = _b64url(b'{"alg":"HS256","typ":"JWT"}')


def _sign_hs256(claims: Mapping[str, Any], secret: str) -> str:
    """`claims` as a JWS in compact form signed with HMAC-SHA256 (RFC 7515 §7.1, RFC 7518
    §3.2): byte for byte what `jwt.encode(claims, secret, algorithm="HS256")` gives
    (tests/unit/test_identity.py holds that).

    Signed with the standard library because importing PyJWT loads cryptography's bindings
    for the algorithms a HS256 signer never uses: 50 ms of the 0.3 s issue #21 gives
    `gongkai token issue`. Every token is still verified by PyJWT (`_decode`).
    """
    body = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = _HS256_HEADER + b"." + body
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + _b64url(signature)).decode("ascii")


def verify_token(
    token: str, secret: str, now: datetime, *, leeway: timedelta = timedelta(0)
) -> Principal:
    """The principal a token speaks for, or Unauthenticated saying why not.

    Rules: token.malformed, token.algorithm_not_allowed, token.bad_signature,
    token.wrong_issuer, token.expired, token.not_yet_valid, token.unknown_role.
    The signature is checked before any claim is trusted; `now` is the caller's clock.
    """
    _check_secret(secret)
    _check_aware(now)
    claims = _decode(token, secret)
    issued_at = _int_claim(claims, "iat")
    expires_at = _int_claim(claims, "exp")
    moment = now.timestamp()
    slack = leeway.total_seconds()
    if moment >= expires_at + slack:
        expired = datetime.fromtimestamp(expires_at, UTC).isoformat()
        raise _unauthenticated(
            "expired",
            f"令牌已于 {expired} 过期，请重新登录",
            f"the token expired at {expired}; sign in again",
            "exp",
            expired_at=expired,
        )
    if issued_at > moment + slack:
        raise _unauthenticated(
            "not_yet_valid",
            "令牌的签发时间晚于当前时间",
            "the token is issued in the future",
            "iat",
        )
    roles = claims["roles"]
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
        raise _unauthenticated(
            "malformed", "角色声明应为非空字符串列表", "roles must be a non-empty list", "roles"
        )
    for role in roles:
        if role not in _ROLE_VALUES:
            raise _unauthenticated(
                "unknown_role",
                f"令牌含有未知角色“{role}”",
                f"the token names an unknown role {role!r}",
                "roles",
                role=role,
            )
    generation = claims.get("gen", 0)
    if isinstance(generation, bool) or not isinstance(generation, int) or generation < 0:
        raise _unauthenticated(
            "malformed", "声明 gen 应为非负整数", "gen must be a non-negative integer", "gen"
        )
    try:
        return Principal(
            sub=claims["sub"],
            org=claims["org"],
            roles=frozenset(Role(role) for role in roles),
            kind=claims["kind"],
            name=claims.get("name"),
            generation=generation,
        )
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else None
        claim = field or "kind/roles"
        raise _unauthenticated(
            "malformed",
            f"令牌声明 {claim} 无效",
            f"claim {claim} is invalid: {first['msg']}",
            field,
        ) from error


def _decode(token: str, secret: str) -> dict[str, Any]:
    import jwt  # here: issuing a token does not need it (`_sign_hs256`)

    try:
        return jwt.decode(
            token,
            secret,
            algorithms=[TOKEN_ALGORITHM],
            issuer=TOKEN_ISSUER,
            options={
                "require": list(_REQUIRED_CLAIMS),
                # Time claims are checked against the caller's clock, below.
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.InvalidSignatureError as error:
        raise _unauthenticated(
            "bad_signature",
            "令牌签名无效（已被篡改或密钥不符）",
            "the token signature does not verify (tampered, or signed with another key)",
            None,
        ) from error
    except jwt.InvalidAlgorithmError as error:
        raise _unauthenticated(
            "algorithm_not_allowed",
            f"令牌签名算法不被接受，只接受 {TOKEN_ALGORITHM}",
            f"the token's signing algorithm is not accepted; only {TOKEN_ALGORITHM} is",
            None,
        ) from error
    except jwt.InvalidIssuerError as error:
        raise _unauthenticated(
            "wrong_issuer",
            f"令牌签发方不是 {TOKEN_ISSUER}",
            f"the token was not issued by {TOKEN_ISSUER}",
            "iss",
        ) from error
    except jwt.MissingRequiredClaimError as error:
        raise _unauthenticated(
            "malformed",
            f"令牌缺少声明 {error.claim}",
            f"the token lacks the claim {error.claim}",
            error.claim,
        ) from error
    except jwt.InvalidTokenError as error:
        raise _unauthenticated(
            "malformed", "令牌格式无效", f"the token is malformed: {error}", None
        ) from error


def _int_claim(claims: Mapping[str, Any], name: str) -> int:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise _unauthenticated(
            "malformed", f"声明 {name} 应为整数时间戳", f"{name} must be an integer", name
        )
    return value


def _unauthenticated(
    rule: str, zh: str, en: str, field: str | None, **details: Any
) -> Unauthenticated:
    return Unauthenticated(
        rule=f"token.{rule}",
        message_zh=f"身份验证失败：{zh}",
        message_en=f"Authentication failed: {en}",
        field=field,
        details=details,
    )


def _check_secret(secret: str) -> None:
    if len(secret.encode("utf-8")) < MIN_SECRET_BYTES:
        raise ValueError(f"the token secret must be at least {MIN_SECRET_BYTES} bytes")


def _check_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")


# ---------------------------------------------------------------------- authorization


def within_scope(principal: Principal, org: str) -> bool:
    """True when `org` lies in the principal's subtree: the filter for list queries."""
    return is_within(org, principal.org)


def require_org(principal: Principal, target_org: str) -> None:
    """A caller acts only inside its org subtree (rule org.outside_subtree).

    District-level callers (org = the district root) pass for every township because
    every township lies below the district; a district-level unit's staff do not.
    """
    target = OrgPath.parse(target_org, field="org")
    if not target.is_within(principal.org):
        raise Forbidden(
            rule="org.outside_subtree",
            message_zh=f"无权操作：{target} 不在您所在单位 {principal.org} 的管辖范围内",
            message_en=(
                f"Forbidden: {target} lies outside your org {principal.org}; "
                "a caller acts only inside its own subtree"
            ),
            field="org",
            details={"principal_org": str(principal.org), "target_org": str(target)},
        )


def require_role(principal: Principal, *roles: Role) -> None:
    """The principal holds at least one of `roles` (rule role.missing)."""
    if not roles:
        raise ValueError("require_role needs at least one role")
    if principal.has_role(*roles):
        return
    required = sorted(set(roles))
    held = sorted(principal.roles)
    raise Forbidden(
        rule="role.missing",
        message_zh=(
            f"无权操作：需要以下角色之一：{'、'.join(r.label_zh for r in required)}；"
            f"您的角色：{'、'.join(r.label_zh for r in held)}"
        ),
        message_en=(
            f"Forbidden: this needs one of the roles {', '.join(required)}; "
            f"you hold {', '.join(held)}"
        ),
        field="roles",
        details={"required": [r.value for r in required], "held": [r.value for r in held]},
    )


def require_write(principal: Principal) -> None:
    """Auditors change nothing, whatever other role they also hold (rule auditor.read_only)."""
    if Role.AUDITOR in principal.roles:
        raise Forbidden(
            rule="auditor.read_only",
            message_zh="无权操作：审计人员只能查阅，不能作任何修改",
            message_en="Forbidden: auditors read and change nothing",
            field="roles",
            details={"role": Role.AUDITOR.value},
        )


def require_not_same_person(principal: Principal, other_sub: str, duty: str) -> None:
    """Separation of duties (rule duty.same_person).

    `other_sub` already performed `duty` on this item (e.g. "drafting"); the
    principal may not perform another duty on it if they are that person.
    """
    if principal.sub != other_sub:
        return
    duty_zh = DUTY_LABELS_ZH.get(duty, duty)
    raise Forbidden(
        rule="duty.same_person",
        message_zh=f"职责分离：您已在本事项中承担“{duty_zh}”，不得再办理本环节",
        message_en=(
            f"Separation of duties: you already performed {duty!r} on this item "
            "and may not also perform this step"
        ),
        field="actor",
        details={"duty": duty},
    )


def authorize(principal: Principal, target_org: str, *roles: Role, write: bool = True) -> None:
    """The usual check of a command: writable, in scope, with one of `roles`, in that order.

    Pass no roles to skip the role check (e.g. a read open to anyone in scope).
    """
    if write:
        require_write(principal)
    require_org(principal, target_org)
    if roles:
        require_role(principal, *roles)
