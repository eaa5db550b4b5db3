"""The portal's pure parts: the openness guide file (条例 Art. 12), search highlighting and
paging, HTTP validators (RFC 9110 §13: ETag, Last-Modified, 304), the 留言 form's checks,
and a message's status in plain words."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from services.portal import guide, shape

ROOT = Path(__file__).parents[2]
ORGS = ["shangdang", "shangdang/sudian"]


def test_every_organ_of_the_demo_district_has_a_guide_with_office_address_hours_phone__art12() -> (
    None
):
    from shared.tenancy import load_org_tree

    tree = load_org_tree(ROOT / "deploy" / "demo" / "district.yaml")
    organs = [str(tree.district.path), *(str(t.path) for t in tree.townships())]
    guides = guide.load(ROOT / "deploy" / "demo" / "portal-guide.yaml", organs)
    sudian = guides["shangdang/sudian"]
    assert sudian.office == "苏店镇人民政府党政办公室"
    assert sudian.hours.startswith("工作日") and sudian.phone.startswith("0355-")
    assert any("当面申请" in way for way in sudian.how_to_apply)  # defaults laid under


def test_a_guide_missing_for_an_organ_or_missing_its_phone_stops_the_portal_naming_it() -> None:
    data = yaml.safe_load((ROOT / "deploy" / "demo" / "portal-guide.yaml").read_text("utf-8"))
    with pytest.raises(guide.GuideInvalid, match="shangdang/nowhere"):
        guide.parse(data, [*ORGS, "shangdang/nowhere"])
    del data["guides"]["shangdang/sudian"]["phone"]
    with pytest.raises(guide.GuideInvalid, match="咨询电话"):
        guide.parse(data, ORGS)


def test_every_organ_shows_its_openness_rules_and_a_rule_without_points_stops_the_portal() -> None:
    data = yaml.safe_load((ROOT / "deploy" / "demo" / "portal-guide.yaml").read_text("utf-8"))
    rules = guide.parse(data, ORGS)["shangdang/sudian"].rules
    assert rules[0].title == "政府信息发布审核制度（“三审三校”）" and rules[0].points
    data["guides"]["shangdang/sudian"]["rules"] = [{"title": "保密审查制度", "adopted": "x"}]
    with pytest.raises(guide.GuideInvalid, match=r"shangdang/sudian\.rules\[1\]\.adopted"):
        guide.parse(data, ORGS)
    data["guides"]["shangdang/sudian"]["rules"] = []
    with pytest.raises(guide.GuideInvalid, match="政府信息公开制度"):
        guide.parse(data, ORGS)


def test_a_year_filter_is_the_beijing_calendar_year_in_stored_utc_instants() -> None:
    from services.catalog.search import year_bounds

    # 00:30 on 1 January 2026 in Beijing is 16:30 UTC on 31 December 2025: the new year.
    assert year_bounds(2026) == ("2025-12-31T16:00:00+00:00", "2026-12-31T16:00:00+00:00")
    assert year_bounds(2026)[0] <= "2025-12-31T16:30:00.000001+00:00" < year_bounds(2026)[1]


def test_search_hits_are_marked_and_the_rest_escaped() -> None:
    marked = shape.highlight("关于<低保>资金发放的通知：低保标准", ["低保", "资金"])
    assert str(marked) == (
        "关于&lt;<mark>低保</mark>&gt;<mark>资金</mark>发放的通知：<mark>低保</mark>标准"
    )
    assert str(shape.highlight("<b>", [])) == "&lt;b&gt;"


def test_paging_clamps_the_page_and_says_when_the_catalog_capped_its_answer() -> None:
    assert shape.page_of(25, 9) == shape.Paging(page=3, pages=3, capped=False)
    assert shape.page_of(0, 0) == shape.Paging(page=1, pages=1, capped=False)
    assert shape.page_of(100, 1).capped


def test_conditional_requests_get_304_when_the_copy_is_current__rfc9110_13() -> None:
    etag = shape.etag_of(b"<html>")
    changed = datetime(2026, 12, 6, 5, 30, tzinfo=UTC)
    assert shape.not_modified({"if-none-match": etag}, etag, None)
    assert shape.not_modified({"if-none-match": f'"x", W/{etag}'}, etag, None)
    assert not shape.not_modified({"if-none-match": '"other"'}, etag, changed)
    since = shape.http_date(changed)
    assert since == "Sun, 06 Dec 2026 05:30:00 GMT"
    assert shape.not_modified({"if-modified-since": since}, etag, changed)
    # If-None-Match wins over If-Modified-Since (§13.2.2).
    assert not shape.not_modified(
        {"if-none-match": '"other"', "if-modified-since": since}, etag, changed
    )
    assert not shape.not_modified({"if-modified-since": "yesterday"}, etag, changed)


def test_gzip_is_sent_only_where_accepted_and_is_the_same_bytes_each_time__rfc9110_12_5_3() -> None:
    assert shape.accepts_gzip({"accept-encoding": "gzip, deflate, br"})
    assert shape.accepts_gzip({"accept-encoding": "br;q=1.0, gzip;q=0.8"})
    assert shape.accepts_gzip({"accept-encoding": "*"})
    assert not shape.accepts_gzip({"accept-encoding": "gzip;q=0"})
    assert not shape.accepts_gzip({"accept-encoding": "identity"})
    assert not shape.accepts_gzip({})
    page = ("<p>苏店镇政府信息公开专栏</p>" * 200).encode()
    packed = shape.gzipped(page)
    assert gzip.decompress(packed) == page and len(packed) < len(page) // 10
    assert shape.gzipped(bytes(page)) == packed  # no timestamp: the ETag holds
    etag = shape.etag_of(page)
    assert shape.gzip_etag(etag) != etag and shape.gzip_etag(etag).endswith('-gz"')


def test_message_form_names_each_field_and_what_to_do() -> None:
    errors = shape.check_message({"org": "", "text": "  ", "phone": "call me"}, ORGS)
    assert errors == {
        "org": "请选择留言对象（区政府或一个镇）",
        "text": "请填写留言内容",
        "phone": "联系电话只能填数字（可含“-”），例如 0355-7000100 或 13800000000",
    }
    long = shape.check_message({"org": ORGS[1], "text": "路" * 5001}, ORGS)
    assert long == {"text": "留言内容最多5000字，现有5001字，请删减"}
    assert shape.check_message({"org": ORGS[1], "text": "路灯坏了"}, ORGS) == {}


def test_every_case_status_reads_as_plain_words_with_what_happens_next() -> None:
    from services.sentiment.public_api import OPEN311_STATUS

    for status in OPEN311_STATUS:
        words, next_step = shape.status_words(status)
        assert words and next_step
    assert shape.status_words(None)[0] == "已受理"


def test_a_tracking_code_is_shown_in_groups_of_four_and_read_back_without_spaces() -> None:
    assert shape.blocks("LbDPzbnArQ4OTSRK") == "LbDP zbnA rQ4O TSRK"
    assert shape.unblock(" LbDP zbnA  rQ4O TSRK\n") == "LbDPzbnArQ4OTSRK"
