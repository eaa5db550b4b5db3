"""Application layer of 信息报送: the command table of a 报送 item (edit, redact, decline;
accept routed by hand because it writes two streams), and the steps that are not one
command on one item: submitting (a new stream) and issuing a month's bulletin.

Who: the unit's 联络员 submits (in their unit's subtree); the openness office of the
item's township (or of the district, for district-level units) decides — the command's
`scope` is that township, so another unit of the township never acts on the item, and an
item is visible only in its unit's subtree (the office sits above it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any
from uuid import UUID

from services.catalog import submissions as sub
from services.catalog.access import columns_of, home
from services.catalog.events import registry
from services.catalog.handlers import DOCUMENTS
from services.catalog.submission_commands import (
    AcceptSubmission,
    DeclineSubmission,
    EditSubmission,
    IssueBulletin,
    RedactSubmission,
    SubmitItem,
)
from services.catalog.submission_events import BULLETIN_STREAM, SUBMISSION_STREAM
from services.catalog.submission_views import unit_counts
from services.catalog.submissions import SubmissionState
from shared.commands import Aggregate, Command, CommandTable, actor_of, decide
from shared.envelope import RecordedEvent, StreamWrite, new_id
from shared.errors import ConcurrencyConflict, ValidationFailed
from shared.identity import Principal, Role, authorize, require_org
from shared.registry import to_new_event
from shared.service import Runtime
from shared.tenancy import OrgLevel, OrgPath, OrgTree
from shared.workdays import local_date

OFFICE_ROLES = (Role.OPENNESS_OFFICE_HEAD,)

SUBMISSIONS: Aggregate[SubmissionState] = Aggregate(
    kind=SUBMISSION_STREAM,
    id_field="submission_id",
    label_zh="报送信息",
    label_en="submission",
    registry=registry,
    initial=SubmissionState,
    evolve=sub.evolve,
    # An item's events belong to its unit; its office sits above the unit.
    tenant=lambda state, events: state.unit,
)


def bulletin_stream(township: str, month: str) -> str:
    return f"submission-bulletin-{township}-{month}"


async def _columns(
    rt: Any, state: SubmissionState, cmd: Any, principal: Principal, tenant: str
) -> Mapping[str, Any]:
    return {"columns": await columns_of(rt.store, state.township)}


def _office(state: SubmissionState, tenant: str) -> str:
    return state.township


SUBMISSION_COMMANDS: CommandTable[SubmissionState] = CommandTable(
    aggregate=SUBMISSIONS,
    prefix="/v1/catalog/submissions",
    tag="catalog 信息报送",
    answer=lambda events, submission_id: answer(events),
    commands=(
        Command(
            "edit",
            EditSubmission,
            "编辑报送信息",
            "The office edits the item before it decides (scanned again)",
            OFFICE_ROLES,
            lambda s, cmd, x: sub.edit(
                s,
                cmd.content,
                cmd.note,
                editor=x.principal.sub,
                columns=x.given["columns"],
                now=x.now,
            ),
            prepare=_columns,
            scope=_office,
            path="/{submission_id}/edits",
            basis="方案§18 完善向政府网站报送部门文件制度",
        ),
        Command(
            "redact",
            RedactSubmission,
            "删减个人信息",
            "Mask the personal data the privacy guard found, releasing the hold",
            OFFICE_ROLES,
            lambda s, cmd, x: sub.redact(s, editor=x.principal.sub, now=x.now),
            scope=_office,
            path="/{submission_id}/privacy/redaction",
            basis="方案§8；条例第十五条",
        ),
        Command(
            "accept",
            AcceptSubmission,
            "采用",
            "Accept the item: it becomes a catalog draft (三审三校 follows)",
            OFFICE_ROLES,
            lambda s, cmd, x: sub.accept(
                s,
                document_id=x.new_id,
                accepted_by=x.principal.sub,
                comment=cmd.comment,
                columns=x.given["columns"],
                now=x.now,
            ),
            prepare=_columns,
            scope=_office,
            basis="方案§18",
        ),
        Command(
            "decline",
            DeclineSubmission,
            "不予采用",
            "Decline the item with the reason",
            OFFICE_ROLES,
            lambda s, cmd, x: sub.decline(s, cmd.reason, declined_by=x.principal.sub, now=x.now),
            scope=_office,
            basis="方案§18",
        ),
    ),
)


def answer(events: Sequence[RecordedEvent]) -> dict[str, Any]:
    """The version of the item, the events written, and what the desk shows at once."""
    body: dict[str, Any] = {"event_ids": [str(e.event_id) for e in events]}
    body["events"] = [e.type for e in events]
    for e in events:
        p = e.payload
        if e.stream_type == SUBMISSION_STREAM:
            body["submission_id"] = p["submission_id"]
            body["version"] = e.version
            if "findings" in p:
                body["privacy_findings"] = p["findings"]
                body["held"] = bool(p["findings"])
            if "document_id" in p:
                body["document_id"] = p["document_id"]
        elif e.type == "DocumentDrafted":
            body["document_id"] = p["document_id"]
    return body


def _unit(orgs: OrgTree, raw: str) -> str:
    path = str(OrgPath.parse(raw, field="unit"))
    if path not in orgs:
        raise ValidationFailed(
            rule="submission.unit_unknown",
            field="unit",
            message_zh=f"报送单位 {path} 不存在",
            message_en=f"no unit at {path}",
        )
    if orgs.level(path) is not OrgLevel.UNIT:
        raise ValidationFailed(
            rule="submission.not_a_unit",
            field="unit",
            message_zh="报送单位须为站所、部门（乡镇、区本级不报送）",
            message_en="items are submitted by units, not by a township or the district",
        )
    return path


async def submit(
    rt: Runtime, cmd: SubmitItem, principal: Principal, correlation: UUID
) -> list[RecordedEvent]:
    """报送: a new item in the caller's unit (or a unit below them), by its 联络员."""
    unit = _unit(rt.orgs, cmd.unit or str(principal.org))
    authorize(principal, unit, Role.LIAISON)
    township = home(rt.orgs, unit)
    submission_id = new_id()
    event = sub.submit(
        submission_id=submission_id,
        unit=unit,
        unit_name=rt.orgs.get(unit).name,
        township=township,
        liaison=principal.sub,
        content=cmd.content,
        columns=await columns_of(rt.store, township),
        now=rt.clock(),
    )
    write = StreamWrite(
        stream_id=SUBMISSIONS.stream(submission_id),
        stream_type=SUBMISSIONS.kind,
        expected_version=0,
        events=(to_new_event(event, unit, actor_of(principal, Role.LIAISON), correlation),),
    )
    return await rt.store.append([write])


async def accept(
    rt: Runtime,
    submission_id: UUID,
    cmd: AcceptSubmission,
    principal: Principal,
    correlation: UUID,
    expected: int | None,
) -> list[RecordedEvent]:
    """采用 and the catalog draft in one append: the kernel decides the row; its first
    event goes to the item's stream, the rest to the new document's (version 0)."""
    d = await decide(rt, SUBMISSION_COMMANDS, "accept", submission_id, cmd, principal, expected)
    acceptance, *draft = d.events
    document_id = d.context.new_id
    writes = [
        replace(d, events=[acceptance]).write(correlation, SUBMISSIONS.kind),
        StreamWrite(
            stream_id=DOCUMENTS.stream(document_id),
            stream_type=DOCUMENTS.kind,
            expected_version=0,
            # The draft belongs to the submitting unit, like a document drafted there.
            events=tuple(to_new_event(e, d.state.unit, d.actor, correlation) for e in draft),
        ),
    ]
    return await rt.store.append(writes)


def _home_of(rt: Runtime, raw: str) -> str:
    path = str(OrgPath.parse(raw, field="township"))
    if path not in rt.orgs or home(rt.orgs, path) != path:
        raise ValidationFailed(
            rule="bulletin.not_a_township",
            field="township",
            message_zh=f"{path} 不是乡镇或区",
            message_en=f"{path} is not a township or the district",
        )
    return path


async def issue_bulletin(
    rt: Runtime, cmd: IssueBulletin, principal: Principal, correlation: UUID
) -> RecordedEvent:
    """印发: a township's month, counted from the read model once the month is over (its
    facts were projected long before), frozen in one event; once per township and month."""
    township = _home_of(rt, cmd.township or home(rt.orgs, str(principal.org)))
    require_org(principal, township)
    authorize(principal, township, *OFFICE_ROLES)
    now = rt.clock()
    today = local_date(now)
    sub.require_month_over(cmd.month, today)
    stream = bulletin_stream(township, cmd.month)
    if await rt.store.read_stream(stream):
        raise already_issued(cmd.month)
    units = [(str(u.path), u.name) for u in rt.orgs.units_of(township)]
    counts = await unit_counts(rt.views, township, cmd.month)
    event = sub.issue_bulletin(
        township=township,
        township_name=rt.orgs.get(township).name,
        month=cmd.month,
        rows=sub.bulletin_rows(units, counts),
        issued_by=principal.sub,
        now=now,
        today=today,
    )
    write = StreamWrite(
        stream_id=stream,
        stream_type=BULLETIN_STREAM,
        expected_version=0,
        events=(to_new_event(event, township, actor_of(principal, OFFICE_ROLES[0]), correlation),),
    )
    try:
        (recorded,) = await rt.store.append([write])
    except ConcurrencyConflict:
        raise already_issued(cmd.month) from None
    return recorded


def already_issued(month: str) -> ConcurrencyConflict:
    return ConcurrencyConflict(
        rule="bulletin.already_issued",
        field="month",
        message_zh=f"{month[:4]}年{int(month[5:])}月的报送刊登情况通报已印发",
        message_en=f"the bulletin of {month} has already been issued",
    )


__all__ = [
    "SUBMISSIONS",
    "SUBMISSION_COMMANDS",
    "accept",
    "answer",
    "issue_bulletin",
    "submit",
]
