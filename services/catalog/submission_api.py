"""HTTP API of 信息报送 under /v1/catalog: submitting and deciding items, their list, and
the monthly 报送刊登情况通报 (JSON, and CSV with Chinese headers for Excel), issued once a
month is over.

No `from __future__ import annotations` here: FastAPI must see the real dependency objects
and command models, not strings.
"""

import csv
import io
from typing import Annotated, Any
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from services.catalog import submission_views as sv
from services.catalog.access import home
from services.catalog.deps import STAFF_PREFIX, H, Rt
from services.catalog.reports import scope_of
from services.catalog.submission_commands import (
    MONTH_PATTERN,
    AcceptSubmission,
    IssueBulletin,
    SubmitItem,
)
from services.catalog.submission_events import SubmissionStatus
from services.catalog.submission_handlers import (
    SUBMISSION_COMMANDS,
    SUBMISSIONS,
    accept,
    answer,
    bulletin_stream,
    issue_bulletin,
    submit,
)
from services.catalog.submissions import Counts, bulletin_rows
from shared.commands import load
from shared.deps import Caller
from shared.http import IdempotencyKey, IfMatch, correlation_id
from shared.identity import require_org
from shared.pagination import decode_cursor, encode_cursor, scope_args, scope_clause
from shared.routes import COMMAND_RESPONSES, command_router, run_command
from shared.service import Runtime
from shared.tenancy import OrgLevel

TAG = "catalog 信息报送"
router = APIRouter(prefix=STAFF_PREFIX, tags=[TAG])

Month = Annotated[str, Path(pattern=MONTH_PATTERN, title="通报月份", description="YYYY-MM")]
Limit = Annotated[int, Query(ge=1, le=200)]

#: The CSV's columns: machine key → Chinese header.
CSV_COLUMNS = (
    ("township_name", "乡镇"),
    ("unit_name", "报送单位"),
    ("submitted", "报送"),
    ("accepted", "采用"),
    ("published", "刊登"),
    ("declined", "未采用"),
)


def _item(body: dict[str, Any]) -> str | None:
    return f"/v1/catalog/submissions/{body['submission_id']}" if "submission_id" in body else None


@router.post(
    "/submissions", status_code=201, summary="报送 Submit an item", responses=COMMAND_RESPONSES
)
async def submit_item(
    cmd: SubmitItem, request: Request, caller: Caller, rt: Rt, key: IdempotencyKey = None
) -> JSONResponse:
    async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
        return 201, answer(await submit(rt, cmd, caller, correlation_id(request)))

    body = {"command": "submit", **cmd.model_dump(mode="json")}
    return await run_command(rt.idempotency, caller, key, None, body, act, _item)


@router.post(
    "/submissions/{submission_id}/accept",
    summary="采用 Accept an item into a catalog draft",
    responses=COMMAND_RESPONSES,
)
async def accept_item(
    submission_id: UUID,
    cmd: AcceptSubmission,
    request: Request,
    caller: Caller,
    rt: Rt,
    key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> JSONResponse:
    async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
        events = await accept(rt, submission_id, cmd, caller, correlation_id(request), expected)
        return 200, answer(events)

    fingerprint = {"command": "accept", "path": str(submission_id), **cmd.model_dump(mode="json")}
    return await run_command(rt.idempotency, caller, key, if_match, fingerprint, act, _item)


@router.get("/submissions", summary="报送台账 Submitted items (cursor pagination)")
async def list_items(
    caller: Caller,
    rt: Rt,
    tenant: str | None = None,
    status: SubmissionStatus | None = None,
    month: Annotated[str | None, Query(pattern=MONTH_PATTERN, title="报送月份")] = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    # Items are seen in their unit's subtree only (the office sits above the unit), unlike
    # the bulletin, which is circulated to every unit of the township.
    scope = tenant or str(caller.org)
    require_org(caller, scope)
    sql = [sv.LIST_SQL.format(scope=scope_clause("s.tenant", 1))]
    args: list[Any] = [*scope_args(scope)]
    if status is SubmissionStatus.published:
        sql.append("AND d.published_at IS NOT NULL")
    elif status is not None:
        args.append(status.value)
        sql.append(f"AND s.status = ${len(args)} AND d.published_at IS NULL")
    if month is not None:
        args.append(month)
        sql.append(f"AND s.submitted_month = ${len(args)}")
    if cursor:
        at, ident = decode_cursor(cursor, 2)
        args += [at, ident]
        n = len(args)
        sql.append(
            f"AND (s.submitted_at < ${n - 1} OR (s.submitted_at = ${n - 1}"
            f" AND s.submission_id < ${n}))"
        )
    args.append(limit + 1)
    sql.append(f"ORDER BY s.submitted_at DESC, s.submission_id DESC LIMIT ${len(args)}")
    rows = await rt.views.fetch(" ".join(sql), *args)
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor(page[-1]["submitted_at"], page[-1]["submission_id"])
    return {"items": [sv.list_row(r) for r in page], "next_cursor": next_cursor}


@router.get("/submissions/{submission_id}", summary="报送信息详情 One item (from its stream)")
async def get_item(submission_id: UUID, caller: Caller, rt: Rt) -> JSONResponse:
    state, _tenant, version = await load(rt, SUBMISSIONS, submission_id, caller)
    published = await sv.published_at(rt.views, str(submission_id))
    status = SubmissionStatus.published if published else state.status
    assert state.content is not None
    body = {
        "submission_id": str(submission_id),
        "unit": state.unit,
        "unit_name": state.unit_name,
        "township": state.township,
        "liaison": state.liaison,
        "status": status.value,
        "status_label": status.label_zh,
        "content": state.content.model_dump(mode="json"),
        "privacy_findings": [f.model_dump(mode="json") for f in state.findings],
        "document_id": str(state.document_id) if state.document_id else None,
        "decline_reason": state.decline_reason,
        "published_at": published,
        "version": version,
    }
    return JSONResponse(body, headers={"ETag": f'"{version}"'})


# --- 报送刊登情况通报 ------------------------------------------------------------------


async def bulletin(rt: Runtime, scope: str, month: str) -> dict[str, Any]:
    """Every unit under `scope` (a township, the district — every township's units and
    the district's own — or one unit) with the month's counts, and the totals."""
    orgs = rt.orgs
    if orgs.level(scope) is OrgLevel.UNIT:
        per_home = {home(orgs, scope): [(scope, orgs.get(scope).name)]}
    else:
        homes = [scope]
        if scope == str(orgs.district.path):
            homes += [str(t.path) for t in orgs.townships()]
        per_home = {h: [(str(u.path), u.name) for u in orgs.units_of(h)] for h in homes}
    counts = await sv.unit_counts(rt.views, scope, month)
    rows: list[dict[str, Any]] = []
    for home_path, units in per_home.items():
        home_name = orgs.get(home_path).name
        for row in bulletin_rows(units, counts):
            rows.append({"township": home_path, "township_name": home_name, **row.model_dump()})
    totals = Counts(
        submitted=sum(r["submitted"] for r in rows),
        accepted=sum(r["accepted"] for r in rows),
        published=sum(r["published"] for r in rows),
        declined=sum(r["declined"] for r in rows),
    )
    issued = None
    if orgs.level(scope) is not OrgLevel.UNIT:
        stored = await rt.store.read_stream(bulletin_stream(scope, month))
        if stored:
            p = stored[0].payload
            issued = {"issued_at": p["issued_at"], "issued_by": p["issued_by"]}
    return {
        "scope": scope,
        "scope_name": orgs.get(scope).name,
        "month": month,
        "rows": rows,
        "totals": totals.__dict__,
        "silent_units": [r["unit"] for r in rows if r["submitted"] == 0],
        "issued": issued,
    }


@router.get(
    "/submission-bulletins/{month}.csv",
    summary="报送刊登情况通报 CSV (UTF-8 with BOM, Chinese headers)",
    response_class=Response,
)
async def bulletin_csv(
    month: Month, caller: Caller, rt: Rt, h: H, tenant: str | None = None
) -> Response:
    data = await bulletin(rt, scope_of(h, caller, tenant), month)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([label for _, label in CSV_COLUMNS])
    for row in data["rows"]:
        writer.writerow([row[key] for key, _ in CSV_COLUMNS])
    t = data["totals"]
    writer.writerow(["合计", "", t["submitted"], t["accepted"], t["published"], t["declined"]])
    name = f"报送刊登情况通报-{data['scope_name']}-{month}.csv"
    return Response(
        content="\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


@router.get("/submission-bulletins/{month}", summary="报送刊登情况通报 Monthly bulletin")
async def bulletin_json(
    month: Month, caller: Caller, rt: Rt, h: H, tenant: str | None = None
) -> dict[str, Any]:
    return await bulletin(rt, scope_of(h, caller, tenant), month)


@router.post(
    "/submission-bulletins",
    status_code=201,
    summary="印发报送刊登情况通报 Issue a month's bulletin",
    responses=COMMAND_RESPONSES,
)
async def issue(
    cmd: IssueBulletin, request: Request, caller: Caller, rt: Rt, key: IdempotencyKey = None
) -> JSONResponse:
    async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
        event = await issue_bulletin(rt, cmd, caller, correlation_id(request))
        return 201, {**event.payload, "event_id": str(event.event_id)}

    body = {"command": "issue-bulletin", **cmd.model_dump(mode="json")}
    return await run_command(rt.idempotency, caller, key, None, body, act)


def routers() -> list[APIRouter]:
    """The generated item commands (accept routed by hand: two streams), then the rest."""
    return [command_router(SUBMISSION_COMMANDS, skip=("accept",)), router]
