"""Shared fixtures and the policy for tests that need real infrastructure.

Tests that need PostgreSQL, Kafka or Keycloak read their addresses from
GONGKAI_TEST_DATABASE_URL, GONGKAI_TEST_KAFKA_BOOTSTRAP and GONGKAI_TEST_KEYCLOAK_URL
(`make test` starts them with deploy/infra.sh and sets them). When an address is missing:
with CI=true the test FAILS (CI must run every integration test); locally it
is skipped with the reason, and `make test` prints the skip list at the end.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import pytest

from shared.db import Database, PostgresDatabase, SqliteDatabase

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# The daily column check (services/catalog/column_checks.py) runs on the real clock in a
# suite started on a working day after 08:00 Shanghai time, and would record empty columns
# for every township in the middle of tests that count points: whether a test passed would
# depend on the weekday CI ran. Tests turn it on where they test it
# (tests/integration/test_catalog_column_schedule.py); subprocesses inherit this.
os.environ.setdefault("GONGKAI_COLUMN_CHECKS", "off")


def _need(var: str, what: str) -> str:
    value = os.environ.get(var)
    if value:
        return value
    message = f"{what} not available: {var} is not set (start it with `deploy/infra.sh up`)"
    if IN_CI:
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_url() -> str:
    return _need("GONGKAI_TEST_DATABASE_URL", "PostgreSQL")


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    return _need("GONGKAI_TEST_KAFKA_BOOTSTRAP", "Kafka")


@pytest.fixture(scope="session")
def keycloak_url() -> str:
    """Base URL of the real Keycloak started by deploy/keycloak.sh (realm `gongkai` written
    from deploy/keycloak/realm.json)."""
    return _need("GONGKAI_TEST_KEYCLOAK_URL", "Keycloak").rstrip("/")


async def _drop_schemas(url: str, *schemas: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for schema in schemas:
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await conn.close()


@pytest.fixture
def pg_schema(pg_url: str) -> Iterator[str]:
    """A fresh PostgreSQL schema name for one test; the schema is dropped afterwards.

    Synchronous on purpose, so async fixtures may request it dynamically.
    """
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield schema
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _drop_schemas(pg_url, schema)).result()


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def pg_database_url(pg_url: str) -> Iterator[str]:
    """The URL of a fresh PostgreSQL database for one test (for a process started with
    GONGKAI_DATABASE_URL, which uses its own schemas); dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _admin(pg_url, f"CREATE DATABASE {name}")).result()
    yield pg_url.rsplit("/", 1)[0] + "/" + name
    with ThreadPoolExecutor(1) as pool:
        drop = _admin(pg_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        pool.submit(asyncio.run, drop).result()


@pytest.fixture(params=["sqlite", "postgres"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """The SQL port on both engines: a fresh SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        opened: Database = await SqliteDatabase.open(tmp_path / "views.db")
    else:
        opened = await PostgresDatabase.open(
            request.getfixturevalue("pg_url"), request.getfixturevalue("pg_schema")
        )
    yield opened
    await opened.close()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests by folder (unit, integration, e2e, contract) and by the real parts they use.

    `postgres` / `kafka` / `keycloak` marks make the count of tests against real infrastructure
    measurable: `pytest -m kafka --collect-only -q`.
    """
    for item in items:
        parts = item.path.parts
        for layer in ("unit", "integration", "e2e", "contract"):
            if layer in parts:
                item.add_marker(getattr(pytest.mark, layer))
        params = {
            v
            for v in getattr(getattr(item, "callspec", None), "params", {}).values()
            if isinstance(v, str)
        }
        names = set(getattr(item, "fixturenames", ()))
        if "postgres" in params or "distributed" in params or "pg_url" in names:
            item.add_marker(pytest.mark.postgres)
        if "distributed" in params or "kafka_bootstrap" in names:
            item.add_marker(pytest.mark.kafka)
        if "keycloak_url" in names:
            item.add_marker(pytest.mark.keycloak)
