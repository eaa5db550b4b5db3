"""Tokens and authorization decisions (ARCHITECTURE.md, "Tenancy, identity, authorization";
DOMAIN.md §0 and §1 separation of duties)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jwt
import pytest
from pydantic import ValidationError

from shared.errors import Forbidden, Unauthenticated, ValidationFailed
from shared.identity import (
    TOKEN_ISSUER,
    Principal,
    Role,
    authorize,
    issue_token,
    principal_for_person,
    require_not_same_person,
    require_org,
    require_role,
    require_write,
    verify_token,
    within_scope,
)
from shared.tenancy import OrgTree, load_org_tree

pytestmark = pytest.mark.unit

DEMO_FILE = Path(__file__).resolve().parents[2] / "deploy" / "demo" / "district.yaml"
SECRET = "demo-secret-for-unit-tests-0123456789"
OTHER_SECRET = "another-secret-for-unit-tests-987654321"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
TTL = timedelta(hours=8)


@pytest.fixture(scope="module")
def demo() -> OrgTree:
    return load_org_tree(DEMO_FILE)


def make_principal(**overrides: Any) -> Principal:
    fields: dict[str, Any] = {
        "sub": "li-na",
        "org": "shangdang/sudian/party-office",
        "roles": frozenset({Role.DRAFTER}),
        "kind": "user",
        "name": "李娜",
    }
    fields.update(overrides)
    return Principal(**fields)


def forge(claims: dict[str, Any], secret: str = SECRET, algorithm: str = "HS256") -> str:
    """A token with arbitrary claims, signed like a real one."""
    base = {
        "iss": TOKEN_ISSUER,
        "sub": "li-na",
        "org": "shangdang/sudian",
        "roles": ["drafter"],
        "kind": "user",
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + TTL).timestamp()),
    }
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not None}, secret, algorithm=algorithm)


def unauthenticated(token: str, now: datetime = NOW, secret: str = SECRET) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as caught:
        verify_token(token, secret, now)
    assert caught.value.status == 401
    assert caught.value.message_zh and caught.value.message_en
    return caught.value


def forbidden(call: Any, *args: Any) -> Forbidden:
    with pytest.raises(Forbidden) as caught:
        call(*args)
    assert caught.value.status == 403
    assert caught.value.message_zh and caught.value.message_en
    return caught.value


# ------------------------------------------------------------------------- principals


def test_roles_use_the_conventions_words__conventions_names() -> None:
    assert [role.value for role in Role] == [
        "drafter",
        "section_head",
        "leader_in_charge",
        "principal_leader",
        "openness_office_head",
        "request_handler",
        "attribute_officer",
        "opinion_officer",
        "liaison",
        "auditor",
        "district_assessor",
        "administrator",
        # issue #16: who manages accounts, the whole district or one township
        "district_administrator",
        "township_administrator",
        "service",
    ]
    assert all(role.label_zh for role in Role)


def test_principal_is_frozen() -> None:
    principal = make_principal()
    with pytest.raises(ValidationError):
        principal.org = "shangdang"  # type: ignore[misc, assignment]


@pytest.mark.parametrize(
    "overrides",
    [
        {"kind": "service"},  # a service account must hold the service role
        {"roles": frozenset({Role.SERVICE})},  # and only service accounts hold it
        {"roles": frozenset()},
        {"org": "Shangdang"},
        {"sub": "Li Na"},
        {"kind": "robot"},
    ],
)
def test_inconsistent_principals_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        make_principal(**overrides)


def test_principal_for_a_person_is_placed_where_the_org_file_lists_them(demo: OrgTree) -> None:
    wang = principal_for_person(demo, "wang-tietong")
    assert wang.org == "shangdang/sudian"
    assert wang.roles == {Role.REQUEST_HANDLER, Role.ATTRIBUTE_OFFICER}
    assert (wang.kind, wang.name) == ("user", "王铁童")


# ----------------------------------------------------------------------------- tokens


def test_token_round_trip_gives_back_the_principal__architecture_tokens(demo: OrgTree) -> None:
    principal = principal_for_person(demo, "guo-xinxin")
    token = issue_token(principal, SECRET, TTL, NOW)
    assert verify_token(token, SECRET, NOW + timedelta(hours=1)) == principal


def test_service_account_token_round_trip__architecture_tokens() -> None:
    service = Principal(
        sub="assessment-service", org="shangdang", roles=frozenset({Role.SERVICE}), kind="service"
    )
    token = issue_token(service, SECRET, TTL, NOW)
    assert verify_token(token, SECRET, NOW) == service


def test_token_carries_the_documented_claims__docs_identity() -> None:
    token = issue_token(
        make_principal(roles=frozenset({Role.SECTION_HEAD, Role.DRAFTER})), SECRET, TTL, NOW
    )
    claims = jwt.decode(token, options={"verify_signature": False})
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert claims == {
        "iss": "gongkai",
        "sub": "li-na",
        "org": "shangdang/sudian/party-office",
        "roles": ["drafter", "section_head"],
        "kind": "user",
        "name": "李娜",
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + TTL).timestamp()),
    }


def test_tokens_are_byte_for_byte_what_pyjwt_signs__rfc7515() -> None:
    # issue_token signs with the standard library (quick start-up, issue #21); PyJWT, which
    # verifies every token, must not see any difference: same header, claims and signature.
    for principal in (
        make_principal(roles=frozenset({Role.SECTION_HEAD, Role.DRAFTER})),  # a Chinese name
        Principal(
            sub="svc-portal", org="shangdang", roles=frozenset({Role.SERVICE}), kind="service"
        ),
    ):
        token = issue_token(principal, SECRET, TTL, NOW)
        claims = jwt.decode(token, options={"verify_signature": False})
        assert token == jwt.encode(claims, SECRET, algorithm="HS256")


def test_token_is_valid_until_just_before_expiry__token_expired() -> None:
    token = issue_token(make_principal(), SECRET, TTL, NOW)
    assert verify_token(token, SECRET, NOW + TTL - timedelta(seconds=1)).sub == "li-na"
    error = unauthenticated(token, now=NOW + TTL)
    assert error.rule == "token.expired"
    assert error.field == "exp"


def test_expired_token_is_refused__token_expired() -> None:
    token = issue_token(make_principal(), SECRET, TTL, NOW)
    assert unauthenticated(token, now=NOW + timedelta(days=1)).rule == "token.expired"


def test_leeway_tolerates_small_clock_skew__token_expired() -> None:
    token = issue_token(make_principal(), SECRET, TTL, NOW)
    late = NOW + TTL + timedelta(seconds=20)
    assert verify_token(token, SECRET, late, leeway=timedelta(seconds=30)).sub == "li-na"


def test_token_issued_in_the_future_is_refused__token_not_yet_valid() -> None:
    token = issue_token(make_principal(), SECRET, TTL, NOW + timedelta(minutes=5))
    assert unauthenticated(token).rule == "token.not_yet_valid"


def test_tampered_token_is_refused__token_bad_signature() -> None:
    token = issue_token(make_principal(), SECRET, TTL, NOW)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["org"] = "shangdang"  # climb to the district root
    claims["roles"] = ["administrator"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert unauthenticated(f"{header}.{forged}.{signature}").rule == "token.bad_signature"


def test_token_signed_with_another_secret_is_refused__token_bad_signature() -> None:
    token = issue_token(make_principal(), OTHER_SECRET, TTL, NOW)
    assert unauthenticated(token).rule == "token.bad_signature"


def test_unsigned_or_other_algorithm_tokens_are_refused__token_algorithm_not_allowed() -> None:
    unsigned = forge({}, secret="", algorithm="none")
    assert unauthenticated(unsigned).rule == "token.algorithm_not_allowed"
    hs512 = forge({}, secret=SECRET * 2, algorithm="HS512")
    assert unauthenticated(hs512).rule == "token.algorithm_not_allowed"


@pytest.mark.parametrize("token", ["", "not-a-token", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30"])
def test_garbage_is_refused__token_malformed(token: str) -> None:
    assert unauthenticated(token).rule == "token.malformed"


@pytest.mark.parametrize("claim", ["sub", "org", "roles", "kind", "iat", "exp", "iss"])
def test_token_missing_a_claim_is_refused_naming_it__token_malformed(claim: str) -> None:
    error = unauthenticated(forge({claim: None}))
    assert error.rule == "token.malformed"
    assert error.field == claim


@pytest.mark.parametrize(
    ("claims", "field"),
    [
        ({"org": "Shang/Dang"}, "org"),
        ({"org": "shangdang/sudian/party-office/desk"}, "org"),
        ({"kind": "robot"}, "kind"),
        ({"roles": []}, "roles"),
        ({"roles": "drafter"}, "roles"),
        ({"exp": "tomorrow"}, "exp"),
        ({"iat": True}, "iat"),
        ({"kind": "service"}, None),  # service kind without the service role
    ],
)
def test_token_with_invalid_claims_is_refused__token_malformed(
    claims: dict[str, Any], field: str | None
) -> None:
    error = unauthenticated(forge(claims))
    assert error.rule == "token.malformed"
    assert error.field == field


def test_token_from_another_issuer_is_refused__token_wrong_issuer() -> None:
    assert unauthenticated(forge({"iss": "someone-else"})).rule == "token.wrong_issuer"


def test_token_naming_an_unknown_role_is_refused__token_unknown_role() -> None:
    error = unauthenticated(forge({"roles": ["drafter", "superuser"]}))
    assert error.rule == "token.unknown_role"
    assert error.field == "roles"
    assert error.details == {"role": "superuser"}


def test_short_secrets_and_naive_clocks_are_programming_errors__rfc7518() -> None:
    principal = make_principal()
    with pytest.raises(ValueError):
        issue_token(principal, "short", TTL, NOW)
    with pytest.raises(ValueError):
        issue_token(principal, SECRET, TTL, datetime(2026, 3, 2, 9, 0))
    with pytest.raises(ValueError):
        issue_token(principal, SECRET, timedelta(0), NOW)
    with pytest.raises(ValueError):
        verify_token("x", "short", NOW)


# ---------------------------------------------------------------------- authorization


def test_township_staff_cannot_act_in_another_township__architecture_tenancy(
    demo: OrgTree,
) -> None:
    wang = principal_for_person(demo, "wang-tietong")
    error = forbidden(require_org, wang, "shangdang/handian")
    assert error.rule == "org.outside_subtree"
    assert error.field == "org"
    assert error.details == {"principal_org": "shangdang/sudian", "target_org": "shangdang/handian"}
    assert forbidden(require_org, wang, "shangdang/handian/finance").rule == "org.outside_subtree"


def test_township_staff_act_in_their_township_and_its_units__architecture_tenancy(
    demo: OrgTree,
) -> None:
    wang = principal_for_person(demo, "wang-tietong")
    require_org(wang, "shangdang/sudian")
    require_org(wang, "shangdang/sudian/finance")
    assert within_scope(wang, "shangdang/sudian/finance")
    assert not within_scope(wang, "shangdang/xihuo")


def test_unit_staff_cannot_act_at_township_level_or_in_a_sibling_unit__architecture_tenancy(
    demo: OrgTree,
) -> None:
    drafter = principal_for_person(demo, "chen-jing")  # 苏店镇财政所
    require_org(drafter, "shangdang/sudian/finance")
    assert forbidden(require_org, drafter, "shangdang/sudian").rule == "org.outside_subtree"
    assert forbidden(require_org, drafter, "shangdang/sudian/party-office").rule == (
        "org.outside_subtree"
    )


def test_district_assessor_sees_every_township_by_subtree_rule__architecture_tenancy(
    demo: OrgTree,
) -> None:
    assessor = principal_for_person(demo, "li-qiang")
    for unit in demo:
        require_org(assessor, unit.path)
    assert within_scope(principal_for_person(demo, "liu-min"), "shangdang/xihuo/service-center")


def test_district_unit_staff_do_not_see_townships__architecture_tenancy(demo: OrgTree) -> None:
    cyberspace = principal_for_person(demo, "sun-wei")  # 区委网信办
    assert forbidden(require_org, cyberspace, "shangdang/sudian").rule == "org.outside_subtree"


def test_org_prefix_is_not_a_subtree__architecture_tenancy() -> None:
    principal = make_principal(org="shangdang/su")
    assert forbidden(require_org, principal, "shangdang/sudian").rule == "org.outside_subtree"


def test_invalid_target_org_is_a_validation_error__org_path_invalid() -> None:
    with pytest.raises(ValidationFailed) as caught:
        require_org(make_principal(), "../handian")
    assert caught.value.field == "org"


def test_auditor_cannot_write__auditor_read_only(demo: OrgTree) -> None:
    auditor = principal_for_person(demo, "liu-min")
    error = forbidden(require_write, auditor)
    assert error.rule == "auditor.read_only"
    require_org(auditor, "shangdang/sudian/finance")  # reads everything in scope


def test_auditor_stays_read_only_whatever_else_they_hold__auditor_read_only() -> None:
    both = make_principal(roles=frozenset({Role.AUDITOR, Role.SECTION_HEAD}))
    assert forbidden(require_write, both).rule == "auditor.read_only"
    require_write(make_principal())


def test_missing_role_is_refused_with_required_and_held__role_missing(demo: OrgTree) -> None:
    drafter = principal_for_person(demo, "li-na")
    error = forbidden(require_role, drafter, Role.SECTION_HEAD, Role.LEADER_IN_CHARGE)
    assert error.rule == "role.missing"
    assert error.details == {"required": ["leader_in_charge", "section_head"], "held": ["drafter"]}
    assert "分管领导" in error.message_zh


def test_any_one_of_the_roles_suffices__role_missing(demo: OrgTree) -> None:
    require_role(
        principal_for_person(demo, "guo-xinxin"), Role.PRINCIPAL_LEADER, Role.LEADER_IN_CHARGE
    )
    with pytest.raises(ValueError):
        require_role(make_principal())


def test_drafter_cannot_review_own_document__duty_same_person(demo: OrgTree) -> None:
    drafter = principal_for_person(demo, "li-na")
    error = forbidden(require_not_same_person, drafter, "li-na", "drafting")
    assert error.rule == "duty.same_person"
    assert "起草" in error.message_zh
    assert error.details == {"duty": "drafting"}


def test_another_person_may_review_the_document__duty_same_person(demo: OrgTree) -> None:
    require_not_same_person(principal_for_person(demo, "zhang-wei"), "li-na", "drafting")


def test_authorize_checks_write_then_org_then_role__architecture_tenancy(demo: OrgTree) -> None:
    auditor = principal_for_person(demo, "zhao-huiling")  # 苏店镇纪检书记, read-only
    assert forbidden(authorize, auditor, "shangdang/handian", Role.DRAFTER).rule == (
        "auditor.read_only"
    )
    drafter = principal_for_person(demo, "li-na")
    assert forbidden(authorize, drafter, "shangdang/handian", Role.SECTION_HEAD).rule == (
        "org.outside_subtree"
    )
    assert forbidden(
        authorize, drafter, "shangdang/sudian/party-office", Role.SECTION_HEAD
    ).rule == ("role.missing")
    authorize(drafter, "shangdang/sudian/party-office", Role.DRAFTER)
    authorize(auditor, "shangdang/sudian", write=False)


def test_verify_token_accepts_any_timezone_for_now() -> None:
    token = issue_token(make_principal(), SECRET, TTL, NOW)
    assert verify_token(token, SECRET, NOW.astimezone(UTC)).sub == "li-na"
