"""信息报送 on real SQLite and PostgreSQL: the handlers, the two-stream acceptance, the read
model and the month's counts (the e2e suite runs the same through HTTP on Kafka).

- an accepted item and its catalog draft are written in one append; a refusal writes
  nothing (issue #20 "Bad input");
- once the draft passes 三审三校 and is published, the item counts as published in the
  month of publication (方案§18 报送刊登情况通报, decision 82);
- the counts do not depend on the order in which the item's and the document's streams
  arrive (Kafka orders per stream only), and a rebuild equals the live read model.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from pydantic import BaseModel

from services.catalog.commands import (
    CheckAttribute,
    DetermineAttribute,
    Proofreading,
    ProposeAttribute,
    PublishDocument,
    RecordReview,
)
from services.catalog.content import DocumentContent
from services.catalog.events import ReviewStage
from services.catalog.handlers import DOCUMENT_COMMANDS
from services.catalog.submission_commands import (
    AcceptSubmission,
    DeclineSubmission,
    EditSubmission,
    IssueBulletin,
    RedactSubmission,
    SubmitItem,
)
from services.catalog.submission_handlers import (
    SUBMISSION_COMMANDS,
    accept,
    issue_bulletin,
    submit,
)
from services.catalog.submission_views import SubmissionLedger, unit_counts
from services.catalog.submissions import Counts
from shared.commands import execute
from shared.db import Database, SqliteDatabase
from shared.envelope import RecordedEvent, new_id
from shared.errors import DomainRuleViolated, Forbidden
from shared.eventstore import EventStore, SqlEventStore, open_postgres_store, open_sqlite_store
from shared.identity import Principal, Role
from shared.projections import ProjectionRunner
from shared.tenancy import OrgTree, load_org_tree
from shared.workdays import WorkdayCalendar

pytestmark = pytest.mark.integration

ORG_FILE = Path(__file__).parents[2] / "deploy" / "demo" / "district.yaml"
FEBRUARY = datetime(2026, 2, 10, 2, 0, tzinfo=UTC)
MARCH = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
FINANCE = "shangdang/sudian/finance"
AGRI = "shangdang/sudian/agri-service"


def person(sub: str, org: str, *roles: Role) -> Principal:
    return Principal(sub=sub, org=org, roles=frozenset(roles))


CHEN_JING = person("chen-jing", FINANCE, Role.DRAFTER, Role.LIAISON)
LI_NA = person("li-na", "shangdang/sudian/party-office", Role.DRAFTER)
YANG_FAN = person("yang-fan", AGRI, Role.DRAFTER)
ZHANG_WEI = person("zhang-wei", "shangdang/sudian/party-office", Role.SECTION_HEAD)
GUO = person("guo-xinxin", "shangdang/sudian", Role.LEADER_IN_CHARGE, Role.OPENNESS_OFFICE_HEAD)
NIU_KUN = person("niu-kun", "shangdang/sudian", Role.LEADER_IN_CHARGE)
WANG_XIAOLE = person("wang-xiaole", "shangdang/sudian", Role.LEADER_IN_CHARGE)
WANG_TIETONG = person("wang-tietong", "shangdang/sudian", Role.ATTRIBUTE_OFFICER)


@dataclass
class Rt:
    """What the handlers take from a runtime: store, read models, org tree, time."""

    store: EventStore
    views: Database
    orgs: OrgTree
    now: datetime = FEBRUARY

    def clock(self) -> datetime:
        return self.now

    def calendar(self) -> WorkdayCalendar:
        return WorkdayCalendar.default()


@pytest.fixture(params=["sqlite", "postgres"])
async def rt(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rt]:
    store: SqlEventStore
    if request.param == "sqlite":
        store = await open_sqlite_store(str(tmp_path / "events.db"), name="catalog")
        views: Database = await SqliteDatabase.open(tmp_path / "views.db")
    else:
        schema = request.getfixturevalue("pg_schema")
        store = await open_postgres_store(request.getfixturevalue("pg_url"), schema=schema)
        views = store.db
    yield Rt(store, views, load_org_tree(ORG_FILE))
    if views is not store.db:
        await views.close()
    await store.close()


def content(**overrides: Any) -> DocumentContent:
    base: dict[str, Any] = {
        "title": "苏店镇2026年耕地地力保护补贴发放情况公示",
        "body": "补贴已发放到户。如有异议，请联系财政所（电话13912345678）。",
        "issue_date": date(2026, 2, 9),
        "kind": "notice",
        "column": "finance",
    }
    base.update(overrides)
    return DocumentContent.model_validate(base)


async def step(
    rt: Rt, table: Any, name: str, instance: UUID, cmd: BaseModel, who: Principal
) -> Any:
    return await execute(rt, table, name, instance, cmd, who, new_id())


async def publish_draft(rt: Rt, document_id: UUID) -> None:
    """公开属性认定 and 三审三校 by people who did not write it, then publication."""
    doc: Callable[[str, BaseModel, Principal], Any] = lambda name, cmd, who: step(  # noqa: E731
        rt, DOCUMENT_COMMANDS, name, document_id, cmd, who
    )
    await doc("propose", ProposeAttribute(attribute="proactive"), LI_NA)
    await doc("check", CheckAttribute(agrees=True), WANG_TIETONG)
    await doc("determine", DetermineAttribute(attribute="proactive"), WANG_XIAOLE)
    signed = Proofreading(signed=True, corrections=1)
    for who, stage in (
        (YANG_FAN, "first_review"),
        (ZHANG_WEI, "second_review"),
        (NIU_KUN, "final_review"),
    ):
        await doc(
            "review",
            RecordReview(stage=ReviewStage(stage), outcome="pass", proofreading=signed),
            who,
        )
    await doc("publish", PublishDocument(channels=["website"]), NIU_KUN)


async def head(store: EventStore) -> int:
    return await store.head_position()


async def test_submit_accept_review_publish_counts_in_the_month__s18(rt: Rt) -> None:
    runner = ProjectionRunner(SubmissionLedger(), rt.store, rt.views)
    await runner.setup()
    (received,) = await submit(rt, SubmitItem(content=content()), CHEN_JING, new_id())
    item = UUID(received.payload["submission_id"])
    assert received.tenant == FINANCE and received.payload["findings"][0]["kind"] == "mobile"

    before = await head(rt.store)  # a held item is refused and writes nothing (方案§8)
    with pytest.raises(DomainRuleViolated) as err:
        await accept(rt, item, AcceptSubmission(), GUO, new_id(), None)
    assert err.value.rule == "submission.privacy_held" and await head(rt.store) == before

    await step(rt, SUBMISSION_COMMANDS, "redact", item, RedactSubmission(), GUO)
    written = await accept(rt, item, AcceptSubmission(comment="同意采用"), GUO, new_id(), None)
    assert [(e.stream_type, e.type) for e in written] == [
        ("submission", "SubmissionAccepted"),
        ("document", "DocumentDrafted"),
        ("document", "PrivacyScanCompleted"),
    ]
    drafted = written[1]
    assert drafted.payload["submission_id"] == str(item) and drafted.tenant == FINANCE
    assert drafted.payload["drafter"] == "guo-xinxin"  # the office's redaction wrote the text
    await publish_draft(rt, UUID(drafted.payload["document_id"]))

    (other,) = await submit(
        rt, SubmitItem(content=content(body="财政所简讯。")), CHEN_JING, new_id()
    )
    other_id = UUID(other.payload["submission_id"])
    retitled = EditSubmission(content=content(title="财政所工作简讯（第2期）", body="财政所简讯。"))
    (edited,) = await step(rt, SUBMISSION_COMMANDS, "edit", other_id, retitled, GUO)
    assert edited.payload["editor"] == "guo-xinxin" and edited.payload["findings"] == []
    with pytest.raises(Forbidden):  # the unit does not edit: the office does
        await step(rt, SUBMISSION_COMMANDS, "edit", other_id, retitled, CHEN_JING)
    await step(
        rt, SUBMISSION_COMMANDS, "decline", other_id, DeclineSubmission(reason="内部工作信息"), GUO
    )
    await runner.run_once()
    counts = await unit_counts(rt.views, "shangdang/sudian", "2026-02")
    assert counts == {FINANCE: Counts(submitted=2, accepted=1, published=1, declined=1)}

    # The bulletin waits for the month to end, then lists every unit of 苏店镇.
    with pytest.raises(DomainRuleViolated) as err:
        await issue_bulletin(rt, IssueBulletin(month="2026-02"), GUO, new_id())
    assert err.value.rule == "bulletin.month_not_over"
    rt.now = MARCH
    issued = await issue_bulletin(rt, IssueBulletin(month="2026-02"), GUO, new_id())
    rows = {r["unit"]: r for r in issued.payload["rows"]}
    assert rows[FINANCE]["published"] == 1 and rows[AGRI]["submitted"] == 0
    assert set(rows) == {str(u.path) for u in rt.orgs.units_of("shangdang/sudian")}
    before = await head(rt.store)
    with pytest.raises(Exception) as again:
        await issue_bulletin(rt, IssueBulletin(month="2026-02"), GUO, new_id())
    assert getattr(again.value, "rule", None) == "bulletin.already_issued"
    assert await head(rt.store) == before

    title = await rt.views.fetchval(
        "SELECT title FROM catalog_submissions WHERE submission_id = $1", str(other_id)
    )
    assert title == "财政所工作简讯（第2期）"
    live = await rt.views.fetch("SELECT * FROM catalog_submissions ORDER BY submission_id")
    await runner.rebuild()
    assert await rt.views.fetch("SELECT * FROM catalog_submissions ORDER BY submission_id") == live


async def test_counts_do_not_depend_on_the_order_of_streams__kafka_per_stream_order(rt: Rt) -> None:
    """Apply the document's stream before the item's: the published count is the same."""
    (received,) = await submit(
        rt, SubmitItem(content=content(body="补贴已发放到户。")), CHEN_JING, new_id()
    )
    item = UUID(received.payload["submission_id"])
    written = await accept(rt, item, AcceptSubmission(), GUO, new_id(), None)
    await publish_draft(rt, UUID(written[1].payload["document_id"]))
    events: list[RecordedEvent] = await rt.store.read_all(0)
    documents = [e for e in events if e.stream_type == "document"]
    items = [e for e in events if e.stream_type == "submission"]
    ledger = SubmissionLedger()
    async with rt.views.transaction() as tx:
        for statement in ledger.schema:
            await tx.execute(statement)
        for event in [*documents, *items]:
            await ledger.apply(tx, event)
    counts = await unit_counts(rt.views, "shangdang", "2026-02")
    assert counts == {FINANCE: Counts(submitted=1, accepted=1, published=1)}
