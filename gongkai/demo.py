"""Demo content for `make run`: tokens for the demo district's people, sample requests."""

from __future__ import annotations

from datetime import timedelta

from services.applications.commands import RegisterRequest
from services.applications.handlers import ApplicationsHandlers
from shared.envelope import new_id
from shared.identity import Principal, Role, issue_token, principal_for_person
from shared.tenancy import OrgTree
from shared.workdays import local_date

#: (label, person id) of the demo tokens `gongkai run` prints.
DEMO_PEOPLE = (
    ("handler 依申请公开承办人 王铁童 (苏店镇)", "wang-tietong"),
    ("reviewer 科室负责人 张伟 (苏店镇党政办)", "zhang-wei"),
    ("auditor 审计员 刘敏 (上党区, read-only)", "liu-min"),
    ("administrator 管理员 陈刚 (上党区)", "chen-gang"),
)
SERVICE_ACCOUNT = Principal(
    sub="svc-assessment", org="shangdang", roles=frozenset({Role.SERVICE}), kind="service"
)


def demo_tokens(orgs: OrgTree, secret: str, ttl: timedelta, now: object) -> list[tuple[str, str]]:
    tokens = [
        (label, issue_token(principal_for_person(orgs, pid), secret, ttl, now))  # type: ignore[arg-type]
        for label, pid in DEMO_PEOPLE
    ]
    tokens.append(
        ("service account 考核服务 svc-assessment", issue_token(SERVICE_ACCOUNT, secret, ttl, now))  # type: ignore[arg-type]
    )
    return tokens


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
