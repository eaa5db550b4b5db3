"""The OpenAPI contract as the API behaves (issue #21): one pass over FastAPI's document.

FastAPI documents what a route declares; what the suite's kernel adds to every route is
documented here, from the routes themselves, once:

- security: a route that authenticates (its `Authorization` header parameter, which
  FastAPI lists as an ordinary header) names the `bearer` scheme (an HS256 JWT, see
  docs/identity.md) instead; the assessment board's read routes also take its view cookie
  (`boardView`, `gk_board`);
- the problem+json refusals (RFC 9457, `Problem`) each route can give: 401 and 403 when it
  authenticates; 404 when its path names a resource; 422 for any parameter or body (a
  field's rule, a control character: shared/http.py); 400 (malformed JSON) and 413 (body
  over the limit) with a body; 412 with `If-Match` (whose format is in its schema); 409
  with `Idempotency-Key` (a retry while the first runs); what a route declares itself (409
  of a rule, 429 of the sign-in) is kept, its content made problem+json;
- input text: every free string of a parameter or a body has the kernel's rule (no
  control characters but tab, line feed, carriage return) as its `pattern`;
- content types FastAPI cannot see: `/metrics` is Prometheus text, a redirect has no body,
  a route returning its own `Response` declares its media types with `media_types`.

The contract test (tests/contract/test_openapi_behaviour.py) runs schemathesis against
every service's document on an embedded suite: the contract and the behaviour agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shared.http import IF_MATCH_PATTERN
from shared.routes import PROBLEM_SCHEMA
from shared.tenancy import MAX_SLUG_LENGTH, ORG_PATH_PATTERN

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_PROBLEM = {"application/problem+json": {"schema": PROBLEM_REF}}

SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "访问令牌 an access token (HS256 JWT) from `POST /v1/auth/signin`, "
        "`gongkai token issue` or the OpenID Connect sign-in: `Authorization: Bearer …`",
    },
    "boardView": {
        "type": "apiKey",
        "in": "cookie",
        "name": "gk_board",
        "description": "实时排名看板的查看凭证 the assessment board's view cookie, set by "
        "`POST /v1/assessment/board/login` (read routes of the live board only)",
    },
}

DESCRIPTIONS: dict[int, str] = {
    400: "请求体不是合法的 JSON malformed JSON body",
    401: "未认证 missing or invalid token",
    403: "无权限 role, duty or read-only refusal",
    404: "未找到 absent, or outside the caller's subtree",
    409: "冲突 the stream moved on, the rule refuses, or the same Idempotency-Key runs",
    412: "If-Match 版本已过期 stale If-Match",
    413: "请求体过大 body over the configured limit",
    422: "输入无效 invalid input, field and rule named",
    429: "尝试过多 too many attempts; Retry-After",
}


def media_types(status: int, *types: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route answering `status` with one of `types` (a feed, a CSV)."""
    return {status: {"description": "OK", "content": {t: {"schema": {}} for t in types}}}


def _calls(dependant: Any) -> set[str]:
    found: set[str] = set()
    for sub in getattr(dependant, "dependencies", ()):
        call = getattr(sub, "call", None)
        if call is not None:
            found.add(getattr(call, "__qualname__", ""))
        found |= _calls(sub)
    return found


def _index(
    routes: Iterable[Any], prefix: str = "", index: dict[tuple[str, str], Any] | None = None
) -> dict[tuple[str, str], Any]:
    """(path, method) -> route, included routers too (as shared/http.py `_methods_at`)."""
    index = {} if index is None else index
    for route in routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            inner = getattr(getattr(route, "include_context", None), "prefix", "")
            _index(nested.routes, prefix + inner, index)
            continue
        for method in getattr(route, "methods", None) or ():
            index[(prefix + getattr(route, "path_format", ""), method.lower())] = route
    return index


def _problem(op: dict[str, Any], status: int) -> None:
    responses = op.setdefault("responses", {})
    entry = responses.setdefault(str(status), {"description": DESCRIPTIONS[status]})
    content = entry.get("content") or {}
    if not any(t.startswith("text/html") for t in content):  # an HTML page keeps its own
        entry["content"] = dict(_PROBLEM)
    if status == 429:
        entry.setdefault("headers", {})["Retry-After"] = {
            "description": "seconds to wait (RFC 9110 §10.2.3)",
            "schema": {"type": "integer", "minimum": 0},
        }


def _operation(op: dict[str, Any], route: Any, path: str) -> None:
    params = op.get("parameters", [])
    auth = [p for p in params if p["in"] == "header" and p["name"].lower() == "authorization"]
    rest = [p for p in params if p not in auth]
    if rest:
        op["parameters"] = rest
    else:
        op.pop("parameters", None)
    calls = _calls(getattr(route, "dependant", None))
    if auth:
        op["security"] = [{"bearer": []}]
        if "viewer" in calls:
            op["security"].append({"boardView": []})
        _problem(op, 401)
        _problem(op, 403)
    for param in rest:
        if param["in"] != "header":
            continue
        # a header is a string or absent, never null (FastAPI writes `str | None` as anyOf)
        alternatives = param.get("schema", {}).get("anyOf", [])
        strings = [a for a in alternatives if a.get("type") != "null"]
        if len(strings) == 1 and len(alternatives) == 2:
            param["schema"] = {
                **strings[0],
                **{k: v for k, v in param["schema"].items() if k != "anyOf"},
            }
        if param["name"].lower() == "if-match":
            param["schema"] = {
                "type": "string",
                "pattern": IF_MATCH_PATTERN,
                "description": 'the version the caller last saw, e.g. "3" or W/"3" (ETag)',
            }
            _problem(op, 412)
        if param["name"].lower() == "idempotency-key":
            param["schema"] = {"type": "string", "minLength": 1, "maxLength": 200}
            _problem(op, 409)
    if any(p["in"] == "path" for p in rest):
        _problem(op, 404)
    body = op.get("requestBody")
    if body is not None:
        if "application/json" in body.get("content", {}):
            _problem(op, 400)
        _problem(op, 413)
    if rest or body is not None:
        _problem(op, 422)
    for status in list(op.get("responses", {})):
        if status.isdigit() and int(status) in DESCRIPTIONS:
            _problem(op, int(status))


#: Text the kernel takes: no control characters but tab, line feed and carriage return
#: (shared/http.py refuses the others in any field, query or path with 422).
TEXT_PATTERN = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*$"
_FREE = ("pattern", "format", "enum", "const")
#: An org path as the kernel takes it: `ORG_PATH_PATTERN` with its segments' length limit
#: (the event schemas keep the published pattern; the length is checked there too).
ORG_PATH_INPUT = f"^(?!.*[^/]{{{MAX_SLUG_LENGTH + 1}}}){ORG_PATH_PATTERN[1:]}"


def _text_rule(schema: Any, schemas: dict[str, Any], seen: set[str]) -> None:
    """Give every free-text string of an input schema the kernel's `TEXT_PATTERN`,
    following `$ref`s into the components once each."""
    if isinstance(schema, list):
        for item in schema:
            _text_rule(item, schemas, seen)
        return
    if not isinstance(schema, dict):
        return
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        name = ref.rsplit("/", 1)[1]
        if name not in seen and name in schemas:
            seen.add(name)
            _text_rule(schemas[name], schemas, seen)
        return
    if schema.get("type") == "string" and not any(k in schema for k in _FREE):
        schema["pattern"] = TEXT_PATTERN
    elif schema.get("pattern") == ORG_PATH_PATTERN:
        schema["pattern"] = ORG_PATH_INPUT
    for key, value in schema.items():
        if key == "properties" and isinstance(value, dict):
            _text_rule(list(value.values()), schemas, seen)
        elif key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf", "schema"):
            _text_rule(value, schemas, seen)
        elif key == "content" and isinstance(value, dict):
            _text_rule(list(value.values()), schemas, seen)


def complete_contract(openapi: dict[str, Any], routes: Iterable[Any]) -> dict[str, Any]:
    """`openapi` (FastAPI's document of an app) with what the kernel adds to every route."""
    components = openapi.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    seen: set[str] = set()
    for operations in openapi.get("paths", {}).values():
        for op in operations.values():
            _text_rule(op.get("parameters", []), schemas, seen)
            _text_rule(op.get("requestBody", {}), schemas, seen)
    schemas["Problem"] = PROBLEM_SCHEMA
    components["securitySchemes"] = SECURITY_SCHEMES
    index = _index(routes)
    for path, operations in openapi.get("paths", {}).items():
        for method, op in operations.items():
            _operation(op, index.get((path, method)), path)
            responses: Mapping[str, Any] = op.get("responses", {})
            for status, entry in responses.items():
                if status.startswith("3") and "content" in entry:
                    entry.pop("content")  # a redirect: Location, no body
                    entry.setdefault("headers", {})["Location"] = {"schema": {"type": "string"}}
    metrics = openapi.get("paths", {}).get("/metrics", {}).get("get")
    if metrics is not None:
        metrics["responses"]["200"]["content"] = {
            "text/plain": {"schema": {"type": "string"}, "example": "# HELP …"}
        }
    if not _references(openapi, "#/components/schemas/HTTPValidationError"):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    return openapi


def _references(value: Any, ref: str) -> bool:
    if isinstance(value, dict):
        if value.get("$ref") == ref:
            return True
        return any(_references(v, ref) for k, v in value.items() if k != "schemas")
    if isinstance(value, list):
        return any(_references(v, ref) for v in value)
    return False
