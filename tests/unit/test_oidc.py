"""OpenID Connect relying party, the pure parts (shared/oidc.py; docs/identity.md, "OpenID
Connect"): PKCE (RFC 7636), the browser-bound login cookie, the ID token checks of OpenID
Connect Core §3.1.3.7 with RSA keys generated here, the single-use state."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.errors import Unauthenticated
from shared.oidc import (
    LOGIN_TTL,
    OidcSettings,
    ProviderMetadata,
    StateLedger,
    authorization_url,
    code_challenge,
    identity_from_claims,
    new_login,
    open_login,
    safe_next_path,
    seal_login,
    verify_id_token,
)
from shared.oidc_routes import oidc_client_from_settings
from shared.settings import Settings

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
ISSUER = "http://127.0.0.1:18080/realms/gongkai"
SETTINGS = OidcSettings(
    issuer=ISSUER, client_id="gongkai-suite", redirect_uri="http://127.0.0.1:8000/cb"
)
SECRET = "s" * 48


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def keys(private_key: rsa.RSAPrivateKey) -> dict[str, jwt.PyJWK]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))
    jwk.update(kid="k1", use="sig", alg="RS256")
    return {"k1": jwt.PyJWK(jwk, algorithm="RS256")}


def _claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "5f0c-user",
        "aud": "gongkai-suite",
        "azp": "gongkai-suite",
        "iat": int(NOW.timestamp()) - 5,
        "exp": int(NOW.timestamp()) + 300,
        "nonce": "n-123",
        "preferred_username": "li-qiang",
        "gongkai_account": "li-qiang",
        "name": "李 强",
        "email": "li-qiang@shangdang.example",
        "email_verified": True,
    }
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def _sign(key: rsa.RSAPrivateKey, claims: dict[str, Any], kid: str = "k1") -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def _verify(token: str, keys: dict[str, jwt.PyJWK], nonce: str = "n-123") -> dict[str, Any]:
    return verify_id_token(token, keys=keys, settings=SETTINGS, nonce=nonce, now=NOW)


def _refused(rule: str, token: str, keys: dict[str, jwt.PyJWK], nonce: str = "n-123") -> None:
    with pytest.raises(Unauthenticated) as caught:
        _verify(token, keys, nonce)
    assert caught.value.rule == f"oidc.{rule}"
    assert caught.value.status == 401
    assert caught.value.message_zh and caught.value.message_en


# --- PKCE -------------------------------------------------------------------------------


def test_code_challenge_is_rfc7636_s256() -> None:
    # RFC 7636 Appendix B
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


@pytest.mark.parametrize("verifier", ["short", "x" * 129, "has space" + "x" * 40, "é" * 43])
def test_code_verifier_must_be_43_to_128_unreserved_characters(verifier: str) -> None:
    with pytest.raises(ValueError):
        code_challenge(verifier)


def test_a_new_login_has_fresh_random_state_nonce_and_verifier() -> None:
    a, b = new_login("/wb", NOW), new_login("/wb", NOW)
    assert len({a.state, b.state, a.nonce, b.nonce}) == 4
    assert a.verifier != b.verifier and 43 <= len(a.verifier) <= 128
    code_challenge(a.verifier)  # valid


def test_authorization_url_asks_for_code_with_s256_challenge() -> None:
    meta = ProviderMetadata(ISSUER, f"{ISSUER}/auth", f"{ISSUER}/token", f"{ISSUER}/certs")
    login = new_login("/", NOW)
    url = authorization_url(meta, SETTINGS, login)
    assert url.startswith(f"{ISSUER}/auth?")
    assert "response_type=code" in url and "code_challenge_method=S256" in url
    assert f"code_challenge={code_challenge(login.verifier)}" in url
    assert f"state={login.state}" in url and f"nonce={login.nonce}" in url
    assert login.verifier not in url  # the verifier goes only to the token endpoint


# --- the login cookie -----------------------------------------------------------------


def test_login_cookie_round_trips() -> None:
    login = new_login("/workbench?x=1", NOW)
    assert open_login(seal_login(login, SECRET), SECRET, NOW + timedelta(minutes=9)) == login


@pytest.mark.parametrize(
    ("cookie", "rule"),
    [(None, "login_missing"), ("", "login_missing"), ("garbage", "login_invalid")],
)
def test_login_cookie_missing_or_garbage_is_refused(cookie: str | None, rule: str) -> None:
    with pytest.raises(Unauthenticated) as caught:
        open_login(cookie, SECRET, NOW)
    assert caught.value.rule == f"oidc.{rule}"


def test_login_cookie_signed_with_another_secret_is_refused() -> None:
    cookie = seal_login(new_login("/", NOW), "t" * 48)
    with pytest.raises(Unauthenticated) as caught:
        open_login(cookie, SECRET, NOW)
    assert caught.value.rule == "oidc.login_invalid"


def test_login_cookie_expires() -> None:
    cookie = seal_login(new_login("/", NOW), SECRET)
    with pytest.raises(Unauthenticated) as caught:
        open_login(cookie, SECRET, NOW + LOGIN_TTL)
    assert caught.value.rule == "oidc.login_expired"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("/wb/tasks?x=1", "/wb/tasks?x=1"),
        (None, "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/ok\r\nSet-Cookie: x", "/"),
    ],
)
def test_next_path_stays_on_this_site(given: str | None, kept: str) -> None:
    assert safe_next_path(given) == kept


def test_a_state_is_accepted_once() -> None:
    ledger = StateLedger()
    ledger.use("s1", expires_at=100, now=10)
    with pytest.raises(Unauthenticated) as caught:
        ledger.use("s1", expires_at=100, now=20)
    assert caught.value.rule == "oidc.state_replayed"
    ledger.use("s2", expires_at=300, now=200)  # s1 is forgotten once its login expired
    assert "s1" not in ledger._used


# --- discovery ------------------------------------------------------------------------


def test_discovery_must_name_the_configured_issuer() -> None:
    doc = {
        "issuer": "http://evil.example/realms/gongkai",
        "authorization_endpoint": "a",
        "token_endpoint": "t",
        "jwks_uri": "j",
    }
    with pytest.raises(Unauthenticated) as caught:
        ProviderMetadata.from_discovery(doc, ISSUER)
    assert caught.value.rule == "oidc.discovery_issuer"
    with pytest.raises(Unauthenticated) as caught:
        ProviderMetadata.from_discovery(
            {**doc, "issuer": ISSUER, "code_challenge_methods_supported": ["plain"]}, ISSUER
        )
    assert caught.value.rule == "oidc.discovery_pkce"


# --- the ID token ---------------------------------------------------------------------


def test_a_good_id_token_gives_the_identity(
    private_key: rsa.RSAPrivateKey, keys: dict[str, jwt.PyJWK]
) -> None:
    claims = _verify(_sign(private_key, _claims()), keys)
    identity = identity_from_claims(claims, "gongkai_account")
    assert identity.subject == "5f0c-user" and identity.issuer == ISSUER
    assert identity.username == "li-qiang" and identity.account_name == "li-qiang"
    assert identity.email == "li-qiang@shangdang.example"


def test_without_the_account_claim_the_username_names_the_account() -> None:
    identity = identity_from_claims(
        _claims(gongkai_account=None, email_verified=False, preferred_username="visitor"),
        "gongkai_account",
    )
    assert identity.account is None and identity.account_name == "visitor"
    assert identity.email is None  # an unverified address is not passed on


def test_alg_none_is_refused(keys: dict[str, jwt.PyJWK]) -> None:
    head = _b64(json.dumps({"alg": "none", "kid": "k1"}).encode())
    token = f"{head}.{_b64(json.dumps(_claims()).encode())}."
    _refused("id_token_algorithm", token, keys)


def test_hs256_signed_with_the_public_key_is_refused(
    private_key: rsa.RSAPrivateKey, keys: dict[str, jwt.PyJWK]
) -> None:
    """The algorithm-confusion attack: HMAC "signed" with the provider's public key."""
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    body = _b64(json.dumps(_claims()).encode())
    mac = hmac.new(public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
    _refused("id_token_algorithm", f"{head}.{body}.{_b64(mac)}", keys)


def test_a_token_signed_by_another_key_is_refused(keys: dict[str, jwt.PyJWK]) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _refused("id_token_signature", _sign(other, _claims()), keys)


def test_an_unknown_key_id_is_refused(
    private_key: rsa.RSAPrivateKey, keys: dict[str, jwt.PyJWK]
) -> None:
    _refused("id_token_unknown_key", _sign(private_key, _claims(), kid="k2"), keys)


def test_a_tampered_payload_is_refused(
    private_key: rsa.RSAPrivateKey, keys: dict[str, jwt.PyJWK]
) -> None:
    head, _, sig = _sign(private_key, _claims()).split(".")
    forged = _b64(json.dumps(_claims(gongkai_account="zhang-hua")).encode())
    _refused("id_token_signature", f"{head}.{forged}.{sig}", keys)


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"iss": "http://127.0.0.1:18080/realms/master"}, "id_token_issuer"),
        ({"iss": None}, "id_token_issuer"),
        ({"aud": "other-client", "azp": None}, "id_token_audience"),
        ({"aud": ["other-client", "gongkai-suite"], "azp": None}, "id_token_azp"),
        ({"azp": "other-client"}, "id_token_azp"),
        ({"exp": int(NOW.timestamp()) - 31}, "id_token_expired"),
        ({"iat": int(NOW.timestamp()) + 120}, "id_token_not_yet_valid"),
        ({"iat": int(NOW.timestamp()) - 3600}, "id_token_stale"),
        ({"exp": None}, "id_token_malformed"),
        ({"nonce": "n-other"}, "id_token_nonce"),
        ({"nonce": None}, "id_token_nonce"),
        ({"sub": None}, "id_token_malformed"),
    ],
)
def test_claim_checks(
    private_key: rsa.RSAPrivateKey,
    keys: dict[str, jwt.PyJWK],
    changes: dict[str, Any],
    rule: str,
) -> None:
    _refused(rule, _sign(private_key, _claims(**changes)), keys)


def test_several_audiences_pass_when_azp_is_us(
    private_key: rsa.RSAPrivateKey, keys: dict[str, jwt.PyJWK]
) -> None:
    _verify(_sign(private_key, _claims(aud=["gongkai-suite", "account"])), keys)


def test_expiry_has_the_configured_leeway(
    private_key: rsa.RSAPrivateKey, keys: dict[str, jwt.PyJWK]
) -> None:
    _verify(_sign(private_key, _claims(exp=int(NOW.timestamp()) - 29)), keys)


# --- settings ---------------------------------------------------------------------------


async def test_oidc_is_off_unless_an_issuer_is_configured(tmp_path: Path) -> None:
    async with httpx.AsyncClient() as http:
        assert oidc_client_from_settings(Settings(var_dir=tmp_path), http) is None
        with pytest.raises(ValueError, match="GONGKAI_OIDC_REDIRECT_URI"):
            oidc_client_from_settings(
                Settings(var_dir=tmp_path, oidc_issuer=ISSUER, oidc_client_id="c"), http
            )
        client = oidc_client_from_settings(
            Settings(
                var_dir=tmp_path,
                oidc_issuer=ISSUER,
                oidc_client_id="gongkai-suite",
                oidc_redirect_uri="https://gk.example/signin/oidc/callback",
                token_secret=SECRET,
            ),
            http,
        )
    assert client is not None
    assert client.settings.client_secret is None  # a public client: PKCE only
    assert client.settings.account_claim == "gongkai_account"
