"""政府信息公开 门户 (the public portal) as a service of the suite: pages only, it records no
events (it follows those that change its pages: freshness.py).

It records nothing itself: a citizen's 留言 is the sentiment service's command, sent through
its API; everything shown comes from the services' APIs (docs/portal.md).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from services.portal import fastpath, guide
from services.portal.freshness import Freshness, catching_up, follow
from services.portal.guard import Guard
from services.portal.pagecache import PageCache
from services.portal.popularity import flush_job
from services.portal.routes import routers
from services.portal.site import Portal
from shared.floodgate import networks
from shared.registry import EventRegistry
from shared.service import ServiceDefinition

registry = EventRegistry(service="portal")
DEFAULT_GUIDE = Path(__file__).parents[2] / "deploy" / "demo" / "portal-guide.yaml"


def _handlers(runtime: Any, suite: Any) -> Portal:
    path = Path(os.environ.get("GONGKAI_PORTAL_GUIDE") or DEFAULT_GUIDE)
    organs = [suite.orgs.district, *suite.orgs.townships()]
    secret = suite.settings.resolved_token_secret()
    # Behind a reverse proxy: its addresses, whose X-Forwarded-For is believed (112).
    trusted = networks(os.environ.get("GONGKAI_TRUSTED_PROXIES", ""))
    return Portal(
        urls=dict(suite.settings.service_urls),
        orgs=suite.orgs,
        guides=guide.load(path, [str(u.path) for u in organs]),
        secret=secret,
        clock=suite.clock,
        guard=Guard.for_suite(secret, trusted),
        pages=PageCache(Freshness.from_env()),
    )


async def follow_job(runtime: Any, suite: Any, stop: asyncio.Event) -> None:
    """The events that end kept pages, followed as they arrive, and the read models still
    catching up with their logs in this process (freshness.py)."""
    freshness = runtime.handlers.pages.freshness
    await asyncio.gather(follow(freshness, suite, stop), catching_up(freshness, suite, stop))


SERVICE = ServiceDefinition(
    name="portal",
    registry=registry,
    routers=routers,
    build_handlers=_handlers,
    calls=(
        "applications",
        "catalog",
        "enforcement",
        "interpretation",
        "sentiment",
        "subscriptions",
    ),
    background=(flush_job, follow_job),
    front=fastpath.install,
    loop="uvloop",
)
