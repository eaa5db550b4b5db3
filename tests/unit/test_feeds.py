"""Atom 1.0 (RFC 4287) and JSON Feed 1.1 from one list of entries (shared/feeds.py): the
rules a feed reader relies on — an author on the feed, absolute links, escaped text, and a
JSON item that always has content (issue #18: feeds per column, per township, per gazette)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import orjson

from shared import feeds

ATOM = "{http://www.w3.org/2005/Atom}"


def feed(*entries: feeds.Entry) -> feeds.Feed:
    return feeds.Feed(
        id="urn:gongkai:portal:shangdang/sudian:livelihood",
        title="民生 · 苏店镇",
        home_url="https://gk.example/gk/sudian/column/livelihood",
        atom_url="https://gk.example/gk/sudian/column/livelihood/feed.atom",
        json_url="https://gk.example/gk/sudian/column/livelihood/feed.json",
        entries=entries,
        author="苏店镇",
        empty_updated="2026-12-07T00:00:00+00:00",
    )


ENTRY = feeds.Entry(
    id="urn:uuid:0b0d",
    url="https://gk.example/gk/doc/0b0d",
    title="关于<供暖>安全检查的通知 & 附件",
    published="2026-12-01T02:00:00+00:00",
    updated="2026-12-03T02:00:00+00:00",
    tags=("notice", "livelihood"),
)


def test_an_atom_feed_names_its_organ_links_absolutely_and_escapes_titles__rfc4287() -> None:
    root = ET.fromstring(feeds.atom(feed(ENTRY)))
    assert root.findtext(f"{ATOM}title") == "民生 · 苏店镇"
    assert root.findtext(f"{ATOM}author/{ATOM}name") == "苏店镇"  # §4.1.1: author required
    assert root.findtext(f"{ATOM}updated") == "2026-12-03T02:00:00+00:00"  # newest entry
    rels = {a.get("rel"): a.get("href") for a in root.iter(f"{ATOM}link")}
    assert rels["self"].endswith("/feed.atom") and rels["self"].startswith("https://")
    (entry,) = root.iter(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == "关于<供暖>安全检查的通知 & 附件"
    assert [c.get("term") for c in entry.iter(f"{ATOM}category")] == ["notice", "livelihood"]


def test_an_empty_feed_is_still_a_valid_feed_with_its_own_date() -> None:
    root = ET.fromstring(feeds.atom(feed()))
    assert root.findtext(f"{ATOM}updated") == "2026-12-07T00:00:00+00:00"
    assert list(root.iter(f"{ATOM}entry")) == []


def test_every_json_feed_item_has_content_even_without_a_body__jsonfeed_1_1() -> None:
    body = orjson.loads(feeds.json_feed(feed(ENTRY)))
    assert body["version"] == "https://jsonfeed.org/version/1.1"
    assert body["feed_url"].endswith("/feed.json") and body["authors"] == [{"name": "苏店镇"}]
    (item,) = body["items"]
    assert item["content_text"] == ENTRY.title and item["url"].startswith("https://")
