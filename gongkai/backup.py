"""`gongkai backup` and `gongkai restore`: a dated copy of the suite's state, and back.

Embedded mode (SQLite, var/<service>/events.db and views.db): each file is copied with
SQLite's online backup API, a consistent snapshot of that file even while the suite
writes. The files are copied one after the other, so the copy is not one instant across
files; it is ordered instead: every views.db first, then every events.db. A read model's
checkpoint therefore never points past the head of the log it reads (the audit chain
included), and after a restore the projections catch up from their checkpoints.

PostgreSQL (GONGKAI_DATABASE_URL set): Debian's `pg_dump` of every service schema in one
snapshot (custom format), the store heads read in that same snapshot; the restore drops
those schemas and loads the dump with `psql` in one transaction.

Each backup is a folder `<var>/backups/<UTC time>/` (or `--to`) with `manifest.json`:
the files, their sizes and SHA-256, and the head position of every store and of the
audit chain at the backup. The folder is written as `<name>.partial` and renamed when
complete. `restore` checks every file against the manifest before touching anything and
refuses while the suite has the files open (or, on PostgreSQL, while other sessions use
the database) unless `--force`.

Events written after the backup are not in it. docs/operations.md ("Back up and
restore") says what becomes of them in each mode.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.errors import DomainRuleViolated, NotFound, ValidationFailed
from shared.settings import Settings

MANIFEST = "manifest.json"
FORMAT = 1
DUMP = "gongkai.dump"
#: The SQLite files of a service, in the order they are copied (views before events).
SQLITE_FILES = ("views.db", "events.db")
#: Where Debian puts the PostgreSQL 15 client programs when they are not on PATH.
PG_BIN = Path("/usr/lib/postgresql/15/bin")


@dataclass(frozen=True)
class Done:
    folder: Path
    manifest: dict[str, Any]

    def summary(self) -> str:
        m = self.manifest
        heads = ", ".join(f"{s} {p}" for s, p in sorted(m["heads"].items())) or "no stores"
        chain = m.get("audit_chain")
        tail = f"; audit chain seq {chain['seq']}" if chain else ""
        size = sum(f["bytes"] for f in m["files"])
        return (
            f"{self.folder} ({m['engine']}, {len(m['files'])} files, {size:,} bytes): {heads}{tail}"
        )


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _target(settings: Settings, to: Path | None, now: datetime) -> Path:
    folder = to if to is not None else settings.var_dir / "backups" / _stamp(now)
    if folder.exists():
        raise ValidationFailed(
            rule="backup.folder_exists",
            field="--to",
            message_zh=f"备份目录 {folder} 已存在，不覆盖",
            message_en=f"{folder} exists; a backup never overwrites one",
        )
    return folder


def _finish(partial: Path, folder: Path, manifest: dict[str, Any]) -> Done:
    (partial / MANIFEST).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    os.replace(partial, folder)
    return Done(folder, manifest)


def _file_entry(root: Path, path: Path) -> dict[str, Any]:
    return {
        "path": path.relative_to(root).as_posix(),
        "bytes": path.stat().st_size,
        "sha256": sha256(path),
    }


def backup(settings: Settings, to: Path | None = None, now: datetime | None = None) -> Done:
    now = now or datetime.now(UTC)
    folder = _target(settings, to, now)
    if settings.database_url:
        return asyncio.run(_backup_postgres(settings.database_url, folder, now))
    return _backup_sqlite(settings.var_dir, folder, now)


def restore(settings: Settings, folder: Path, *, force: bool = False) -> Done:
    manifest = verify(folder)
    engine = "postgres" if settings.database_url else "sqlite"
    if manifest["engine"] != engine:
        raise ValidationFailed(
            rule="restore.engine_mismatch",
            field="folder",
            message_zh=f"该备份来自 {manifest['engine']}，当前配置为 {engine}",
            message_en=f"the backup is of {manifest['engine']}; this suite is configured for "
            f"{engine} (GONGKAI_DATABASE_URL)",
        )
    if settings.database_url:
        asyncio.run(_restore_postgres(settings.database_url, folder, manifest, force=force))
    else:
        _restore_sqlite(settings.var_dir, folder, manifest, force=force)
    return Done(folder, manifest)


def verify(folder: Path) -> dict[str, Any]:
    """The manifest of `folder`, after checking every file's size and SHA-256 against it."""
    path = folder / MANIFEST
    if not path.is_file():
        raise NotFound(
            rule="restore.no_manifest",
            field="folder",
            message_zh=f"{folder} 中没有 {MANIFEST}：不是完整的备份",
            message_en=f"no {MANIFEST} in {folder}: not a complete backup",
        )
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise ValidationFailed(
            rule="restore.unknown_format",
            field="folder",
            message_zh=f"备份格式 {manifest.get('format')} 不受支持",
            message_en=f"backup format {manifest.get('format')} is not {FORMAT}",
        )
    for entry in manifest["files"]:
        file = folder / entry["path"]
        found = (file.stat().st_size, sha256(file)) if file.is_file() else None
        if found != (entry["bytes"], entry["sha256"]):
            raise ValidationFailed(
                rule="restore.manifest_mismatch",
                field="folder",
                message_zh=f"{entry['path']} 与清单不符（缺失、大小或 SHA-256 不同），未做任何改动",
                message_en=f"{entry['path']} does not match the manifest (missing, or its size "
                "or SHA-256 differs); nothing was changed",
            )
    return manifest


# -- embedded: SQLite -----------------------------------------------------------------------


def _sqlite_sources(var: Path) -> list[tuple[str, str]]:
    """(service, file) pairs present under var/, views of every service before any events."""
    services = sorted(p.name for p in var.iterdir() if p.is_dir()) if var.is_dir() else []
    return [(s, f) for f in SQLITE_FILES for s in services if (var / s / f).is_file()]


def _backup_sqlite(var: Path, folder: Path, now: datetime) -> Done:
    sources = _sqlite_sources(var)
    if not sources:
        raise NotFound(
            rule="state.not_found",
            field="GONGKAI_VAR_DIR",
            message_zh=f"{var} 下没有服务数据：请检查 GONGKAI_VAR_DIR",
            message_en=f"no service state under {var}: check GONGKAI_VAR_DIR",
        )
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    files, heads = [], {}
    for service, name in sources:
        out = partial / service / name
        out.parent.mkdir(parents=True, exist_ok=True)
        src = sqlite3.connect(var / service / name, timeout=30)
        dst = sqlite3.connect(out)
        try:
            src.backup(dst)  # one step: a consistent snapshot of the file
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal
            if name == "events.db":
                heads[service] = int(
                    dst.execute("SELECT COALESCE(MAX(position), 0) FROM events").fetchone()[0]
                )
        finally:
            dst.close()
            src.close()
        files.append(_file_entry(partial, out))
    manifest = {
        "format": FORMAT,
        "engine": "sqlite",
        "created_at": now.isoformat(),
        "source": str(var.resolve()),
        "order": "every views.db, then every events.db",
        "files": files,
        "heads": heads,
        "audit_chain": _sqlite_chain_head(partial / "audit" / "views.db"),
    }
    return _finish(partial, folder, manifest)


def _sqlite_chain_head(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    conn = sqlite3.connect(path)
    try:
        row = conn.execute("SELECT seq, hash FROM audit_chain ORDER BY seq DESC LIMIT 1").fetchone()
    except sqlite3.OperationalError:
        return None  # no chain table yet
    finally:
        conn.close()
    return {"seq": int(row[0]), "hash": str(row[1])} if row else {"seq": 0, "hash": None}


def _in_use(path: Path) -> bool:
    """Whether another connection has the file open: an exclusive lock cannot be had then
    (in WAL mode every open connection holds a shared lock on it)."""
    if not path.exists():
        return False
    conn = sqlite3.connect(path, timeout=0)
    try:
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        conn.rollback()
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        conn.close()


def _restore_sqlite(var: Path, folder: Path, manifest: dict[str, Any], *, force: bool) -> None:
    targets = [var / entry["path"] for entry in manifest["files"]]
    busy = [str(t) for t in targets if _in_use(t)]
    if busy and not force:
        raise DomainRuleViolated(
            rule="restore.suite_running",
            field="GONGKAI_VAR_DIR",
            message_zh=f"文件正被使用（套件在运行？）：{', '.join(busy)}；请先停止，或加 --force",
            message_en=f"in use (is the suite running?): {', '.join(busy)}; stop it first, "
            "or pass --force",
        )
    # What is replaced is kept beside the backups, never deleted.
    aside = var / "backups" / f"replaced-{_stamp(datetime.now(UTC))}"
    for entry, target in zip(manifest["files"], targets, strict=True):
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(target.name + ".restoring")
        shutil.copyfile(folder / entry["path"], staged)
        with staged.open("rb") as fh:
            os.fsync(fh.fileno())
        if target.exists():
            kept = aside / entry["path"]
            kept.parent.mkdir(parents=True, exist_ok=True)
            os.replace(target, kept)
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(staged, target)


# -- PostgreSQL -----------------------------------------------------------------------------


def pg_program(name: str) -> str:
    found = shutil.which(name) or (str(PG_BIN / name) if (PG_BIN / name).exists() else None)
    if found is None:
        raise NotFound(
            rule="backup.pg_client_missing",
            field=name,
            message_zh=f"未找到 {name}：请安装 Debian 包 postgresql-client-15",
            message_en=f"{name} not found: install the Debian package postgresql-client-15",
        )
    return found


async def _service_schemas(conn: Any) -> list[str]:
    """Schemas holding a gongkai event store (a table `events`), shadows of replays left out."""
    rows = await conn.fetch(
        """SELECT table_schema FROM information_schema.tables
           WHERE table_name = 'events' AND table_schema NOT LIKE '%\\_shadow'
           ORDER BY table_schema"""
    )
    return [r["table_schema"] for r in rows]


async def _backup_postgres(url: str, folder: Path, now: datetime) -> Done:
    import asyncpg

    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    conn = await asyncpg.connect(url)
    try:
        # One snapshot for the heads and the dump: they describe the same instant.
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
            schemas = await _service_schemas(conn)
            if not schemas:
                raise NotFound(
                    rule="state.not_found",
                    field="GONGKAI_DATABASE_URL",
                    message_zh="该数据库中没有 gongkai 服务的 schema",
                    message_en="no gongkai service schema in this database",
                )
            heads = {
                s: int(await conn.fetchval(f'SELECT COALESCE(MAX(position), 0) FROM "{s}".events'))
                for s in schemas
            }
            chain = None
            if "audit" in schemas and await conn.fetchval(
                "SELECT to_regclass('audit.audit_chain') IS NOT NULL"
            ):
                row = await conn.fetchrow(
                    "SELECT seq, hash FROM audit.audit_chain ORDER BY seq DESC LIMIT 1"
                )
                chain = (
                    {"seq": int(row["seq"]), "hash": row["hash"]}
                    if row
                    else {"seq": 0, "hash": None}
                )
            command = [pg_program("pg_dump"), "--format=custom", "--no-owner", "--no-privileges"]
            command += [f"--snapshot={snapshot}", f"--file={partial / DUMP}"]
            command += [f"--schema={s}" for s in schemas] + [f"--dbname={url}"]
            done = await asyncio.to_thread(
                subprocess.run, command, capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                raise RuntimeError(f"pg_dump failed: {done.stderr.strip()}")
    finally:
        await conn.close()
    manifest = {
        "format": FORMAT,
        "engine": "postgres",
        "created_at": now.isoformat(),
        "source": url.rsplit("@", 1)[-1],  # host/db, never the password
        "schemas": schemas,
        "files": [_file_entry(partial, partial / DUMP)],
        "heads": heads,
        "audit_chain": chain,
    }
    return _finish(partial, folder, manifest)


async def _restore_postgres(
    url: str, folder: Path, manifest: dict[str, Any], *, force: bool
) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        others = await conn.fetchval(
            """SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()
               AND pid <> pg_backend_pid() AND backend_type = 'client backend'"""
        )
    finally:
        await conn.close()
    if others and not force:
        raise DomainRuleViolated(
            rule="restore.suite_running",
            field="GONGKAI_DATABASE_URL",
            message_zh=f"数据库有 {others} 个其他连接（服务在运行？）；请先停止，或加 --force",
            message_en=f"{others} other sessions use the database (are services running?); "
            "stop them first, or pass --force",
        )
    drops = "".join(f'DROP SCHEMA IF EXISTS "{s}" CASCADE;\n' for s in manifest["schemas"])
    with tempfile.NamedTemporaryFile("w+b", suffix=".sql") as script:
        script.write(drops.encode())
        script.flush()
        dumped = await asyncio.to_thread(
            subprocess.run,
            [
                pg_program("pg_restore"),
                "--no-owner",
                "--no-privileges",
                "--file=-",
                str(folder / DUMP),
            ],
            stdout=script,
            stderr=subprocess.PIPE,
            check=False,
        )
        if dumped.returncode != 0:
            raise RuntimeError(f"pg_restore failed: {dumped.stderr.decode().strip()}")
        script.flush()
        # Drops and the dump in ONE transaction: a failure leaves the database as it was.
        loaded = await asyncio.to_thread(
            subprocess.run,
            [
                pg_program("psql"),
                "-X",
                "-q",
                "--single-transaction",
                "-v",
                "ON_ERROR_STOP=1",
                f"--file={script.name}",
                f"--dbname={url}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    if loaded.returncode != 0:
        raise RuntimeError(f"psql failed, nothing restored: {loaded.stderr.strip()}")
