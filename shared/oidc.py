"""OpenID Connect relying party: the authorization code flow with PKCE (S256).

A person signs in at the identity provider (Keycloak in the tests, any OpenID provider in a
district); the suite gets back a code, exchanges it for an ID token and trusts the token
only after checking it here. The result is a `VerifiedIdentity` (issuer, subject, username,
the gongkai account it names); which roles that account holds is the accounts service's
business, never the provider's (docs/decisions.md decision 90). docs/identity.md, "OpenID
Connect", has the flow and every refusal.

Pure parts (tested alone, keys generated in the test): `code_challenge`, `new_login`,
`seal_login` / `open_login` (the browser-bound login cookie), `authorization_url`,
`ProviderMetadata.from_discovery`, `verify_id_token`, `identity_from_claims`, `StateLedger`.
`OidcClient` adds the three HTTP calls (discovery, JWKS, token endpoint) with httpx.

The checks on an ID token (OpenID Connect Core 1.0 §3.1.3.7):
- signature by a key of the provider's JWKS, algorithm RS256 only: `none`, HS256 (a token
  "signed" with the public key as an HMAC secret) and every other algorithm are refused
  before any claim is read;
- `iss` equals the configured issuer exactly; `aud` contains our client id; `azp`, when
  present or when there are several audiences, equals our client id;
- `exp` in the future, `iat` not in the future and not older than `max_age`;
- `nonce` equals the one sealed in this browser's login cookie;
- the callback's `iss` parameter, when the provider sends one (RFC 9207), is our issuer;
- `state` equals the sealed one, and a state is accepted once (`StateLedger`).
Every refusal is `Unauthenticated` (401) with rule `oidc.<reason>`, in Chinese and English.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn
from urllib.parse import quote_plus, urlencode

import httpx
import jwt

from shared.errors import Unauthenticated

__all__ = [
    "ID_TOKEN_ALGORITHMS",
    "LOGIN_COOKIE",
    "LOGIN_TTL",
    "OidcClient",
    "OidcResult",
    "OidcSettings",
    "PendingLogin",
    "ProviderMetadata",
    "StateLedger",
    "VerifiedIdentity",
    "authorization_url",
    "code_challenge",
    "identity_from_claims",
    "new_login",
    "open_login",
    "safe_next_path",
    "seal_login",
    "verify_id_token",
]

ID_TOKEN_ALGORITHMS = ("RS256",)
"""The only signature algorithm accepted on an ID token (asymmetric: the provider signs)."""
LOGIN_COOKIE = "gk_oidc_login"
LOGIN_TTL = timedelta(minutes=10)
"""How long a started sign-in may take at the provider (the login cookie's lifetime)."""
_LOGIN_AUDIENCE = "gongkai:oidc-login"
_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")  # RFC 7636 §4.1


def _refuse(reason: str, zh: str, en: str, field: str | None = None, **details: Any) -> NoReturn:
    raise Unauthenticated(f"oidc.{reason}", zh, en, field, details)


# --- settings and provider metadata ----------------------------------------------------


@dataclass(frozen=True)
class OidcSettings:
    """Who we are at the provider. `client_secret` None = a public client (PKCE only)."""

    issuer: str
    client_id: str
    redirect_uri: str
    client_secret: str | None = None
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    account_claim: str = "gongkai_account"
    max_age: timedelta = timedelta(minutes=10)
    leeway: timedelta = timedelta(seconds=30)


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str

    @classmethod
    def from_discovery(cls, doc: Mapping[str, Any], expected_issuer: str) -> ProviderMetadata:
        """The parts of `.well-known/openid-configuration` we use, after checking them.

        The document must name the issuer we were configured with (OpenID Connect
        Discovery §4.3), offer S256 for PKCE when it lists methods, and RS256 for ID tokens.
        """
        if doc.get("issuer") != expected_issuer:
            _refuse(
                "discovery_issuer",
                "身份提供方的发现文档声明的签发者与配置不符",
                f"the discovery document names issuer {doc.get('issuer')!r}, "
                f"not the configured {expected_issuer!r}",
                "issuer",
            )
        methods = doc.get("code_challenge_methods_supported")
        if methods is not None and "S256" not in methods:
            _refuse(
                "discovery_pkce",
                "身份提供方不支持 PKCE S256",
                "the provider does not offer PKCE with S256",
            )
        algs = doc.get("id_token_signing_alg_values_supported")
        if algs is not None and not set(algs) & set(ID_TOKEN_ALGORITHMS):
            _refuse(
                "discovery_algorithm",
                "身份提供方不支持 RS256 签名的身份令牌",
                "the provider does not sign ID tokens with RS256",
            )
        try:
            return cls(
                issuer=str(doc["issuer"]),
                authorization_endpoint=str(doc["authorization_endpoint"]),
                token_endpoint=str(doc["token_endpoint"]),
                jwks_uri=str(doc["jwks_uri"]),
            )
        except KeyError as missing:
            _refuse(
                "discovery_incomplete",
                f"发现文档缺少 {missing.args[0]}",
                f"the discovery document lacks {missing.args[0]}",
            )


# --- PKCE, state, nonce: the login bound to this browser -------------------------------


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def code_challenge(verifier: str) -> str:
    """RFC 7636 §4.2, S256: BASE64URL(SHA256(ASCII(code_verifier))), no padding."""
    if not _VERIFIER.match(verifier):
        raise ValueError("a PKCE code verifier is 43-128 characters of [A-Za-z0-9._~-]")
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def safe_next_path(next_path: str | None) -> str:
    """Where to go after signing in: a path on this site only (no open redirect)."""
    if (
        not next_path
        or not next_path.startswith("/")
        or next_path.startswith(("//", "/\\"))
        or any(c in next_path for c in "\r\n\t\\")
    ):
        return "/"
    return next_path


@dataclass(frozen=True)
class PendingLogin:
    """One started sign-in: what the callback must see again, sealed in the browser's cookie."""

    state: str
    nonce: str
    verifier: str
    next_path: str
    issued_at: int


def new_login(next_path: str | None, now: datetime) -> PendingLogin:
    return PendingLogin(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        verifier=secrets.token_urlsafe(64),  # 86 characters
        next_path=safe_next_path(next_path),
        issued_at=int(now.timestamp()),
    )


def seal_login(login: PendingLogin, secret: str) -> str:
    """The login cookie's value: the pending login, signed (HS256) with the suite's secret.

    Signed, not encrypted: the verifier and nonce only ever travel to the provider and back
    through this browser, which already holds them.
    """
    claims = {
        "aud": _LOGIN_AUDIENCE,
        "st": login.state,
        "nn": login.nonce,
        "cv": login.verifier,
        "nx": login.next_path,
        "iat": login.issued_at,
        "exp": login.issued_at + int(LOGIN_TTL.total_seconds()),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def open_login(cookie: str | None, secret: str, now: datetime) -> PendingLogin:
    """The pending login in a cookie, or Unauthenticated: missing, forged or expired."""
    if not cookie:
        _refuse(
            "login_missing",
            "没有进行中的登录（登录 Cookie 缺失），请重新登录",
            "no sign-in in progress in this browser (the login cookie is missing); start again",
            LOGIN_COOKIE,
        )
    try:
        claims = jwt.decode(
            cookie or "",
            secret,
            algorithms=["HS256"],
            audience=_LOGIN_AUDIENCE,
            options={"verify_exp": False, "verify_iat": False},
        )
        login = PendingLogin(
            state=str(claims["st"]),
            nonce=str(claims["nn"]),
            verifier=str(claims["cv"]),
            next_path=safe_next_path(str(claims["nx"])),
            issued_at=int(claims["iat"]),
        )
        expires = int(claims["exp"])
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        _refuse(
            "login_invalid",
            "登录 Cookie 无效，请重新登录",
            "the login cookie is not valid; start again",
            LOGIN_COOKIE,
        )
    if now.timestamp() >= expires:
        _refuse(
            "login_expired",
            "登录已超时，请重新登录",
            "the sign-in took too long; start again",
            LOGIN_COOKIE,
        )
    return login


def authorization_url(meta: ProviderMetadata, settings: OidcSettings, login: PendingLogin) -> str:
    query = {
        "response_type": "code",
        "client_id": settings.client_id,
        "redirect_uri": settings.redirect_uri,
        "scope": " ".join(settings.scopes),
        "state": login.state,
        "nonce": login.nonce,
        "code_challenge": code_challenge(login.verifier),
        "code_challenge_method": "S256",
    }
    sep = "&" if "?" in meta.authorization_endpoint else "?"
    return f"{meta.authorization_endpoint}{sep}{urlencode(query)}"


class StateLedger:
    """States already used, remembered until their login would have expired.

    A state (with its code) is accepted once: a replayed callback is refused even if the
    provider would not notice. In-process; across processes the provider's single-use codes
    and the login cookie's expiry are the guard (docs/identity.md).
    """

    def __init__(self) -> None:
        self._used: dict[str, float] = {}

    def use(self, state: str, expires_at: float, now: float) -> None:
        for old, until in list(self._used.items()):
            if until <= now:
                del self._used[old]
        if state in self._used:
            _refuse(
                "state_replayed",
                "该登录回调已使用过，请重新登录",
                "this sign-in callback was already used; start again",
                "state",
            )
        self._used[state] = expires_at


# --- ID token ------------------------------------------------------------------------


def verify_id_token(
    token: str,
    *,
    keys: Mapping[str, jwt.PyJWK],
    settings: OidcSettings,
    nonce: str,
    now: datetime,
) -> dict[str, Any]:
    """The claims of an ID token, or Unauthenticated naming the check that failed.

    `keys` is the provider's JWKS by key id. The signature is checked before any claim is
    trusted; `now` is the caller's clock.
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        _refuse("id_token_malformed", "身份令牌格式错误", "the ID token is malformed", "id_token")
    alg = header.get("alg")
    if alg not in ID_TOKEN_ALGORITHMS:
        _refuse(
            "id_token_algorithm",
            f"身份令牌的签名算法 {alg} 不被接受（只接受 RS256）",
            f"ID token algorithm {alg!r} is not accepted (RS256 only)",
            "id_token",
            alg=str(alg),
        )
    kid = header.get("kid")
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        _refuse(
            "id_token_unknown_key",
            "身份令牌的签名密钥不属于身份提供方",
            f"the ID token is signed with key {kid!r}, which the provider does not publish",
            "id_token",
        )
    if key.key_type != "RSA":
        _refuse(
            "id_token_algorithm",
            "身份令牌的签名密钥不是 RSA 密钥",
            "the ID token's signing key is not an RSA key",
            "id_token",
        )
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=list(ID_TOKEN_ALGORITHMS),
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except jwt.InvalidSignatureError:
        _refuse("id_token_signature", "身份令牌签名无效", "the ID token's signature is invalid")
    except jwt.PyJWTError:
        _refuse("id_token_malformed", "身份令牌格式错误", "the ID token is malformed", "id_token")

    if claims.get("iss") != settings.issuer:
        _refuse(
            "id_token_issuer",
            "身份令牌的签发者与配置的身份提供方不符",
            f"the ID token is issued by {claims.get('iss')!r}, not {settings.issuer!r}",
            "iss",
        )
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if settings.client_id not in audiences:
        _refuse(
            "id_token_audience",
            "身份令牌不是签发给本系统的",
            f"the ID token is for {aud!r}, not for client {settings.client_id!r}",
            "aud",
        )
    azp = claims.get("azp")
    if (azp is not None or len(audiences) > 1) and azp != settings.client_id:
        _refuse(
            "id_token_azp",
            "身份令牌的授权方（azp）不是本系统",
            f"the ID token's authorized party is {azp!r}, not {settings.client_id!r}",
            "azp",
        )
    moment = now.timestamp()
    slack = settings.leeway.total_seconds()
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or not isinstance(iat, int | float):
        _refuse("id_token_malformed", "身份令牌缺少 exp 或 iat", "the ID token lacks exp or iat")
    if moment >= exp + slack:
        _refuse("id_token_expired", "身份令牌已过期，请重新登录", "the ID token has expired", "exp")
    if iat > moment + slack:
        _refuse("id_token_not_yet_valid", "身份令牌的签发时间晚于当前时间", "iat is in the future")
    if iat < moment - settings.max_age.total_seconds() - slack:
        _refuse("id_token_stale", "身份令牌签发过久，请重新登录", "the ID token is too old", "iat")
    got = claims.get("nonce")
    if not isinstance(got, str) or not hmac.compare_digest(got.encode(), nonce.encode()):
        _refuse(
            "id_token_nonce",
            "身份令牌不属于本浏览器发起的登录（nonce 不符）",
            "the ID token's nonce does not match this browser's sign-in",
            "nonce",
        )
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        _refuse("id_token_malformed", "身份令牌缺少 sub", "the ID token lacks sub", "sub")
    return claims


@dataclass(frozen=True)
class VerifiedIdentity:
    """Who the provider vouches for. `account` is the gongkai account the provider's user
    record names (claim `gongkai_account`), else None; `username` is `preferred_username`."""

    issuer: str
    subject: str
    username: str
    account: str | None = None
    name: str | None = None
    email: str | None = None

    @property
    def account_name(self) -> str:
        """The gongkai account to sign in: the named account, else the provider's username."""
        return self.account or self.username


def identity_from_claims(claims: Mapping[str, Any], account_claim: str) -> VerifiedIdentity:
    def text(name: str) -> str | None:
        value = claims.get(name)
        return value if isinstance(value, str) and value else None

    sub = str(claims["sub"])
    return VerifiedIdentity(
        issuer=str(claims["iss"]),
        subject=sub,
        username=text("preferred_username") or sub,
        account=text(account_claim),
        name=text("name"),
        email=text("email") if claims.get("email_verified") is True else None,
    )


# --- the client: discovery, JWKS, code exchange ---------------------------------------


@dataclass(frozen=True)
class OidcResult:
    identity: VerifiedIdentity
    next_path: str


class OidcClient:
    """The relying party for one provider and client. Caches discovery and the JWKS; fetches
    the JWKS again (at most every 30 s) when a token names an unknown key (key rotation)."""

    def __init__(
        self,
        settings: OidcSettings,
        http: httpx.AsyncClient,
        cookie_secret: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self._http = http
        self._secret = cookie_secret
        self._clock = clock
        self._meta: ProviderMetadata | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._keys_fetched = 0.0
        self.ledger = StateLedger()

    async def metadata(self) -> ProviderMetadata:
        if self._meta is None:
            url = self.settings.issuer.rstrip("/") + "/.well-known/openid-configuration"
            doc = await self._get_json(url, "discovery")
            self._meta = ProviderMetadata.from_discovery(doc, self.settings.issuer)
        return self._meta

    async def keys(self, *, refresh: bool = False) -> dict[str, jwt.PyJWK]:
        if self._keys and not refresh:
            return self._keys
        if refresh and time.monotonic() - self._keys_fetched < 30:
            return self._keys
        meta = await self.metadata()
        doc = await self._get_json(meta.jwks_uri, "jwks")
        keys: dict[str, jwt.PyJWK] = {}
        for jwk in doc.get("keys", []):
            if jwk.get("use", "sig") != "sig" or jwk.get("kty") != "RSA" or "kid" not in jwk:
                continue
            try:
                keys[jwk["kid"]] = jwt.PyJWK(jwk, algorithm="RS256")
            except jwt.PyJWTError:
                continue
        self._keys, self._keys_fetched = keys, time.monotonic()
        return keys

    async def begin(self, next_path: str | None) -> tuple[str, str]:
        """Start a sign-in: (the provider's URL to send the browser to, the login cookie)."""
        login = new_login(next_path, self._clock())
        url = authorization_url(await self.metadata(), self.settings, login)
        return url, seal_login(login, self._secret)

    async def finish(self, params: Mapping[str, str], cookie: str | None) -> OidcResult:
        """The callback: check state against this browser's cookie, exchange the code (with
        the PKCE verifier), verify the ID token. Each refusal is Unauthenticated."""
        now = self._clock()
        if "error" in params:
            _refuse(
                "provider_refused",
                "身份提供方未完成登录",
                f"the provider ended the sign-in: {params.get('error')} "
                f"{params.get('error_description', '')}".strip(),
                provider_error=params.get("error", ""),
            )
        iss = params.get("iss")
        if iss is not None and iss != self.settings.issuer:
            _refuse(  # RFC 9207: the answer must come from our provider (mix-up attack)
                "response_issuer",
                "登录回调声明的签发者不是配置的身份提供方",
                f"the callback names issuer {iss!r}, not {self.settings.issuer!r}",
                "iss",
            )
        login = open_login(cookie, self._secret, now)
        state, code = params.get("state", ""), params.get("code", "")
        if not hmac.compare_digest(state.encode(), login.state.encode()):
            _refuse(
                "state_mismatch",
                "登录回调与本浏览器发起的登录不符（state 不符）",
                "the callback's state does not match this browser's sign-in",
                "state",
            )
        self.ledger.use(login.state, login.issued_at + LOGIN_TTL.total_seconds(), now.timestamp())
        if not code:
            _refuse("code_missing", "登录回调缺少授权码", "the callback carries no code", "code")
        id_token = await self._exchange(code, login.verifier)
        keys = await self.keys()
        try:
            claims = verify_id_token(
                id_token, keys=keys, settings=self.settings, nonce=login.nonce, now=now
            )
        except Unauthenticated as err:
            if err.rule != "oidc.id_token_unknown_key":
                raise
            keys = await self.keys(refresh=True)
            claims = verify_id_token(
                id_token, keys=keys, settings=self.settings, nonce=login.nonce, now=now
            )
        return OidcResult(
            identity_from_claims(claims, self.settings.account_claim), login.next_path
        )

    async def _exchange(self, code: str, verifier: str) -> str:
        meta = await self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.settings.redirect_uri,
            "client_id": self.settings.client_id,
            "code_verifier": verifier,
        }
        headers = {"Accept": "application/json"}
        if self.settings.client_secret is not None:  # client_secret_basic (RFC 6749 §2.3.1)
            user, password = (
                quote_plus(self.settings.client_id),
                quote_plus(self.settings.client_secret),
            )
            pair = f"{user}:{password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        try:
            answer = await self._http.post(meta.token_endpoint, data=form, headers=headers)
        except httpx.HTTPError as err:
            _refuse(
                "provider_unreachable",
                "无法连接身份提供方",
                f"the provider's token endpoint is unreachable: {err}",
            )
        body: Any = None
        try:
            body = answer.json()
        except ValueError:
            body = None
        if answer.status_code != 200 or not isinstance(body, dict):
            error = body.get("error", "") if isinstance(body, dict) else ""
            _refuse(
                "code_rejected",
                "身份提供方拒绝了授权码",
                f"the provider refused the code (HTTP {answer.status_code} {error})".strip(),
                "code",
                provider_error=str(error),
            )
        id_token = body.get("id_token")
        if not isinstance(id_token, str):
            _refuse("id_token_missing", "身份提供方没有返回身份令牌", "no ID token came back")
        return str(id_token)

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            answer = await self._http.get(url)
            answer.raise_for_status()
            doc = answer.json()
        except (httpx.HTTPError, ValueError, json.JSONDecodeError) as err:
            _refuse(
                "provider_unreachable",
                "无法读取身份提供方的配置",
                f"cannot read the provider's {what} at {url}: {err}",
            )
        if not isinstance(doc, dict):
            _refuse("provider_unreachable", "身份提供方的配置无效", f"{what} is not an object")
        return doc
