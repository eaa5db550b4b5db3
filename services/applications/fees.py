"""Fee arithmetic of 依申请公开 (条例 Art. 42; 国办函〔2020〕109号).

Pure functions. Both scales are marginal ("…的部分"), like income-tax bands:
- per request (按件计收): the k-th request of one applicant in a calendar month
  costs 0 for k ≤ 10, 100 元 for 11 ≤ k ≤ 30, and from the 31st each band of
  10 adds 100 元 (31–40: 200, 41–50: 300, …);
- per page (按量计收): pages ≤ 30 free; pages 31–100 cost 10 元 each, 101–200
  20 元 each, 201 and above 40 元 each.
An agency charges a request by one scale, never both (a FeeMode per notice).
"""

from __future__ import annotations

from datetime import date

FREE_REQUESTS_PER_MONTH = 10
FREE_PAGES = 30
PAGE_BANDS: tuple[tuple[int, int | None, int], ...] = (
    (31, 100, 10),
    (101, 200, 20),
    (201, None, 40),
)
PAYMENT_WINDOW_WORKING_DAYS = 20  # [local] default, DOMAIN.md §2


def per_request_fee(ordinal: int) -> int:
    """Fee in 元 for the `ordinal`-th request (1-based) of one applicant in one month."""
    if ordinal < 1:
        raise ValueError("ordinal starts at 1")
    if ordinal <= FREE_REQUESTS_PER_MONTH:
        return 0
    if ordinal <= 30:
        return 100
    return 100 * (2 + (ordinal - 31) // 10)


def per_page_fee(pages: int) -> int:
    """Fee in 元 for a reply of `pages` pages, by the marginal page bands."""
    if pages < 0:
        raise ValueError("pages cannot be negative")
    total = 0
    for low, high, price in PAGE_BANDS:
        top = pages if high is None else min(pages, high)
        if top >= low:
            total += (top - low + 1) * price
    return total


def monthly_total(requests_in_month: int) -> int:
    """What one applicant's `requests_in_month` requests cost in total (per-request scale)."""
    return sum(per_request_fee(k) for k in range(1, requests_in_month + 1))


def same_month(a: date, b: date) -> bool:
    return (a.year, a.month) == (b.year, b.month)
