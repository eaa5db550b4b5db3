"""The portal's flood gate and the online application's secrets, pure (issue #18; decisions
111–113): the sliding window, the client address behind trusted proxies, the Chinese
sum and its token, the tracking code and query password hashes, Art. 29 checks."""

from __future__ import annotations

import pytest

from services.applications import online
from services.applications.commands import SubmitOnlineRequest
from services.portal.guard import Guard, cn_number, parse_answer
from shared.errors import ValidationFailed
from shared.floodgate import SlidingWindow, client_address, networks


def test_the_window_allows_the_limit_then_says_how_long_to_wait() -> None:
    w = SlidingWindow(limit=3, window=600)
    assert [w.hit("a", t) for t in (0, 1, 2)] == [None, None, None]
    assert w.hit("a", 3) == pytest.approx(597)
    assert w.hit("b", 3) is None  # another address has its own window
    assert w.hit("a", 600.5) is None  # the first hit slid out


def test_the_window_forgets_the_least_recent_addresses_past_its_size() -> None:
    w = SlidingWindow(limit=1, window=600, max_keys=2)
    w.hit("a", 0), w.hit("b", 0), w.hit("c", 0)
    assert w.hit("a", 1) is None  # forgotten, so counted afresh


def test_forwarded_for_is_believed_only_from_a_trusted_proxy() -> None:
    trusted = networks("127.0.0.1, 10.0.0.0/8")
    assert client_address("203.0.113.9", "1.2.3.4", trusted) == "203.0.113.9"
    assert client_address("127.0.0.1", "1.2.3.4", trusted) == "1.2.3.4"
    # the client wrote the left-most hop itself; the right-most untrusted one is the visitor
    assert client_address("10.1.1.1", "6.6.6.6, 198.51.100.7, 10.2.2.2", trusted) == "198.51.100.7"
    assert client_address("127.0.0.1", None, trusted) == "127.0.0.1"
    assert client_address("127.0.0.1", "1.2.3.4", ()) == "127.0.0.1"


def test_the_sum_is_read_in_any_numerals() -> None:
    assert [cn_number(n) for n in (3, 10, 13, 18, 20)] == ["三", "十", "十三", "十八", "二十"]
    assert parse_answer("8") == parse_answer("８") == parse_answer("八") == 8
    assert parse_answer(" 十三 ") == 13 and parse_answer("abc") is None


def test_a_form_token_is_good_once_for_its_form_and_its_answer_only() -> None:
    now = [1_000_000.0]
    guard = Guard(secret=b"k", clock=lambda: now[0])
    c = guard.challenge("apply")
    a, b = (parse_answer(x) for x in c.question.removesuffix("等于几？").split("加"))
    assert a is not None and b is not None
    assert "答案不对" in guard.check("apply", c.token, str(a + b + 1))
    assert "失效" in guard.check("message", c.token, str(a + b))  # another form's token
    forged = c.token[:-1] + ("1" if c.token.endswith("0") else "0")
    assert "失效" in guard.check("apply", forged, str(a + b))
    assert guard.check("apply", c.token, str(a + b)) == ""
    assert "已经提交过" in guard.check("apply", c.token, str(a + b))
    late = guard.challenge("apply")
    now[0] += 2 * 3600 + 1
    assert "超过2小时" in guard.check("apply", late.token, "0")


def test_the_password_is_hashed_with_salt_and_checked_in_constant_time__d_portal_1() -> None:
    stored = online.hash_password("12345678")
    assert "12345678" not in stored and stored != online.hash_password("12345678")
    assert online.verify_password("1234 5678", stored)
    assert not online.verify_password("12345679", stored)
    assert not online.verify_password("12345678", None)  # unknown code: same work, no
    assert online.hash_code("abcd efgh jkmn") == online.hash_code("ABCDEFGHJKMN")
    code = online.new_tracking_code()
    assert len(code) == 12 and not set(code) & set("01OIL")


def _submission(**applicant: str) -> SubmitOnlineRequest:
    person = {
        "kind": "natural_person",
        "name": "李建国",
        "id_document": "居民身份证 140402196505123456",
        "phone": "13803551234",
        **applicant,
    }
    return SubmitOnlineRequest.model_validate(
        {
            "tenant": "shangdang/sudian",
            "applicant": person,
            "description": "2025年苏店村集体土地征收补偿标准",
            "requested_form": "paper",
            "delivery_channel": "post",
        }
    )


def test_post_needs_an_address_and_an_organization_its_kind__art29() -> None:
    with pytest.raises(ValidationFailed) as refused:
        online.check(_submission())
    assert refused.value.field == "applicant.address"
    with pytest.raises(ValidationFailed) as refused:
        online.check(_submission(kind="organization", address="苏店村"))
    assert refused.value.field == "applicant.organization_kind"
    online.check(_submission(address="长治市上党区苏店镇苏店村东街12号"))
