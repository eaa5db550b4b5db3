"""Atom 1.0 (RFC 4287) and JSON Feed 1.1 documents from one list of entries.

The catalog's API feeds (links to its JSON) and the portal's (links to its pages) are the
same documents with different addresses; both build them here. Pure: the caller gives
absolute URLs (a feed is read elsewhere, so a relative link would be useless) and Chinese
titles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import orjson

ATOM_TYPE = "application/atom+xml; charset=utf-8"
JSON_TYPE = "application/feed+json; charset=utf-8"


@dataclass(frozen=True)
class Entry:
    id: str
    url: str
    title: str
    published: str
    updated: str
    author: str = ""
    summary: str = ""
    content: str = ""
    tags: tuple[str, ...] = ()
    #: JSON Feed's `_gongkai` extension (RFC-free: JSON Feed allows `_`-prefixed keys).
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Feed:
    id: str
    title: str
    home_url: str
    atom_url: str
    json_url: str
    entries: Sequence[Entry]
    #: The organ that publishes it: Atom wants an author on the feed or on every entry.
    author: str = ""
    #: When the feed has no entry: Atom requires <updated> all the same.
    empty_updated: str = ""

    @property
    def updated(self) -> str:
        return max((e.updated for e in self.entries), default=self.empty_updated)


def atom(feed: Feed) -> str:
    def entry(e: Entry) -> str:
        parts = [
            f"<id>{escape(e.id)}</id>",
            f"<title>{escape(e.title)}</title>",
            f"<link href={quoteattr(e.url)}/>",
            f"<published>{escape(e.published)}</published>",
            f"<updated>{escape(e.updated)}</updated>",
        ]
        if e.author:
            parts.append(f"<author><name>{escape(e.author)}</name></author>")
        parts += [f"<category term={quoteattr(t)}/>" for t in e.tags]
        if e.summary:
            parts.append(f"<summary>{escape(e.summary)}</summary>")
        if e.content:
            parts.append(f'<content type="text">{escape(e.content)}</content>')
        return "<entry>" + "".join(parts) + "</entry>"

    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="zh-CN">'
        f"<id>{escape(feed.id)}</id>"
        f"<title>{escape(feed.title)}</title>"
        f"<updated>{escape(feed.updated)}</updated>"
        + (f"<author><name>{escape(feed.author)}</name></author>" if feed.author else "")
        + f'<link rel="self" href={quoteattr(feed.atom_url)}/>'
        f'<link rel="alternate" href={quoteattr(feed.home_url)}/>'
        + "".join(entry(e) for e in feed.entries)
        + "</feed>"
    )


def json_feed(feed: Feed) -> bytes:
    def item(e: Entry) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": e.id,
            "url": e.url,
            "title": e.title,
            "date_published": e.published,
            "date_modified": e.updated,
        }
        # JSON Feed 1.1: every item has content_html or content_text.
        body["content_text"] = e.content or e.summary or e.title
        if e.summary:
            body["summary"] = e.summary
        if e.author:
            body["authors"] = [{"name": e.author}]
        if e.tags:
            body["tags"] = list(e.tags)
        if e.extra:
            body["_gongkai"] = dict(e.extra)
        return body

    return orjson.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": feed.title,
            "home_page_url": feed.home_url,
            "feed_url": feed.json_url,
            "language": "zh-CN",
            **({"authors": [{"name": feed.author}]} if feed.author else {}),
            "items": [item(e) for e in feed.entries],
        }
    )
