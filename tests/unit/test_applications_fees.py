"""Fee arithmetic (条例 Art. 42; 国办函〔2020〕109号): fixed cases and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.applications import fees


@pytest.mark.parametrize(
    ("ordinal", "fee"),
    [(1, 0), (10, 0), (11, 100), (30, 100), (31, 200), (40, 200), (41, 300), (50, 300), (51, 400)],
)
def test_per_request_bands_of_the_month__109(ordinal: int, fee: int) -> None:
    assert fees.per_request_fee(ordinal) == fee


@pytest.mark.parametrize(
    ("pages", "fee"),
    [(0, 0), (30, 0), (31, 10), (100, 700), (101, 720), (200, 2700), (201, 2740), (250, 4700)],
)
def test_per_page_bands_are_marginal__109(pages: int, fee: int) -> None:
    assert fees.per_page_fee(pages) == fee


def test_a_month_of_thirty_five_requests_costs_3000_yuan__109() -> None:
    # 10 free, 20 × 100, 5 × 200.
    assert fees.monthly_total(35) == 3000


@given(st.integers(min_value=1, max_value=2000))
def test_per_request_fee_never_decreases_and_steps_by_100__109(k: int) -> None:
    a, b = fees.per_request_fee(k), fees.per_request_fee(k + 1)
    assert b - a in (0, 100)
    assert a % 100 == 0


@given(st.integers(min_value=0, max_value=100_000))
def test_per_page_fee_increments_by_the_band_price_of_the_next_page__109(pages: int) -> None:
    step = fees.per_page_fee(pages + 1) - fees.per_page_fee(pages)
    nxt = pages + 1
    expected = 0 if nxt <= 30 else 10 if nxt <= 100 else 20 if nxt <= 200 else 40
    assert step == expected


@given(st.integers(min_value=0, max_value=500), st.integers(min_value=0, max_value=500))
def test_monthly_totals_add_up_across_the_month__109(a: int, b: int) -> None:
    total = fees.monthly_total(a + b)
    assert total == fees.monthly_total(a) + sum(
        fees.per_request_fee(k) for k in range(a + 1, a + b + 1)
    )
    assert total >= 0


def test_invalid_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        fees.per_request_fee(0)
    with pytest.raises(ValueError):
        fees.per_page_fee(-1)
