"""The policy Q&A knowledge base (政策问答库, 方案§16) on real stores, SQLite and PostgreSQL.

A policy published by the catalog reaches the interpretation service; an opinion officer
registers a 12345 consultation about it; the drafting unit answers; the privacy guard holds
an answer with a mobile number until it is masked (方案§8); the unit head (not the
answerer) approves it, and the published entry is read beside the policy and found by
search, without the asker. A second, similar question is offered the published answer.
Every refusal writes nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pytest

from services.interpretation import qa_projection
from services.interpretation.jobs import tick
from services.interpretation.qa_commands import (
    AnswerQuestion,
    ApproveAnswer,
    RedactAnswer,
    RegisterQuestion,
    SuggestAnswers,
)
from services.interpretation.qa_handlers import QA_COMMANDS, register_question, suggest
from services.interpretation.qa_projection import QaLedger
from shared.commands import execute
from shared.envelope import new_id
from shared.errors import DomainRuleViolated, Forbidden, ValidationFailed
from shared.identity import Principal, Role
from shared.projections import ProjectionRunner
from tests.integration.test_interpretation_ledger import (
    DRAFTER,
    HEAD,
    UNIT,
    World,
    publish_in_catalog,
)
from tests.integration.test_interpretation_ledger import world as ledger_world  # noqa: F401

OFFICER = Principal(sub="liu-yang", org="shangdang/sudian", roles=frozenset({Role.OPINION_OFFICER}))
OUTSIDER = Principal(
    sub="wei-na", org="shangdang/yincheng", roles=frozenset({Role.OPINION_OFFICER})
)
QUESTION = "我家在苏店村，改厕补助是不是要先自己垫钱？我叫赵秀英，电话13912345678。"
SIMILAR = "人居环境整治的改厕补助是不是要先自己垫钱？"
PUBLIC_Q = "农村户厕改造的补助需要农户先自己垫钱吗？"
ANSWER = "不需要先行垫付。户厕改造经村、镇两级验收合格后，补助由镇财政所直接发放到户。"
ANSWERED_AT = datetime(2026, 10, 8, 2, 0, tzinfo=UTC)  # 10:00 on the first working day


@pytest.fixture
async def w(ledger_world: World) -> AsyncIterator[Any]:  # noqa: F811
    ledger = QaLedger()
    runner = ProjectionRunner(ledger, ledger_world.store, ledger_world.views)
    await runner.setup()
    ledger_world.runners.append(runner)
    h = ledger_world.handlers
    rt = SimpleNamespace(
        store=h.store, views=h.views, clock=h.clock, calendar=h.calendar, orgs=h.orgs, handlers=h
    )
    yield ledger_world, rt


async def policy(world: World) -> UUID:
    document_id = await publish_in_catalog(world)
    await world.project()
    await tick(world.handlers, date(2026, 9, 30))
    await world.project()
    return document_id


def question(document_id: UUID, text: str = QUESTION) -> RegisterQuestion:
    return RegisterQuestion.model_validate(
        {
            "document_id": str(document_id),
            "channel": "hotline",
            "question": text,
            "asker": {"name": "赵秀英", "phone": "13912345678"},
            "source_ref": "12345-20260930-0417",
        }
    )


async def test_a_consultation_is_answered_held_masked_approved_and_published__s16_s8(
    w: Any,
) -> None:
    world, rt = w
    document_id = await policy(world)
    (registered,) = await register_question(rt, question(document_id), OFFICER, new_id())
    qa_id = UUID(registered.payload["qa_id"])
    assert registered.tenant == UNIT  # 谁起草、谁解读: the drafting unit answers
    assert registered.payload["due_at"] == "2026-10-09T23:59:59+08:00"  # 2 working days after 国庆
    head = await world.store.head_position()
    with pytest.raises(Forbidden):  # outside the policy's township
        await register_question(rt, question(document_id), OUTSIDER, new_id())
    with pytest.raises(ValidationFailed) as err:
        await register_question(rt, question(new_id()), OFFICER, new_id())
    assert (err.value.rule, err.value.field) == ("qa.policy_unknown", "document_id")
    assert await world.store.head_position() == head  # refusals write nothing

    world.now[0] = ANSWERED_AT
    leaky = AnswerQuestion(public_question=PUBLIC_Q, answer=ANSWER + "咨询电话13812345678。")
    (answered,) = await execute(rt, QA_COMMANDS, "answer", qa_id, leaky, DRAFTER, new_id())
    assert answered.payload["on_time"] is True
    assert [f["kind"] for f in answered.payload["privacy_findings"]] == ["mobile"]
    head = await world.store.head_position()
    with pytest.raises(DomainRuleViolated) as err:
        await execute(rt, QA_COMMANDS, "approve", qa_id, ApproveAnswer(), HEAD, new_id())
    assert (err.value.rule, err.value.field) == ("qa.privacy_hold", "answer")
    answering_head = Principal(sub=DRAFTER.sub, org=UNIT, roles=frozenset({Role.SECTION_HEAD}))
    with pytest.raises(Forbidden) as forbidden:
        await execute(rt, QA_COMMANDS, "approve", qa_id, ApproveAnswer(), answering_head, new_id())
    assert forbidden.value.rule == "duty.same_person"
    assert await world.store.head_position() == head

    await execute(rt, QA_COMMANDS, "redact", qa_id, RedactAnswer(), DRAFTER, new_id())
    (published,) = await execute(rt, QA_COMMANDS, "approve", qa_id, ApproveAnswer(), HEAD, new_id())
    assert published.type == "AnswerPublished" and published.payload["approved_by"] == HEAD.sub
    await world.project()

    beside = await qa_projection.published(world.views, str(document_id))
    assert [(e["question"], e["qa_id"]) for e in beside] == [(PUBLIC_Q, str(qa_id))]
    assert "138****5678" in beside[0]["answer"] and "13812345678" not in beside[0]["answer"]
    found = await qa_projection.search(world.views, "垫钱", "shangdang/sudian")
    assert [e["qa_id"] for e in found["items"]] == [str(qa_id)]
    assert (await qa_projection.search(world.views, "供暖", None))["items"] == []
    public = str(beside) + str(found)
    assert "赵秀英" not in public and "13912345678" not in public and QUESTION not in public

    # The next caller asking the same thing is offered the published answer.
    offered = await suggest(rt, SuggestAnswers(question=SIMILAR), OFFICER)
    assert [a["qa_id"] for a in offered["answers"]] == [str(qa_id)]
    assert offered["policies"][0]["document_id"] == str(document_id)
    (again,) = await register_question(rt, question(document_id, SIMILAR), OFFICER, new_id())
    assert [s["qa_id"] for s in again.payload["similar"]] == [str(qa_id)]


async def test_a_withdrawn_policy_takes_its_answers_off_the_public_reads(w: Any) -> None:
    world, rt = w
    document_id = await policy(world)
    (registered,) = await register_question(rt, question(document_id), OFFICER, new_id())
    qa_id = UUID(registered.payload["qa_id"])
    answer = AnswerQuestion(public_question=PUBLIC_Q, answer=ANSWER)
    await execute(rt, QA_COMMANDS, "answer", qa_id, answer, DRAFTER, new_id())
    await execute(rt, QA_COMMANDS, "approve", qa_id, ApproveAnswer(), HEAD, new_id())
    await world.project()
    assert len(await qa_projection.published(world.views, str(document_id))) == 1
    await world.views.execute(
        "UPDATE itp_policies SET withdrawn = TRUE WHERE document_id = $1", str(document_id)
    )
    assert await qa_projection.published(world.views, str(document_id)) == []
    assert (await qa_projection.search(world.views, "垫钱", None))["items"] == []
    with pytest.raises(ValidationFailed) as err:
        await register_question(rt, question(document_id), OFFICER, new_id())
    assert err.value.rule == "qa.policy_withdrawn"
