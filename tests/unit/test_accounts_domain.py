"""Accounts, pure: the account book's verdicts, the password rules (GB/T 22239-2019 level 3,
8.1.4.1), who may grant what, and roles as of an instant folded from the log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.accounts import domain, passwords
from services.accounts.commands import GrantRole
from services.accounts.domain import LoggedEvent, could_act
from shared.account_book import AccountBook, AccountKind, AccountState
from shared.envelope import Actor, RecordedEvent, new_id
from shared.errors import Forbidden, GongkaiError, ValidationFailed
from shared.identity import Principal, Role
from shared.tenancy import OrgLevel, OrgPath

SUDIAN = "shangdang/sudian"
T0 = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


def recorded(stream: str, version: int, type_: str, **payload: Any) -> RecordedEvent:
    return RecordedEvent(
        event_id=new_id(),
        stream_id=stream,
        stream_type="account",
        version=version,
        position=version,
        type=type_,
        schema_version=1,
        tenant=SUDIAN,
        actor=Actor(id="chen-gang", role="district_administrator"),
        correlation_id=new_id(),
        causation_id=None,
        occurred_at=T0,
        recorded_at=T0,
        payload=payload,
    )


def book_with(*events: RecordedEvent) -> AccountBook:
    book = AccountBook()
    book.apply_all(events)
    return book


CREATED = recorded(
    "account-wang-tietong",
    1,
    "PersonAccountCreated",
    account_id="wang-tietong",
    display_name="王铁童",
    org=SUDIAN,
)
GRANTED = recorded(
    "account-wang-tietong",
    2,
    "RoleGranted",
    account_id="wang-tietong",
    role="request_handler",
    org=SUDIAN,
)


def principal(
    org: str = SUDIAN, *roles: Role, generation: int = 0, sub: str = "wang-tietong"
) -> Principal:
    return Principal(
        sub=sub, org=org, roles=frozenset(roles or {Role.REQUEST_HANDLER}), generation=generation
    )


def rule_of(book: AccountBook, p: Principal) -> tuple[int, str]:
    with pytest.raises(GongkaiError) as caught:
        book.check(p)
    return caught.value.status, caught.value.rule


def test_the_book_accepts_a_held_role_at_its_org_and_below() -> None:
    book = book_with(CREATED, GRANTED)
    book.check(principal())
    book.check(principal(f"{SUDIAN}/party-office"))  # narrower than the grant


@pytest.mark.parametrize(
    ("events", "who", "expected"),
    [
        ((), principal(), (401, "account.unknown")),
        ((CREATED, GRANTED), principal(sub="nobody-here"), (401, "account.unknown")),
        (
            (CREATED, GRANTED),
            principal(SUDIAN, Role.PRINCIPAL_LEADER),
            (403, "account.role_not_held"),
        ),
        ((CREATED, GRANTED), principal("shangdang/handian"), (403, "account.role_not_held")),
        ((CREATED, GRANTED), principal("shangdang"), (403, "account.role_not_held")),
        (
            (
                CREATED,
                GRANTED,
                recorded(
                    "account-wang-tietong",
                    3,
                    "RoleRevoked",
                    account_id="wang-tietong",
                    role="request_handler",
                    org=SUDIAN,
                ),
            ),
            principal(),
            (403, "account.role_not_held"),
        ),
        (
            (
                CREATED,
                GRANTED,
                recorded(
                    "account-wang-tietong",
                    3,
                    "AccountSuspended",
                    account_id="wang-tietong",
                    reason="离岗",
                ),
            ),
            principal(generation=5),
            (401, "account.suspended"),
        ),
        (
            (
                CREATED,
                GRANTED,
                recorded("account-wang-tietong", 3, "SessionsEnded", account_id="wang-tietong"),
            ),
            principal(),
            (401, "account.session_ended"),
        ),
    ],
    ids=[
        "empty",
        "unknown",
        "role",
        "other-township",
        "above-grant",
        "revoked",
        "suspended",
        "signed-out",
    ],
)
def test_the_book_refuses_what_the_account_does_not_back(
    events: tuple[RecordedEvent, ...], who: Principal, expected: tuple[int, str]
) -> None:
    assert rule_of(book_with(*events), who) == expected


def test_a_redelivered_event_is_applied_once() -> None:
    ended = recorded("account-wang-tietong", 3, "SessionsEnded", account_id="wang-tietong")
    book = book_with(CREATED, GRANTED, ended, ended, GRANTED)
    account = book.get("wang-tietong")
    assert account is not None and account.generation == 1 and account.version == 3


def test_a_service_token_needs_a_service_account() -> None:
    created = recorded(
        "account-svc-portal",
        1,
        "ServiceAccountCreated",
        account_id="svc-portal",
        display_name="门户",
        org="shangdang",
        scopes=[],
    )
    book = book_with(created)
    book.check(
        Principal(
            sub="svc-portal", org="shangdang", roles=frozenset({Role.SERVICE}), kind="service"
        )
    )
    person_token = Principal(sub="svc-portal", org="shangdang", roles=frozenset({Role.AUDITOR}))
    assert rule_of(book, person_token) == (401, "account.unknown")


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("Ab1!", "password.too_short"),
        ("abcdefgh1", "password.too_simple"),
        ("ABCDEFGH!", "password.too_simple"),
        ("Xwang-tietong1", "password.contains_username"),
        ("x" * 129, "password.too_long"),
    ],
)
def test_passwords_follow_the_level_three_rules(password: str, rule: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        passwords.check_rules(password, "wang-tietong")
    assert caught.value.rule == rule and caught.value.field == "new_password"
    assert "GB/T 22239-2019" in caught.value.message_zh


@pytest.mark.parametrize("password", ["Gk@1234demo", "abcdEF12", "abc-def-12", "ABC_def_gh"])
def test_three_of_four_classes_pass(password: str) -> None:
    passwords.check_rules(password, "wang-tietong")


def test_hashes_are_argon2id_and_the_history_is_checked() -> None:
    hashed = passwords.hash_password("Erst-Pass-2026")
    assert hashed.startswith("$argon2id$")
    assert passwords.verify(hashed, "Erst-Pass-2026") and not passwords.verify(hashed, "x")
    assert passwords.reused("Erst-Pass-2026", [hashed]) and not passwords.reused(
        "Neu-Pass-26", [hashed]
    )


def person(sub: str = "li-na") -> AccountState:
    return AccountState(id=sub, kind=AccountKind.PERSON, org=SUDIAN)


@pytest.mark.parametrize(
    ("manager", "role", "org", "level", "rule"),
    [
        (
            principal(SUDIAN, Role.TOWNSHIP_ADMINISTRATOR, sub="ma-jun"),
            Role.DRAFTER,
            "shangdang/handian",
            OrgLevel.TOWNSHIP,
            "org.outside_subtree",
        ),
        (
            principal(SUDIAN, Role.TOWNSHIP_ADMINISTRATOR, sub="ma-jun"),
            Role.DISTRICT_ADMINISTRATOR,
            "shangdang",
            OrgLevel.DISTRICT,
            "org.outside_subtree",
        ),
        (
            principal("shangdang", Role.DISTRICT_ADMINISTRATOR, sub="chen-gang"),
            Role.TOWNSHIP_ADMINISTRATOR,
            f"{SUDIAN}/party-office",
            OrgLevel.UNIT,
            "role.wrong_level",
        ),
        (
            principal("shangdang", Role.DISTRICT_ADMINISTRATOR, sub="chen-gang"),
            Role.SERVICE,
            SUDIAN,
            OrgLevel.TOWNSHIP,
            "role.service_only",
        ),
    ],
)
def test_grants_stay_in_the_managers_subtree_and_at_the_roles_level(
    manager: Principal, role: Role, org: str, level: OrgLevel, rule: str
) -> None:
    with pytest.raises((Forbidden, ValidationFailed)) as caught:
        domain.grant(person(), GrantRole(role=role, org=OrgPath(org)), manager, level)
    assert caught.value.rule == rule


def test_nobody_manages_their_own_account() -> None:
    with pytest.raises(Forbidden) as caught:
        domain.refuse_self(principal(SUDIAN, Role.TOWNSHIP_ADMINISTRATOR, sub="ma-jun"), "ma-jun")
    assert caught.value.rule == "account.self_management"


def logged(at: datetime, type_: str, **payload: Any) -> LoggedEvent:
    return LoggedEvent("account", type_, at, payload)


def test_who_could_act_as_attribute_officer_in_sudian_on_2026_03_01() -> None:
    """The auditor's question of issue #16, folded from the log: 王铁童 held the role from
    January; 刘洋 was granted it at noon of 1 March (local time) and 赵某 lost it the evening
    before; 李娜 held it only in 苏店镇财政所's sibling unit, which is not 苏店镇 as a whole."""
    jan, feb28_evening = datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 2, 28, 12, tzinfo=UTC)
    noon_mar1 = datetime(2026, 3, 1, 4, tzinfo=UTC)  # 12:00 in Asia/Shanghai
    events = [
        logged(
            jan,
            "PersonAccountCreated",
            account_id="wang-tietong",
            display_name="王铁童",
            org=SUDIAN,
        ),
        logged(jan, "RoleGranted", account_id="wang-tietong", role="attribute_officer", org=SUDIAN),
        logged(jan, "PersonAccountCreated", account_id="zhao-x", display_name="赵某", org=SUDIAN),
        logged(jan, "RoleGranted", account_id="zhao-x", role="attribute_officer", org=SUDIAN),
        logged(
            feb28_evening, "RoleRevoked", account_id="zhao-x", role="attribute_officer", org=SUDIAN
        ),
        logged(
            jan,
            "PersonAccountCreated",
            account_id="li-na",
            display_name="李娜",
            org=f"{SUDIAN}/party-office",
        ),
        logged(
            jan,
            "RoleGranted",
            account_id="li-na",
            role="attribute_officer",
            org=f"{SUDIAN}/party-office",
        ),
        logged(jan, "PersonAccountCreated", account_id="liu-yang", display_name="刘洋", org=SUDIAN),
        logged(
            noon_mar1, "RoleGranted", account_id="liu-yang", role="attribute_officer", org=SUDIAN
        ),
        logged(
            jan,
            "PersonAccountCreated",
            account_id="zhang-hua",
            display_name="张华",
            org="shangdang",
        ),
        logged(
            jan, "RoleGranted", account_id="zhang-hua", role="attribute_officer", org="shangdang"
        ),
        logged(jan, "AccountSuspended", account_id="zhang-hua", reason="离岗"),
    ]
    events.sort(key=lambda e: e.recorded_at)  # the log's order
    day_start = datetime(2026, 2, 28, 16, tzinfo=UTC)  # 2026-03-01 00:00 Asia/Shanghai
    day_end = day_start + timedelta(days=1) - timedelta(microseconds=1)
    on_the_day = could_act(events, Role.ATTRIBUTE_OFFICER, SUDIAN, day_start, day_end)
    assert [h.account_id for h in on_the_day] == ["liu-yang", "wang-tietong"]
    at_nine = datetime(2026, 3, 1, 1, tzinfo=UTC)
    assert [
        h.account_id for h in could_act(events, Role.ATTRIBUTE_OFFICER, SUDIAN, at_nine, at_nine)
    ] == ["wang-tietong"]
    before = datetime(2026, 2, 1, tzinfo=UTC)
    assert {
        h.account_id for h in could_act(events, Role.ATTRIBUTE_OFFICER, SUDIAN, before, before)
    } == {
        "wang-tietong",
        "zhao-x",
    }
