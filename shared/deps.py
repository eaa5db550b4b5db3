"""What every route depends on, as FastAPI dependencies: who calls, and the runtime of the
service that answers (full-stack-fastapi-template's `deps` module).

Routes are module-level functions on one router per module; what they need arrives per
request from the app the composition root built (`app.state.token_secret`,
`app.state.runtimes`), never through closures, so a route reads like any other function.
Both dependencies are async: a sync dependency would hop to a worker thread per request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from shared.http import bearer_principal
from shared.identity import Principal
from shared.service import Runtime

current_principal = bearer_principal(
    lambda request: request.app.state.token_secret,
    lambda request: request.app.state.account_book,
)

Caller = Annotated[Principal, Depends(current_principal)]
"""The signed-in caller (401 without a valid token, or whose account no longer backs it:
unknown, suspended, signed out; 403 for a role it no longer holds)."""


def runtime_of(service: str) -> Callable[[Request], Awaitable[Runtime]]:
    """A dependency: the runtime of `service` in the app answering the request."""

    async def dependency(request: Request) -> Runtime:
        runtime: Runtime = request.app.state.runtimes[service]
        return runtime

    dependency.__name__ = f"{service}_runtime"
    return dependency


def handlers_of(service: str, kind: type[Any]) -> Callable[[Request], Awaitable[Any]]:
    """A dependency: the service's application object, checked to be of `kind`."""

    async def dependency(request: Request) -> Any:
        handlers = request.app.state.runtimes[service].handlers
        if not isinstance(handlers, kind):
            raise TypeError(f"{service} handlers are {type(handlers).__name__}, not {kind}")
        return handlers

    dependency.__name__ = f"{service}_handlers"
    return dependency
