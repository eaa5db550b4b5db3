"""How a page service (the workbench, the portal) calls the other services: their public
HTTP APIs.

Embedded mode (`gongkai run`): the service answers in this very process, so a call goes
through the app itself over httpx's ASGI transport: no socket, no port to know, the same
middleware, validation and problem+json as any client gets. Distributed mode (`gongkai
serve workbench`, `gongkai serve portal`): the service runs elsewhere, at the URL the
deployment gives in GONGKAI_SERVICE_URLS. Which one is decided per call: a service this
app runs is called in-process, any other by URL (docs/workbench.md, decision "workbench
calls APIs").
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from shared.errors import GongkaiError
from shared.identity import Principal, Role, issue_token

#: A retry of a double-submitted form waits this long, at most, for the first to finish.
IN_PROGRESS_WAIT = 10.0


class ServiceUnreachable(GongkaiError):
    status = 503
    type_slug = "service-unreachable"


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def problem(self) -> dict[str, Any]:
        return self.body if isinstance(self.body, dict) and not self.ok else {}


class Api:
    """Calls for one page, with a bearer token: the signed-in person's (workbench) or the
    portal's service account's (portal)."""

    def __init__(
        self,
        app: FastAPI,
        token: str,
        urls: Mapping[str, str],
        correlation: str | None = None,
    ) -> None:
        self.app = app
        self.token = token
        self.urls = urls
        self.correlation = correlation
        self._clients: dict[str, httpx.AsyncClient] = {}

    def _client(self, service: str) -> httpx.AsyncClient:
        client = self._clients.get(service)
        if client is not None:
            return client
        headers = {"Accept": "application/json"}
        if self.token:  # none for a sign-in call without a service account
            headers["Authorization"] = f"Bearer {self.token}"
        if self.correlation:
            headers["X-Correlation-ID"] = self.correlation
        if service in self.app.state.runtimes:
            transport = httpx.ASGITransport(app=self.app)
            client = httpx.AsyncClient(
                transport=transport, base_url="http://in-process", headers=headers, timeout=30
            )
        else:
            url = self.urls.get(service)
            if not url:
                raise ServiceUnreachable(
                    rule="workbench.service_url_missing",
                    field="GONGKAI_SERVICE_URLS",
                    message_zh=f"未配置“{service}”服务的地址（GONGKAI_SERVICE_URLS）",
                    message_en=f"no URL for service {service} in GONGKAI_SERVICE_URLS",
                )
            client = httpx.AsyncClient(base_url=url, headers=headers, timeout=30)
        self._clients[service] = client
        return client

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _send(self, service: str, method: str, path: str, **kwargs: Any) -> Answer:
        try:
            response = await self._client(service).request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise ServiceUnreachable(
                rule="workbench.service_unreachable",
                field=None,
                message_zh=f"暂时无法连接“{service}”服务，请稍后重试",
                message_en=f"service {service} unreachable: {type(error).__name__}",
            ) from error
        kind = response.headers.get("content-type", "")
        body: Any = response.json() if "json" in kind else response.text
        return Answer(response.status_code, body, dict(response.headers))

    async def get(self, service: str, path: str, params: Mapping[str, Any] | None = None) -> Answer:
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        return await self._send(service, "GET", path, params=clean)

    async def raw(
        self, service: str, path: str, params: Mapping[str, Any] | None = None
    ) -> httpx.Response:
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        return await self._client(service).get(path, params=clean)

    async def post(
        self,
        service: str,
        path: str,
        body: Any,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """A command; a key already being handled (a double-submitted form) is waited for,
        so the second submission shows the first one's result instead of an error."""
        headers = {**(headers or {}), **({"Idempotency-Key": key} if key else {})}
        waited = 0.0
        while True:
            answer = await self._send(service, "POST", path, json=body, headers=headers)
            busy = answer.problem.get("rule") == "idempotency_key.in_progress"
            if not busy or waited >= IN_PROGRESS_WAIT:
                return answer
            await asyncio.sleep(0.2)
            waited += 0.2


#: The suite's sign-in pages' service account (services/accounts/cli.py): with its token a
#: page forwards its visitor's address to the accounts service's per-address lockout.
SIGNIN_SERVICE_SUB = "svc-signin"
SIGNIN_TOKEN_TTL = timedelta(minutes=2)


async def sign_in_call(
    app: FastAPI,
    urls: Mapping[str, str],
    path: str,
    body: Mapping[str, Any],
    address: str,
    correlation: str | None = None,
) -> Answer:
    """A sign-in page's call to the accounts API (/v1/auth/password, …/change): as the
    sign-in service account when this process's account book knows it, forwarding the
    visitor's address (X-Forwarded-For); without a token otherwise."""
    book = app.state.account_book
    secret = str(app.state.token_secret)
    service = book.get(SIGNIN_SERVICE_SUB)
    token = ""
    headers: dict[str, str] = {}
    if service is not None and service.active:
        principal = Principal(
            sub=SIGNIN_SERVICE_SUB,
            org=service.org,
            roles=frozenset({Role.SERVICE}),
            kind="service",
            generation=service.generation,
        )
        token = issue_token(principal, secret, SIGNIN_TOKEN_TTL, datetime.now(UTC))
        headers["X-Forwarded-For"] = address
    async with Api(app, token, urls, correlation) as api:
        return await api.post("accounts", path, dict(body), headers=headers)
