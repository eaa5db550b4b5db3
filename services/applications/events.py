"""Events of the applications service (依申请公开). The source of contracts/."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.fields import PERSONAL
from shared.registry import DomainEvent, EventRegistry

registry = EventRegistry(service="applications")


class Channel(StrEnum):
    """How the request arrived; decides the receipt date (条例 Art. 31)."""

    in_person = "in_person"  # 当面提交
    registered_mail = "registered_mail"  # 挂号信 / 需签收的邮件
    ordinary_mail = "ordinary_mail"  # 平常信函
    online = "online"  # 网上 (互联网渠道、电子邮件)
    fax = "fax"  # 传真
    oral = "oral"  # 口头提出，由机关代为填写


class ApplicantKind(StrEnum):
    natural_person = "natural_person"  # 自然人
    organization = "organization"  # 法人或其他组织


class OrganizationKind(StrEnum):
    """Annual-report columns for 法人或其他组织 (国办公开办函〔2021〕30号)."""

    commercial = "commercial"  # 商业企业
    research = "research"  # 科研机构
    public_welfare = "public_welfare"  # 社会公益组织
    legal_services = "legal_services"  # 法律服务机构
    other = "other"  # 其他


class RequestedForm(StrEnum):
    paper = "paper"  # 纸质
    electronic = "electronic"  # 电子数据
    other = "other"


class DeliveryChannel(StrEnum):
    collect_in_person = "collect_in_person"  # 自行领取
    post = "post"  # 邮寄
    email = "email"  # 电子邮件
    online = "online"  # 网上获取
    fax = "fax"  # 传真


class Applicant(BaseModel):
    """Personal data: never logged; shown only to roles that handle requests."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ApplicantKind
    name: str = Field(min_length=1, max_length=100, json_schema_extra=PERSONAL)
    organization_kind: OrganizationKind | None = None
    id_document: str = Field(
        min_length=1,
        max_length=100,
        description="身份证明 (证件类型及号码)",
        json_schema_extra=PERSONAL,
    )
    phone: str = Field(min_length=5, max_length=30, json_schema_extra=PERSONAL)
    email: str | None = Field(default=None, max_length=200, json_schema_extra=PERSONAL)
    address: str | None = Field(default=None, max_length=300, json_schema_extra=PERSONAL)


class DeadlineBasis(BaseModel):
    """How a due date was reached, in words a handler can show the applicant."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: date
    working_days: int
    due: date
    provisional: bool
    calendars: list[str] = Field(description="每个计入年份的日历来源及版本")


@registry.register
class RequestRegistered(DomainEvent):
    """申请已接收并登记编号 (条例 Art. 29–31; 方案§14 接收、登记(编号))."""

    event_type = "RequestRegistered"
    stream_type = "request"

    request_id: UUID
    number: str = Field(description="登记编号，如 苏店〔2026〕1号")
    year: int
    sequence: int = Field(ge=1)
    channel: Channel
    submitted_on: date
    received_on: date = Field(description="收到申请之日 (Art. 31)")
    applicant: Applicant = Field(json_schema_extra=PERSONAL)
    description: str
    requested_form: RequestedForm
    delivery_channel: DeliveryChannel
    correction_notice_due: date = Field(description="补正告知期限 (Art. 30, 7 个工作日)")
    reply_due: date = Field(description="答复期限 (Art. 33, 20 个工作日)")
    reply_deadline: DeadlineBasis


@registry.register
class RegistrationNumberIssued(DomainEvent):
    """One number of a tenant's yearly register: the stream's version is the number (no gaps)."""

    event_type = "RegistrationNumberIssued"
    stream_type = "request-register"

    year: int
    sequence: int = Field(ge=1)
    number: str
    request_id: UUID


@registry.register
class RequestAssigned(DomainEvent):
    """The request was given to a named handler (方案§19: 依申请公开答复办理 has a named person)."""

    event_type = "RequestAssigned"
    stream_type = "request"

    request_id: UUID
    handler: str = Field(description="承办人 id")
    previous_handler: str | None = None


@registry.register
class ApplicantDataRead(DomainEvent):
    """Someone was shown applicants' identity (personal data): who, whose, where.

    Recorded by the API whenever a response carries applicant details, so the audit
    chain can answer "who read whose data, when, through which endpoint" (issue: audit).
    Holds references only, never the data itself.
    """

    event_type = "ApplicantDataRead"
    stream_type = "personal-data-access"

    request_ids: list[UUID] = Field(min_length=1)
    endpoint: str
    fields: list[str]
