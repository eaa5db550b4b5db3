"""The workbench's application object: templates, the catalogue cache, and what every page
shows (who is signed in, today's date, the form token)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.workbench.labels import Labels, status_label
from services.workbench.websessions import WebSessions
from services.workbench.words import cn_date, cn_time
from shared.account_book import AccountBook
from shared.gateway import Api
from shared.identity import ROLE_LABELS_ZH, Principal
from shared.tenancy import OrgTree
from shared.workdays import WorkdayCalendar, local_date

HERE = Path(__file__).parent
#: The catalogue and the register schema change only with a deployment.
CACHE_SECONDS = 300.0
_ISO_DAY = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def cn_dates_in(text: str) -> str:
    """Every ISO date in a text (the API's explanations) as 2026年12月6日."""
    return _ISO_DAY.sub(lambda m: f"{int(m[1])}年{int(m[2])}月{int(m[3])}日", text)


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        cn_date=cn_date,
        cn_time=cn_time,
        cn_dates_in=cn_dates_in,
        status_label=status_label,
    )
    return env


@dataclass
class Workbench:
    """Built once per process (ServiceDefinition.build_handlers)."""

    urls: Mapping[str, str]
    orgs: OrgTree
    calendar: Callable[[], WorkdayCalendar]
    clock: Callable[[], datetime]
    #: The web sessions (the workbench's own table), the account book, the suite's secret.
    sessions: WebSessions
    book: AccountBook
    secret: str
    templates: Environment = field(default_factory=environment)
    _cache: dict[str, tuple[float, Any]] = field(default_factory=dict)

    def today(self) -> date:
        return local_date(self.clock())

    async def cached(self, key: str, load: Callable[[], Any]) -> Any:
        hit = self._cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
        value = await load()
        if value is not None:
            self._cache[key] = (time.monotonic(), value)
        return value

    async def _catalogue(self, api: Api) -> tuple[dict[str, dict[str, Any]], Labels]:
        """The applications service's command catalogue: the request's commands by name, and
        the labels of every enum its commands and events use (`enums`)."""

        async def load() -> tuple[dict[str, dict[str, Any]], Labels] | None:
            answer = await api.get("applications", "/v1/commands")
            if not answer.ok:
                return None
            items = answer.body.get("items", [])
            enums = {
                name: MappingProxyType(dict(values))
                for name, values in (answer.body.get("enums") or {}).items()
            }
            commands = {e["name"]: e for e in items if e.get("aggregate") == "request"}
            return commands, Labels(MappingProxyType(enums))

        return await self.cached("commands", load) or ({}, Labels())

    async def commands(self, api: Api) -> dict[str, dict[str, Any]]:
        """The request's commands of the catalogue, by command name."""
        return (await self._catalogue(api))[0]

    async def labels(self, api: Api) -> Labels:
        """The Chinese labels of enum values, from the catalogue (cached with it)."""
        return (await self._catalogue(api))[1]

    async def register_schema(self, api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
        """RegisterRequest's schema and the definitions it refers to, from the OpenAPI
        document (registration is its own route, not a row of the command table)."""

        async def load() -> tuple[dict[str, Any], dict[str, Any]] | None:
            answer = await api.get("applications", "/openapi.json")
            if not answer.ok:
                return None
            schemas = answer.body["components"]["schemas"]
            return schemas["RegisterRequest"], schemas

        found = await self.cached("register", load)
        if found is None:
            return {}, {}
        schema: tuple[dict[str, Any], dict[str, Any]] = found
        return schema

    def who(self, principal: Principal) -> dict[str, str]:
        """The signed-in person's name, office and roles, for the page header."""
        name = principal.name or principal.sub
        try:
            _unit, person = self.orgs.find_person(principal.sub)
            name = person.name
        except Exception:
            pass
        try:
            org = self.orgs.get(str(principal.org)).name
        except Exception:
            org = str(principal.org)
        roles = "、".join(ROLE_LABELS_ZH.get(r, r.value) for r in sorted(principal.roles))
        codes = " ".join(sorted(r.value for r in principal.roles))  # the menu shows by role
        return {"name": name, "org": org, "roles": roles, "codes": codes}

    def person_name(self, person_id: str | None) -> str:
        if not person_id:
            return ""
        try:
            return self.orgs.find_person(person_id)[1].name
        except Exception:
            pass
        # An account the org file does not list (a service account, a new clerk): its name.
        account = self.book.get(person_id)
        return account.name if account is not None and account.name else person_id

    def org_name(self, path: str | None) -> str:
        if not path:
            return ""
        try:
            return self.orgs.get(path).name
        except Exception:
            return path

    def render(self, template: str, **context: Any) -> str:
        return self.templates.get_template(template).render(**context)


#: A service's commands of one aggregate by name, and the Chinese labels of its enums.
Catalogue = tuple[dict[str, dict[str, Any]], dict[str, dict[str, str]]]


async def command_catalogue(wb: Workbench, api: Api, service: str, aggregate: str) -> Catalogue:
    """`GET /v1/commands` of `service`: the commands of `aggregate` by name (path, schema,
    Chinese label, legal basis) and the labels of the service's enums, kept by the workbench
    like the request's; empty while the service does not answer."""

    async def load() -> Catalogue | None:
        answer = await api.get(service, "/v1/commands")
        if not answer.ok:
            return None
        items = answer.body.get("items", [])
        commands = {e["name"]: e for e in items if e.get("aggregate") == aggregate}
        return commands, dict(answer.body.get("enums") or {})

    found: Catalogue = await wb.cached(f"{service}:{aggregate}-commands", load) or ({}, {})
    return found


#: A command's JSON Schema and the definitions it refers to (the OpenAPI `components`).
RouteSchema = tuple[dict[str, Any], dict[str, Any]]


async def route_schema(
    wb: Workbench, api: Api, service: str, path: str, method: str = "post"
) -> RouteSchema | None:
    """The request body's schema of one route of `service`'s OpenAPI document, for a
    command that is its own route rather than a row of the command catalogue (intake,
    登记法制审核, closing a period); None while the service does not answer.

    Found by the route, not by the model's name: in one process (embedded) the suite's
    OpenAPI document is shared, and FastAPI renames two services' models of one name."""

    async def load() -> RouteSchema | None:
        answer = await api.get(service, "/openapi.json")
        if not answer.ok:
            return None
        operation = answer.body["paths"][path][method]
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        schemas = answer.body["components"]["schemas"]
        return schemas[ref.rsplit("/", 1)[-1]], schemas

    found: RouteSchema | None = await wb.cached(f"{service}:{method} {path}", load)
    return found
