"""Application layer of 主动公开: the command table the kernel runs (shared/commands.py), and
the steps that are not one command on one document: drafting (a new stream), columns,
gazette issues (numbered across a year's stream) and the Art. 26 sweep's flag.

A document step is one row of `DOCUMENT_COMMANDS`: its input model, the roles that may give
it, the pure decision of domain.py it runs, the duties its giver may not combine, and,
where the decision needs the township's columns, a `prepare` that reads them. The kernel
loads, hides other townships' documents (404), checks role and If-Match, decides and
appends under the drafting unit.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.catalog import commands as c
from services.catalog import domain, filing, gazette
from services.catalog.access import (
    COLUMN_ROLES,
    FILING_ROLES,
    JUSTIFYING_ROLES,
    NUMBERING_ATTEMPTS,
    PUBLISHING_ROLES,
    REGISTERING_ROLES,
    SIGNING_ROLES,
    VALIDITY_ROLES,
    WITHDRAWING_ROLES,
    column_stream,
    columns_of,
    gazette_stream,
    home,
    not_drafter,
    review_duty,
    separate,
    township_staff,
)
from services.catalog.domain import DocumentState
from services.catalog.events import (
    ColumnConfigured,
    DocumentRevised,
    GazetteIssuePublished,
    PublicationChannel,
    registry,
)
from shared.commands import (
    Aggregate,
    Command,
    CommandTable,
    Context,
    acting_role,
    actor_of,
)
from shared.envelope import SYSTEM_ACTOR, RecordedEvent, StreamWrite, new_id
from shared.errors import ConcurrencyConflict, ValidationFailed
from shared.eventstore import EventStore
from shared.identity import Principal, Role, authorize, require_org
from shared.registry import DomainEvent, to_new_event
from shared.tenancy import OrgTree
from shared.workdays import WorkdayCalendar, local_date

__all__ = [
    "DOCUMENTS",
    "DOCUMENT_COMMANDS",
    "CatalogHandlers",
    "accepted",
    "column_stream",
    "gazette_stream",
]


def _decode(event: RecordedEvent) -> DomainEvent:
    decoded = registry.decode(event)
    if isinstance(decoded, DocumentRevised) and decoded.revised_by is None:
        # A v1 revision did not name its reviser; the envelope's actor wrote it.
        decoded = decoded.model_copy(update={"revised_by": event.actor.id})
    return decoded


DOCUMENTS: Aggregate[DocumentState] = Aggregate(
    kind="document",
    id_field="document_id",
    label_zh="文件",
    label_en="document",
    registry=registry,
    initial=DocumentState,
    evolve=domain.evolve,
    # A document's events belong to its drafting unit.
    tenant=lambda state, events: state.drafting_unit,
    visible=township_staff,
    decode=_decode,
)


class Redaction(BaseModel):
    """删减: which open findings to mask (default: all of them)."""

    model_config = ConfigDict(extra="forbid")

    fingerprints: list[str] | None = Field(default=None, description="默认删减全部未处理项")


async def _columns(
    runtime: Any, state: DocumentState, cmd: Any, principal: Principal, tenant: str
) -> Mapping[str, Any]:
    """The township's columns, which a revision's column must be one of."""
    return {"columns": await columns_of(runtime.store, state.township)}


def _redact(s: DocumentState, cmd: Redaction, x: Context) -> Sequence[DomainEvent]:
    chosen = frozenset(cmd.fingerprints) if cmd.fingerprints is not None else None
    return domain.redact(s, chosen, x.today, reviser=x.principal.sub)


DRAFTER = (Role.DRAFTER,)

DOCUMENT_COMMANDS: CommandTable[DocumentState] = CommandTable(
    aggregate=DOCUMENTS,
    prefix="/v1/catalog/documents",
    tag="catalog 主动公开",
    answer=lambda events, document_id: accepted(events),
    commands=(
        Command(
            "revise",
            c.ReviseDocument,
            "修改/更新",
            "New revision (an update of a published document gives its reason)",
            DRAFTER,
            lambda s, cmd, x: domain.revise(
                s, cmd.content, cmd.reason, x.today, x.given["columns"], reviser=x.principal.sub
            ),
            guard=separate("drafting"),
            prepare=_columns,
            path="/{document_id}/revisions",
            basis="方案§18 先审后发",
        ),
        Command(
            "propose",
            c.ProposeAttribute,
            "拟稿人提出公开属性",
            "The drafter proposes the disclosure attribute",
            DRAFTER,
            lambda s, cmd, x: domain.propose(s, cmd, x.principal.sub),
            guard=separate("drafting"),
            path="/{document_id}/attribute/proposal",
            basis="方案§19；条例第十四至十六条",
        ),
        Command(
            "check",
            c.CheckAttribute,
            "公开属性审核",
            "The attribute officer checks the proposal",
            (Role.ATTRIBUTE_OFFICER,),
            lambda s, cmd, x: domain.check(s, cmd, x.principal.sub),
            guard=not_drafter,
            path="/{document_id}/attribute/check",
            basis="方案§19",
        ),
        Command(
            "determine",
            c.DetermineAttribute,
            "签发人认定公开属性",
            "The signer decides the disclosure attribute",
            SIGNING_ROLES,
            lambda s, cmd, x: domain.determine(s, cmd, x.principal.sub),
            guard=not_drafter,
            path="/{document_id}/attribute/decision",
            basis="方案§19；条例第十四至十六条",
        ),
        Command(
            "review",
            c.RecordReview,
            "三审三校",
            "Pass or reject a review level, with its proofreading",
            lambda s, cmd: domain.stage_roles(s, cmd.stage),
            lambda s, cmd, x: domain.review(s, cmd, x.principal.sub),
            guard=review_duty,
            path="/{document_id}/reviews",
            basis="方案§18",
        ),
        Command(
            "justify",
            c.JustifyFinding,
            "隐私检测结果说明理由",
            "Keep a privacy finding, with the reason",
            JUSTIFYING_ROLES,
            lambda s, cmd, x: domain.justify(s, cmd, x.principal.sub),
            guard=not_drafter,
            path="/{document_id}/privacy/justifications",
            basis="方案§8",
        ),
        Command(
            "redact",
            Redaction,
            "删减个人信息",
            "Redact the open privacy findings in a new revision",
            DRAFTER,
            _redact,
            guard=separate("drafting"),
            path="/{document_id}/privacy/redaction",
            basis="方案§8；条例第十五条",
        ),
        Command(
            "publish",
            c.PublishDocument,
            "发布",
            "Publish (review before publication)",
            PUBLISHING_ROLES,
            lambda s, cmd, x: filing.with_filing(
                domain.publish(
                    s, cmd, publisher=x.principal.sub, now=x.now, today=x.today, calendar=x.calendar
                ),
                x.calendar,
            ),
            basis="方案§18 先审后发；条例第二十六条",
        ),
        Command(
            "channel-status",
            c.RecordChannelStatus,
            "渠道发布状态",
            "Record a channel's publication status",
            PUBLISHING_ROLES,
            lambda s, cmd, x: domain.channel_status(s, x.path["channel"], cmd),
            path="/{document_id}/channels/{channel}",
            path_types={"channel": PublicationChannel},
            basis="方案§12",
        ),
        Command(
            "withdraw",
            c.WithdrawDocument,
            "撤稿",
            "Withdraw with the reason",
            WITHDRAWING_ROLES,
            lambda s, cmd, x: domain.withdraw(s, cmd, x.principal.sub),
        ),
        Command(
            "repeal",
            c.RepealDocument,
            "废止",
            "Repeal a regulation or normative document",
            SIGNING_ROLES,
            lambda s, cmd, x: domain.repeal(s, cmd, x.today),
            basis="条例第五十条（年度报告第二部分）",
        ),
        Command(
            "validity",
            c.SetValidityPeriod,
            "设定有效期",
            "Set or clear the validity period (失效 after its last day)",
            VALIDITY_ROLES,
            lambda s, cmd, x: domain.set_validity(s, cmd, x.principal.sub),
            basis="国办发〔2018〕37号（规范性文件有效期）；条例第五十条（现行有效件数）",
        ),
        # 规范性文件备案 (方案§18; filing.py)
        Command(
            "file",
            c.FileDocument,
            "报送备案",
            "File a published regulation or normative document for review",
            FILING_ROLES,
            lambda s, cmd, x: filing.file(s, cmd, x.today, x.principal.sub),
            path="/{document_id}/filing",
            basis="《法规规章备案条例》第三条；国办发〔2018〕37号；方案§18",
        ),
        Command(
            "filing-review",
            c.ReviewFiling,
            "备案审查结果",
            "Record the filing body's answer: accepted, or returned with the reason",
            FILING_ROLES,
            lambda s, cmd, x: filing.review(s, cmd, x.today, x.principal.sub),
            path="/{document_id}/filing/review",
            basis="国办发〔2018〕37号（备案审查）；方案§18",
        ),
    ),
)


PUBLISHED_KEYS = ("revision", "published_at", "publication_due", "late", "content_hash", "channels")
ISSUE_KEYS = ("issue_id", "number", "title", "previous_hash", "content_hash", "entries")


def accepted(events: Sequence[RecordedEvent]) -> dict[str, Any]:
    """What a catalog command answers: the version, the events written, and the facts a
    desk shows at once (privacy findings, publication dates, the gazette issue)."""
    last = events[-1]
    body: dict[str, Any] = {
        "version": last.version,
        "events": [e.type for e in events],
        "event_ids": [str(e.event_id) for e in events],
    }
    for e in events:
        p = e.payload
        if "document_id" in p:
            body["document_id"] = p["document_id"]
        if e.type == "PrivacyScanCompleted":
            body["revision"] = p["revision"]
            body["privacy_findings"] = p["findings"]
        elif e.type == "DocumentPublished":
            body |= {k: p[k] for k in PUBLISHED_KEYS}
        elif e.type == "GazetteIssuePublished":
            body |= {k: p.get(k) for k in ISSUE_KEYS}
    return body


@dataclass
class CatalogHandlers:
    """The catalog's steps that are not one command on one document."""

    store: EventStore
    orgs: OrgTree
    calendar: Callable[[], WorkdayCalendar]
    clock: Callable[[], datetime]

    def home(self, org: str) -> str:
        return home(self.orgs, org)

    async def draft(
        self, cmd: c.DraftDocument, principal: Principal, correlation: UUID
    ) -> list[RecordedEvent]:
        """拟稿: a new document stream in the drafting unit (default: the caller's)."""
        unit_path = cmd.drafting_unit or str(principal.org)
        unit = self.orgs.get(unit_path)
        authorize(principal, unit_path, Role.DRAFTER)
        township = self.home(unit_path)
        document_id = new_id()
        events = domain.draft(
            document_id=document_id,
            township=township,
            drafting_unit=unit_path,
            drafting_unit_name=unit.name,
            drafter=principal.sub,
            content=cmd.content,
            columns=await columns_of(self.store, township),
        )
        actor = actor_of(principal, Role.DRAFTER)
        write = StreamWrite(
            stream_id=DOCUMENTS.stream(document_id),
            stream_type=DOCUMENTS.kind,
            expected_version=0,
            events=tuple(to_new_event(e, unit_path, actor, correlation) for e in events),
        )
        return await self.store.append([write])

    async def register_published(
        self, cmd: c.RegisterPublishedDocument, principal: Principal, correlation: UUID
    ) -> RecordedEvent:
        """历史信息登记: a new `legacy-document` stream, in the publishing unit (default: the
        caller's township), written once."""
        unit_path = cmd.drafting_unit or self.home(str(principal.org))
        unit = self.orgs.get(unit_path)
        authorize(principal, unit_path, *REGISTERING_ROLES)
        township = self.home(unit_path)
        document_id = new_id()
        event = domain.register_published(
            document_id=document_id,
            township=township,
            drafting_unit=unit_path,
            drafting_unit_name=unit.name,
            registered_by=principal.sub,
            content=cmd.content,
            published_on=cmd.published_on,
            source=cmd.source,
            today=local_date(self.clock()),
            columns=await columns_of(self.store, township),
        )
        actor = actor_of(principal, acting_role(principal, REGISTERING_ROLES))
        write = StreamWrite(
            stream_id=f"{event.stream_type}-{document_id}",
            stream_type=event.stream_type,
            expected_version=0,
            events=(to_new_event(event, unit_path, actor, correlation),),
        )
        (recorded,) = await self.store.append([write])
        return recorded

    async def configure_column(
        self, cmd: c.ConfigureColumn, principal: Principal, correlation: UUID
    ) -> RecordedEvent:
        township = cmd.township or self.home(str(principal.org))
        authorize(principal, township, *COLUMN_ROLES)
        event = ColumnConfigured(
            township=township,
            code=cmd.code,
            name=cmd.name,
            dynamic=cmd.dynamic,
            max_age_days=cmd.max_age_days,
        )
        actor = actor_of(principal, acting_role(principal, COLUMN_ROLES))
        write = StreamWrite(
            stream_id=column_stream(township),
            stream_type=event.stream_type,
            events=(to_new_event(event, township, actor, correlation),),
        )
        (recorded,) = await self.store.append([write])
        return recorded

    async def gazette_documents(self, township: str, raw_ids: Sequence[str]) -> list[DocumentState]:
        """The documents an issue compiles; another township's look absent."""
        documents = []
        for raw in raw_ids:
            try:
                document_id = UUID(raw)
            except ValueError:
                raise ValidationFailed(
                    rule="gazette.document_id_invalid",
                    field="document_ids",
                    message_zh=f"文件编号 {raw} 无效",
                    message_en=f"{raw} is not a document id",
                ) from None
            state = DOCUMENTS.fold(await self.store.read_stream(DOCUMENTS.stream(document_id)))
            if not state.exists or state.township != township:
                raise DOCUMENTS.not_found(document_id)
            documents.append(state)
        return documents

    async def compile_gazette(
        self, cmd: c.CompileGazette, principal: Principal, correlation: UUID
    ) -> RecordedEvent:
        """The next numbered issue of the township's gazette; the stream version is the number."""
        township = cmd.township or self.home(str(principal.org))
        require_org(principal, township)
        authorize(principal, township, *WITHDRAWING_ROLES)
        actor = actor_of(principal, acting_role(principal, WITHDRAWING_ROLES))
        documents = await self.gazette_documents(township, cmd.document_ids)
        now = self.clock()
        year = local_date(now).year
        stream = gazette_stream(township, year)
        name = self.orgs.get(township).name
        for attempt in range(NUMBERING_ATTEMPTS):
            earlier = await self.store.read_stream(stream)
            issue = gazette.compile_issue(
                issue_id=new_id(),
                township=township,
                township_name=name,
                year=year,
                number=len(earlier) + 1,
                documents=documents,
                already_compiled=frozenset(
                    UUID(str(e["document_id"])) for ev in earlier for e in ev.payload["entries"]
                ),
                now=now,
                previous_hash=str(earlier[-1].payload["content_hash"]) if earlier else None,
            )
            write = StreamWrite(
                stream_id=stream,
                stream_type=GazetteIssuePublished.stream_type,
                expected_version=len(earlier),
                events=(to_new_event(issue, township, actor, correlation),),
            )
            try:
                (recorded,) = await self.store.append([write])
            except ConcurrencyConflict:
                await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))
                continue
            return recorded
        raise ConcurrencyConflict(
            rule="gazette.busy",
            field="township",
            message_zh="公报编号分配繁忙，请重试",
            message_en="too many concurrent gazette issues; please retry",
        )

    async def flag_overdue(self, document_id: UUID, correlation: UUID) -> RecordedEvent | None:
        """Record Art. 26 overdue once (the sweep's step; safe to repeat and to race)."""
        stream = DOCUMENTS.stream(document_id)
        events = await self.store.read_stream(stream)
        state = DOCUMENTS.fold(events)
        event = domain.missed_deadline(state, local_date(self.clock()), self.calendar())
        if event is None:
            return None
        write = StreamWrite(
            stream_id=stream,
            stream_type=DOCUMENTS.kind,
            expected_version=len(events),
            events=(to_new_event(event, state.drafting_unit, SYSTEM_ACTOR, correlation),),
        )
        try:
            (recorded,) = await self.store.append([write])
        except ConcurrencyConflict:
            return None  # the document moved on (or another sweep got there): next round
        return recorded
