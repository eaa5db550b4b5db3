"""Learning from staff corrections: pure decisions, no I/O (issue #19).

- A message's labels (`MessageState`): the model's answer, and the officer's correction on
  top of it. `correct` decides `MessageClassificationCorrected`: an unknown category or
  polarity is 422 with the known ones in Chinese; a correction that changes nothing is
  refused (422 `correction.no_change`).
- The classifier's model register (`ClassifierState`, one stream per deployment): a model is
  registered (with its evaluation), runs in shadow beside the live one for N messages, and an
  operator promotes it or rolls it back. Nothing changes by itself.
- The training set of `train --from-events` (`corrections_from_log`): every category
  correction, deduplicated by message (the latest wins), with the message's text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from uuid import UUID

import orjson

from services.sentiment.events import (
    MessageClassificationCorrected,
    MessageClassified,
    MessageReceived,
    ModelPromoted,
    ModelRegistered,
    ModelRolledBack,
    ModelShadowStarted,
    Polarity,
)
from shared.errors import DomainRuleViolated, ValidationFailed
from shared.registry import DomainEvent

#: The deployment's one classifier register: the stream `sentiment-classifier-<this>`.
CLASSIFIER_ID = UUID("5e7a1c2b-3d4f-4a6b-8c9d-0e1f2a3b4c5d")
#: Shadow length when the operator names none.
DEFAULT_SHADOW_MESSAGES = 200


# --- a message's labels -------------------------------------------------------------------


@dataclass(frozen=True)
class MessageState:
    message_id: UUID | None = None
    text: str = ""
    model_id: str | None = None
    model_category: str | None = None
    model_polarity: str | None = None
    category: str | None = None
    polarity: str | None = None
    corrections: int = 0
    version: int = 0


def evolve_message(state: MessageState, event: DomainEvent) -> MessageState:
    state = replace(state, version=state.version + 1)
    if isinstance(event, MessageReceived):
        text = f"{event.title}\n{event.text}" if event.title else event.text
        return replace(state, message_id=event.message_id, text=text)
    if isinstance(event, MessageClassified):
        return replace(
            state,
            model_id=event.model_id,
            model_category=event.category,
            model_polarity=event.polarity,
            category=event.category,
            polarity=event.polarity,
        )
    if isinstance(event, MessageClassificationCorrected):
        return replace(
            state,
            category=event.new_category,
            polarity=event.new_polarity.value,
            corrections=state.corrections + 1,
        )
    return state


def correct(
    state: MessageState,
    category: str | None,
    polarity: str | None,
    reason: str | None,
    known_categories: Iterable[str],
    by: str,
) -> MessageClassificationCorrected:
    """纠正分类: the officer's labels replace the current ones; the model's answer stays."""
    if state.message_id is None or state.model_id is None or state.category is None:
        raise DomainRuleViolated(
            rule="correction.not_classified",
            message_zh="留言尚未分类，不能纠正",
            message_en="the message has not been classified yet",
        )
    known = sorted(set(known_categories))
    if category is not None and category not in known:
        raise ValidationFailed(
            rule="correction.category_unknown",
            field="category",
            message_zh=f"分类“{category}”不在已知分类中（{'、'.join(known)}）",
            message_en=f"unknown category {category!r}; known: {', '.join(known)}",
        )
    labels = {p.value: p.label_zh for p in Polarity}
    if polarity is not None and polarity not in labels:
        listed = "、".join(f"{code}（{zh}）" for code, zh in labels.items())
        raise ValidationFailed(
            rule="correction.polarity_unknown",
            field="polarity",
            message_zh=f"情感倾向“{polarity}”无效，应为 {listed}",
            message_en=f"unknown polarity {polarity!r}; one of {', '.join(labels)}",
        )
    new_category = category or state.category
    new_polarity = polarity or state.polarity or Polarity.neutral.value
    if new_category == state.category and new_polarity == state.polarity:
        raise ValidationFailed(
            rule="correction.no_change",
            field="category" if category is not None else "polarity",
            message_zh="纠正后的分类和情感倾向与当前相同（分类、情感倾向至少改一项）",
            message_en="the correction changes neither the category nor the polarity",
        )
    return MessageClassificationCorrected(
        message_id=state.message_id,
        model_id=state.model_id,
        old_category=state.category,
        new_category=new_category,
        old_polarity=Polarity(state.polarity or Polarity.neutral.value),
        new_polarity=Polarity(new_polarity),
        reason=reason,
        corrected_by=by,
    )


# --- the model register -------------------------------------------------------------------


@dataclass(frozen=True)
class ModelEntry:
    model_id: str
    status: str = "registered"  # registered / shadow / live / retired / rolled_back
    artefact: str = ""
    artefact_sha256: str = ""


@dataclass(frozen=True)
class ClassifierState:
    models: Mapping[str, ModelEntry] = field(default_factory=dict)
    #: The live model, None while the start-up model (file or shipped) is.
    live: str | None = None
    #: Live models before the current one, most recent last (None: the start-up model).
    history: tuple[str | None, ...] = ()
    shadow: str | None = None
    shadow_messages: int = 0
    version: int = 0


def _set(state: ClassifierState, model_id: str, status: str) -> dict[str, ModelEntry]:
    models = dict(state.models)
    if model_id in models:
        models[model_id] = replace(models[model_id], status=status)
    return models


def evolve_classifier(state: ClassifierState, event: DomainEvent) -> ClassifierState:
    state = replace(state, version=state.version + 1)
    if isinstance(event, ModelRegistered):
        entry = ModelEntry(event.model_id, "registered", event.artefact, event.artefact_sha256)
        return replace(state, models={**state.models, event.model_id: entry})
    if isinstance(event, ModelShadowStarted):
        return replace(
            state,
            models=_set(state, event.model_id, "shadow"),
            shadow=event.model_id,
            shadow_messages=event.messages,
        )
    if isinstance(event, ModelPromoted):
        models = _set(state, event.model_id, "live")
        if state.live is not None and state.live in models:
            models[state.live] = replace(models[state.live], status="retired")
        return replace(
            state,
            models=models,
            history=(*state.history, state.live),
            live=event.model_id,
            shadow=None,
            shadow_messages=0,
        )
    if isinstance(event, ModelRolledBack):
        models = _set(state, event.model_id, "rolled_back")
        if event.was == "shadow":
            return replace(state, models=models, shadow=None, shadow_messages=0)
        restored = state.history[-1] if state.history else None
        if restored is not None and restored in models:
            models[restored] = replace(models[restored], status="live")
        return replace(state, models=models, live=restored, history=state.history[:-1])
    return state


def _model_conflict(rule: str, zh: str, en: str) -> DomainRuleViolated:
    return DomainRuleViolated(rule=f"model.{rule}", message_zh=zh, message_en=en)


def register(state: ClassifierState, event: ModelRegistered) -> ModelRegistered:
    if event.model_id in state.models:
        raise _model_conflict(
            "already_registered",
            f"模型 {event.model_id} 已登记",
            f"model {event.model_id} is already registered",
        )
    return event


def _known(state: ClassifierState, model_id: str) -> ModelEntry:
    entry = state.models.get(model_id)
    if entry is None:
        raise ValidationFailed(
            rule="model.unknown",
            field="model_id",
            message_zh=f"未登记的模型 {model_id}",
            message_en=f"model {model_id} is not registered",
        )
    return entry


def start_shadow(
    state: ClassifierState, model_id: str, messages: int, live_model_id: str
) -> ModelShadowStarted:
    entry = _known(state, model_id)
    if state.shadow is not None:
        raise _model_conflict(
            "shadow_running",
            f"模型 {state.shadow} 正在影子运行，先推广或回滚",
            f"model {state.shadow} is in shadow; promote or roll it back first",
        )
    if entry.status not in ("registered", "retired") or model_id == state.live:
        raise _model_conflict(
            "not_shadowable",
            f"模型 {model_id} 当前状态为 {entry.status}，不能影子运行",
            f"model {model_id} is {entry.status}; it cannot run in shadow",
        )
    return ModelShadowStarted(
        classifier_id=CLASSIFIER_ID,
        model_id=model_id,
        live_model_id=live_model_id,
        messages=messages,
    )


@dataclass(frozen=True)
class ShadowFigures:
    """What the read model counted of a shadow run: answers and agreement."""

    answers: int
    agreement: float | None


def promote(
    state: ClassifierState,
    model_id: str,
    figures: ShadowFigures,
    live_model_id: str,
    reason: str | None,
) -> ModelPromoted:
    """Only the model in shadow, and only after its N shadow answers are recorded."""
    _known(state, model_id)
    if state.shadow != model_id:
        raise _model_conflict(
            "not_in_shadow",
            f"模型 {model_id} 未在影子运行，不能推广",
            f"model {model_id} is not in shadow; only a shadowed model is promoted",
        )
    if figures.answers < state.shadow_messages:
        raise _model_conflict(
            "shadow_incomplete",
            f"影子运行尚未完成：{figures.answers}/{state.shadow_messages} 条留言",
            f"the shadow run is not complete: {figures.answers} of {state.shadow_messages}",
        )
    return ModelPromoted(
        classifier_id=CLASSIFIER_ID,
        model_id=model_id,
        previous_model_id=live_model_id,
        shadow_messages=figures.answers,
        agreement=figures.agreement,
        reason=reason,
    )


def roll_back(
    state: ClassifierState, model_id: str, startup_model_id: str, reason: str | None
) -> ModelRolledBack:
    """A model in shadow stops; a live model gives way to the one live before it."""
    _known(state, model_id)
    if state.shadow == model_id:
        live = state.live or startup_model_id
        return ModelRolledBack(
            classifier_id=CLASSIFIER_ID,
            model_id=model_id,
            was="shadow",
            live_model_id=live,
            reason=reason,
        )
    if state.live == model_id:
        restored = state.history[-1] if state.history else None
        return ModelRolledBack(
            classifier_id=CLASSIFIER_ID,
            model_id=model_id,
            was="live",
            live_model_id=restored or startup_model_id,
            reason=reason,
        )
    raise _model_conflict(
        "not_active",
        f"模型 {model_id} 既不在影子运行也不是在用模型，无需回滚",
        f"model {model_id} is neither in shadow nor live",
    )


# --- training data from the log ----------------------------------------------------------


@dataclass(frozen=True)
class Correction:
    message_id: str
    text: str
    category: str
    model_category: str


@dataclass(frozen=True)
class CorrectionLog:
    categories: list[Correction]
    polarity_corrections: int


def corrections_from_log(events: Iterable[DomainEvent]) -> CorrectionLog:
    """Every corrected message once, labelled by its latest correction's category (the
    latest wins), with its text; events in log order. A correction of the polarity alone
    confirms the category the message has: a person looked at it."""
    texts: dict[str, str] = {}
    model_category: dict[str, str] = {}
    latest: dict[str, str] = {}
    polarity: set[str] = set()
    for event in events:
        if isinstance(event, MessageReceived):
            texts[str(event.message_id)] = (
                f"{event.title}\n{event.text}" if event.title else event.text
            )
        elif isinstance(event, MessageClassified):
            model_category[str(event.message_id)] = event.category
        elif isinstance(event, MessageClassificationCorrected):
            key = str(event.message_id)
            latest.pop(key, None)  # re-inserted: ordered by each message's latest correction
            latest[key] = event.new_category
            if event.new_polarity != event.old_polarity:
                polarity.add(key)
    found = [
        Correction(key, texts[key], label, model_category.get(key, ""))
        for key, label in latest.items()
        if key in texts
    ]
    return CorrectionLog(found, len(polarity))


def held_out_split(
    corrections: Sequence[Correction], share: float = 0.3
) -> tuple[list[Correction], list[Correction]]:
    """A reproducible split by message id (a hash, so a message stays on its side as the log
    grows): about `share` held out."""
    train: list[Correction] = []
    test: list[Correction] = []
    for c in corrections:
        bucket = int(hashlib.sha256(c.message_id.encode()).hexdigest()[:8], 16) % 1000
        (test if bucket < share * 1000 else train).append(c)
    return train, test


def content_id(model_json: Mapping[str, Any]) -> str:
    """The model's id: a hash of its content (weights, classes, features), without its id and
    its free-form notes, so the same fit is the same model."""
    body = {k: v for k, v in model_json.items() if k not in ("model_id", "meta")}
    digest = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"m-{digest[:16]}"
