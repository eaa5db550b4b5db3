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

import collections
import time
from collections.abc import Iterator
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
from shared.settings import Settings

pytestmark = pytest.mark.contract

SECRET = "contract-" + "x" * 40
DOCUMENTS: dict[str, Any] = {}
#: Generated requests per operation and mode (valid, invalid): a public route's input
#: reaches its handler; a protected route called without a token is refused (401) before
#: its input is read, whatever the input, so one request of each mode shows it.
EXAMPLES = 3
EXAMPLES_PROTECTED = 1

#: Rules a schema-valid request may still meet, because they depend on data (what exists,
#: what a previous answer said), not on the request's shape.
DATA_RULES = {
    "cursor.invalid",  # a cursor is opaque: only one a previous page gave is valid
    "organ.unknown",  # an organ is valid if the district has it
    "topic.unknown",
    "qa.query_missing",  # document_id or q: OpenAPI cannot say "at least one of"
    "search.query_empty",  # letters, digits or Chinese characters after normalising
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
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    var = tmp_path_factory.mktemp("openapi-suite")
    DOCUMENTS.update(create_openapi_documents())  # before the suite: it sets the log level
    app = create_app(
        Settings(var_dir=Path(var), token_secret=SECRET, log_level="critical"), role="embedded"
    )
    schemathesis.openapi.from_asgi("/openapi.json", app)  # starts the suite (lifespan)
    try:
        yield app
    finally:
        schemathesis_asgi.shutdown_lifespans()


def test_every_service_behaves_as_its_openapi_document_says(suite: Any) -> None:
    load_all_checks()
    checks = CHECKS.get_all()
    documents = DOCUMENTS
    failures: collections.Counter[str] = collections.Counter()
    examples: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    calls = 0
    spent: dict[str, float] = {}
    started = time.perf_counter()
    for service in SERVICES:
        schema = schemathesis.openapi.from_dict(documents[service])
        schema.app = suite
        for result in schema.get_all_operations():
            operation = result.ok()
            key = (operation.method.upper(), operation.path)
            if key in seen:  # /health, /metrics, … are in every document: once
                continue
            seen.add(key)
            op_started = time.perf_counter()
            protected = bool(operation.definition.raw.get("security"))
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @settings(
                    max_examples=EXAMPLES_PROTECTED if protected else EXAMPLES,
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
                    response = case.call()
                    try:
                        case.validate_response(response, checks=checks)
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
                            examples.setdefault(
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
    assert not failures, "\n".join(examples[k] for k in sorted(failures))
