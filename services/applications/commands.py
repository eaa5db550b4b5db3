"""Commands of the applications service: API input, validated at the edge."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from services.applications.events import Applicant, Channel, DeliveryChannel, RequestedForm


class RegisterRequest(BaseModel):
    """Register an information request received through one channel (条例 Art. 29)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    tenant: str | None = Field(
        default=None, description="受理机关 org path; defaults to the caller's org"
    )
    channel: Channel
    submitted_on: date = Field(description="申请人提交之日")
    signed_on: date | None = Field(default=None, description="挂号信签收之日 (registered_mail)")
    confirmed_on: date | None = Field(
        default=None, description="双方确认之日 (ordinary_mail, online, fax)"
    )
    applicant: Applicant
    description: str = Field(
        min_length=2, max_length=5000, description="所需信息的名称、文号或便于查询的特征"
    )
    requested_form: RequestedForm
    delivery_channel: DeliveryChannel


class AssignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    handler: str = Field(min_length=1, max_length=200, description="承办人 id")
