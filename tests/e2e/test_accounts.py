"""Accounts, roles and sign-in through HTTP and the CLI, in both modes (issue #16).

A token counts only while the account behind it does: a revoked role, a suspended account,
a moved person or a sign-out everywhere stops it on every process within seconds (the
account book of each process follows the accounts log; distributed: its Kafka topic).
Every refusal is logged as `http.denied` and writes no event.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from shared.identity import Principal, Role, issue_token
from tests.e2e.conftest import GONGKAI, SECRET, SuiteHandle
from tests.e2e.factories import registration, today

SUDIAN = "shangdang/sudian"
HANDIAN = "shangdang/handian"
#: Revocation reaches every process within this (the relay and the topic, in distributed
#: mode); measured well under a second on the test machine.
WITHIN = 5.0


def fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def admin(suite: SuiteHandle) -> httpx.Client:
    return suite.client(suite.admin_token, service="accounts")


def open_person(
    suite: SuiteHandle, org: str, *roles: Role, password: str = "Erst-Pass-2026"
) -> str:
    sub = fresh("p")
    body = {
        "account_id": sub,
        "display_name": "测试人员",
        "org": org,
        "roles": [r.value for r in roles],
        "initial_password": password,
    }
    with admin(suite) as c:
        r = c.post("/v1/accounts", json=body)
    assert r.status_code == 201, r.text
    return sub


def sign_in(suite: SuiteHandle, sub: str, first: str = "Erst-Pass-2026") -> str:
    """The first sign-in: the initial password must be changed first; the new token."""
    with suite.client(service="accounts") as c:
        r = c.post("/v1/auth/password", json={"username": sub, "password": first})
        assert r.status_code == 403 and r.json()["rule"] == "password.change_required", r.text
        r = c.post(
            "/v1/auth/password/change",
            json={"username": sub, "password": first, "new_password": "Zweit-Pass-2026"},
        )
    assert r.status_code == 200, r.text
    token = str(r.json()["access_token"])
    suite.wait_accepted(token)
    return token


def every_url(suite: SuiteHandle) -> list[str]:
    return sorted(set(suite.urls.values()) | {suite.base_url})


def refused_everywhere(suite: SuiteHandle, token: str, status: int, rule: str) -> float:
    """Seconds until every process refuses `token` with `status` and `rule`."""
    started = time.monotonic()
    for url in every_url(suite):
        while True:
            r = httpx.get(
                url + "/v1/auth/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=10
            )
            if r.status_code == status and r.json()["rule"] == rule:
                break
            assert time.monotonic() - started < WITHIN, (url, r.status_code, r.text)
            time.sleep(0.02)
    return time.monotonic() - started


def denied_in_log(suite: SuiteHandle, rule: str, service: str = "applications") -> bool:
    return any(
        r.get("event") == "http.denied" and r.get("rule") == rule
        for r in suite.log_records(service)
    )


def write_is_refused(suite: SuiteHandle, token: str, status: int, rule: str) -> None:
    """A command with `token` is refused with `status`/`rule`, logged, and writes nothing."""
    before = suite.head_position()
    with suite.client(token) as c:
        r = c.post("/v1/requests", json=registration())
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["rule"] == rule
    assert suite.head_position() == before
    suite.eventually(lambda: denied_in_log(suite, rule))


# --- sign-in ------------------------------------------------------------------------------


def test_a_person_signs_in_changes_the_initial_password_first_and_then_works(
    suite: SuiteHandle,
) -> None:
    sub = open_person(suite, SUDIAN, Role.REQUEST_HANDLER)
    with suite.client(service="accounts") as c:
        first = c.post("/v1/auth/password", json={"username": sub, "password": "Erst-Pass-2026"})
        assert first.status_code == 403
        assert first.json()["details"]["change"] == "/v1/auth/password/change"
        bad = {"username": sub, "password": "Erst-Pass-2026"}
        for new, rule in (
            ("Kurz-1", "password.too_short"),
            ("alllowercase1", "password.too_simple"),
            (f"X-{sub}-9", "password.contains_username"),
            ("Erst-Pass-2026", "password.reused"),
        ):
            r = c.post("/v1/auth/password/change", json={**bad, "new_password": new})
            assert (r.status_code, r.json()["rule"]) == (422, rule), r.text
            assert "GB/T 22239" in r.json()["message_zh"]
        wrong = c.post("/v1/auth/password", json={"username": sub, "password": "Wrong-Pass-1"})
        unknown = c.post("/v1/auth/password", json={"username": fresh("x"), "password": "Ab-12345"})
        # one answer for a wrong password and an unknown user: no account enumeration
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json()["message_zh"] == unknown.json()["message_zh"]
    token = sign_in(suite, sub)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 600  # access tokens live ten minutes
    assert claims["roles"] == ["request_handler"] and claims["org"] == SUDIAN
    with suite.client(token) as c:
        created = c.post("/v1/requests", json=registration())
    assert created.status_code == 201, created.text
    with suite.client(token, service="accounts") as c:
        again = c.post("/v1/auth/refresh")
    assert again.status_code == 200 and again.json()["roles"] == ["request_handler"]


def test_password_guessing_locks_the_account_and_the_service_stays_up(
    suite: SuiteHandle,
) -> None:
    sub = open_person(suite, SUDIAN, Role.DRAFTER)
    other = open_person(suite, SUDIAN, Role.DRAFTER)
    before = suite.head_position("accounts")
    with suite.client(service="accounts") as c:
        statuses = [
            c.post("/v1/auth/password", json={"username": sub, "password": f"Guess-{i}-x"})
            for i in range(6)
        ]
        assert [r.status_code for r in statuses] == [401] * 5 + [429]
        assert statuses[-1].json()["rule"] == "signin.account_locked"
        assert int(statuses[-1].headers["Retry-After"]) > 800
        # the lockout holds: the right password is refused too, without a hash computed
        right = c.post("/v1/auth/password", json={"username": sub, "password": "Erst-Pass-2026"})
        assert (right.status_code, right.json()["rule"]) == (429, "signin.account_locked")
        assert c.get("/health").status_code == 200
        # another account of the same address still signs in
        ok = c.post("/v1/auth/password", json={"username": other, "password": "Erst-Pass-2026"})
        assert ok.json()["rule"] == "password.change_required"
    assert suite.head_position("accounts") == before  # failed sign-ins are not events
    suite.eventually(lambda: denied_in_log(suite, "signin.account_locked", "accounts"))


# --- tokens follow accounts -----------------------------------------------------------------


def test_a_revoked_role_stops_working_on_every_process_within_seconds(
    suite: SuiteHandle,
) -> None:
    sub = open_person(suite, SUDIAN, Role.REQUEST_HANDLER, Role.ATTRIBUTE_OFFICER)
    token = sign_in(suite, sub)
    with admin(suite) as c:
        r = c.post(
            f"/v1/accounts/{sub}/revoke-role",
            json={"role": "request_handler", "org": SUDIAN, "reason": "岗位调整"},
        )
    assert r.status_code == 200, r.text
    took = refused_everywhere(suite, token, 403, "account.role_not_held")
    print(f"revocation reached {len(every_url(suite))} processes in {took:.2f} s ({suite.mode})")
    write_is_refused(suite, token, 403, "account.role_not_held")
    with suite.client(service="accounts") as c:
        again = c.post("/v1/auth/password", json={"username": sub, "password": "Zweit-Pass-2026"})
    assert again.json()["roles"] == ["attribute_officer"]  # a new token: what is left


def test_suspension_ends_every_token_and_reactivation_does_not_revive_them(
    suite: SuiteHandle,
) -> None:
    sub = open_person(suite, SUDIAN, Role.REQUEST_HANDLER)
    token = sign_in(suite, sub)
    with admin(suite) as c:
        assert c.post(f"/v1/accounts/{sub}/suspend", json={"reason": "离岗培训"}).status_code == 200
    refused_everywhere(suite, token, 401, "account.suspended")
    write_is_refused(suite, token, 401, "account.suspended")
    with suite.client(service="accounts") as c:
        r = c.post("/v1/auth/password", json={"username": sub, "password": "Zweit-Pass-2026"})
    assert (r.status_code, r.json()["rule"]) == (401, "account.suspended")
    with admin(suite) as c:
        assert c.post(f"/v1/accounts/{sub}/reactivate", json={"reason": "返岗"}).status_code == 200
    refused_everywhere(suite, token, 401, "account.session_ended")
    with suite.client(service="accounts") as c:
        r = c.post("/v1/auth/password", json={"username": sub, "password": "Zweit-Pass-2026"})
    assert r.status_code == 200
    fresh_token = r.json()["access_token"]
    suite.wait_accepted(fresh_token)
    # sign-out everywhere: this token and every other of the account stop
    with suite.client(fresh_token, service="accounts") as c:
        assert c.post("/v1/auth/sign-out-everywhere").status_code == 200
    refused_everywhere(suite, fresh_token, 401, "account.session_ended")


def test_a_moved_person_keeps_no_rights_in_the_old_org(suite: SuiteHandle) -> None:
    sub = open_person(suite, SUDIAN, Role.REQUEST_HANDLER)
    token = sign_in(suite, sub)
    with admin(suite) as c:
        assert c.post(f"/v1/accounts/{sub}/move", json={"org": HANDIAN}).status_code == 200
    refused_everywhere(suite, token, 401, "account.session_ended")
    # a token re-signed with the new generation but the old org still names a role not held
    with admin(suite) as c:
        generation = c.get(f"/v1/accounts/{sub}").json()["generation"]
    old_org = signed(sub, SUDIAN, Role.REQUEST_HANDLER, generation=generation)
    write_is_refused(suite, old_org, 403, "account.role_not_held")


def signed(
    sub: str,
    org: str,
    *roles: Role,
    generation: int = 0,
    secret: str = SECRET,
    ttl: timedelta = timedelta(hours=1),
    now: datetime | None = None,
) -> str:
    principal = Principal(sub=sub, org=org, roles=frozenset(roles), generation=generation)
    return issue_token(principal, secret, ttl, now or datetime.now(UTC))


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def tampered_org(token: str, org: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return ".".join([header, _b64({**claims, "org": org}), signature])


def alg_none(token: str) -> str:
    _, payload, _ = token.split(".")
    return ".".join([_b64({"alg": "none", "typ": "JWT"}), payload, ""])


def test_attacks_on_tokens_are_refused_logged_and_write_nothing(suite: SuiteHandle) -> None:
    good = suite.token("wang-tietong", SUDIAN, Role.REQUEST_HANDLER)
    generation = jwt.decode(good, options={"verify_signature": False}).get("gen", 0)
    past = datetime.now(UTC) - timedelta(hours=2)
    other_issuer = jwt.encode(
        {**jwt.decode(good, SECRET, algorithms=["HS256"], issuer="gongkai"), "iss": "elsewhere"},
        SECRET,
        algorithm="HS256",
    )
    cases = [
        # the issue's first finding: a token for a person who does not exist
        (signed("nobody-here", SUDIAN, Role.PRINCIPAL_LEADER), 401, "account.unknown"),
        (
            signed("wang-tietong", SUDIAN, Role.PRINCIPAL_LEADER, generation=generation),
            403,
            "account.role_not_held",
        ),
        (
            signed(
                "wang-tietong",
                SUDIAN,
                Role.REQUEST_HANDLER,
                generation=generation,
                ttl=timedelta(minutes=10),
                now=past,
            ),
            401,
            "token.expired",
        ),
        (good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"), 401, "token.bad_signature"),
        (tampered_org(good, HANDIAN), 401, "token.bad_signature"),
        (alg_none(good), 401, "token.algorithm_not_allowed"),
        (
            signed(
                "wang-tietong",
                SUDIAN,
                Role.REQUEST_HANDLER,
                secret="another-deployment-" + "y" * 32,
            ),
            401,
            "token.bad_signature",
        ),
        (other_issuer, 401, "token.wrong_issuer"),
    ]
    for token, status, rule in cases:
        write_is_refused(suite, token, status, rule)


def test_token_issue_refuses_what_the_accounts_do_not_back(suite: SuiteHandle) -> None:
    def issue(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [GONGKAI, "token", "issue", *args],
            env=suite.env,
            capture_output=True,
            text=True,
            check=False,
        )

    nobody = issue("--sub", "nobody-here", "--role", "principal_leader", "--org", SUDIAN)
    assert nobody.returncode == 2 and "account.unknown" in nobody.stderr
    sub = open_person(suite, SUDIAN, Role.DRAFTER)
    not_held = issue("--sub", sub, "--role", "principal_leader")
    assert not_held.returncode == 2 and "account.role_not_held" in not_held.stderr
    held = issue("--sub", sub)
    assert held.returncode == 0, held.stderr
    token = held.stdout.strip()
    assert jwt.decode(token, options={"verify_signature": False})["roles"] == ["drafter"]
    suite.wait_accepted(token)
    service = issue("--sub", "svc-portal", "--service")
    assert service.returncode == 0, service.stderr
    suite.wait_accepted(service.stdout.strip())


# --- administrators and their reach ---------------------------------------------------------


def test_a_township_administrator_manages_only_their_township(suite: SuiteHandle) -> None:
    township_admin = open_person(suite, SUDIAN, Role.TOWNSHIP_ADMINISTRATOR)
    token = sign_in(suite, township_admin)
    person = {
        "display_name": "新同事",
        "roles": ["drafter"],
        "initial_password": "Erst-Pass-2026",
    }
    handian_person = open_person(suite, HANDIAN, Role.DRAFTER)
    with suite.client(token, service="accounts") as c:
        mine = fresh("p")
        r = c.post("/v1/accounts", json={**person, "account_id": mine, "org": SUDIAN})
        assert r.status_code == 201, r.text
        outside = c.post("/v1/accounts", json={**person, "account_id": fresh("p"), "org": HANDIAN})
        assert (outside.status_code, outside.json()["rule"]) == (403, "org.outside_subtree")
        up = c.post(
            f"/v1/accounts/{mine}/grant-role",
            json={"role": "district_administrator", "org": "shangdang"},
        )
        assert (up.status_code, up.json()["rule"]) == (403, "org.outside_subtree")
        wrong_level = c.post(
            f"/v1/accounts/{mine}/grant-role",
            json={"role": "township_administrator", "org": f"{SUDIAN}/party-office"},
        )
        assert (wrong_level.status_code, wrong_level.json()["rule"]) == (422, "role.wrong_level")
        hidden = c.post(f"/v1/accounts/{handian_person}/suspend", json={"reason": "越权尝试"})
        assert hidden.status_code == 404  # outside the subtree looks absent
        myself = c.post(
            f"/v1/accounts/{township_admin}/grant-role",
            json={"role": "openness_office_head", "org": SUDIAN},
        )
        assert (myself.status_code, myself.json()["rule"]) == (403, "account.self_management")
        listed = c.get("/v1/accounts").json()["items"]
        assert {a["org"].split("/")[1] for a in listed if "/" in a["org"]} == {"sudian"}
        granted = c.post(
            f"/v1/accounts/{mine}/grant-role", json={"role": "section_head", "org": SUDIAN}
        )
        assert granted.status_code == 200, granted.text


def test_the_auditor_asks_who_could_act_as_attribute_officer_in_sudian(
    suite: SuiteHandle,
) -> None:
    before = datetime.now(UTC)
    time.sleep(0.05)
    sub = open_person(suite, SUDIAN, Role.ATTRIBUTE_OFFICER)
    granted = datetime.now(UTC)
    time.sleep(0.05)
    with admin(suite) as c:
        r = c.post(
            f"/v1/accounts/{sub}/revoke-role",
            json={"role": "attribute_officer", "org": SUDIAN, "reason": "改由他人认定"},
        )
        assert r.status_code == 200
    revoked = datetime.now(UTC)
    auditor = suite.token("liu-min", "shangdang", Role.AUDITOR)

    def holders(**when: str) -> set[str]:
        with suite.client(auditor, service="accounts") as c:
            r = c.get(
                "/v1/accounts/holders",
                params={"role": "attribute_officer", "org": SUDIAN, **when},
            )
        assert r.status_code == 200, r.text
        assert r.json()["role_zh"] == "拟发公文公开属性认定与管理人员"
        return {h["account_id"] for h in r.json()["items"]}

    assert sub not in holders(at=before.isoformat())
    assert sub in holders(at=granted.isoformat())
    assert sub not in holders(at=revoked.isoformat())
    assert sub in holders(on=today().isoformat())  # could act at some time of the day
    cli = subprocess.run(
        [
            *(GONGKAI, "accounts", "holders", "--role", "attribute_officer", "--org", SUDIAN),
            *("--on", today().isoformat()),
        ],
        env=suite.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert cli.returncode == 0, cli.stderr
    assert sub in cli.stdout and "拟发公文公开属性认定与管理人员" in cli.stdout
    with suite.client(suite.token("li-na", SUDIAN, Role.DRAFTER), service="accounts") as c:
        r = c.get("/v1/accounts/holders", params={"role": "attribute_officer", "org": SUDIAN})
    assert (r.status_code, r.json()["rule"]) == (403, "role.missing")


@pytest.mark.parametrize("field", ["account_id", "org"])
def test_bad_account_input_is_refused_naming_the_field_and_writes_nothing(
    suite: SuiteHandle, field: str
) -> None:
    body = {
        "account_id": fresh("p"),
        "display_name": "测试人员",
        "org": SUDIAN,
        "roles": ["drafter"],
        "initial_password": "Erst-Pass-2026",
        field: "Not A Slug!",
    }
    before = suite.head_position("accounts")
    with admin(suite) as c:
        r = c.post("/v1/accounts", json=body)
    assert r.status_code == 422 and r.json()["field"] == field
    assert r.json()["errors"][0]["label_zh"] in ("账号（登录名）", "所在单位")
    assert suite.head_position("accounts") == before


def test_a_service_account_gets_a_token_by_client_credentials(suite: SuiteHandle) -> None:
    sub = fresh("svc")
    with admin(suite) as c:
        created = c.post(
            "/v1/accounts/services",
            json={
                "account_id": sub,
                "display_name": "12345政务服务便民热线平台",
                "org": "shangdang",
                "scopes": ["sentiment.messages.write"],
            },
        )
        assert created.status_code == 201, created.text
        assert created.json()["grants"] == [
            {"role": "service", "role_zh": "服务账号", "org": "shangdang"}
        ]
        issued = c.post(f"/v1/accounts/{sub}/client-secret")
    assert issued.status_code == 200 and issued.headers["cache-control"] == "no-store"
    secret = issued.json()["client_secret"]
    grant = {"grant_type": "client_credentials", "client_id": sub}
    with suite.client(service="accounts") as c:
        wrong = c.post("/v1/auth/token", json={**grant, "client_secret": "not-the-secret"})
        assert (wrong.status_code, wrong.json()["rule"]) == (401, "signin.failed")
        # a person's password route does not take a service account's secret
        person_route = c.post("/v1/auth/password", json={"username": sub, "password": secret})
        assert person_route.status_code == 401
        r = c.post("/v1/auth/token", json={**grant, "client_secret": secret})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["kind"] == "service"
    suite.wait_accepted(token)


def test_every_account_change_is_in_the_audit_chain_with_its_actor(suite: SuiteHandle) -> None:
    sub = open_person(suite, SUDIAN, Role.DRAFTER)
    with admin(suite) as c:
        r = c.post(f"/v1/accounts/{sub}/suspend", json={"reason": "审计链测试"})
        assert r.status_code == 200
    auditor = suite.token("liu-min", "shangdang", Role.AUDITOR)

    def chained() -> list[tuple[str, str]]:
        with suite.client(auditor, service="audit") as c:
            response = c.get("/v1/audit/trail", params={"tenant": SUDIAN})
        assert response.status_code == 200, response.text
        lines = [json.loads(line) for line in response.text.splitlines() if line]
        return [
            (line["event"]["type"], line["event"]["actor"]["id"])
            for line in lines
            if line["event"]["payload"].get("account_id") == sub
        ]

    found = suite.eventually(lambda: len(chained()) >= 4 and chained(), timeout=90)
    assert found == [
        ("PersonAccountCreated", "e2e-admin"),
        ("RoleGranted", "e2e-admin"),
        ("PasswordChanged", "e2e-admin"),
        ("AccountSuspended", "e2e-admin"),
    ]


def test_a_district_administrator_registers_an_org_unit_and_grants_roles_in_it(
    suite: SuiteHandle,
) -> None:
    slug = fresh("office")
    path = f"{SUDIAN}/{slug}"
    unit = {"path": path, "name": "苏店镇便民服务站", "kind": "unit", "short_name": slug[-6:]}
    before = suite.head_position("accounts")
    with admin(suite) as c:
        wrong = c.post("/v1/org-units", json={**unit, "kind": "district"})
        assert (wrong.status_code, wrong.json()["rule"]) == (422, "org.kind_depth")
        orphan = c.post("/v1/org-units", json={**unit, "path": f"shangdang/{slug}/x"})
        assert (orphan.status_code, orphan.json()["rule"]) == (422, "org.unregistered")
        assert suite.head_position("accounts") == before
        r = c.post("/v1/org-units", json=unit)
        assert r.status_code == 201 and r.json()["registered"] is True, r.text
        assert path in {u["path"] for u in c.get("/v1/org-units").json()["items"]}
    sub = open_person(suite, path, Role.DRAFTER)
    township_admin = open_person(suite, SUDIAN, Role.TOWNSHIP_ADMINISTRATOR)
    with suite.client(sign_in(suite, township_admin), service="accounts") as c:
        refused = c.post("/v1/org-units", json={**unit, "path": f"{SUDIAN}/{fresh('x')}"})
        assert (refused.status_code, refused.json()["rule"]) == (403, "role.missing")
        granted = c.post(
            f"/v1/accounts/{sub}/grant-role", json={"role": "section_head", "org": path}
        )
        assert granted.status_code == 200, granted.text


def test_an_address_is_locked_after_repeated_failures_forwarded_by_a_sign_in_page(
    suite: SuiteHandle,
) -> None:
    """Per-address lockout (20 failures in 15 minutes), through a sign-in page of the suite's
    own that forwards its visitor's address as a service account (the test's own address
    stays unlocked for the other tests)."""
    visitor = f"198.51.100.{uuid.uuid4().int % 250 + 1}"
    page = suite.token(fresh("svc-signin"), "shangdang", Role.SERVICE)
    forwarded = {"Authorization": f"Bearer {page}", "X-Forwarded-For": f"{visitor}, 10.0.0.1"}
    before = suite.head_position("accounts")
    with suite.client(service="accounts") as c:
        for i in range(20):
            r = c.post(
                "/v1/auth/password",
                json={"username": fresh("nobody"), "password": f"Guess-{i}-x"},
                headers=forwarded,
            )
            assert r.status_code == 401, r.text
        locked = c.post(
            "/v1/auth/password",
            json={"username": "wang-tietong", "password": "Any-Pass-26"},
            headers=forwarded,
        )
        assert (locked.status_code, locked.json()["rule"]) == (429, "signin.address_locked")
        assert int(locked.headers["Retry-After"]) > 800
        # the lock is the visitor's: the test's own address still signs in
        direct = c.post(
            "/v1/auth/password", json={"username": fresh("nobody"), "password": "Any-Pass-26"}
        )
        assert (direct.status_code, direct.json()["rule"]) == (401, "signin.failed")
        assert c.get("/health").status_code == 200
    assert suite.head_position("accounts") == before
