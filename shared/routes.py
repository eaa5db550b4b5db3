"""HTTP routes generated from a command table, with the one copy of the command envelope.

Every command route: `POST <prefix>/{id}/<name>` with the command's model as its body,
`Idempotency-Key` (a retry gets the stored answer), `If-Match` (a stale version is a 412),
the answer of the table, `Location` and `ETag` of the instance, and the problem+json
refusals documented per status. The correlation id comes from the request context
middleware (shared/http.py).

No `from __future__ import annotations` here: FastAPI must see the real dependency objects
and models the generated routes take, not strings.
"""

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from shared.commands import Command, CommandTable, catalogue, decide, every_enum_label
from shared.deps import Caller, runtime_of
from shared.errors import ConcurrencyConflict
from shared.http import (
    Idempotency,
    IdempotencyKey,
    IfMatch,
    correlation_id,
    expected_version,
    stale_if_match,
)
from shared.identity import Principal
from shared.service import Runtime

#: RFC 9457 problem details as every refusal carries them (shared/http.py `problem`).
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "rule", "message_zh", "message_en"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "rule": {"type": "string", "description": "stable rule code, e.g. role.missing"},
        "field": {"type": ["string", "null"], "description": "the offending field"},
        "message_zh": {"type": "string"},
        "message_en": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
        "details": {"type": "object"},
    },
}
_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}

#: What a command route can answer besides success, each as problem+json.
COMMAND_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "未认证 missing or invalid token", "content": _PROBLEM},
    403: {"description": "无权限 role, duty or read-only refusal", "content": _PROBLEM},
    404: {"description": "未找到 absent, or outside the caller's subtree", "content": _PROBLEM},
    409: {"description": "冲突 the stream moved on, or the rule refuses", "content": _PROBLEM},
    412: {"description": "If-Match 版本已过期 stale If-Match", "content": _PROBLEM},
    422: {"description": "输入无效 invalid input, field and rule named", "content": _PROBLEM},
}


async def run_command(
    idempotency: Idempotency,
    caller: Principal,
    key: str | None,
    if_match: str | None,
    fingerprint: dict[str, Any],
    act: Callable[[int | None], Awaitable[tuple[int, dict[str, Any]]]],
    location: Callable[[dict[str, Any]], str | None] = lambda body: None,
) -> JSONResponse:
    """The command envelope: If-Match, Idempotency-Key, Location and ETag, once."""
    expected = expected_version(if_match)

    async def run() -> tuple[int, Any]:
        try:
            return await act(expected)
        except ConcurrencyConflict as err:
            if expected is not None:
                raise stale_if_match(err) from err
            raise

    response: JSONResponse = await idempotency.run(caller, key, fingerprint, run)
    body = response.body
    if body:
        decoded = orjson.loads(body)
        if isinstance(decoded, dict):
            where = location(decoded)
            if where:
                # The instance the command acted on, and its version now.
                response.headers["Location"] = where
                if "version" in decoded:
                    response.headers["ETag"] = f'"{decoded["version"]}"'
    return response


def command_router(table: CommandTable[Any], *, skip: Sequence[str] = ()) -> APIRouter:
    """One POST route per command of `table` (except `skip`, routed by hand), answered by
    the runtime of the table's service in the app that receives the request."""
    router = APIRouter(prefix=table.prefix, tags=[table.tag])
    runtime = runtime_of(table.aggregate.registry.service)
    for command in table.commands:
        if command.name not in skip:
            _add(router, table, command, runtime)
    return router


def _add(
    router: APIRouter,
    table: CommandTable[Any],
    command: Command[Any, Any],
    runtime: Callable[[Request], Awaitable[Runtime]],
) -> None:
    id_field = table.aggregate.id_field
    sub_ids = command.sub_ids(id_field)
    prefix = table.prefix

    async def endpoint(**kwargs: Any) -> JSONResponse:
        instance: UUID = kwargs[id_field]
        cmd = kwargs["cmd"]
        caller: Principal = kwargs["caller"]
        request: Request = kwargs["request"]
        rt: Runtime = kwargs["rt"]
        path = {name: kwargs[name] for name in sub_ids}

        async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
            decided = await decide(rt, table, command.name, instance, cmd, caller, expected, path)
            write = decided.write(correlation_id(request), table.aggregate.kind)
            events = await rt.store.append([write])
            return command.status, table.respond(decided, events)

        where = "/".join([str(instance), *(str(v) for v in path.values())])
        fingerprint = {"command": command.name, "path": where, **cmd.model_dump(mode="json")}
        return await run_command(
            rt.idempotency,
            caller,
            kwargs["key"],
            kwargs["if_match"],
            fingerprint,
            act,
            (lambda body: f"{prefix}/{body[id_field]}" if id_field in body else None)
            if table.locate
            else (lambda body: None),
        )

    parameters = [
        inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, annotation=command.path_types.get(name, UUID)
        )
        for name in (id_field, *sub_ids)
    ]
    parameters += [
        inspect.Parameter("cmd", inspect.Parameter.KEYWORD_ONLY, annotation=command.model),
        inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request),
        inspect.Parameter("caller", inspect.Parameter.KEYWORD_ONLY, annotation=Caller),
        inspect.Parameter(
            "rt", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[Any, Depends(runtime)]
        ),
        inspect.Parameter(
            "key", inspect.Parameter.KEYWORD_ONLY, annotation=IdempotencyKey, default=None
        ),
        inspect.Parameter(
            "if_match", inspect.Parameter.KEYWORD_ONLY, annotation=IfMatch, default=None
        ),
    ]
    signature = inspect.Signature(parameters, return_annotation=JSONResponse)
    endpoint.__signature__ = signature  # type: ignore[attr-defined]
    endpoint.__name__ = command.name.replace("-", "_")
    description = f"{command.label_zh}（{command.basis}）" if command.basis else command.label_zh
    router.add_api_route(
        command.route(id_field),
        endpoint,
        methods=["POST"],
        status_code=command.status,
        summary=f"{command.label_zh} {command.summary_en}",
        description=description,
        responses=COMMAND_RESPONSES,
        response_class=JSONResponse,
    )


def add_problem_schema(openapi: dict[str, Any]) -> dict[str, Any]:
    """Name the problem+json schema once in the components the routes refer to."""
    openapi.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    return openapi


def catalogue_router(tables: Sequence[CommandTable[Any]]) -> APIRouter:
    """`GET /v1/commands`: the machine-readable command table (forms, menus, labels)."""
    router = APIRouter(prefix="/v1", tags=["commands 命令目录"])
    entries = catalogue(tables)
    enums = every_enum_label(tables)

    @router.get(
        "/commands",
        summary="命令目录 Commands: JSON Schema, roles and Chinese labels",
        responses={401: COMMAND_RESPONSES[401]},
    )
    async def commands(caller: Caller) -> dict[str, Any]:
        return {"items": entries, "enums": enums}

    return router
