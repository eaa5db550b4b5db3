"""Events of the audit service (审计). The source of contracts/.

Personal fields of ANY service's events are marked in their pydantic schemas with
`json_schema_extra={"personal": True}` (see docs/audit.md, crypto-shredding plan); the audit
service's own personal field is the data subject of an access event.
"""

from __future__ import annotations

from pydantic import Field

from shared.registry import DomainEvent, EventRegistry

registry = EventRegistry(service="audit")

#: The one stream of chain checkpoints (global chain: one head, one stream).
CHECKPOINT_STREAM = "audit-chain-checkpoints"


@registry.register
class ChainCheckpointed(DomainEvent):
    """The chain head at one moment: an operator exports and signs it outside the system.

    A signed checkpoint makes truncation of the chain detectable: a chain shorter than a
    signed `count`, or whose row `seq` has another hash, was altered after signing.
    """

    event_type = "ChainCheckpointed"
    stream_type = "chain-checkpoint"

    seq: int = Field(ge=1, description="sequence number of the head row in the chain")
    count: int = Field(ge=1, description="events in the chain up to the head (= seq)")
    head_hash: str = Field(
        min_length=64, max_length=64, description="SHA-256 of the head link, hex"
    )
    reason: str = Field(description="every_n | interval | operator")


@registry.register
class PersonalDataRead(DomainEvent):
    """Someone read a data subject's personal data (who, whose, when, through which endpoint)."""

    event_type = "PersonalDataRead"
    stream_type = "personal-data-access"

    subject_ref: str = Field(
        description="whose data: the record holding it, e.g. request/<uuid>",
        json_schema_extra={"personal": True},
    )
    source_service: str = Field(description="the service that served the data")
    endpoint: str = Field(description="HTTP method and path template")
    fields: list[str] = Field(description="the personal fields returned")
