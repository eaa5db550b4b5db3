"""Where the operator tools find things, the way gongkai/app.py lays them out.

Embedded: var/<service>/events.db (store) and var/<service>/views.db (read models; the
audit chain is in var/audit/views.db). PostgreSQL: one schema per service holding both.
Shadow copies for `gongkai replay`: var/<service>/shadow.db, or schema `<service>_shadow`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from shared.db import Database, PostgresDatabase, SqliteDatabase
from shared.errors import NotFound
from shared.eventstore import SqlEventStore, open_postgres_store, open_sqlite_store
from shared.settings import Settings


def sqlite_path(settings: Settings, service: str, file: str) -> Path:
    return settings.var_dir / service / file


def existing(path: Path) -> Path:
    """Operator tools read state; they never create an empty store by a wrong GONGKAI_VAR_DIR."""
    if not path.exists():
        raise NotFound(
            rule="state.not_found",
            field="GONGKAI_VAR_DIR",
            message_zh=f"未找到 {path}：请检查 GONGKAI_VAR_DIR 或 GONGKAI_DATABASE_URL",
            message_en=f"{path} not found: check GONGKAI_VAR_DIR or GONGKAI_DATABASE_URL",
        )
    return path


async def open_store(settings: Settings, service: str) -> SqlEventStore:
    if settings.database_url:
        return await open_postgres_store(settings.database_url, schema=service, listen=False)
    path = existing(sqlite_path(settings, service, "events.db"))
    return await open_sqlite_store(str(path), name=service)


async def open_views(settings: Settings, service: str, *, shadow: bool = False) -> Database:
    if settings.database_url:
        schema = f"{service}_shadow" if shadow else service
        return await PostgresDatabase.open(settings.database_url, schema, max_size=2)
    if shadow:
        return await SqliteDatabase.open(sqlite_path(settings, service, "shadow.db"))
    return await SqliteDatabase.open(existing(sqlite_path(settings, service, "views.db")))


@asynccontextmanager
async def views(
    settings: Settings, service: str, *, shadow: bool = False
) -> AsyncIterator[Database]:
    db = await open_views(settings, service, shadow=shadow)
    try:
        yield db
    finally:
        await db.close()


@asynccontextmanager
async def store(settings: Settings, service: str) -> AsyncIterator[SqlEventStore]:
    opened = await open_store(settings, service)
    try:
        yield opened
    finally:
        await opened.close()
