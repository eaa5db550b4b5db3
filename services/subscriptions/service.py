"""订阅推送与专栏热度 as a service of the suite (docs/subscriptions.md).

The mailer is chosen here, at composition: GONGKAI_SMTP_HOST set → SmtpMailer (aiosmtplib);
not set → embedded mode writes each message to var/subscriptions/outbox/<id>.eml (the
FileOutbox), distributed mode sends nothing and keeps the messages queued until a host is
configured. Retry rules: GONGKAI_SUBSCRIPTIONS_MAX_ATTEMPTS (10),
_FIRST_RETRY_SECONDS (30), _MAX_RETRY_SECONDS (3600); ratings a visitor may give a day:
GONGKAI_SUBSCRIPTIONS_RATINGS_PER_DAY (30).
"""

from __future__ import annotations

import os
from datetime import timedelta

from services.catalog.columns import SEED_COLUMNS
from services.catalog.content import DocumentKind
from services.subscriptions.api import routers
from services.subscriptions.domain import Choices, DeliveryRules, RatingRules
from services.subscriptions.events import registry
from services.subscriptions.handlers import SubscriptionHandlers
from services.subscriptions.jobs import run_job
from services.subscriptions.mail import FileOutbox, Mailer, SmtpMailer
from services.subscriptions.projections import (
    DeliveryLedger,
    Popularity,
    PublicationInbox,
    SubscriberBook,
)
from shared.service import Runtime, ServiceDefinition, Suite
from shared.settings import Settings


def _env(name: str, default: str) -> str:
    return os.environ.get(f"GONGKAI_SUBSCRIPTIONS_{name}", default)


def mailer_of(settings: Settings) -> Mailer | None:
    if settings.smtp_host:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        return SmtpMailer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_sender,
            username=settings.smtp_username,
            password=password,
            starttls=settings.smtp_starttls,
            tls=settings.smtp_tls,
            timeout=settings.smtp_timeout,
        )
    if settings.distributed:
        return None
    return FileOutbox(settings.var_dir / "subscriptions" / "outbox")


def _handlers(runtime: Runtime, suite: Suite) -> SubscriptionHandlers:
    s = suite.settings
    organs = [suite.orgs.district, *suite.orgs.townships()]
    return SubscriptionHandlers(
        store=runtime.store,
        views=runtime.views,
        secret=s.resolved_token_secret(),
        clock=suite.clock,
        choices=Choices(
            organs=frozenset(str(u.path) for u in organs),
            columns=frozenset(c.code for c in SEED_COLUMNS),
            kinds=frozenset(k.value for k in DocumentKind),
        ),
        district=str(suite.orgs.district.path),
        base_url=s.public_base_url.rstrip("/"),
        sender=s.smtp_sender,
        mailer=mailer_of(s),
        column_names={c.code: c.name for c in SEED_COLUMNS},
        delivery=DeliveryRules(
            max_attempts=int(_env("MAX_ATTEMPTS", "10")),
            first_retry=timedelta(seconds=float(_env("FIRST_RETRY_SECONDS", "30"))),
            max_retry=timedelta(seconds=float(_env("MAX_RETRY_SECONDS", "3600"))),
        ),
        ratings=RatingRules(per_visitor_day=int(_env("RATINGS_PER_DAY", "30"))),
    )


SERVICE = ServiceDefinition(
    name="subscriptions",
    registry=registry,
    projections=lambda: [SubscriberBook(), PublicationInbox(), DeliveryLedger(), Popularity()],
    routers=routers,
    build_handlers=_handlers,
    background=(run_job,),
)
