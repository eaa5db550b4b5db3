"""Events of the sentiment service (舆情回应 / 政民互动, DOMAIN.md §4). The source of contracts/.

Streams: `message-<id>` (one citizen message or media item), `opinion-case-<id>` (one ledger
entry, 台账, answering one or many messages), `hotspot-<township>-<category>-<window>`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.fields import NOT_PERSONAL, PERSONAL, LabelledEnum
from shared.registry import DomainEvent, EventRegistry

registry = EventRegistry(service="sentiment")

MAX_TEXT_CHARS = 5000


class Source(LabelledEnum):
    """Where a message came from (方案§17)."""

    hotline = "hotline", "12345热线"
    mailbox = "mailbox", "区长信箱"
    message_board = "message_board", "网民留言"
    media = "media", "媒体及网络舆情"


class MessageKind(LabelledEnum):
    """12345 work-order kinds (their limits differ); `opinion` for everything else."""

    consultation = "consultation", "咨询"
    help = "help", "求助"
    suggestion = "suggestion", "建议"
    complaint = "complaint", "投诉"
    report = "report", "举报"
    opinion = "opinion", "一般舆情/留言"


class Citizen(BaseModel):
    """Personal data: never logged, never shown outside the handling roles."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = Field(default=None, max_length=100, json_schema_extra=PERSONAL)
    phone: str | None = Field(default=None, max_length=30, json_schema_extra=PERSONAL)


class Tag(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tag: str
    reasons: list[str]


class Deadline(BaseModel):
    """One clock of a case, with the rule that set it (shown in the ledger)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(
        description="response / authoritative_information / press_conference",
        json_schema_extra=NOT_PERSONAL,
    )
    due_at: datetime
    rule: str = Field(description="e.g. 国办发〔2016〕61号: 48 小时")
    provisional: bool = False


@registry.register
class MessageReceived(DomainEvent):
    """A message was recorded (方案§17: every item is recorded and answered)."""

    event_type = "MessageReceived"
    stream_type = "message"

    message_id: UUID
    source: Source
    kind: MessageKind
    external_id: str | None = Field(default=None, description="来源系统编号，如 12345 工单号")
    # The citizen's own words and whereabouts: personal, whoever they name.
    title: str | None = Field(default=None, json_schema_extra=PERSONAL)
    text: str = Field(max_length=MAX_TEXT_CHARS, json_schema_extra=PERSONAL)
    received_at: datetime
    citizen: Citizen | None = Field(default=None, json_schema_extra=PERSONAL)
    location: str | None = Field(default=None, json_schema_extra=PERSONAL)
    dedup_key: str = Field(description="sha256 of source, external id or text: re-import guard")
    tracking_code_hash: str | None = Field(
        default=None, description="sha256 of the citizen's status code (the code is not stored)"
    )


class Polarity(LabelledEnum):
    """Sentiment polarity of a message (the classifier's answer, or an officer's correction)."""

    negative = "negative", "负面"
    neutral = "neutral", "中性"
    positive = "positive", "正面"


class MessageClassifiedV1(DomainEvent):
    """What the classifier decided and why (the words or features that decided)."""

    event_type = "MessageClassified"
    stream_type = "message"

    message_id: UUID
    model_id: str
    category: str
    category_confidence: float
    category_reasons: list[str]
    tags: list[Tag]
    polarity: str
    sentiment_score: float
    intensity: float
    sentiment_reasons: list[str]
    urgency: str
    urgency_classes: list[str]
    urgency_reasons: list[str]


@registry.register
class MessageClassified(MessageClassifiedV1):
    """What the classifier decided and why (the words or features that decided).

    v2: `polarity_model_id`, the polarity model that weighed in on the sentiment beside the
    lexicon (decision 156); v1 classifications read as None (not recorded then)."""

    event_type = "MessageClassified"
    schema_version = 2
    stream_type = "message"

    polarity_model_id: str | None = Field(
        default=None,
        description="the polarity model beside the lexicon that decided the sentiment "
        "(`lexicon` when none was loaded; None: recorded before it was named)",
    )


def _classified_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "polarity_model_id": None}


registry.register_historic(MessageClassifiedV1, _classified_v1_to_v2)


@registry.register
class MessageClassificationCorrected(DomainEvent):
    """An officer corrected the category and/or the polarity of a message (纠正分类): the
    model's own answer stays in MessageClassified; corrections are training data for
    `gongkai sentiment train --from-events`."""

    event_type = "MessageClassificationCorrected"
    stream_type = "message"

    message_id: UUID
    model_id: str = Field(description="the model that classified the message")
    old_category: str = Field(description="the category before this correction")
    new_category: str
    old_polarity: Polarity
    new_polarity: Polarity
    reason: str | None = Field(default=None, max_length=1000)
    corrected_by: str


class ClassFigures(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str
    precision: float
    recall: float
    f1: float
    support: int


class Evaluation(BaseModel):
    """Figures of a model on a held-out set."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rows: int
    accuracy: float
    macro_f1: float
    per_class: list[ClassFigures]
    #: (gold, predicted, count) cells of the confusion table.
    confusion: list[tuple[str, str, int]] = Field(default_factory=list)


class TrainingSet(BaseModel):
    """What a model was trained on: counts, never a text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str
    sample_rows: int = Field(description="rows of the public labelled sample")
    corrections: int = Field(description="category corrections in the log (latest per message)")
    corrections_train: int
    corrections_held_out: int
    polarity_corrections: int = Field(
        description="polarity corrections (kept in the log; the topic model does not use them)"
    )
    classes: list[str]


@registry.register
class ModelRegistered(DomainEvent):
    """A trained topic model, registered with its evaluation; it classifies nothing until an
    operator runs it in shadow and promotes it."""

    event_type = "ModelRegistered"
    stream_type = "sentiment-classifier"

    classifier_id: UUID
    model_id: str = Field(description="content hash of the model (m-<sha256 prefix>)")
    kind: str = Field(description="linear / nb")
    training: TrainingSet
    evaluation: Evaluation | None = Field(
        default=None, description="on the held-out corrections (None: too few to hold out)"
    )
    baseline: Evaluation | None = Field(
        default=None, description="the live model on the same held-out corrections"
    )
    artefact: str = Field(description="where the model file is stored")
    artefact_sha256: str
    artefact_bytes: int


@registry.register
class ModelShadowStarted(DomainEvent):
    """The model answers beside the live one for the next `messages` messages (recorded, not
    used)."""

    event_type = "ModelShadowStarted"
    stream_type = "sentiment-classifier"

    classifier_id: UUID
    model_id: str
    live_model_id: str
    messages: int = Field(ge=1)


@registry.register
class ModelPromoted(DomainEvent):
    """The operator made the model live: new messages are classified by it."""

    event_type = "ModelPromoted"
    stream_type = "sentiment-classifier"

    classifier_id: UUID
    model_id: str
    previous_model_id: str
    shadow_messages: int
    agreement: float | None = Field(description="share of shadow answers equal to the live one")
    reason: str | None = None


@registry.register
class ModelRolledBack(DomainEvent):
    """The operator stopped a model in shadow, or took a live model back to the one before."""

    event_type = "ModelRolledBack"
    stream_type = "sentiment-classifier"

    classifier_id: UUID
    model_id: str
    was: str = Field(description="shadow / live")
    live_model_id: str = Field(description="the live model after the rollback")
    reason: str | None = None


@registry.register
class MessageLinkedToCase(DomainEvent):
    """The message is answered by this case (a new one, or a near-duplicate's case)."""

    event_type = "MessageLinkedToCase"
    stream_type = "message"

    message_id: UUID
    case_id: UUID
    similarity: float | None = None
    opened_case: bool


@registry.register
class CaseOpened(DomainEvent):
    """A ledger entry (台账) with its clocks (国办发〔2016〕61号; 12345 local limits)."""

    event_type = "CaseOpened"
    stream_type = "opinion-case"

    case_id: UUID
    first_message_id: UUID
    source: Source
    kind: MessageKind
    category: str
    tags: list[str]
    urgency: str
    opened_at: datetime
    deadlines: list[Deadline]
    response_due: datetime


@registry.register
class CaseMessageAdded(DomainEvent):
    """Another message about the same issue: one case answers them all."""

    event_type = "CaseMessageAdded"
    stream_type = "opinion-case"

    case_id: UUID
    message_id: UUID
    similarity: float


@registry.register
class CaseAssigned(DomainEvent):
    """派单: dispatched to a unit with an opinion officer (方案§17 专职工作人员)."""

    event_type = "CaseAssigned"
    stream_type = "opinion-case"

    case_id: UUID
    unit: str
    officer: str
    note: str | None = None


@registry.register
class CaseAccepted(DomainEvent):
    """签收: the unit accepts the case."""

    event_type = "CaseAccepted"
    stream_type = "opinion-case"

    case_id: UUID
    unit: str


@registry.register
class CaseReturned(DomainEvent):
    """退单: returned to the dispatcher with a reason, to be re-dispatched."""

    event_type = "CaseReturned"
    stream_type = "opinion-case"

    case_id: UUID
    unit: str
    reason: str


@registry.register
class CaseExtensionRequested(DomainEvent):
    """延期申请."""

    event_type = "CaseExtensionRequested"
    stream_type = "opinion-case"

    case_id: UUID
    reason: str
    requested_due: datetime


@registry.register
class CaseExtensionDecided(DomainEvent):
    """延期审批: approved moves the response clock, refused keeps it."""

    event_type = "CaseExtensionDecided"
    stream_type = "opinion-case"

    case_id: UUID
    approved: bool
    response_due: datetime
    note: str | None = None


@registry.register
class CaseReminded(DomainEvent):
    """催办 (reminder) or 督办 (supervision)."""

    event_type = "CaseReminded"
    stream_type = "opinion-case"

    case_id: UUID
    level: str = Field(description="reminder 催办 / supervision 督办")
    note: str | None = None


@registry.register
class CaseResponded(DomainEvent):
    """办结: the response, and whether it met the clock."""

    event_type = "CaseResponded"
    stream_type = "opinion-case"

    case_id: UUID
    response: str = Field(max_length=MAX_TEXT_CHARS)
    responded_at: datetime
    on_time: bool


@registry.register
class CaseResultPublished(DomainEvent):
    """The result is published on the government website (DOMAIN.md §4)."""

    event_type = "CaseResultPublished"
    stream_type = "opinion-case"

    case_id: UUID
    channel: str
    url: str | None = None
    published_at: datetime


@registry.register
class CaseFollowedUp(DomainEvent):
    """回访: satisfaction; satisfied closes the case, dissatisfied opens the way to 重办."""

    event_type = "CaseFollowedUp"
    stream_type = "opinion-case"

    case_id: UUID
    satisfaction: str = Field(description="satisfied / basically_satisfied / dissatisfied")
    note: str | None = None


@registry.register
class CaseReopened(DomainEvent):
    """重办: reopened because the citizen was not satisfied; a new response clock."""

    event_type = "CaseReopened"
    stream_type = "opinion-case"

    case_id: UUID
    reason: str
    response_due: datetime


@registry.register
class CaseEscalated(DomainEvent):
    """Overdue: level 1 to the township leader, level 2 to the district propaganda and
    cyberspace offices (方案§五(四))."""

    event_type = "CaseEscalated"
    stream_type = "opinion-case"

    case_id: UUID
    level: int = Field(ge=1, le=2)
    escalated_to: list[str]
    overdue_since: datetime


@registry.register
class HotspotDetected(DomainEvent):
    """Many messages, or much anger, about one topic in one township within a window."""

    event_type = "HotspotDetected"
    stream_type = "hotspot"

    township: str
    category: str
    window_start: datetime
    window_end: datetime
    message_count: int
    negative_intensity: float
    crossed: list[str] = Field(description="count / negative_intensity")


@registry.register
class CitizenDataRead(DomainEvent):
    """Someone was shown citizens' identity and contact (personal data): who, whose, where.

    Recorded by the API whenever a response carries a message's `citizen`, so the audit
    chain answers "who read whose data, when, through which endpoint" (issue #8). Holds
    references only, never the data itself.
    """

    event_type = "CitizenDataRead"
    stream_type = "personal-data-access"

    message_ids: list[UUID] = Field(min_length=1)
    endpoint: str
    fields: list[str]


@registry.register
class PolicyMisreadingReported(DomainEvent):
    """误读政策: the case is about a published policy the citizens misread; the opinion officer
    links it to the catalog's document and asks the interpretation service for a follow-up
    interpretation (方案§17, §五(一): 对误解误读及时解读回应). Interpretation consumes it."""

    event_type = "PolicyMisreadingReported"
    stream_type = "opinion-case"

    case_id: UUID
    document_id: UUID = Field(description="the catalog's published document")
    policy_title: str
    document_number: str | None = None
    policy_township: str = Field(description="org path of the policy's township (or district)")
    misreading: str = Field(max_length=2000, description="what the citizens misread")
    reported_by: str
    classified_misreading: bool = Field(
        description="the classifier had put a message of the case in the class 误读政策"
    )
    match_score: float | None = Field(
        default=None, description="the suggestion's score for this policy (None: not suggested)"
    )
    match_reasons: list[str] = Field(default_factory=list)
