"""Demo content for `make run`: the demo district's org units and accounts (as events),
sample requests."""

from __future__ import annotations

import asyncio
import zlib
from datetime import timedelta
from typing import TYPE_CHECKING

from services.applications.commands import RegisterRequest
from services.applications.handlers import ApplicationsHandlers
from shared.envelope import new_id
from shared.identity import principal_for_person
from shared.tenancy import OrgTree, OrgUnit, Person
from shared.workdays import local_date

if TYPE_CHECKING:
    from services.accounts.handlers import AccountsHandlers

#: (role shown, person id) of the demo accounts `gongkai run` prints: one person for every
#: step the demo needs (三审三校 needs five different people; an extension the
#: openness-office head; the board a leader or the assessor).
DEMO_PEOPLE = (
    ("drafter 拟稿人", "li-na"),
    ("first reviewer 初审 (drafter of another text)", "zhang-lei"),
    ("section head 复审 科室负责人", "zhang-wei"),
    ("leader in charge 终审 分管领导", "wang-xiaole"),
    ("principal leader 签发 主要领导", "tian-yiming"),
    ("openness-office head 公开办负责人 (extensions, replies)", "guo-xinxin"),
    ("handler + attribute officer 依申请办理、公开属性认定", "wang-tietong"),
    ("opinion officer 舆情专职", "liu-yang"),
    ("district assessor 考核", "li-qiang"),
    ("auditor 审计 (district, read-only)", "liu-min"),
    ("district administrator 区级账号管理员 + 系统管理员", "chen-gang"),
    ("township administrator 乡镇账号管理员 (苏店镇)", "ma-jun"),
)

#: Service accounts of the demo: the suite's own and an integration (12345 热线).
DEMO_SERVICES = (
    ("svc-assessment", "考核服务", ("assessment.read",)),
    ("hotline-12345", "12345政务服务便民热线平台", ("sentiment.messages.write",)),
)


def demo_password(person_id: str) -> str:
    """The demo's initial password of a person: fixed, so the banner and README can show
    it, different per person, and within the level-3 rules (to be changed at first use)."""
    number = zlib.crc32(person_id.encode("utf-8")) % 10_000
    return f"Gk@{number:04d}demo"


async def load_demo_accounts(handlers: AccountsHandlers, orgs: OrgTree) -> int:
    """The demo district as events: its org units registered, every person of the org file
    an account with their roles at their unit and an initial password, and the service
    accounts. Idempotent (what exists is left alone). Returns the accounts opened."""
    from services.accounts.cli import BUILTIN_SERVICE_ACCOUNTS

    await handlers.register_tree(orgs)
    lanes = asyncio.Semaphore(2)  # the hashes of two people at a time, off the event loop

    async def open_one(unit: OrgUnit, person: Person) -> bool:
        async with lanes:
            existed = (await handlers.account(person.id)).exists
            await handlers.provision_person(
                person.id,
                person.name,
                unit.path,
                sorted(person.roles),
                demo_password(person.id),
                title=person.title,
            )
            return not existed

    opened = sum(await asyncio.gather(*(open_one(u, p) for u, p in orgs.people())))
    for account_id, label, scopes in (*BUILTIN_SERVICE_ACCOUNTS, *DEMO_SERVICES):
        await handlers.provision_service(account_id, label, orgs.district.path, scopes)
    return opened


SAMPLE_REQUESTS = (
    (
        "in_person",
        "natural_person",
        None,
        "张三",
        "申请公开苏店镇2025年度财政预算执行情况及惠民惠农资金发放明细",
    ),
    (
        "online",
        "organization",
        "commercial",
        "长治市某建材有限公司",
        "申请公开苏店镇公共资源交易目录清单及2025年工程招标结果",
    ),
    (
        "registered_mail",
        "natural_person",
        None,
        "李四",
        "申请公开苏店村宅基地审批的政策依据和办事指南",
    ),
)


async def seed_requests(handlers: ApplicationsHandlers, orgs: OrgTree) -> int:
    """Register a few realistic requests in 苏店镇 when its ledger is empty."""
    if await handlers.store.head_position() > 0:
        return 0
    handler = principal_for_person(orgs, "wang-tietong")
    today = local_date(handlers.clock())
    day = today - timedelta(days=1)
    for channel, kind, org_kind, name, description in SAMPLE_REQUESTS:
        cmd = RegisterRequest.model_validate(
            {
                "channel": channel,
                "submitted_on": (day - timedelta(days=1)).isoformat(),
                "signed_on": day.isoformat() if channel == "registered_mail" else None,
                "confirmed_on": day.isoformat() if channel == "online" else None,
                "applicant": {
                    "kind": kind,
                    "organization_kind": org_kind,
                    "name": name,
                    "id_document": "居民身份证 (demo)"
                    if kind == "natural_person"
                    else "统一社会信用代码 (demo)",
                    "phone": "0355-0000000",
                },
                "description": description,
                "requested_form": "paper",
                "delivery_channel": "post",
            }
        )
        await handlers.register(cmd, handler, new_id())
    return len(SAMPLE_REQUESTS)
