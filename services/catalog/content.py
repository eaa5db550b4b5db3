"""Value types that several schema versions of catalog events share (events.py, events_v1.py).

Kept apart from events.py so that a frozen historic event (events_v1.py) and the current one
use the very same nested models, and so the same JSON Schema $defs.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.fields import NOT_PERSONAL, Day, LabelledEnum


class DocumentKind(LabelledEnum):
    """公文种类. `regulation` and `normative` are the rows of annual-report section 二."""

    regulation = "regulation", "规章"
    normative = "normative", "行政规范性文件"
    policy = "policy", "政策性文件"
    implementation_plan = "implementation_plan", "实施方案"
    work_news = "work_news", "工作动态"
    notice = "notice", "通知公告"
    other = "other", "其他"


class DocumentContent(BaseModel):
    """One revision of a document's text and metadata."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field(min_length=2, max_length=300)
    body: str = Field(min_length=1, max_length=200_000, json_schema_extra=NOT_PERSONAL)
    attachments_text: list[str] = Field(default_factory=list, max_length=50)
    document_number: str | None = Field(default=None, max_length=100, description="文号")
    # API input too (a draft's content): ISO text only, never a number (shared/fields.py).
    issue_date: Day = Field(description="成文日期; Art. 26 counts 20 working days from it")
    kind: DocumentKind
    column: str = Field(min_length=1, max_length=60, description="目录栏目代码")
    needs_interpretation: bool = Field(default=False, description="拟稿人标记需解读")
    sensitive: bool = Field(default=False, description="敏感稿件：终审须由主要领导")


class GazetteEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    document_id: UUID
    revision: int
    title: str
    document_number: str | None
    kind: DocumentKind
    issue_date: date
    content_hash: str
