"""The live scoreboard page's pure parts (services/assessment/board.py; issue #7).

Every piece of data text is escaped (township names, indicator names, titles, case keys);
the view cookie's token reads the board only: it is not a bearer token, it expires within
the hour and never outlives the bearer token it was exchanged for; the redirect after
sign-in stays on the board.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.assessment import board
from shared.errors import Unauthenticated
from shared.identity import Principal, Role, issue_token, verify_token

SECRET = "s" * 48
NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
EVIL = "<script>alert(1)</script>\"'&"
PRINCIPAL = Principal(
    sub="li-qiang", org="shangdang", roles=frozenset({Role.DISTRICT_ASSESSOR}), kind="user"
)


def board_data() -> dict[str, Any]:
    return {
        "scheme_id": f"2026:township:{EVIL}",
        "title": EVIL,
        "pass_line": 60.0,
        "owner": "shangdang",
        "items": [
            {
                "rank": 1,
                "subject": f"shangdang/{EVIL}",
                "name": EVIL,
                "total": 100.0,
                "bonus": 0.0,
                "passed": True,
                "vetoed": [],
            }
        ],
    }


def test_the_board_page_escapes_every_data_text() -> None:
    page = board.board_page(board_data(), board.board_query(2026, "township", EVIL), 7, NOW)
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\"'&" not in page
    assert 'data-after="7"' in page
    assert f'src="{board.BOARD_PATH}/board.js"' in page  # the only script, same origin


def test_the_breakdown_page_escapes_indicator_names_and_cases() -> None:
    card = {
        "scheme_id": "2026:township:shangdang",
        "total": 98.0,
        "bonus": 0.0,
        "passed": True,
        "vetoed": [EVIL],
        "lines": [
            {
                "key": "training",
                "name": EVIL,
                "kind": "indicator",
                "weight": 5.0,
                "points": 3.0,
                "raw": 2.0,
                "cases": [{"signal": EVIL, "case": EVIL, "event_ids": [EVIL]}],
            }
        ],
    }
    events = {EVIL: {"event_type": EVIL, "on": "2026-03-02"}}
    page = board.breakdown_page(card, EVIL, board.board_query(2026, "township", "x"), events)
    assert "<script>alert" not in page and page.count("&lt;script&gt;") >= 6


def test_the_script_writes_data_only_as_text() -> None:
    assert "innerHTML" not in board.SCRIPT and "textContent" in board.SCRIPT
    assert "script-src 'self'" in board.CSP and "unsafe-inline" not in board.CSP.split(";")[1]


def test_a_view_token_reads_as_its_principal_and_is_no_bearer_token() -> None:
    far = int((NOW + timedelta(days=1)).timestamp())
    view = board.issue_view_token(PRINCIPAL, SECRET, NOW, far)
    back = board.verify_view_token(view, SECRET, NOW + timedelta(minutes=59))
    assert (back.sub, str(back.org), back.roles) == ("li-qiang", "shangdang", PRINCIPAL.roles)
    with pytest.raises(Unauthenticated):
        verify_token(view, SECRET, NOW)
    bearer = issue_token(PRINCIPAL, SECRET, timedelta(hours=8), NOW)
    with pytest.raises(Unauthenticated) as err:
        board.verify_view_token(bearer, SECRET, NOW)
    assert err.value.rule == "board.session_invalid" and err.value.field == "cookie gk_board"


def test_a_view_token_expires_within_the_hour_and_with_its_bearer_token() -> None:
    far = int((NOW + timedelta(days=1)).timestamp())
    view = board.issue_view_token(PRINCIPAL, SECRET, NOW, far)
    with pytest.raises(Unauthenticated) as err:
        board.verify_view_token(view, SECRET, NOW + board.VIEW_TTL)
    assert err.value.rule == "board.session_expired"
    soon = int((NOW + timedelta(minutes=5)).timestamp())
    short = board.issue_view_token(PRINCIPAL, SECRET, NOW, soon)
    with pytest.raises(Unauthenticated):
        board.verify_view_token(short, SECRET, NOW + timedelta(minutes=6))
    with pytest.raises(Unauthenticated):
        board.verify_view_token(view, "t" * 48, NOW)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/v1/assessment/board?year=2026", "/v1/assessment/board?year=2026"),
        ("/v1/assessment/board/subject?subject=a", "/v1/assessment/board/subject?subject=a"),
        ("https://evil.example/", "/v1/assessment/board"),
        ("/v1/assessment/board//evil.example", "/v1/assessment/board"),
        ("/v1/assessment/tasks", "/v1/assessment/board"),
        (None, "/v1/assessment/board"),
    ],
)
def test_after_sign_in_only_a_board_page_is_a_redirect_target(
    target: str | None, expected: str
) -> None:
    assert board.safe_next(target) == expected
