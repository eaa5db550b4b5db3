"""Commands of 信息报送: API input, validated at the edge (Chinese titles name the fields)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from services.catalog.content import DocumentContent

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)

#: YYYY-MM within the years every date of the suite is held to (2000–2099).
MONTH_PATTERN = r"^20\d{2}-(0[1-9]|1[0-2])$"


class SubmitItem(BaseModel):
    """报送: an item a unit's 联络员 offers for publication (default: the caller's unit)."""

    model_config = _STRICT

    unit: str | None = Field(default=None, title="报送单位", description="org path")
    content: DocumentContent = Field(title="报送内容")


class EditSubmission(BaseModel):
    """编辑: the office's changed text of the item, before it decides."""

    model_config = _STRICT

    content: DocumentContent = Field(title="报送内容")
    note: str | None = Field(default=None, max_length=1000, title="编辑说明")


class RedactSubmission(BaseModel):
    """删减: mask every piece of personal data the privacy guard found."""

    model_config = _STRICT


class AcceptSubmission(BaseModel):
    """采用: the item becomes a catalog draft."""

    model_config = _STRICT

    comment: str | None = Field(default=None, max_length=1000, title="采用意见")


class DeclineSubmission(BaseModel):
    """不予采用, with the reason the unit reads."""

    model_config = _STRICT

    reason: str = Field(min_length=2, max_length=2000, title="不予采用理由")


class IssueBulletin(BaseModel):
    """印发报送刊登情况通报 for a month that is over (default: the caller's township)."""

    model_config = _STRICT

    township: str | None = Field(default=None, title="乡镇", description="org path")
    month: str = Field(pattern=MONTH_PATTERN, title="通报月份", description="YYYY-MM")
