"""Learning from staff corrections, pure (issue #19): a correction's rules, the training set
it gives (latest correction per message), and the model register's lifecycle — registered,
shadow for N messages, promoted or rolled back only by an operator."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

import pytest

from services.sentiment.events import (
    ClassFigures,
    Evaluation,
    MessageClassificationCorrected,
    MessageClassified,
    MessageKind,
    MessageReceived,
    ModelRegistered,
    Polarity,
    Source,
    TrainingSet,
)
from services.sentiment.learning import (
    CLASSIFIER_ID,
    ClassifierState,
    MessageState,
    ShadowFigures,
    content_id,
    correct,
    corrections_from_log,
    evolve_classifier,
    evolve_message,
    held_out_split,
    promote,
    register,
    roll_back,
    start_shadow,
)
from shared.errors import DomainRuleViolated, ValidationFailed
from shared.registry import DomainEvent

M1 = UUID("00000000-0000-4000-8000-000000000001")
M2 = UUID("00000000-0000-4000-8000-000000000002")
AT = datetime(2026, 6, 1, tzinfo=UTC)
KNOWN = ("城乡建设", "环境保护", "交通运输")


def received(mid: UUID, text: str) -> MessageReceived:
    return MessageReceived(
        message_id=mid,
        source=Source.mailbox,
        kind=MessageKind.opinion,
        text=text,
        received_at=AT,
        dedup_key="0" * 64,
    )


def classified(mid: UUID, category: str, polarity: str = "neutral") -> MessageClassified:
    return MessageClassified(
        message_id=mid,
        model_id="lexicon-default-v1",
        category=category,
        category_confidence=0.6,
        category_reasons=[],
        tags=[],
        polarity=polarity,
        sentiment_score=0.0,
        intensity=0.0,
        sentiment_reasons=[],
        urgency="normal",
        urgency_classes=[],
        urgency_reasons=[],
    )


def fold_message(events: Sequence[DomainEvent]) -> MessageState:
    state = MessageState()
    for e in events:
        state = evolve_message(state, e)
    return state


def message(category: str = "城乡建设", polarity: str = "neutral") -> MessageState:
    return fold_message([received(M1, "工厂夜里偷排废水"), classified(M1, category, polarity)])


def test_a_correction_names_the_model_and_the_old_and_new_labels() -> None:
    event = correct(message(), "环境保护", "negative", "偷排属环境保护", KNOWN, "liu-yang")
    assert (event.model_id, event.old_category, event.new_category) == (
        "lexicon-default-v1",
        "城乡建设",
        "环境保护",
    )
    assert (event.old_polarity, event.new_polarity) == (Polarity.neutral, Polarity.negative)
    after = evolve_message(message(), event)
    assert (after.category, after.polarity, after.corrections) == ("环境保护", "negative", 1)
    # The model's own answer stays beside the correction.
    assert (after.model_category, after.model_polarity) == ("城乡建设", "neutral")


def test_the_polarity_alone_may_be_corrected() -> None:
    event = correct(message(), None, "negative", None, KNOWN, "liu-yang")
    assert event.new_category == event.old_category == "城乡建设"


def test_an_unknown_category_is_refused_with_the_known_ones_in_chinese() -> None:
    with pytest.raises(ValidationFailed) as refused:
        correct(message(), "外星事务", None, None, KNOWN, "liu-yang")
    assert refused.value.rule == "correction.category_unknown"
    assert refused.value.field == "category"
    assert "环境保护" in refused.value.message_zh


def test_an_unknown_polarity_is_refused_with_the_labels() -> None:
    with pytest.raises(ValidationFailed) as refused:
        correct(message(), None, "angry", None, KNOWN, "liu-yang")
    assert refused.value.rule == "correction.polarity_unknown"
    assert "负面" in refused.value.message_zh and "中性" in refused.value.message_zh


@pytest.mark.parametrize(
    ("category", "polarity"), [("城乡建设", None), (None, "neutral"), ("城乡建设", "neutral")]
)
def test_a_correction_that_changes_nothing_is_refused(
    category: str | None, polarity: str | None
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        correct(message(), category, polarity, None, KNOWN, "liu-yang")
    assert refused.value.rule == "correction.no_change"


def test_an_unclassified_message_cannot_be_corrected() -> None:
    state = fold_message([received(M1, "x")])
    with pytest.raises(DomainRuleViolated):
        correct(state, "环境保护", None, None, KNOWN, "liu-yang")


def corrected(mid: UUID, old: str, new: str, polarity: bool = False) -> DomainEvent:
    return MessageClassificationCorrected(
        message_id=mid,
        model_id="lexicon-default-v1",
        old_category=old,
        new_category=new,
        old_polarity=Polarity.neutral,
        new_polarity=Polarity.negative if polarity else Polarity.neutral,
        corrected_by="liu-yang",
    )


def test_the_training_set_takes_the_latest_correction_of_each_message() -> None:
    log = [
        received(M1, "工厂偷排"),
        classified(M1, "城乡建设"),
        received(M2, "公交停运"),
        classified(M2, "城乡建设"),
        corrected(M1, "城乡建设", "交通运输"),
        corrected(M2, "城乡建设", "交通运输"),
        corrected(M1, "交通运输", "环境保护", polarity=True),
    ]
    found = corrections_from_log(log)
    assert [(c.message_id, c.category) for c in found.categories] == [
        (str(M2), "交通运输"),
        (str(M1), "环境保护"),
    ]
    assert found.categories[1].model_category == "城乡建设"
    assert found.polarity_corrections == 1


def test_the_held_out_split_keeps_a_message_on_its_side_as_the_log_grows() -> None:
    log = corrections_from_log([e for i in range(60) for e in _corrected_message(i)]).categories
    train, test = held_out_split(log)
    assert 8 <= len(test) <= 30 and len(train) + len(test) == 60
    more = corrections_from_log([e for i in range(90) for e in _corrected_message(i)]).categories
    _, test_more = held_out_split(more)
    assert {c.message_id for c in test} <= {c.message_id for c in test_more}


def _corrected_message(i: int) -> list[DomainEvent]:
    mid = UUID(int=i + 1000)
    return [
        received(mid, f"留言{i}"),
        classified(mid, "城乡建设"),
        corrected(mid, "城乡建设", "环境保护"),
    ]


def test_the_model_id_is_its_content_hash_without_its_name_or_notes() -> None:
    body = {"format": "f", "weights": {"a": [1.0]}, "model_id": "x", "meta": {"rows": 1}}
    assert content_id(body) == content_id(body | {"model_id": "y", "meta": {}})
    assert content_id(body) != content_id(body | {"weights": {"a": [2.0]}})
    assert content_id(body).startswith("m-")


# --- the register ---------------------------------------------------------------------------


def registered(model_id: str) -> ModelRegistered:
    figures = Evaluation(
        rows=1,
        accuracy=1.0,
        macro_f1=1.0,
        per_class=[ClassFigures(label="a", precision=1, recall=1, f1=1, support=1)],
    )
    return ModelRegistered(
        classifier_id=CLASSIFIER_ID,
        model_id=model_id,
        kind="linear",
        training=TrainingSet(
            description="t",
            sample_rows=1,
            corrections=1,
            corrections_train=1,
            corrections_held_out=0,
            polarity_corrections=0,
            classes=["a"],
        ),
        evaluation=figures,
        artefact=f"db:sentiment/sentiment_model_artefacts/{model_id}",
        artefact_sha256="a" * 64,
        artefact_bytes=10,
    )


def apply(state: ClassifierState, *events: DomainEvent) -> ClassifierState:
    for e in events:
        state = evolve_classifier(state, e)
    return state


def test_registering_the_same_content_twice_is_refused() -> None:
    state = apply(ClassifierState(), register(ClassifierState(), registered("m-1")))
    with pytest.raises(DomainRuleViolated) as refused:
        register(state, registered("m-1"))
    assert refused.value.rule == "model.already_registered"


def test_shadow_then_promote_after_n_then_roll_back_to_the_startup_model() -> None:
    state = apply(ClassifierState(), registered("m-1"))
    shadow = start_shadow(state, "m-1", 3, "lexicon-default-v1")
    assert (shadow.messages, shadow.live_model_id) == (3, "lexicon-default-v1")
    state = apply(state, shadow)
    assert state.shadow == "m-1" and state.live is None
    # Nothing changes by itself: promotion needs the N answers recorded.
    with pytest.raises(DomainRuleViolated) as early:
        promote(state, "m-1", ShadowFigures(2, 1.0), "lexicon-default-v1", None)
    assert early.value.rule == "model.shadow_incomplete"
    promoted = promote(state, "m-1", ShadowFigures(3, 2 / 3), "lexicon-default-v1", "好")
    assert (promoted.previous_model_id, promoted.shadow_messages) == ("lexicon-default-v1", 3)
    state = apply(state, promoted)
    assert (state.live, state.shadow, state.models["m-1"].status) == ("m-1", None, "live")
    back = roll_back(state, "m-1", "lexicon-default-v1", "误分增多")
    assert (back.was, back.live_model_id) == ("live", "lexicon-default-v1")
    state = apply(state, back)
    assert state.live is None and state.models["m-1"].status == "rolled_back"


def test_rolling_back_a_shadow_keeps_the_live_model() -> None:
    state = apply(ClassifierState(), registered("m-1"), registered("m-2"))
    state = apply(state, start_shadow(state, "m-1", 1, "x"))
    state = apply(state, promote(state, "m-1", ShadowFigures(1, 1.0), "x", None))
    state = apply(state, start_shadow(state, "m-2", 5, "m-1"))
    back = roll_back(state, "m-2", "x", None)
    assert (back.was, back.live_model_id) == ("shadow", "m-1")
    state = apply(state, back)
    assert (state.live, state.shadow) == ("m-1", None)
    # Taking m-1 back returns to the start-up model; a rolled-back model is not active.
    with pytest.raises(DomainRuleViolated) as refused:
        roll_back(state, "m-2", "x", None)
    assert refused.value.rule == "model.not_active"


def test_one_shadow_at_a_time_and_only_a_registered_model() -> None:
    state = apply(ClassifierState(), registered("m-1"), registered("m-2"))
    state = apply(state, start_shadow(state, "m-1", 2, "x"))
    with pytest.raises(DomainRuleViolated) as busy:
        start_shadow(state, "m-2", 2, "x")
    assert busy.value.rule == "model.shadow_running"
    with pytest.raises(ValidationFailed) as unknown:
        start_shadow(ClassifierState(), "m-9", 2, "x")
    assert unknown.value.rule == "model.unknown"
    with pytest.raises(DomainRuleViolated) as not_shadow:
        promote(state, "m-2", ShadowFigures(9, 1.0), "x", None)
    assert not_shadow.value.rule == "model.not_in_shadow"
