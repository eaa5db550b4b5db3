"""Application layer of 主动公开: load a stream -> check who may act -> decide -> append.

Who may act (DOMAIN.md §0, §1): staff of the document's township (or above it) see and
act on its documents; anyone else gets 404, so another township's documents do not leak.
Each step needs its role; one person never holds two duties on one document [ours].
"""

from __future__ import annotations

import asyncio
import random
from uuid import UUID

from services.catalog import domain, gazette
from services.catalog.access import (
    COLUMN_ROLES,
    NUMBERING_ATTEMPTS,
    WITHDRAWING_ROLES,
    column_stream,
    document_stream,
    gazette_stream,
    not_found,
)
from services.catalog.commands import CompileGazette, ConfigureColumn, DraftDocument
from services.catalog.events import ColumnConfigured, GazetteIssuePublished
from services.catalog.steps import DocumentSteps
from shared.envelope import RecordedEvent, StreamWrite, new_id
from shared.errors import ConcurrencyConflict, ValidationFailed
from shared.identity import Principal, Role, authorize, require_org
from shared.workdays import local_date

__all__ = ["CatalogHandlers", "column_stream", "document_stream", "gazette_stream"]


class CatalogHandlers(DocumentSteps):
    """The catalog's application layer: documents, columns and the gazette."""

    # ---------------------------------------------------------------- commands

    async def draft(
        self, cmd: DraftDocument, principal: Principal, correlation: UUID
    ) -> list[RecordedEvent]:
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
            columns=await self.columns_of(township),
        )
        return await self.store.append(
            [
                StreamWrite(
                    stream_id=document_stream(document_id),
                    stream_type="document",
                    expected_version=0,
                    events=tuple(
                        self._event(e, unit_path, principal, Role.DRAFTER, correlation)
                        for e in events
                    ),
                )
            ]
        )

    # ---------------------------------------------------------------- columns, gazette

    async def configure_column(
        self, cmd: ConfigureColumn, principal: Principal, corr: UUID
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
        role = next(r for r in COLUMN_ROLES if r in principal.roles)
        (recorded,) = await self.store.append(
            [
                StreamWrite(
                    stream_id=column_stream(township),
                    stream_type=event.stream_type,
                    events=(self._event(event, township, principal, role, corr),),
                )
            ]
        )
        return recorded

    async def compile_gazette(
        self, cmd: CompileGazette, principal: Principal, corr: UUID
    ) -> RecordedEvent:
        """The next numbered issue of the township's gazette; the stream version is the number."""
        township = cmd.township or self.home(str(principal.org))
        require_org(principal, township)
        authorize(principal, township, *WITHDRAWING_ROLES)
        role = next(r for r in WITHDRAWING_ROLES if r in principal.roles)
        documents = []
        for raw in cmd.document_ids:
            try:
                document_id = UUID(raw)
            except ValueError:
                raise ValidationFailed(
                    rule="gazette.document_id_invalid",
                    field="document_ids",
                    message_zh=f"文件编号 {raw} 无效",
                    message_en=f"{raw} is not a document id",
                ) from None
            state = await self.load(document_id)
            if not state.exists or state.township != township:
                raise not_found(document_id)
            documents.append(state)
        now = self.clock()
        year = local_date(now).year
        stream = gazette_stream(township, year)
        name = self.orgs.get(township).name
        for attempt in range(NUMBERING_ATTEMPTS):
            earlier = await self.store.read_stream(stream)
            compiled = frozenset(
                UUID(str(e["document_id"])) for ev in earlier for e in ev.payload["entries"]
            )
            previous = str(earlier[-1].payload["content_hash"]) if earlier else None
            issue = gazette.compile_issue(
                issue_id=new_id(),
                township=township,
                township_name=name,
                year=year,
                number=len(earlier) + 1,
                documents=documents,
                already_compiled=compiled,
                now=now,
                previous_hash=previous,
            )
            try:
                (recorded,) = await self.store.append(
                    [
                        StreamWrite(
                            stream_id=stream,
                            stream_type=GazetteIssuePublished.stream_type,
                            expected_version=len(earlier),
                            events=(self._event(issue, township, principal, role, corr),),
                        )
                    ]
                )
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
