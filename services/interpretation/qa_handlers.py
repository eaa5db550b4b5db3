"""Application layer of the policy Q&A knowledge base (政策问答库, 方案§16).

Registering a question opens a new stream (by hand, like drafting an interpretation);
answering, redacting, returning and approving are rows of `QA_COMMANDS`, run by the kernel
(shared/commands.py): it hides an entry outside the caller's subtree (404), checks the
role and If-Match, runs the guard (the reviewer is not the answerer) and the pure decision
of qa.py, and appends under the caller. A refusal writes nothing.

Repeated questions: the published answers whose question is most like the new one (MinHash
over character bigrams, the sentiment service's duplicate grouping) are suggested when a
question is registered or typed (`suggest`), and recorded on the registration; the policy a
question is about is suggested with the sentiment service's policy matching. Both are pure
modules imported, not copied (decision 62).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import orjson

from services.interpretation import qa
from services.interpretation.events import registry
from services.interpretation.qa import QaPolicy, QaState
from services.interpretation.qa_commands import (
    AnswerQuestion,
    ApproveAnswer,
    RedactAnswer,
    RegisterQuestion,
    ReturnAnswer,
    SuggestAnswers,
)
from services.sentiment.grouping import signature, similarity
from services.sentiment.policy_match import PolicyRef
from services.sentiment.policy_match import suggest as suggest_policies
from shared.commands import Aggregate, Command, CommandTable, Context, acting_role, actor_of
from shared.envelope import RecordedEvent, StreamWrite, new_id
from shared.identity import Principal, Role, authorize, require_not_same_person
from shared.registry import to_new_event
from shared.service import Runtime
from shared.tenancy import is_within

REGISTER_ROLES = (
    Role.OPINION_OFFICER,
    Role.DRAFTER,
    Role.SECTION_HEAD,
    Role.OPENNESS_OFFICE_HEAD,
    Role.SERVICE,
)
ANSWER_ROLES = (Role.DRAFTER, Role.SECTION_HEAD, Role.OPINION_OFFICER)
REVIEW_ROLES = (
    Role.SECTION_HEAD,
    Role.LEADER_IN_CHARGE,
    Role.PRINCIPAL_LEADER,
    Role.OPENNESS_OFFICE_HEAD,
)
BASIS = "方案§16（做好政策咨询服务）、§五(三)"
#: A published answer is offered for a new question from this similarity on [ours]. Lower
#: than sentiment's same-issue threshold (0.3): questions are short and the published one is
#: restated by the officer, so a paraphrase scores 0.2–0.3 against the entry (the better of
#: the question as asked and as published), a question on another topic ~0.0 (measured on
#: the examples of tests/integration/test_interpretation_qa_stores.py). The officer decides.
SIMILAR_THRESHOLD = 0.2

QAS: Aggregate[QaState] = Aggregate(
    kind="qa",
    id_field="qa_id",
    label_zh="政策问答",
    label_en="policy Q&A entry",
    registry=registry,
    initial=QaState,
    evolve=qa.evolve,
    tenant=lambda state, events: events[0].tenant,
)


def entry_answer(events: Sequence[RecordedEvent], instance: UUID) -> dict[str, Any]:
    last = events[-1]
    body: dict[str, Any] = {
        "qa_id": str(instance),
        "event_type": last.type,
        "events": [e.type for e in events],
        "version": last.version,
    }
    if last.type == "QuestionAnswered":
        body |= {
            "on_time": last.payload["on_time"],
            "privacy_hold": bool(last.payload["privacy_findings"]),
            "privacy_findings": [
                {k: f[k] for k in ("kind", "field", "masked")}
                for f in last.payload["privacy_findings"]
            ],
        }
    elif last.type == "AnswerPublished":
        body |= {"published_at": last.payload["published_at"], "on_time": last.payload["on_time"]}
    return body


def _not_the_answerer(state: QaState, cmd: Any, x: Context) -> None:
    """Separation of duties: whoever answered may not approve or return the answer."""
    if state.answered_by:
        require_not_same_person(x.principal, state.answered_by, "reply")


QA_COMMANDS: CommandTable[QaState] = CommandTable(
    aggregate=QAS,
    prefix="/v1/interpretation/qa",
    tag="interpretation 政策问答库",
    answer=entry_answer,
    commands=(
        Command(
            "answer",
            AnswerQuestion,
            "答复",
            "Answer: the question and answer to publish (scanned for personal data)",
            ANSWER_ROLES,
            lambda s, cmd, x: qa.answer(s, cmd, x.principal.sub, x.now),
            basis=BASIS,
        ),
        Command(
            "redact",
            RedactAnswer,
            "脱敏",
            "Mask the personal data the privacy guard found",
            ANSWER_ROLES,
            lambda s, cmd, x: qa.redact(s, x.principal.sub),
            basis="方案§8（更加注重个人隐私保护）",
        ),
        Command(
            "return",
            ReturnAnswer,
            "退回修改",
            "Return the answer to the officer",
            REVIEW_ROLES,
            lambda s, cmd, x: qa.return_answer(s, cmd, x.principal.sub),
            guard=_not_the_answerer,
            basis=BASIS,
        ),
        Command(
            "approve",
            ApproveAnswer,
            "审核发布",
            "Approve and publish beside the policy (not by the answerer)",
            REVIEW_ROLES,
            lambda s, cmd, x: qa.approve(s, x.principal.sub, x.now),
            guard=_not_the_answerer,
            basis=BASIS,
        ),
    ),
)


# ------------------------------------------------------------------ reads the commands need


async def policy_of(views: Any, document_id: str) -> QaPolicy | None:
    """The published policy (catalog or registered by hand), its owner and its published
    interpretations; None when the interpretation service knows no such policy."""
    row = await views.fetchrow("SELECT * FROM itp_policies WHERE document_id = $1", document_id)
    if row is None:
        return None
    owner = await views.fetchrow(
        "SELECT owner_unit, status FROM itp_obligations WHERE document_id = $1", document_id
    )
    interpretations = await views.fetch(
        "SELECT interpretation_id FROM itp_interpretations "
        "WHERE document_id = $1 AND status = 'published' ORDER BY published_at",
        document_id,
    )
    cancelled = owner is not None and owner["status"] == "cancelled"
    return QaPolicy(
        document_id=UUID(row["document_id"]),
        title=row["title"],
        document_number=row["document_number"],
        township=row["township"],
        owner_unit=owner["owner_unit"] if owner is not None else row["lead_unit"],
        withdrawn=bool(row["withdrawn"]) or cancelled,
        interpretation_ids=tuple(UUID(r["interpretation_id"]) for r in interpretations),
    )


async def similar_answers(
    views: Any, question: str, township: str | None, exclude: str | None = None
) -> list[tuple[UUID, float]]:
    """Published answers to the same question, most similar first (duplicate grouping)."""
    rows = await views.fetch(
        "SELECT qa_id, township, signature, question_signature FROM itp_qa "
        "WHERE status = 'published' "
        "AND signature IS NOT NULL ORDER BY published_at DESC LIMIT 2000"
    )
    mine = signature(question)
    found = []
    for r in rows:
        if r["qa_id"] == exclude:
            continue
        if township and not (
            is_within(r["township"], township) or is_within(township, r["township"])
        ):
            continue
        score = max(
            similarity(mine, orjson.loads(r["signature"])),
            similarity(mine, orjson.loads(r["question_signature"])),
        )
        if score >= SIMILAR_THRESHOLD:
            found.append((UUID(r["qa_id"]), score))
    return sorted(found, key=lambda pair: -pair[1])[: qa.MAX_SIMILAR]


async def register_question(
    rt: Runtime, cmd: RegisterQuestion, principal: Principal, correlation_id: UUID
) -> list[RecordedEvent]:
    """登记: a new entry under the unit that owns the policy's interpretation."""
    policy = await policy_of(rt.views, str(cmd.document_id))
    # The role first (a caller without one learns nothing of the policy), then the scope.
    authorize(principal, policy.owner_unit if policy else str(principal.org), *REGISTER_ROLES)
    similar = await similar_answers(rt.views, cmd.question, policy.township if policy else None)
    qa_id = new_id()
    event = qa.register(qa_id, cmd, policy, similar, rt.calendar(), rt.clock(), principal.sub)
    assert policy is not None
    actor = actor_of(principal, acting_role(principal, REGISTER_ROLES))
    write = StreamWrite(
        stream_id=QAS.stream(qa_id),
        stream_type=QAS.kind,
        expected_version=0,
        events=(to_new_event(event, policy.owner_unit, actor, correlation_id),),
    )
    return await rt.store.append([write])


async def suggest(rt: Runtime, cmd: SuggestAnswers, principal: Principal) -> dict[str, Any]:
    """The policies a question is likely about and the published answers to it (no write)."""
    township = cmd.township or str(principal.org)
    rt.orgs.get(township)  # an unknown org is refused, naming it
    rows = await rt.views.fetch(
        "SELECT document_id, township, title, document_number, policy_text FROM itp_policies "
        "WHERE withdrawn = FALSE ORDER BY published_on DESC LIMIT 2000"
    )
    scoped = {
        r["document_id"]: r
        for r in rows
        if is_within(r["township"], township) or is_within(township, r["township"])
    }
    refs = [
        PolicyRef(r["document_id"], r["title"], r["document_number"], r["policy_text"])
        for r in scoped.values()
    ]
    similar = await similar_answers(rt.views, cmd.question, township)
    answers = await _published(rt.views, [str(q) for q, _ in similar])
    return {
        "policies": [
            {
                "document_id": m.document_id,
                "title": scoped[m.document_id]["title"],
                "document_number": scoped[m.document_id]["document_number"],
                "score": m.score,
                "reasons": list(m.reasons),
            }
            for m in suggest_policies(cmd.question, refs)
        ],
        "answers": [
            answers[str(q)] | {"similarity": round(score, 4)}
            for q, score in similar
            if str(q) in answers
        ],
    }


async def _published(views: Any, qa_ids: list[str]) -> Mapping[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for qa_id in qa_ids:
        row = await views.fetchrow(
            "SELECT qa_id, document_id, policy_title, public_question, answer, published_at "
            "FROM itp_qa WHERE qa_id = $1 AND status = 'published'",
            qa_id,
        )
        if row is not None:
            out[qa_id] = dict(row)
    return out
