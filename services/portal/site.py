"""The portal's application object: templates, the organs it shows, their guides, and the
portal's service account for the two reads and the one command that are not public APIs.

Public data comes from public APIs without a token (the catalog's /v1/public/catalog, the
sentiment service's /v1/public/requests/{code}). Two things have no public route today:
the annual report (applications: GET /v1/annual-reports/{year}) and 留言 intake
(sentiment: POST /v1/messages). For those the portal speaks as its own service account
`svc-portal` (role `service`, at the district root), minting a short-lived token with the
suite's token secret; the APIs stay the judges (docs/portal.md, decision "portal reads").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.catalog.columns import SEED_COLUMNS
from services.catalog.content import DocumentKind
from services.interpretation.events import Form
from services.portal.guard import Guard, cn_number
from services.portal.guide import Guide
from services.portal.pagecache import PageCache
from services.portal.popularity import Engagement
from services.portal.shape import blocks, highlight, status_words
from shared.cn_dates import cn_date, cn_time
from shared.gateway import Api
from shared.identity import Principal, Role, issue_token
from shared.tenancy import OrgTree, OrgUnit
from shared.workdays import local_date

HERE = Path(__file__).parent
SERVICE_SUB = "svc-portal"
TOKEN_TTL = timedelta(hours=1)
#: A token is renewed when it has less than this left.
TOKEN_RENEW = timedelta(minutes=15)
COLUMN_NAMES = {c.code: c.name for c in SEED_COLUMNS}
KIND_NAMES = {k.value: k.label_zh for k in DocumentKind}
FORM_NAMES = {f.value: f.label_zh for f in Form}
#: Annual reports offered: the last finished years (条例 Art. 50: by 31 January).
REPORT_YEARS = 3
#: Years offered by the search's 发布年份 filter.
SEARCH_YEARS = 10


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        cn_date=cn_date, cn_time=cn_time, highlight=highlight, blocks=blocks, cn_number=cn_number
    )
    env.globals.update(
        column_name=lambda code: COLUMN_NAMES.get(code, code),
        kind_name=lambda code: KIND_NAMES.get(code, code),
        status_words=status_words,
    )
    return env


@dataclass
class Portal:
    """Built once per process (ServiceDefinition.build_handlers)."""

    urls: dict[str, str]
    orgs: OrgTree
    guides: dict[str, Guide]
    secret: str
    clock: Callable[[], datetime]
    templates: Environment = field(default_factory=environment)
    _token: tuple[datetime, str] | None = None
    #: Page views and the rating flood key (popularity.py); the app, once a page was served,
    #: for the flush job's calls.
    engagement: Engagement = field(default_factory=Engagement)
    #: The flood gate of every public form post (guard.py).
    guard: Guard = field(default_factory=lambda: Guard(secret=b"unset"))
    #: Rendered public pages kept until an event changes them (pagecache.py, freshness.py).
    pages: PageCache = field(default_factory=PageCache)
    app: Any = None

    def today(self) -> date:
        return local_date(self.clock())

    def organs(self) -> list[OrgUnit]:
        """The district first, then its townships: each has its own 专栏."""
        return [self.orgs.district, *self.orgs.townships()]

    def organ(self, slug: str) -> OrgUnit | None:
        return next((u for u in self.organs() if u.path.slug == slug), None)

    def search_years(self) -> list[int]:
        """The years a search can be narrowed to: this one and the nine before it."""
        this = self.today().year
        return list(range(this, this - SEARCH_YEARS, -1))

    def report_years(self) -> list[int]:
        this = self.today().year
        return [this - n for n in range(1, REPORT_YEARS + 1)]

    def service_token(self) -> str:
        now = self.clock()
        if self._token is None or self._token[0] - now < TOKEN_RENEW:
            principal = Principal(
                sub=SERVICE_SUB,
                org=self.orgs.district.path,
                roles=frozenset({Role.SERVICE}),
                kind="service",
                name="政府信息公开门户",
            )
            self._token = (now + TOKEN_TTL, issue_token(principal, self.secret, TOKEN_TTL, now))
        return self._token[1]

    def api(self, app: Any, correlation: str | None = None) -> Api:
        return Api(app, self.service_token(), self.urls, correlation)

    def render(self, template: str, **context: Any) -> str:
        return self.templates.get_template(template).render(
            organs=self.organs(), today=cn_date(self.today()), **context
        )
