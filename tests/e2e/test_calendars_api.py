"""Operators publish a year's working-day calendar; deadlines in it stop being provisional.

DOMAIN.md §6: the package covers years up to 2026; 2027 is provisional until an
operator publishes the 国务院办公厅 schedule (ARCHITECTURE.md "Time and working days").
"""

from __future__ import annotations

from typing import Any

from shared.identity import Role
from tests.e2e.conftest import SuiteHandle

#: A test schedule for 2027 (the real one is announced around November 2026).
CALENDAR_2027: dict[str, Any] = {
    "year": 2027,
    "holidays": [
        "2027-01-01",
        "2027-02-08",
        "2027-02-09",
        "2027-02-10",
        "2027-02-11",
        "2027-02-12",
    ],
    "makeup_workdays": ["2027-02-06"],
    "source": "operator: 国务院办公厅关于2027年部分节假日安排的通知 (test copy)",
    "version": 1,
}


def due(suite: SuiteHandle, token: str, start: str, days: int) -> dict[str, Any]:
    with suite.client(token, platform=True) as c:
        response = c.get("/v1/calendars/due", params={"from": start, "days": days})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_publishing_2027_makes_its_deadlines_final_and_can_move_them__domain_s6(
    suite: SuiteHandle,
) -> None:
    admin = suite.token("chen-gang", "shangdang", Role.ADMINISTRATOR)
    before = due(suite, admin, "2027-02-01", 10)
    assert before["provisional"] is True
    assert before["text"] == "2027-02-15 provisional"

    with suite.client(admin, platform=True) as c:
        published = c.post("/v1/calendars", json=CALENDAR_2027)
        assert published.status_code == 201, published.text
        again = c.post("/v1/calendars", json=CALENDAR_2027)
    assert again.status_code == 422 and again.json()["rule"] == "calendar.version_not_next"

    after = suite.eventually(
        lambda: (d := due(suite, admin, "2027-02-01", 10)) and not d["provisional"] and d
    )
    # 2/2..2/5 (4), Sat 2/6 make-up (5), 2/8–12 off, 2/15..2/19 (10).
    assert after["due"] == "2027-02-19"
    assert after["text"] == "2027-02-19"
    assert any("test copy" in y[1] for y in after["years"])


def test_only_administrators_publish_calendars(suite: SuiteHandle) -> None:
    handler = suite.token("wang-tietong", "shangdang/sudian", Role.REQUEST_HANDLER)
    with suite.client(handler, platform=True) as c:
        refused = c.post(
            "/v1/calendars",
            json={**CALENDAR_2027, "year": 2028, "holidays": [], "makeup_workdays": []},
        )
    assert refused.status_code == 403
    assert refused.json()["rule"] == "role.missing"


def test_a_malformed_calendar_is_refused_naming_the_field(suite: SuiteHandle) -> None:
    admin = suite.token("chen-gang", "shangdang", Role.ADMINISTRATOR)
    bad = {**CALENDAR_2027, "year": 2029, "holidays": ["2030-01-01"], "makeup_workdays": []}
    with suite.client(admin, platform=True) as c:
        refused = c.post("/v1/calendars", json=bad)
    assert refused.status_code == 422
    assert refused.json()["rule"] == "calendar.date_outside_year"


def test_a_calendar_for_a_year_outside_2000_to_2099_is_refused__issue21(
    suite: SuiteHandle,
) -> None:
    admin = suite.token("chen-gang", "shangdang", Role.ADMINISTRATOR)
    with suite.client(admin, platform=True) as c:
        for year in (1, 2100):
            refused = c.post(
                "/v1/calendars",
                json={**CALENDAR_2027, "year": year, "holidays": [], "makeup_workdays": []},
            )
            assert refused.status_code == 422
            assert (refused.json()["rule"], refused.json()["field"]) == (
                "calendar.year_out_of_range",
                "year",
            )


def test_a_retried_publication_with_its_idempotency_key_gets_the_stored_answer(
    suite: SuiteHandle,
) -> None:
    admin = suite.token("chen-gang", "shangdang", Role.ADMINISTRATOR)
    calendar = {**CALENDAR_2027, "year": 2030, "holidays": [], "makeup_workdays": []}
    headers = {"Idempotency-Key": "publish-2030-v1"}
    with suite.client(admin, platform=True) as c:
        first = c.post("/v1/calendars", json=calendar, headers=headers)
        retried = c.post("/v1/calendars", json=calendar, headers=headers)
        unkeyed = c.post("/v1/calendars", json=calendar)
    assert first.status_code == 201, first.text
    assert (retried.status_code, retried.json()) == (201, first.json())
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert unkeyed.json()["rule"] == "calendar.version_not_next"
