"""Write the test realm into a running Keycloak through its admin REST API.

    GONGKAI_KEYCLOAK_URL=http://127.0.0.1:18080 GONGKAI_KEYCLOAK_ADMIN=admin \
    GONGKAI_KEYCLOAK_ADMIN_PASSWORD=... python deploy/keycloak/realm.py deploy/keycloak/realm.json

Run by `deploy/keycloak.sh start` after every start. Idempotent by replacement: the realm
is deleted and created again from the file, so a test run always meets the file's realm
(users, passwords, the client and its secret), never leftovers of an earlier run.

What it creates (see realm.json):
- realm `gongkai`, no self-registration, brute-force detection off (tests type wrong
  passwords on purpose);
- one confidential client for the suite, and a public one (no secret) for the same tests
  of `GONGKAI_OIDC_CLIENT_SECRET` unset: authorization code flow only (no implicit, no
  direct grants, no service account), PKCE required with S256, redirect URIs on loopback,
  and a mapper putting the user attribute `gongkai_account` into the ID token;
- users with a password (not temporary), a complete profile (no required action at first
  sign-in) and, when the person has one, the `gongkai_account` attribute.

The IdP says who the person is; which roles that account holds is the accounts service's
decision (docs/decisions.md decision 90), so no realm roles are mapped into tokens.

Standard library only: it runs before the project's virtualenv exists.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


def _call(
    method: str, url: str, *, token: str | None = None, body: Any = None, form: Any = None
) -> tuple[int, Any]:
    headers = {"Accept": "application/json"}
    data = None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            return err.code, json.loads(raw) if raw else None
        except ValueError:
            return err.code, raw.decode(errors="replace")


def _ok(status: int, answer: Any, what: str, *accepted: int) -> Any:
    if status not in (accepted or (200, 201, 204)):
        raise SystemExit(f"realm.py: {what} failed: HTTP {status} {answer}")
    return answer


def main(path: str) -> None:
    base = os.environ["GONGKAI_KEYCLOAK_URL"].rstrip("/")
    with open(path, encoding="utf-8") as f:
        spec = json.load(f)
    realm = spec["realm"]
    status, answer = _call(
        "POST",
        f"{base}/realms/master/protocol/openid-connect/token",
        form={
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": os.environ.get("GONGKAI_KEYCLOAK_ADMIN", "admin"),
            "password": os.environ["GONGKAI_KEYCLOAK_ADMIN_PASSWORD"],
        },
    )
    token = _ok(status, answer, "admin sign-in", 200)["access_token"]
    admin = f"{base}/admin/realms"

    status, answer = _call("DELETE", f"{admin}/{realm}", token=token)
    _ok(status, answer, f"deleting realm {realm}", 204, 404)

    client = spec["client"]
    attribute = spec["account_attribute"]
    mapper = {
        "name": "gongkai account",
        "protocol": "openid-connect",
        "protocolMapper": "oidc-usermodel-attribute-mapper",
        "config": {
            "user.attribute": attribute,
            "claim.name": attribute,
            "jsonType.label": "String",
            "id.token.claim": "true",
            "access.token.claim": "false",
            "userinfo.token.claim": "true",
        },
    }

    def client_body(client_id: str, secret: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "clientId": client_id,
            "name": "gongkai 政务公开",
            "enabled": True,
            "protocol": "openid-connect",
            "publicClient": secret is None,
            "standardFlowEnabled": True,
            "implicitFlowEnabled": False,
            "directAccessGrantsEnabled": False,
            "serviceAccountsEnabled": False,
            "consentRequired": False,
            "redirectUris": client["redirect_uris"],
            "webOrigins": client["web_origins"],
            "attributes": {"pkce.code.challenge.method": "S256"},
            "protocolMappers": [mapper],
        }
        if secret is not None:
            body |= {"clientAuthenticatorType": "client-secret", "secret": secret}
        return body

    realm_body = {
        "realm": realm,
        "enabled": True,
        "displayName": spec["display_name"],
        "registrationAllowed": False,
        "bruteForceProtected": False,
        "loginWithEmailAllowed": False,
        "clients": [
            client_body(client["client_id"], client["secret"]),
            client_body(spec["public_client_id"], None),
        ],
    }
    status, answer = _call("POST", admin, token=token, body=realm_body)
    _ok(status, answer, f"creating realm {realm}", 201)

    # Keycloak 26 keeps attributes outside the declared user profile only when allowed to.
    status, profile = _call("GET", f"{admin}/{realm}/users/profile", token=token)
    profile = _ok(status, profile, "reading the user profile", 200)
    profile["unmanagedAttributePolicy"] = "ADMIN_VIEW"
    status, answer = _call("PUT", f"{admin}/{realm}/users/profile", token=token, body=profile)
    _ok(status, answer, "allowing the account attribute", 200)

    for user in spec["users"]:
        body: dict[str, Any] = {
            "username": user["username"],
            "enabled": True,
            "emailVerified": True,
            "firstName": user["first_name"],
            "lastName": user["last_name"],
            "email": user["email"],
            "credentials": [{"type": "password", "value": user["password"], "temporary": False}],
            "requiredActions": [],
        }
        if user.get("account"):
            body["attributes"] = {attribute: [user["account"]]}
        status, answer = _call("POST", f"{admin}/{realm}/users", token=token, body=body)
        _ok(status, answer, f"creating user {user['username']}", 201)

    print(
        f"realm.py: realm {realm} at {base}/realms/{realm}: clients {client['client_id']} "
        f"(confidential) and {spec['public_client_id']} (public), "
        f"{len(spec['users'])} users",
        file=sys.stderr,
    )


if __name__ == "__main__":
    default = os.path.join(os.path.dirname(os.path.abspath(__file__)), "realm.json")
    main(sys.argv[1] if len(sys.argv) > 1 else default)
