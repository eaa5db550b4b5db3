"""The ledger projection and its queues on SQLite: due soon, overdue, my queue, search,
by applicant (DOMAIN.md §2; issue #3 "Queries")."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path

from services.applications import domain, queries
from services.applications.commands import AssignRequest, RegisterRequest, Reply
from services.applications.domain import applicant_key, assign, evolve, register
from services.applications.projections import RequestLedger
from services.applications.state import RequestState
from shared.db import SqliteDatabase
from shared.envelope import Actor, RecordedEvent, new_id
from shared.registry import DomainEvent, payload_of
from shared.workdays import WorkdayCalendar

CAL = WorkdayCalendar.default()
TODAY = date(2026, 3, 10)


def _cmd(received: date, description: str, id_document: str) -> RegisterRequest:
    return RegisterRequest.model_validate(
        {
            "channel": "in_person",
            "submitted_on": received.isoformat(),
            "applicant": {
                "kind": "natural_person",
                "name": "王秀英",
                "id_document": id_document,
                "phone": "13812345678",
            },
            "description": description,
            "requested_form": "paper",
            "delivery_channel": "post",
        }
    )


def _recorded(rid: str, version: int, position: int, event: DomainEvent) -> RecordedEvent:
    now = datetime(2026, 3, 10, 2, 0, position % 60, tzinfo=UTC)
    return RecordedEvent(
        event_id=new_id(),
        stream_id=f"request-{rid}",
        stream_type=event.stream_type,
        version=version,
        position=position,
        type=event.event_type,
        schema_version=event.schema_version,
        tenant="shangdang/sudian",
        actor=Actor(id="wang-tietong"),
        correlation_id=new_id(),
        causation_id=None,
        occurred_at=now,
        recorded_at=now,
        payload=payload_of(event),
    )


async def _scenario(path: Path) -> None:
    db = await SqliteDatabase.open(path)
    ledger = RequestLedger()
    await db.execute_script(list(ledger.schema))
    cases = [
        ("overdue", date(2026, 1, 20), "申请公开2025年度农村低保名单", "证件A", False),
        ("soon", date(2026, 2, 10), "申请公开苏店镇惠民惠农资金发放名单", "证件B", False),
        ("later", date(2026, 3, 9), "申请公开村级财务公开材料", "证件A", False),
        ("replied", date(2026, 1, 20), "申请公开2025年度农村低保审批流程", "证件C", True),
    ]
    position = 0
    ids = {}
    for sequence, (name, received, description, doc, reply) in enumerate(cases, start=1):
        rid = new_id()
        ids[name] = str(rid)
        event = register(
            _cmd(received, description, doc),
            request_id=rid,
            short_name="苏店",
            year=2026,
            sequence=sequence,
            today=received,
            calendar=CAL,
        )
        state = evolve(RequestState(), event)
        events: list[DomainEvent] = [event]
        assigned = assign(state, AssignRequest(handler="wang-tietong" if sequence < 3 else "li-na"))
        events.append(assigned)
        state = evolve(state, assigned)
        if reply:
            events.append(
                domain.reply(state, Reply(reply_type="disclosed", replied_on=TODAY), TODAY)
            )
        async with db.transaction() as tx:
            for version, e in enumerate(events, start=1):
                position += 1
                await ledger.apply(tx, _recorded(str(rid), version, position, e))

    soon_until = CAL.add_workdays(TODAY, 5).due

    async def found(**kw: object) -> set[str]:
        f = queries.Filters(scope="shangdang/sudian", today=TODAY, soon_until=soon_until, **kw)  # type: ignore[arg-type]
        return {r["request_id"] for r in await queries.every(db, f)}

    assert await found(due="overdue") == {ids["overdue"]}
    assert await found(due="soon") == {ids["soon"]}  # due 2026-03-16
    assert await found(mine="wang-tietong") == {ids["overdue"], ids["soon"]}
    # the work list's queue: every open request of the township, whoever handles it
    assert await found(open_only=True) == {ids["overdue"], ids["soon"], ids["later"]}
    open_page, _ = await queries.page(
        db, queries.Filters(scope="shangdang/sudian", open_only=True), 10, None
    )
    assert [r["request_id"] for r in open_page] == [ids["later"], ids["soon"], ids["overdue"]]
    assert await found(q="农村低保") == {ids["overdue"], ids["replied"]}
    assert await found(q="%") == set()  # LIKE wildcards are literal
    assert await found(status="replied") == {ids["replied"]}
    assert await found(applicant_key=applicant_key("natural_person", "证件A")) == {
        ids["overdue"],
        ids["later"],
    }
    rows = await queries.every(db, queries.Filters(scope="shangdang/sudian"))
    text = queries.to_csv(rows)
    assert text.startswith("\ufeff登记编号") and "王秀英" not in text
    page, cursor = await queries.page(db, queries.Filters(scope="shangdang/sudian"), 3, None)
    rest, end = await queries.page(db, queries.Filters(scope="shangdang/sudian"), 3, cursor)
    assert len(page) == 3 and len(rest) == 1 and end is None
    await db.close()


def test_ledger_queues_due_soon_overdue_mine_search_and_by_applicant(tmp_path: Path) -> None:
    asyncio.run(_scenario(tmp_path / "views.db"))
