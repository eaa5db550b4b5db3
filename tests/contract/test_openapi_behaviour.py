"""The OpenAPI documents say what the API does (issue #21): schemathesis against every
service's document, on one embedded suite in this process (ASGI, no sockets).

Every operation of every service's document (`gongkai.app.create_openapi_documents`, the
documents contracts/openapi/ holds) is called with requests schemathesis generates from the
document, valid ones and invalid ones, a few each (bounded: the whole module must stay well
under a minute), with every check schemathesis has: no server error, every status code,
content type and header documented, every body matching its schema, invalid data refused,
valid data accepted, and a protected route refused without its credentials. Calls are made
without a token and with a district administrator's, so both the refusals and the routes
behind them are exercised. The test fails listing every failure.

Valid data the API still refuses is only accepted where the rule depends on data no
schema can hold (`DATA_RULES`: an unknown organ, an opaque cursor from another page).
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.core.failures import Failure
from schemathesis.generation import GenerationMode
from schemathesis.python import asgi as schemathesis_asgi

from gongkai.app import SERVICES, create_app, create_openapi_documents
from shared.identity import Principal, Role, issue_token
from shared.settings import Settings

pytestmark = pytest.mark.contract

SECRET = "contract-" + "x" * 40
DOCUMENTS: dict[str, Any] = {}
#: Generated requests per operation: (mode, examples) for a public route, and for a
#: protected one, called with a token of an account holding most roles at the district
#: (schemathesis' `ignored_auth` check sends each such request again without it: 401).
PUBLIC = ((GenerationMode.POSITIVE, 3), (GenerationMode.NEGATIVE, 2))
PROTECTED = ((GenerationMode.POSITIVE, 2), (GenerationMode.NEGATIVE, 1))
ROLES = (
    Role.ADMINISTRATOR,
    Role.DISTRICT_ADMINISTRATOR,
    Role.REQUEST_HANDLER,
    Role.OPENNESS_OFFICE_HEAD,
    Role.DRAFTER,
    Role.ATTRIBUTE_OFFICER,
    Role.OPINION_OFFICER,
    Role.DISTRICT_ASSESSOR,
    Role.LIAISON,
)
PROBE = "openapi-probe"

#: Rules a schema-valid request may still meet, because they depend on data (what exists,
#: what a previous answer said), not on the request's shape.
DATA_RULES = {
    "cursor.invalid",  # a cursor is opaque: only one a previous page gave is valid
    "organ.unknown",  # an organ is valid if the district has it
    "online_request.organ_unknown",
    "topic.unknown",
    "qa.query_missing",  # document_id or q: OpenAPI cannot say "at least one of"
    "search.query_empty",  # letters, digits or Chinese characters after normalising
    "org.unregistered",  # an org path is valid if the unit is registered
}


def _failures(exc: BaseException) -> list[Failure]:
    inner = getattr(exc, "exceptions", None)
    if inner is None:
        return [exc] if isinstance(exc, Failure) else []
    return [f for e in inner for f in _failures(e)]


def _rule(response: Any) -> str | None:
    try:
        body = response.json()
    except Exception:
        return None
    return body.get("rule") if isinstance(body, dict) else None


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """The embedded suite (every service) and a token of the probe account it holds."""
    var = tmp_path_factory.mktemp("openapi-suite")
    DOCUMENTS.update(create_openapi_documents())  # before the suite: it sets the log level
    generation: list[int] = []

    async def provision(suite: Any) -> None:
        handlers = suite.runtimes["accounts"].handlers
        await handlers.register_tree(suite.orgs)
        await handlers.provision_person(PROBE, "接口探针", "shangdang", list(ROLES), "Probe-2026")
        async with asyncio.timeout(10):
            while (account := suite.accounts.get(PROBE)) is None or not set(ROLES) <= (  # noqa: ASYNC110 (the book has no event to wait on)
                account.roles_at("shangdang")
            ):
                await asyncio.sleep(0.02)
        generation.append(int(account.generation))

    app = create_app(
        Settings(var_dir=Path(var), token_secret=SECRET, log_level="critical"),
        role="embedded",
        on_started=provision,
    )
    schemathesis.openapi.from_asgi("/openapi.json", app)  # starts the suite (lifespan)
    principal = Principal(
        sub=PROBE, org="shangdang", roles=frozenset(ROLES), kind="user", generation=generation[0]
    )
    try:
        yield app, issue_token(principal, SECRET, timedelta(hours=1), datetime.now(UTC))
    finally:
        schemathesis_asgi.shutdown_lifespans()


def test_every_service_behaves_as_its_openapi_document_says(suite: tuple[Any, str]) -> None:
    app, token = suite
    load_all_checks()
    checks = CHECKS.get_all()
    documents = DOCUMENTS
    failures: collections.Counter[str] = collections.Counter()
    reports: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    calls = 0
    spent: dict[str, float] = {}
    started = time.perf_counter()
    for service in SERVICES:
        schema = schemathesis.openapi.from_dict(documents[service])
        schema.app = app
        for result in schema.get_all_operations():
            operation = result.ok()
            key = (operation.method.upper(), operation.path)
            if key in seen:  # /health, /metrics, … are in every document: once
                continue
            seen.add(key)
            op_started = time.perf_counter()
            protected = bool(operation.definition.raw.get("security"))
            for mode, count in PROTECTED if protected else PUBLIC:

                @settings(
                    max_examples=count,
                    deadline=None,
                    database=None,
                    derandomize=True,
                    phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=operation.as_strategy(generation_mode=mode))
                def call(case: Any) -> None:
                    nonlocal calls
                    calls += 1
                    secured = case.operation.definition.raw.get("security")
                    headers = {"Authorization": f"Bearer {token}"} if secured else {}
                    response = case.call(headers=headers)
                    try:
                        case.validate_response(response, checks=checks, headers=headers)
                    except BaseException as exc:
                        found = _failures(exc)
                        if not found:
                            raise
                        for failure in found:
                            if failure.title == "Schema-valid request rejected" and (
                                _rule(response) in DATA_RULES
                            ):
                                continue
                            op = case.operation
                            where = f"{op.method.upper()} {op.path}: {failure.title}"
                            failures[where] += 1
                            reports.setdefault(
                                where,
                                f"{where} [{response.status_code}] "
                                f"{response.text[:200]!r}\n    {case.as_curl_command()[:300]}",
                            )

                try:
                    call()
                except Unsatisfiable:
                    assert mode is GenerationMode.NEGATIVE  # nothing there to make invalid
            spent[f"{key[0]} {key[1]}"] = time.perf_counter() - op_started
    elapsed = time.perf_counter() - started
    print(f"{len(seen)} operations, {calls} calls in {elapsed:.1f} s; slowest:")
    for where in sorted(spent, key=spent.__getitem__, reverse=True)[:8]:
        print(f"  {spent[where]:5.2f} s  {where}")
    assert not failures, "\n".join(reports[k] for k in sorted(failures))
