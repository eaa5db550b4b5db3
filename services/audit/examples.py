"""Realistic payloads of the audit events, for the contract tests' EXAMPLES table."""

from __future__ import annotations

from collections.abc import Callable

from services.audit.events import ChainCheckpointed, PersonalDataRead
from shared.registry import DomainEvent


def chain_checkpointed() -> ChainCheckpointed:
    return ChainCheckpointed(
        seq=1000,
        count=1000,
        head_hash="9ce777d40ba46e379fa75cece52c073d19a78463d8a7443c00bf8d99a6e84464",
        reason="every_n",
    )


def personal_data_read() -> PersonalDataRead:
    return PersonalDataRead(
        subject_ref="request/01936f0e-7c1b-7000-8000-000000000003",
        source_service="applications",
        endpoint="GET /v1/requests/{request_id}",
        fields=["applicant.name", "applicant.phone"],
    )


EXAMPLES: dict[str, Callable[[], DomainEvent]] = {
    "audit/ChainCheckpointed.v1": chain_checkpointed,
    "audit/PersonalDataRead.v1": personal_data_read,
}
