"""The portal's pure parts: search highlighting and paging, HTTP validators (ETag,
Last-Modified, 304), the 留言 form's checks, and a message's status in plain words."""

from __future__ import annotations

import functools
import gzip
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from markupsafe import Markup, escape

#: Search results per page; the catalog's /search returns at most 100 (so 10 pages).
PAGE_SIZE = 10
SEARCH_MAX = 100
#: 留言: the sentiment service's limits (ReceiveMessage), checked here first so the
#: citizen's error names the field in the form's own words.
TITLE_MAX = 200
TEXT_MAX = 5000
NAME_MAX = 100
PHONE_MAX = 30


def highlight(text: str, terms: Sequence[str]) -> Markup:
    """`text` escaped, every occurrence of a term wrapped in <mark> (longest first)."""
    wanted = sorted({t for t in terms if t.strip()}, key=len, reverse=True)
    if not wanted:
        return escape(text)
    pattern = re.compile("|".join(re.escape(t) for t in wanted), re.IGNORECASE)
    out, at = [], 0
    for match in pattern.finditer(text):
        out.append(escape(text[at : match.start()]))
        out.append(Markup("<mark>%s</mark>") % match.group(0))
        at = match.end()
    out.append(escape(text[at:]))
    return Markup("").join(out)


@dataclass(frozen=True)
class Paging:
    page: int
    pages: int
    #: True when the catalog had more hits than it returns (SEARCH_MAX): say so.
    capped: bool


def page_of(total: int, page: int, size: int = PAGE_SIZE) -> Paging:
    pages = max(1, -(-total // size))
    return Paging(min(max(page, 1), pages), pages, total >= SEARCH_MAX)


def blocks(code: str, size: int = 4) -> str:
    """A tracking code in groups of four, easier to copy by hand: LbDP zbnA rQ4O TSRK."""
    return " ".join(code[i : i + size] for i in range(0, len(code), size))


def unblock(typed: str) -> str:
    """What a citizen typed back: spaces (the groups, or a slip) do not count."""
    return "".join(typed.split())


# --- HTTP validators (RFC 9110 §8.8, §13) ---------------------------------------------------


def etag_of(body: bytes) -> str:
    """A strong validator of the exact bytes sent."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


#: Pages smaller than this go as they are: gzip's header costs more than it saves.
GZIP_FROM = 1024


def accepts_gzip(headers: Mapping[str, str]) -> bool:
    """Whether `Accept-Encoding` allows gzip (RFC 9110 §12.5.3: `gzip;q=0` refuses it)."""
    for part in headers.get("accept-encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() not in ("gzip", "x-gzip", "*"):
            continue
        q = params.strip().lower().removeprefix("q=")
        try:
            return not params.strip() or float(q) > 0
        except ValueError:
            return False
    return False


@functools.lru_cache(maxsize=256)
def gzipped(body: bytes) -> bytes:
    """The page gzip-compressed, the same bytes for the same page (no timestamp in the
    header), so its ETag holds; the last pages compressed are kept (the page cache hands the
    same bytes out again)."""
    return gzip.compress(body, compresslevel=6, mtime=0)


def gzip_etag(etag: str) -> str:
    """The strong validator of the gzip representation (RFC 9110 §8.8.3: each content
    coding of a resource is its own representation)."""
    return etag[:-1] + '-gz"'


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def newest(values: Sequence[str | None]) -> datetime | None:
    """The latest of ISO timestamps (the data a page shows), for Last-Modified."""
    found = [datetime.fromisoformat(v) for v in values if v]
    return max(found) if found else None


def not_modified(headers: Mapping[str, str], etag: str, last_modified: datetime | None) -> bool:
    """If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2)."""
    given = headers.get("if-none-match")
    if given is not None:
        tags = {t.strip().removeprefix("W/") for t in given.split(",")}
        return "*" in tags or etag in tags
    since = headers.get("if-modified-since")
    if since and last_modified is not None:
        try:
            when = parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
        return last_modified.replace(microsecond=0) <= when
    return False


# --- 留言 -------------------------------------------------------------------------------------

FIELD_LABELS = {
    "org": "留言对象",
    "title": "标题",
    "text": "留言内容",
    "name": "姓名",
    "phone": "联系电话",
}
_PHONE = re.compile(r"^[0-9+\- ]{5,30}$")


def check_message(form: Mapping[str, str], orgs: Sequence[str]) -> dict[str, str]:
    """Field → what is wrong and what to do, in the form's words (empty: fine)."""
    errors: dict[str, str] = {}
    if form.get("org", "") not in orgs:
        errors["org"] = "请选择留言对象（区政府或一个镇）"
    text = form.get("text", "").strip()
    if not text:
        errors["text"] = "请填写留言内容"
    elif len(text) > TEXT_MAX:
        errors["text"] = f"留言内容最多{TEXT_MAX}字，现有{len(text)}字，请删减"
    if len(form.get("title", "").strip()) > TITLE_MAX:
        errors["title"] = f"标题最多{TITLE_MAX}字"
    if len(form.get("name", "").strip()) > NAME_MAX:
        errors["name"] = f"姓名最多{NAME_MAX}字"
    phone = form.get("phone", "").strip()
    if phone and not _PHONE.match(phone):
        errors["phone"] = "联系电话只能填数字（可含“-”），例如 0355-7000100 或 13800000000"
    return errors


#: The sentiment service's case status (status_detail) as a citizen reads it, and what
#: happens next (Alaveteli's per-state notices).
STATUS_WORDS: dict[str, tuple[str, str]] = {
    "opened": ("已受理", "您的留言已收到，正在分派给承办单位。"),
    "dispatched": ("已派单", "留言已交给承办单位，等待其签收办理。"),
    "accepted": ("办理中", "承办单位正在办理，将在答复期限内答复。"),
    "returned": ("重新分派中", "原承办单位认为不属其职责，正在重新分派。"),
    "reopened": ("重新办理", "留言已重新办理，将再次答复。"),
    "responded": ("已答复", "承办单位已答复，答复内容见下方。"),
    "dissatisfied": ("已答复（不满意）", "已记录您对答复不满意，将由上级单位复核。"),
    "closed": ("已办结", "留言已办结。"),
}


def status_words(detail: str | None) -> tuple[str, str]:
    return STATUS_WORDS.get(detail or "opened", ("办理中", "留言正在办理。"))
