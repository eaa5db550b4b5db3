"""Same-issue grouping, the hotspot window and bulk-import parsing: pure, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from hypothesis import given
from hypothesis import strategies as st

from services.sentiment.grouping import Candidate, best_match, signature, similarity
from services.sentiment.hotspots import HotspotRules, Observation, detect
from services.sentiment.importer import ParsedRow, RowError, parse_csv, parse_jsonl

NOISE = "幸福小区东侧工地每天晚上十一点以后还在施工，噪音非常大，严重影响居民休息，多次投诉无人管"
REPOST = NOISE + "！！请尽快处理"
OTHER = "公司拖欠农民工工资半年，几十名工人讨薪无果"


def test_repost_of_a_message_is_the_same_issue() -> None:
    assert similarity(signature(NOISE), signature(REPOST)) >= 0.6
    assert similarity(signature(NOISE), signature(OTHER)) < 0.1


def test_best_match_picks_the_most_similar_case_above_the_threshold() -> None:
    cases = [Candidate("wages", signature(OTHER)), Candidate("noise", signature(NOISE))]
    match = best_match(signature(REPOST), cases)
    assert match is not None and match[0] == "noise"
    assert best_match(signature("村里的路灯坏了很久"), cases) is None


@given(st.text(alphabet="路灯坏了工地噪音拖欠工资学校医院", min_size=3, max_size=60))
def test_similarity_of_a_text_with_itself_is_one(text: str) -> None:
    assert similarity(signature(text), signature(text)) == 1.0


NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def obs(
    n: int,
    *,
    township: str = "shangdang/sudian",
    category: str = "环境保护",
    neg: float = 0.0,
    age: timedelta = timedelta(hours=1),
) -> list[Observation]:
    return [Observation(township, category, NOW - age, neg) for _ in range(n)]


def test_count_threshold_in_the_window_makes_a_hotspot() -> None:
    (spot,) = detect(obs(5), NOW)
    assert spot.crossed == ("count",) and spot.message_count == 5
    assert detect(obs(4), NOW) == []


def test_negative_intensity_threshold_makes_a_hotspot_with_fewer_messages() -> None:
    (spot,) = detect(obs(4, neg=0.8), NOW)
    assert spot.crossed == ("negative_intensity",)
    assert spot.negative_intensity == 3.2


def test_messages_outside_the_window_do_not_count() -> None:
    assert detect(obs(3) + obs(5, age=timedelta(hours=25)), NOW) == []


def test_townships_and_topics_are_counted_apart() -> None:
    mixed = obs(3) + obs(3, township="shangdang/xihuo") + obs(3, category="交通运输")
    assert detect(mixed, NOW) == []


@given(st.integers(min_value=0, max_value=40), st.integers(min_value=1, max_value=20))
def test_hotspot_iff_count_reaches_the_threshold(n: int, threshold: int) -> None:
    rules = HotspotRules(count_threshold=threshold, negative_threshold=1e9)
    assert bool(detect(obs(n), NOW, rules)) == (n >= threshold)


def test_same_window_gives_the_same_bucket_so_it_is_announced_once() -> None:
    (a,) = detect(obs(5), NOW)
    (b,) = detect(obs(5), NOW + timedelta(minutes=10))
    assert a.bucket == b.bucket


def test_jsonl_rows_report_bad_lines_and_keep_the_rest() -> None:
    body = b"\n".join(
        [
            orjson.dumps({"source": "hotline", "text": "咨询医保", "citizen_phone": "139"}),
            b"{broken",
            b"[1, 2]",
            b"",
            orjson.dumps({"source": "mailbox", "text": "路灯坏了", "colour": "red"}),
            orjson.dumps({"source": "mailbox", "text": "公交太挤"}),
        ]
    )
    rows = parse_jsonl(body)
    assert [(r.line, type(r).__name__) for r in rows] == [
        (1, "ParsedRow"),
        (2, "RowError"),
        (3, "RowError"),
        (5, "RowError"),
        (6, "ParsedRow"),
    ]
    first = rows[0]
    assert isinstance(first, ParsedRow) and first.command.citizen is not None
    assert [r.rule for r in rows if isinstance(r, RowError)] == [
        "import.json_malformed",
        "import.json_not_object",
        "import.unknown_field",
    ]


def test_csv_line_numbers_count_quoted_newlines() -> None:
    body = ('source,text\nmailbox,"第一行\n第二行"\nmailbox,ok,extra\nhotline,咨询社保\n').encode()
    rows = parse_csv(body)
    assert [(r.line, isinstance(r, ParsedRow)) for r in rows] == [
        (3, True),
        (4, False),
        (5, True),
    ]


def test_csv_that_is_not_utf8_is_one_clear_error() -> None:
    (row,) = parse_csv("source,text\nmailbox,路灯\n".encode("gbk"))
    assert isinstance(row, RowError) and row.rule == "import.encoding"


def test_error_messages_never_quote_the_text() -> None:
    secret = "王秀英 13812345678"
    rows = parse_jsonl(orjson.dumps({"source": "mailbox", "text": secret, "received_at": "x"}))
    (row,) = rows
    assert isinstance(row, RowError)
    assert secret not in row.message_en and secret not in row.message_zh
