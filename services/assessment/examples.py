"""One realistic example per assessment event, for the contract tests (contracts/events/)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from uuid import UUID

import yaml

from services.assessment import events as ev
from services.assessment import events_v1
from services.assessment.periods import snapshot
from services.assessment.scheme import parse_scheme
from services.assessment.signals import Finding
from shared.registry import DomainEvent

DEMO = Path(__file__).parents[2] / "deploy" / "demo" / "assessment-scheme-2026.yaml"
TASK = UUID("01936f0e-7c1b-7000-8000-0000000000a1")
SESSION = UUID("01936f0e-7c1b-7000-8000-0000000000b1")
PROJECT = UUID("01936f0e-7c1b-7000-8000-0000000000c1")
HANDIAN = "shangdang/handian"


def scheme_published() -> DomainEvent:
    scheme = parse_scheme(yaml.safe_load(DEMO.read_text(encoding="utf-8")))
    return ev.SchemePublished(
        scheme_id=scheme.scheme_id, source_sha256="0" * 64, **scheme.model_dump()
    )


def period_closed() -> DomainEvent:
    """The first half of 2026 closed: 荫城镇 leads with a highlight, 韩店镇 lost 2 points
    on its task ledger (the snapshot lists two of the townships for brevity)."""
    scheme = parse_scheme(yaml.safe_load(DEMO.read_text(encoding="utf-8")))
    highlight = Finding(
        "highlight.recognized",
        str(PROJECT),
        "shangdang/yincheng",
        date(2026, 3, 18),
        "01936f0e-7c1b-7000-8000-0000000000d1",
        "HighlightProjectRecognized",
    )
    overdue = Finding(
        "ledger.task_overdue",
        str(TASK),
        HANDIAN,
        date(2026, 4, 1),
        "01936f0e-7c1b-7000-8000-0000000000d2",
        "TaskOverdue",
    )
    names = {"shangdang/yincheng": "荫城镇", HANDIAN: "韩店镇"}
    rows = snapshot(scheme, ["shangdang/yincheng", HANDIAN], names, [highlight, overdue])
    return ev.PeriodClosed(
        scheme_id=scheme.scheme_id,
        year=2026,
        level=scheme.level,
        owner=scheme.owner,
        period="2026-H1",
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 6, 30),
        closed_on=date(2026, 7, 3),
        frozen_event_ids=[highlight.event_id, overdue.event_id],
        snapshot=rows,
    )


EXAMPLES: dict[str, Callable[[], DomainEvent]] = {
    "assessment/SchemePublished.v1": lambda: events_v1.SchemePublished(
        **{
            **scheme_published().model_dump(),
            "indicators": [
                {k: v for k, v in i.items() if k != "rate"}
                for i in scheme_published().model_dump()["indicators"]
            ],
        }
    ),
    "assessment/SchemePublished.v2": scheme_published,
    "assessment/TaskAdded.v1": lambda: ev.TaskAdded(
        task_id=TASK,
        org=HANDIAN,
        owner="wang-tietong",
        title="更新权责清单并在政府网站公开",
        due_on=date(2026, 3, 31),
        basis="方案§四(一)2",
    ),
    "assessment/TaskCompleted.v1": lambda: ev.TaskCompleted(
        task_id=TASK, completed_on=date(2026, 4, 2), evidence="已在政府网站更新", late=True
    ),
    "assessment/TaskOverdue.v1": lambda: ev.TaskOverdue(
        task_id=TASK, org=HANDIAN, due_on=date(2026, 3, 31), noticed_on=date(2026, 4, 1)
    ),
    "assessment/TrainingSessionPlanned.v1": lambda: ev.TrainingSessionPlanned(
        session_id=SESSION, org=HANDIAN, topic="政务公开条例专题培训", planned_on=date(2026, 5, 12)
    ),
    "assessment/TrainingSessionHeld.v1": lambda: events_v1.TrainingSessionHeld(
        session_id=SESSION, held_on=date(2026, 5, 12), attendees=36
    ),
    "assessment/TrainingSessionHeld.v2": lambda: ev.TrainingSessionHeld(
        session_id=SESSION,
        held_on=date(2026, 5, 12),
        attendees=36,
        covers_regulation=True,
        attendee_ids=["tian-yiming", "guo-xinxin", "wang-tietong"],
    ),
    "assessment/RegulationStudyMissed.v1": lambda: ev.RegulationStudyMissed(
        org=HANDIAN,
        year=2026,
        year_end=date(2026, 12, 31),
        sessions_covering=1,
        leaders=["xu-li", "yang-jun"],
        leaders_absent=["xu-li"],
        noticed_on=date(2027, 1, 1),
    ),
    "assessment/TrainingSessionMissed.v1": lambda: ev.TrainingSessionMissed(
        session_id=SESSION, org=HANDIAN, planned_on=date(2026, 5, 12), noticed_on=date(2026, 5, 13)
    ),
    "assessment/HighlightProjectRecognized.v1": lambda: ev.HighlightProjectRecognized(
        project_id=PROJECT,
        org="shangdang/yincheng",
        title="荫城镇“政策找人”精准推送平台",
        recognized_on=date(2026, 9, 18),
        basis="区政务公开领导组办公室认定",
    ),
    "assessment/PeriodClosed.v1": period_closed,
}
