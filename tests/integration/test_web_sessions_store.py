"""The web sessions table on both engines (SQLite embedded, PostgreSQL distributed): only
the hash of an id is kept, idle and absolute timeouts end a session on time (GB/T
22239-2019 8.1.4.1 b), and ending every session of an account (退出所有设备)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.workbench import websessions
from services.workbench.websessions import WebSessions
from shared.db import Database

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


async def test_a_session_is_found_by_its_id_whose_hash_alone_is_kept(database: Database) -> None:
    sessions = WebSessions(database)
    web = await sessions.start("li-na", "shangdang/sudian", 3, "password", NOW)
    found, why = await sessions.find(web.id, NOW + timedelta(minutes=1))
    assert why == "ok" and found is not None
    assert (found.account_id, found.org, found.generation) == ("li-na", "shangdang/sudian", 3)
    kept = await database.fetchval("SELECT id_hash FROM web_sessions")
    assert kept != web.id and web.id not in str(kept)
    assert (await sessions.find("someone-elses", NOW))[1] == "unknown"
    assert (await sessions.find(None, NOW))[1] == "none"


async def test_idle_timeout_moves_with_use_and_the_absolute_one_does_not(
    database: Database,
) -> None:
    sessions = WebSessions(database)
    web = await sessions.start("li-na", "shangdang/sudian", 0, "password", NOW)
    at = NOW
    while at + websessions.IDLE - timedelta(minutes=1) < NOW + websessions.ABSOLUTE:
        at += websessions.IDLE - timedelta(minutes=1)
        assert (await sessions.find(web.id, at))[1] == "ok"
    assert (await sessions.find(web.id, NOW + websessions.ABSOLUTE))[1] == "absolute"
    assert (await sessions.find(web.id, NOW + websessions.ABSOLUTE))[1] == "unknown"  # deleted
    idle = await sessions.start("li-na", "shangdang/sudian", 0, "password", NOW)
    assert (await sessions.find(idle.id, NOW + websessions.IDLE))[1] == "idle"


async def test_ending_every_session_of_an_account_leaves_the_others(database: Database) -> None:
    sessions = WebSessions(database)
    a = await sessions.start("li-na", "shangdang/sudian", 0, "password", NOW)
    b = await sessions.start("li-na", "shangdang/sudian", 0, "password", NOW)
    c = await sessions.start("zhang-wei", "shangdang/sudian", 0, "password", NOW)
    assert await sessions.end_all("li-na") == 2
    assert [(await sessions.find(s.id, NOW))[1] for s in (a, b, c)] == ["unknown", "unknown", "ok"]


async def test_a_sign_in_deletes_sessions_past_their_absolute_timeout(database: Database) -> None:
    sessions = WebSessions(database)
    await sessions.start("li-na", "shangdang/sudian", 0, "password", NOW)
    await sessions.start("zhang-wei", "shangdang/sudian", 0, "password", NOW + websessions.ABSOLUTE)
    assert await database.fetchval("SELECT COUNT(*) FROM web_sessions") == 1
